package jobs

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// recorder rewrites jobs.json as jobs are added. Writes are coalesced: one
// goroutine writes the whole file whenever something was added since its
// last write, so a burst of jobs costs a few writes, not one each. A
// failed write is retried by the next one; close writes last and reports
// that write's error.
// Channels: wake (buffer 1) is signaled by add and closed by close; the
// writer goroutine closes done when it has drained.
type recorder struct {
	ctx   context.Context
	io    *objio.Client
	dir   string
	plan  *manifest.Plan
	mu    sync.Mutex
	run   *manifest.Run
	added int
	wake  chan struct{}
	done  chan struct{}
}

func newRecorder(ctx context.Context, oc *objio.Client, dir string, run *manifest.Run, plan *manifest.Plan) *recorder {
	r := &recorder{ctx: context.WithoutCancel(ctx), io: oc, dir: dir, run: run, plan: plan, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for range r.wake {
			_ = r.write() // retried by the next write, and by close
		}
	}()
	return r
}

// add records e, replacing the entry of its shard if there is one.
func (r *recorder) add(e manifest.RunJob) {
	r.mu.Lock()
	found := false
	for i := range r.run.Jobs {
		if r.run.Jobs[i].Shard == e.Shard {
			r.run.Jobs[i], found = e, true
		}
	}
	if !found {
		r.run.Jobs = append(r.run.Jobs, e)
	}
	r.added++
	r.mu.Unlock()
	r.signal()
}

// touch makes close write the file even if nothing else changes.
func (r *recorder) touch() {
	r.mu.Lock()
	r.added++
	r.mu.Unlock()
}

func (r *recorder) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// setStatus records what DescribeJob said of a job.
func (r *recorder) setStatus(st JobState) {
	r.mu.Lock()
	changed := applyState(r.run, st, time.Now().UTC().Truncate(time.Second))
	if changed {
		r.added++
	}
	r.mu.Unlock()
	if changed {
		r.signal()
	}
}

// entries returns copies of the recorded jobs of route with versions.
func (r *recorder) entries(route, versions string) []manifest.RunJob {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []manifest.RunJob
	for _, e := range r.run.Jobs {
		if e.Route == route && e.Versions == versions {
			out = append(out, e)
		}
	}
	return out
}

func (r *recorder) account() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.run.AccountID
}

func (r *recorder) write() error {
	r.mu.Lock()
	idx := make(map[string]int, len(r.plan.Shards))
	for i, sh := range r.plan.Shards {
		idx[sh.Path] = i
	}
	sort.SliceStable(r.run.Jobs, func(a, b int) bool { return idx[r.run.Jobs[a].Shard] < idx[r.run.Jobs[b].Shard] })
	data, err := r.run.Marshal()
	r.mu.Unlock()
	if err == nil {
		err = r.io.WriteFileAtomic(r.ctx, objio.Join(r.dir, manifest.JobsFile), data)
	}
	if err != nil {
		return fmt.Errorf("recording jobs in %s: %w", objio.Join(r.dir, manifest.JobsFile), err)
	}
	return nil
}

// close waits for pending writes and writes the final state, if any job
// was added.
func (r *recorder) close() error {
	close(r.wake)
	<-r.done
	r.mu.Lock()
	added := r.added
	r.mu.Unlock()
	if added == 0 {
		return nil
	}
	return r.write()
}
