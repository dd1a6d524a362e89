package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// WriteText writes s as a readable table: totals, classes, then the top
// codes, HTTP statuses, routes, jobs with failures, prefixes and messages
// (at most top rows each; zero means DefaultTop).
func WriteText(w io.Writer, s *Summary, top int) error {
	if top <= 0 {
		top = DefaultTop
	}
	ew := &errWriter{w: w}
	p := ew.printf
	if s.Plan != nil {
		writePlanText(p, s.Plan, top)
	}
	t := s.Tasks
	p("tasks %s: %s succeeded, %s failed", count(t.Total), count(t.Succeeded), count(t.Failed))
	if t.TreatedAsSuccess > 0 {
		p(", %s treated as success", count(t.TreatedAsSuccess))
	}
	p(" (%d jobs, %d result files)\n", s.Files.Jobs, s.Files.Files)
	p("failed by class:  retryable %s  permanent %s  unknown %s\n", count(s.ByClass["retryable"]), count(s.ByClass["permanent"]), count(s.ByClass["unknown"]))
	o := s.Objects
	p("objects: %s distinct; %s failed at least once, %s still failing, %s succeeded later, %s failed more than once\n",
		count(o.Distinct), count(o.FailedObjects), count(o.LatestFailed), count(o.LaterSucceeded), count(o.FailedSeveralTimes))
	if len(s.ByErrorCode) > 0 {
		p("\n%-32s %5s %-10s %15s\n", "error code", "http", "class", "tasks")
		for i, c := range s.ByErrorCode {
			if i == top {
				p("  … %d more in summary.json\n", len(s.ByErrorCode)-top)
				break
			}
			code := c.Code
			if code == "" {
				code = "(none)"
			}
			p("%-32s %5d %-10s %15s\n", trunc(code, 32), c.HTTPStatus, c.Class, count(c.Tasks))
		}
	}
	if len(s.ByHTTP) > 0 {
		p("\n%-6s %15s\n", "http", "tasks")
		for _, h := range s.ByHTTP {
			p("%-6d %15s\n", h.HTTPStatus, count(h.Tasks))
		}
	}
	p("\n%-16s %6s %15s %15s %15s\n", "route", "jobs", "tasks", "succeeded", "failed")
	for _, r := range s.ByRoute {
		p("%-16s %6d %15s %15s %15s\n", trunc(r.Route, 16), r.Jobs, count(r.Tasks), count(r.Succeeded), count(r.Failed))
	}
	var failing []JobSummary
	for _, j := range s.ByJob {
		if j.Failed > 0 {
			failing = append(failing, j)
		}
	}
	if len(failing) > 0 {
		p("\n%-40s %-12s %15s %15s\n", "job with failures", "route", "tasks", "failed")
		for i, j := range failing {
			if i == top {
				p("  … %d more in summary.json\n", len(failing)-top)
				break
			}
			p("%-40s %-12s %15s %15s\n", trunc(j.JobID, 40), trunc(j.Route, 12), count(j.Tasks), count(j.Failed))
		}
	}
	if len(s.ByPrefix.Prefixes) > 0 {
		p("\n%-48s %15s %15s\n", fmt.Sprintf("bucket/prefix (depth %d)", s.ByPrefix.Depth), "tasks", "failed")
		for i, pc := range s.ByPrefix.Prefixes {
			if i == top {
				p("  … %d more in summary.json\n", len(s.ByPrefix.Prefixes)-top)
				break
			}
			p("%-48s %15s %15s\n", trunc(keyPrefixDisplay(pc.Prefix), 48), count(pc.Tasks), count(pc.Failed))
		}
	}
	if len(s.Messages.Messages) > 0 {
		approx := ""
		if s.Messages.Approximate {
			approx = " (approximate: counts are lower bounds)"
		}
		p("\ntop failure messages%s\n", approx)
		for i, m := range s.Messages.Messages {
			if i == top {
				break
			}
			p("%15s  %s  %s\n", count(m.Tasks), m.Code, trunc(m.Message, 100))
		}
	}
	if len(s.Rerun) > 0 {
		p("\nrerun manifests\n")
		for _, r := range s.Rerun {
			p("  %-10s %12s objects %5d shards  %s\n", r.Class, count(r.Objects), r.Shards, r.Dir)
		}
	}
	if s.NotRun != "" {
		p("\nnot run: %s\n", s.NotRun)
		if len(s.EndedEarly) > 0 {
			p("  jobs that failed at the failure threshold: %s\n", strings.Join(s.EndedEarly, ", "))
		}
	}
	if len(s.Warnings) > 0 {
		p("\nwarnings\n")
		for _, wmsg := range s.Warnings {
			p("  - %s\n", wmsg)
		}
	}
	return ew.err
}

