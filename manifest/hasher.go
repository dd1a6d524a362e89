package manifest

import (
	"crypto/md5"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"

	md5simd "github.com/minio/md5-simd"
)

// hashLanes is how many closed shards a plan directory hashes at once.
// A shard's MD5 (its ETag, which submit checks) is one serial chain that
// crypto/md5 computes at about 600 MB per CPU-second; md5-simd runs eight
// chains in the lanes of AVX2 registers at about twice that per
// CPU-second when all eight are busy, but slower than crypto/md5 with one
// or two (see inventory's BenchmarkVerifyLanes).
const hashLanes = 8

// minLaneShards is the fewest shards hashed on md5-simd lanes; fewer are
// hashed by crypto/md5, each on a goroutine of its own.
const minLaneShards = 3

// shardHasher computes the MD5s of a plan directory's shards once their
// files are written and closed, reading them back (from the page cache),
// hashLanes at a time, so that the MD5s of several shards share the SIMD
// lanes instead of each shard's writer hashing its stream alone. A batch
// starts as soon as hashLanes shards are waiting; finish hashes the rest.
type shardHasher struct {
	mu      sync.Mutex
	pending []*ShardWriter
	srv     md5simd.Server // started with the first batch
	running sync.WaitGroup
}

// closed queues w, whose file is complete and closed.
func (h *shardHasher) closed(w *ShardWriter) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pending = append(h.pending, w)
	if len(h.pending) >= hashLanes {
		h.start(h.pending)
		h.pending = nil
	}
}

// start hashes ws in the background; h.mu is held.
func (h *shardHasher) start(ws []*ShardWriter) {
	useLanes := len(ws) >= minLaneShards
	if useLanes && h.srv == nil {
		h.srv = md5simd.NewServer()
	}
	for _, w := range ws {
		h.running.Add(1)
		go func() {
			defer h.running.Done()
			if useLanes {
				sh := h.srv.NewHash()
				defer sh.Close()
				w.sum, w.hashErr = hashFile(w.path, sh)
				return
			}
			w.sum, w.hashErr = hashFile(w.path, md5.New())
		}()
	}
}

// abandon drops the shards still waiting and waits for the batches
// already running, for a plan that is discarded.
func (h *shardHasher) abandon() {
	h.mu.Lock()
	h.pending = nil
	h.mu.Unlock()
	h.finish()
}

// finish hashes the shards still waiting and returns once every shard
// queued so far has its MD5 (or its error) set.
func (h *shardHasher) finish() {
	h.mu.Lock()
	if len(h.pending) > 0 {
		h.start(h.pending)
		h.pending = nil
	}
	h.mu.Unlock()
	h.running.Wait()
	h.mu.Lock()
	if h.srv != nil {
		h.srv.Close()
		h.srv = nil
	}
	h.mu.Unlock()
}

// hashFile returns the MD5 of the file at path, computed with h.
func hashFile(path string, h hash.Hash) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, flushBytes)
	for {
		n, err := f.Read(buf)
		h.Write(buf[:n])
		if err == io.EOF {
			return h.Sum(nil), nil
		}
		if err != nil {
			return nil, fmt.Errorf("hashing %s: %w", path, err)
		}
	}
}
