package largecopy

import (
	"math"
	"testing"
)

func TestEstimateCost(t *testing.T) {
	const gib = 1 << 30
	tests := []struct {
		name        string
		objects     int64
		bytes       int64
		a           CostAssumptions
		invocations int64
		seconds     float64
		gbSeconds   float64
		usd         float64
	}{
		{name: "nothing"},
		// 1,000 objects of 10 GiB at 200 MB/s: 53.7 s each plus 1 s;
		// 0.5 GB of memory.
		{name: "defaults", objects: 1000, bytes: 1000 * 10 * gib,
			invocations: 1000, seconds: 1000*10*gib/200e6 + 1000, gbSeconds: (1000*10*gib/200e6 + 1000) / 2,
			usd: (1000*10*gib/200e6+1000)/2*0.0000133334 + 1000*0.2/1e6},
		// One 5 TB object at 100 MB/s: 50,000 s of copying, more than 56
		// invocations of at most 889 s.
		{name: "one object, many invocations", objects: 1, bytes: 5e12, a: CostAssumptions{CopyMBps: 100, MemoryMB: 1024},
			invocations: 57, seconds: 50000 + 57, gbSeconds: 50057, usd: 50057*0.0000133334 + 57*0.2/1e6},
		{name: "x86 price", objects: 2, bytes: 400e6, a: CostAssumptions{PricePerGBSecond: 0.0000166667, OverheadSeconds: 0.5, MemoryMB: 256},
			invocations: 2, seconds: 3, gbSeconds: 0.75, usd: 0.75*0.0000166667 + 2*0.2/1e6},
	}
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := EstimateCost(tt.objects, tt.bytes, tt.a)
			if c.Invocations != tt.invocations || !near(c.Seconds, tt.seconds) || !near(c.GBSeconds, tt.gbSeconds) || !near(c.USD, tt.usd) {
				t.Errorf("EstimateCost = %+v, want %d invocations, %g s, %g GB-s, $%g", c, tt.invocations, tt.seconds, tt.gbSeconds, tt.usd)
			}
			if c.Assumptions.MemoryMB == 0 || c.Assumptions.CopyMBps == 0 {
				t.Errorf("assumptions not filled: %+v", c.Assumptions)
			}
		})
	}
}