// writePlanText writes the plan section: every planned object's outcome,
// in total and per shard (those with objects failed or not run first).
func writePlanText(p func(string, ...any), ps *PlanSummary, top int) {
	p("plan %s: %s objects planned: %s succeeded, %s failed, %s not run (%d shards, %d jobs)\n",
		ps.Dir, count(ps.Planned), count(ps.Succeeded), count(ps.Failed), count(ps.NotRun), ps.Shards, ps.Jobs)
	p("  failed by class:  retryable %s  permanent %s  unknown %s\n", count(ps.FailedByClass["retryable"]), count(ps.FailedByClass["permanent"]), count(ps.FailedByClass["unknown"]))
	if len(ps.NotRunByReason) > 0 {
		var rs []string
		for r, n := range ps.NotRunByReason {
			rs = append(rs, fmt.Sprintf("%s %s", r, count(n)))
		}
		sort.Strings(rs)
		p("  not run by reason:  %s\n", strings.Join(rs, "  "))
	}
	pr := ps.Problems
	for _, x := range []struct {
		n    int64
		what string
	}{
		{int64(pr.JobsWithoutReport), "jobs without a report"},
		{int64(pr.JobsNotInPlan), "jobs not in the plan"},
		{pr.RowsNotInPlan, "report rows matching no planned line"},
		{pr.RowsOutsidePlan, "report rows of jobs not in the plan"},
		{int64(pr.JobsNotEnded), "jobs not ended or of unknown status"},
		{int64(pr.ShardsChanged), "shards changed since planned"},
		{int64(pr.ShardsUnreadable), "shards unreadable"},
		{pr.BadLines, "bad shard lines"},
		{pr.AbsentVersionIDs, `lines with the version id \N`},
	} {
		if x.n > 0 {
			p("  problem: %s %s (see warnings)\n", count(x.n), x.what)
		}
	}
	rows := append([]PlanJobSummary(nil), ps.ByJob...)
	sort.SliceStable(rows, func(a, b int) bool {
		return rows[a].Failed+rows[a].NotRun > 0 && rows[b].Failed+rows[b].NotRun == 0
	})
	p("\n%-28s %-10s %-38s %-10s %12s %12s %12s %12s\n", "shard", "route", "job", "status", "planned", "succeeded", "failed", "not run")
	for i, r := range rows {
		if i == top {
			p("  … %d more in summary.json\n", len(rows)-top)
			break
		}
		job := r.JobID
		if job == "" {
			job = "(none)"
		}
		p("%-28s %-10s %-38s %-10s %12s %12s %12s %12s\n", trunc(r.Shard, 28), trunc(r.Route, 10), trunc(job, 38), trunc(r.Status, 10),
			count(r.Planned), count(r.Succeeded), count(r.Failed), count(r.NotRun))
	}
	p("\n")
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, a ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, a...)
	}
}

func trunc(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > n {
		return s[:n-1] + "…"
	}
	return s
}

func count(n int64) string {
	s := fmt.Sprint(n)
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[0] != '-' {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
