package jobs

import "testing"

// TestSummarize checks the sums, the percent and the time left of a run
// from its jobs' states: the tasks left of unfinished jobs over the summed
// task rate of the Active ones.
func TestSummarize(t *testing.T) {
	rs := summarize("p", []JobState{
		{Status: "Complete", Total: 1000, Succeeded: 990, Failed: 10, ActiveSeconds: 100},
		{Status: "Active", Total: 1000, Succeeded: 400, Failed: 100, ActiveSeconds: 50}, // 10 tasks/s
		{Status: "Active", Total: 2000, Succeeded: 500, ActiveSeconds: 100},             // 5 tasks/s
		{Status: "Failed", Total: 500, FailureReasons: []string{"x: manifest unreadable"}},
		{Status: statusNotFound},
	})
	if rs.Total != 4500 || rs.Succeeded != 1890 || rs.Failed != 110 {
		t.Errorf("tasks total %d, succeeded %d, failed %d; want 4500, 1890, 110", rs.Total, rs.Succeeded, rs.Failed)
	}
	if rs.ByStatus["Complete"] != 1 || rs.ByStatus["Active"] != 2 || rs.ByStatus["Failed"] != 1 || rs.ByStatus[statusNotFound] != 1 || rs.Done {
		t.Errorf("by status %v, done %v", rs.ByStatus, rs.Done)
	}
	if want := 100 * 2000.0 / 4500; rs.Percent < want-0.01 || rs.Percent > want+0.01 {
		t.Errorf("percent %.2f, want %.2f", rs.Percent, want)
	}
	// left: 500 + 1500 tasks at 10 + 5 tasks/s
	if want := 2000.0 / 15; rs.ETASeconds < want-0.01 || rs.ETASeconds > want+0.01 {
		t.Errorf("ETA %.1f s, want %.1f", rs.ETASeconds, want)
	}
	rs = summarize("p", []JobState{{Status: "Complete", Total: 3, Succeeded: 3}, {Status: "Ready", Total: 5}})
	if rs.Done || rs.ETASeconds != -1 {
		t.Errorf("nothing active: done %v, ETA %v; want false, -1 (unknown)", rs.Done, rs.ETASeconds)
	}
	rs = summarize("p", []JobState{{Status: "Complete", Total: 3, Succeeded: 3}, {Status: "Cancelled"}})
	if !rs.Done || rs.ETASeconds != 0 {
		t.Errorf("all ended: done %v, ETA %v", rs.Done, rs.ETASeconds)
	}
}
