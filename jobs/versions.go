package jobs

import (
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3control/types"
	"golang.org/x/sync/errgroup"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// Versioned copies (docs/formats.md#versioned-copies): Batch Operations runs a job's tasks
// in no particular order, so the plan keeps noncurrent and current
// versions in shards of their own, and Submit creates the current-version
// jobs of a route only once its noncurrent-version jobs are Complete.

// heldRoutes returns, per route, the current-version targets that wait for
// noncurrent ones: every current-version shard without a job yet, in a
// route that has noncurrent-version shards, when the operation orders
// versions (OrdersVersions).
func heldRoutes(op types.JobOperation, targets []target) map[string][]target {
	if !OrdersVersions(op) {
		return nil
	}
	nonc := map[string]bool{}
	for _, t := range targets {
		if t.shard.Versions == manifest.VersionsNoncurrent {
			nonc[t.shard.Route] = true
		}
	}
	held := map[string][]target{}
	for _, t := range targets {
		if t.shard.Versions == manifest.VersionsCurrent && nonc[t.shard.Route] && t.recorded == nil {
			held[t.shard.Route] = append(held[t.shard.Route], t)
		}
	}
	return held
}

// release creates the held current-version jobs of each route once all
// its noncurrent-version jobs are Complete; with Wait it polls until then,
// else it reports them held.
func (s *submitter) release(held map[string][]target) error {
	var blocked []string
	for len(held) > 0 {
		for _, route := range sortedKeys(held) {
			state, detail, err := s.noncurrentState(route)
			if err != nil {
				return err
			}
			switch state {
			case "complete":
				if err := s.create(held[route]); err != nil {
					return err
				}
				delete(held, route)
			case "blocked":
				blocked = append(blocked, fmt.Sprintf("route %s: %s", route, detail))
				for _, t := range held[route] {
					s.report(ShardJob{RunJob: s.entryFor(t), State: "held", Detail: detail})
				}
				delete(held, route)
			default:
				if !s.o.Wait {
					for _, t := range held[route] {
						s.report(ShardJob{RunJob: s.entryFor(t), State: "held", Detail: detail})
					}
					delete(held, route)
				}
			}
		}
		if len(held) == 0 {
			break
		}
		if err := objio.Sleep(s.ctx, s.o.PollInterval); err != nil {
			return err
		}
	}
	if len(blocked) > 0 {
		return fmt.Errorf("%w: %s; the current versions of these routes were not submitted, since copying them before every older version would leave an old version current",
			ErrNoncurrentIncomplete, strings.Join(blocked, "; "))
	}
	return nil
}

// noncurrentState describes the noncurrent-version jobs of route (those
// whose recorded status is not final), records what it sees, and says
// "complete" (all Complete), "blocked" (one ended otherwise) or
// "waiting", with a detail naming them.
func (s *submitter) noncurrentState(route string) (state, detail string, err error) {
	entries := s.rec.entries(route, manifest.VersionsNoncurrent)
	g, gctx := errgroup.WithContext(s.ctx)
	g.SetLimit(max(s.o.Concurrency, 1))
	for i := range entries {
		if Terminal(entries[i].Status) {
			continue
		}
		g.Go(func() error {
			st, err := describe(gctx, s.o.Client, s.rec.account(), entries[i])
			if err != nil {
				return err
			}
			entries[i].Status = st.Status
			s.rec.setStatus(st)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return "", "", err
	}
	var waiting, bad []string
	for _, e := range entries {
		switch e.Status {
		case string(types.JobStatusComplete):
		case string(types.JobStatusFailed), string(types.JobStatusCancelled), statusNotFound:
			bad = append(bad, fmt.Sprintf("job %s (%s) ended %s", e.JobID, e.Shard, e.Status))
		default:
			waiting = append(waiting, fmt.Sprintf("job %s (%s) is %s", e.JobID, e.Shard, e.Status))
		}
	}
	switch {
	case len(bad) > 0:
		return "blocked", "noncurrent-version " + strings.Join(bad, ", "), nil
	case len(waiting) > 0:
		return "waiting", fmt.Sprintf("current versions wait for the %d noncurrent-version jobs of route %s to complete (%s)", len(waiting), route, strings.Join(waiting, ", ")), nil
	}
	return "complete", "", nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
