package partition

import (
	"testing"

	"github.com/s3batchkit/s3batchkit/largecopy"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// TestCosts: every route pays the Batch Operations fees; the large route
// also its Lambda copies, estimated with the given assumptions.
func TestCosts(t *testing.T) {
	routes := []manifest.RouteTotal{{Route: RouteCopy, Shards: 2, Objects: 1_500_000, Bytes: 1 << 40}, {Route: RouteLarge, Shards: 1, Objects: 10, Bytes: 100 << 30}}
	a := largecopy.CostAssumptions{MemoryMB: 1024, CopyMBps: 100}
	got := Costs(routes, Prices{PerJob: 0.25, PerMillion: 1, Lambda: a})
	if len(got) != 2 || got[0].USD != 2*0.25+1.5 || got[0].Lambda != nil {
		t.Fatalf("copy route: %+v", got)
	}
	want := largecopy.EstimateCost(10, 100<<30, a)
	if l := got[1].Lambda; got[1].USD != 0.25+10/1e6 || l == nil || *l != want || l.Assumptions.MemoryMB != 1024 {
		t.Errorf("large route: %+v (Lambda %+v), want Lambda %+v", got[1], l, want)
	}
}
