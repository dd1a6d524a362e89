package report

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/s3batchkit/s3batchkit/manifest"
)

// testObject is one object of a generated plan: its decoded fields.
type testObject struct{ bucket, key, version string }

// testShard is a shard of a generated plan.
type testShard struct {
	route     string
	bucket    string
	versioned bool
	versions  string // manifest.Shard.Versions of a versioned shard
	objects   []testObject
}

// plannedLine is a line of a generated plan's shard, raw and parsed.
type testLine struct {
	shard                int
	raw                  string // the line, without "\n"
	bucket, key, version string // raw fields, as a report echoes them
}

// writeTestPlan writes a plan directory holding shards, and returns the
// plan and its lines per shard, read back with manifest.Reader.
func writeTestPlan(t testing.TB, dir string, shards []testShard) (*manifest.Plan, [][]testLine) {
	t.Helper()
	pd, err := manifest.CreatePlanDir(nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, sh := range shards {
		w, err := pd.NewShardOf(sh.route, sh.bucket, sh.versioned, sh.versions)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range sh.objects {
			if err := w.Add([]byte(o.bucket), []byte(o.key), []byte(o.version), 1); err != nil {
				t.Fatal(err)
			}
		}
	}
	plan := &manifest.Plan{Options: map[string]any{}, Counters: manifest.Counters{Dropped: map[string]int64{}}}
	if err := pd.Commit(context.Background(), plan); err != nil {
		t.Fatal(err)
	}
	lines := make([][]testLine, len(plan.Shards))
	for i, sh := range plan.Shards {
		lines[i] = readTestLines(t, filepath.Join(dir, sh.Path), sh.VersionIDs, i)
	}
	return plan, lines
}

func readTestLines(t testing.TB, path string, versioned bool, shard int) []testLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := manifest.NewReader(f, path, manifest.DefaultFields(versioned))
	var out []testLine
	for {
		l, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, testLine{shard: shard, raw: string(l.Raw), bucket: string(l.Bucket), key: string(l.Key), version: string(l.VersionID)})
	}
}

// testRow is a task result a generated report holds.
type testRow struct {
	line   testLine
	failed bool
	http   int
	code   string
}

// reportStyle is how a generated report is written.
type reportStyle struct {
	crlf        bool   // S3's line ends
	absentAsN   bool   // "\N" for a missing version id, as S3 writes it
	failedOnly  bool   // FailedTasksOnly: no succeeded file
	doubleSlash bool   // result keys "<prefix>//job-<id>/...", as S3 writes them for a prefix ending in '/'
	date        string // ReportCreationDate
}

// writeTestReport writes job id's completion report under prefix, in
// S3's layout and row shape (HTTP status before error code).
func writeTestReport(t testing.TB, prefix, id string, rows []testRow, st reportStyle) {
	t.Helper()
	jdir := filepath.Join(prefix, "job-"+id)
	if err := os.MkdirAll(filepath.Join(jdir, "results"), 0o755); err != nil {
		t.Fatal(err)
	}
	var files [2]bytes.Buffer // failed, succeeded
	for _, r := range rows {
		if !r.failed && st.failedOnly {
			continue
		}
		v := r.line.version
		if v == "" && st.absentAsN {
			v = `\N`
		}
		status, msg := "succeeded", "Successful"
		if r.failed {
			status, msg = "failed", fmt.Sprintf("Task failed: %s, \"quoted\" (Request ID: %X)", r.code, rand.Uint64())
		}
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		w.UseCRLF = st.crlf
		w.Write([]string{r.line.bucket, r.line.key, v, status, fmt.Sprint(r.http), r.code, msg})
		w.Flush()
		k := 1
		if r.failed {
			k = 0
		}
		files[k].Write(b.Bytes())
	}
	date := st.date
	if date == "" {
		date = "2026-07-21T21:28:58.559244258Z"
	}
	m := ReportManifest{Format: ReportFormat, ReportCreationDate: date, Results: []ResultEntry{}, ReportSchema: "Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage"}
	for k, status := range []string{"failed", "succeeded"} {
		if files[k].Len() == 0 {
			continue
		}
		data := files[k].Bytes()
		sum := md5.Sum(data)
		name := fmt.Sprintf("%040x.csv", md5.Sum([]byte(id+status)))
		if err := os.WriteFile(filepath.Join(jdir, "results", name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		key := "job-" + id + "/results/" + name
		if st.doubleSlash {
			key = filepath.Base(prefix) + "//" + key
		}
		m.Results = append(m.Results, ResultEntry{TaskExecutionStatus: status, Bucket: "reports", MD5Checksum: hex.EncodeToString(sum[:]), Key: key})
	}
	raw, _ := json.Marshal(m)
	if err := os.WriteFile(filepath.Join(jdir, "manifest.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeJobsJSON(t testing.TB, dir string, jobs []manifest.RunJob) {
	t.Helper()
	if err := manifest.WriteRun(context.Background(), nil, dir, &manifest.Run{Version: manifest.JobsVersion, Jobs: jobs}); err != nil {
		t.Fatal(err)
	}
}

// rerunLines reads the lines of DIR2/rerun/<class>, each with its shard's
// route and bucket.
func rerunLines(t testing.TB, out, class string) (*manifest.Plan, []string) {
	t.Helper()
	dir := filepath.Join(out, RerunDir, class)
	p, err := manifest.ReadPlan(context.Background(), nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, sh := range p.Shards {
		raw, err := os.ReadFile(filepath.Join(dir, sh.Path))
		if err != nil {
			t.Fatal(err)
		}
		sum := md5.Sum(raw)
		if hex.EncodeToString(sum[:]) != sh.MD5 || int64(bytes.Count(raw, []byte("\n"))) != sh.Objects {
			t.Fatalf("%s: MD5 or line count differs from its plan.json", sh.Path)
		}
		for _, l := range strings.SplitAfter(string(raw), "\n") {
			if l != "" {
				lines = append(lines, sh.Route+"|"+sh.Bucket+"|"+strings.TrimSuffix(l, "\n"))
			}
		}
	}
	return p, lines
}

// modelJob is a job of the model: which planned lines it ran, with their
// results, and how it ended.
type modelJob struct {
	id       string
	shard    int
	status   string
	report   bool // a report was written (it ran at least one task)
	style    reportStyle
	ran      map[int]testRow // line index → result
	inJobsJS bool
}

var modelFailures = []struct {
	http int
	code string
	cl   Class
}{
	{503, "SlowDown", Retryable},
	{404, "NoSuchKey", Permanent},
	{500, "SrcObjectNotFound", Permanent},
	{400, "WeirdError", Unknown},
	{200, "OK", Retryable},
	{409, "RestoreAlreadyInProgress", Success},
}

// modelOutcome is what can be known of a line: its outcome in the newest
// job whose report shows it ran, as the class name, "succeeded" or
// "not-run". A Complete job ran every line (what its report does not list
// as failed succeeded); a job that ended early with a FailedTasksOnly
// report hides its successes, which then count as not run in that job.
func modelOutcome(jobs []*modelJob, shard, line int) string {
	for i := len(jobs) - 1; i >= 0; i-- {
		j := jobs[i]
		if j.shard != shard || !j.inJobsJS {
			continue
		}
		if r, ok := j.ran[line]; ok {
			if !r.failed {
				if j.style.failedOnly && j.status != StatusComplete {
					continue // a success nobody sees
				}
				return "succeeded"
			}
			for _, f := range modelFailures {
				if f.code == r.code {
					if f.cl == Success {
						return "succeeded"
					}
					return f.cl.String()
				}
			}
		}
	}
	return NotRunClass
}

// genPlanRun writes a random plan, its jobs (each ending Complete, Failed
// part way, Cancelled part way, never started, or of unknown status; both
// report scopes; some shards run twice) and their reports.
func genPlanRun(t testing.TB, rng *rand.Rand, dir string, lines [][]testLine, plan *manifest.Plan) []*modelJob {
	t.Helper()
	reports := filepath.Join(dir, "reports")
	var jobs []*modelJob
	var entries []manifest.RunJob
	for s := range plan.Shards {
		runs := rng.IntN(3) // 0: never started
		for k := 0; k < runs; k++ {
			j := &modelJob{id: fmt.Sprintf("job-%d-%d-%d", s, k, rng.Uint32()), shard: s, ran: map[int]testRow{}, inJobsJS: true}
			j.style = reportStyle{crlf: rng.IntN(2) == 0, absentAsN: rng.IntN(2) == 0, failedOnly: rng.IntN(2) == 0}
			end := rng.IntN(5)
			switch end {
			case 0, 1:
				j.status = StatusComplete
			case 2:
				j.status = StatusFailed
			case 3:
				j.status = StatusCancelled
			default:
				j.status = "Active" // status not final
			}
			failRate := rng.IntN(100)
			order := rng.Perm(len(lines[s]))
			n := len(order)
			if j.status != StatusComplete {
				n = rng.IntN(len(order) + 1) // ended part way (or ran everything)
			}
			for _, li := range order[:n] {
				r := testRow{line: lines[s][li]}
				if rng.IntN(100) < failRate {
					f := modelFailures[rng.IntN(len(modelFailures))]
					r.failed, r.http, r.code = true, f.http, f.code
				} else {
					r.http = 200
				}
				j.ran[li] = r
			}
			j.report = len(j.ran) > 0
			if j.report {
				var rows []testRow
				for _, li := range order[:n] {
					rows = append(rows, j.ran[li])
				}
				writeTestReport(t, reports, j.id, rows, j.style)
			}
			entries = append(entries, manifest.RunJob{Shard: plan.Shards[s].Path, Route: plan.Shards[s].Route, JobID: j.id, ReportPrefix: reports, Status: j.status, Objects: int64(len(lines[s]))})
			jobs = append(jobs, j)
		}
	}
	writeJobsJSON(t, dir, entries)
	return jobs
}

// genTestShards makes random shards: routes, buckets, versioned or not,
// keys with characters manifests encode, version ids with '+', '/', '='.
func genTestShards(rng *rand.Rand, n int) []testShard {
	routes := []string{"copy", "large", "restore"}
	var out []testShard
	for s := 0; s < n; s++ {
		sh := testShard{route: routes[rng.IntN(len(routes))], bucket: fmt.Sprintf("bucket-%d", rng.IntN(2)), versioned: rng.IntN(2) == 0}
		m := 1 + rng.IntN(40)
		for i := 0; i < m; i++ {
			o := testObject{bucket: sh.bucket, key: fmt.Sprintf("dir %d/k+%d,é\"%d", s, i, rng.IntN(1000))}
			if sh.versioned {
				switch rng.IntN(4) {
				case 0:
					o.version = "" // null version
				case 1:
					o.version = fmt.Sprintf("3/L4kq+%d=rmSpXd3dIbrHY+MTRC", i)
				default:
					o.version = fmt.Sprintf("kGg.8H_%d_cdxO2Ey4bwYmT8.Dup", i)
				}
			}
			sh.objects = append(sh.objects, o)
		}
		out = append(out, sh)
	}
	return out
}

// checkAccount checks a report --plan summary and its re-run plans
// against the model; it returns the re-run lines by class.
func checkAccount(t *testing.T, s *Summary, out string, plan *manifest.Plan, lines [][]testLine, jobs []*modelJob) map[string][]string {
	t.Helper()
	want := map[string][]string{}
	var counts = map[string]int64{}
	for sidx, ls := range lines {
		for li, l := range ls {
			o := modelOutcome(jobs, sidx, li)
			counts[o]++
			if o != "succeeded" {
				want[o] = append(want[o], plan.Shards[sidx].Route+"|"+plan.Shards[sidx].Bucket+"|"+l.raw)
			}
		}
	}
	p := s.Plan
	if p == nil {
		t.Fatal("no plan section in the summary")
	}
	var planned int64
	for _, ls := range lines {
		planned += int64(len(ls))
	}
	if p.Planned != planned || p.Planned != p.Succeeded+p.Failed+p.NotRun {
		t.Fatalf("planned %d (want %d) != %d succeeded + %d failed + %d not run", p.Planned, planned, p.Succeeded, p.Failed, p.NotRun)
	}
	if p.Succeeded != counts["succeeded"] || p.NotRun != counts[NotRunClass] {
		t.Fatalf("succeeded %d, not run %d; want %d, %d", p.Succeeded, p.NotRun, counts["succeeded"], counts[NotRunClass])
	}
	for _, cl := range FailureClasses {
		if p.FailedByClass[cl.String()] != counts[cl.String()] {
			t.Fatalf("failed %s %d, want %d", cl, p.FailedByClass[cl.String()], counts[cl.String()])
		}
	}
	var byJob int64
	for _, j := range p.ByJob {
		if j.Planned != j.Succeeded+j.Failed+j.NotRun {
			t.Fatalf("shard %s: %+v does not add up", j.Shard, j)
		}
		byJob += j.Planned
	}
	if byJob != planned {
		t.Fatalf("shards account for %d objects, want %d", byJob, planned)
	}
	got := map[string][]string{}
	for _, class := range rerunPositions {
		rp, ls := rerunLines(t, out, class)
		if rp.Counters.RowsRead != rp.Counters.RowsKept+sumDropped(rp.Counters.Dropped) {
			t.Fatalf("rerun/%s counters %+v do not add up", class, rp.Counters)
		}
		got[class] = ls
		w := append([]string(nil), want[class]...)
		sort.Strings(ls)
		sort.Strings(w)
		if strings.Join(ls, "\n") != strings.Join(w, "\n") {
			t.Fatalf("rerun/%s: %d lines, want %d:\n got %q\nwant %q", class, len(ls), len(w), ls, w)
		}
	}
	return got
}

func sumDropped(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// TestAccountConservation is the property: over random plans, job ends
// and report scopes, the outcomes partition the planned objects, each
// re-run plan holds exactly the lines of its outcome, byte for byte, and
// re-running the re-run plans (re-runs of re-runs) partitions them again.
func TestAccountConservation(t *testing.T) {
	for seed := uint64(1); seed <= 12; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			dir := t.TempDir()
			planDir := filepath.Join(dir, "plan")
			plan, lines := writeTestPlan(t, planDir, genTestShards(rng, 1+rng.IntN(6)))
			jobs := genPlanRun(t, rng, planDir, lines, plan)
			mem := 0
			if seed%3 == 0 {
				mem = 512 // every sort spills
			}
			out := filepath.Join(dir, "audit")
			s, err := Run(context.Background(), Options{Plan: planDir, Out: out, MaxShardObjects: int64(1 + rng.IntN(30)), Merge: MergeOptions{SortMemory: mem}})
			if err != nil {
				t.Fatal(err)
			}
			reruns := checkAccount(t, s, out, plan, lines, jobs)
			// Every re-run line is a line of the plan.
			all := map[string]bool{}
			for sidx, ls := range lines {
				for _, l := range ls {
					all[plan.Shards[sidx].Route+"|"+plan.Shards[sidx].Bucket+"|"+l.raw] = true
				}
			}
			for class, ls := range reruns {
				for _, l := range ls {
					if !all[l] {
						t.Fatalf("rerun/%s holds %q, a line the plan did not write", class, l)
					}
				}
			}
			// Re-runs of re-runs: each re-run plan is a plan like the
			// others.
			for _, class := range []string{Retryable.String(), NotRunClass} {
				rdir := filepath.Join(out, RerunDir, class)
				rplan, err := manifest.ReadPlan(context.Background(), nil, rdir)
				if err != nil {
					t.Fatal(err)
				}
				var rlines [][]testLine
				for i, sh := range rplan.Shards {
					rlines = append(rlines, readTestLines(t, filepath.Join(rdir, sh.Path), sh.VersionIDs, i))
				}
				rjobs := genPlanRun(t, rng, rdir, rlines, rplan)
				rout := filepath.Join(dir, "audit-"+class)
				rs, err := Run(context.Background(), Options{Plan: rdir, Out: rout})
				if err != nil {
					t.Fatal(err)
				}
				checkAccount(t, rs, rout, rplan, rlines, rjobs)
			}
		})
	}
}

const plusVersion = "3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo"

// realShapedRun writes a plan of two shards and reports shaped as S3
// writes them: CRLF line ends, "\N" for no version id, the HTTP status
// before the error code, "null" versions, a ReportCreationDate with
// nanoseconds, result keys with "//". Job A (shard 0) Failed after two
// tasks, AllTasks; job B (shard 1) is Complete, FailedTasksOnly.
func realShapedRun(t *testing.T) (plan string, lines [][]testLine) {
	t.Helper()
	dir := t.TempDir()
	plan = filepath.Join(dir, "plan")
	_, lines = writeTestPlan(t, plan, []testShard{
		{route: "copy", bucket: "src", objects: []testObject{{"src", "a b+c.jpg", ""}, {"src", "photos/x,1.jpg", ""}, {"src", "plain.txt", ""}, {"src", "gone.txt", ""}}},
		{route: "copy", bucket: "src", versioned: true, objects: []testObject{{"src", "v.txt", plusVersion}, {"src", "n.txt", ""}, {"src", "r.txt", "kGg.8H_73_cdxO2Ey4bwYmT8.DupPK4x"}}},
	})
	reports := filepath.Join(dir, "reports")
	write := func(job, status, data string) ResultEntry {
		name := fmt.Sprintf("%040x.csv", md5.Sum([]byte(job+status)))
		p := filepath.Join(reports, "job-"+job, "results", name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(data), 0o644)
		sum := md5.Sum([]byte(data))
		return ResultEntry{TaskExecutionStatus: status, Bucket: "my-reports", MD5Checksum: hex.EncodeToString(sum[:]), Key: "reports//job-" + job + "/results/" + name}
	}
	manifestOf := func(job string, rs ...ResultEntry) {
		raw, _ := json.Marshal(ReportManifest{Format: ReportFormat, ReportCreationDate: "2026-07-21T21:28:58.559244258Z", Results: rs,
			ReportSchema: "Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage"})
		os.WriteFile(filepath.Join(reports, "job-"+job, "manifest.json"), raw, 0o644)
	}
	manifestOf("A",
		write("A", "failed", "src,a%20b%2Bc.jpg,\\N,failed,503,SlowDown,\"Please reduce your request rate. (Service: Amazon S3; Status Code: 503; Request ID: 4QD6XKH3ZC8BSQ1V)\"\r\n"),
		write("A", "succeeded", "src,plain.txt,\\N,succeeded,200,,Successful\r\n"))
	manifestOf("B", write("B", "failed", "src,v.txt,"+plusVersion+",failed,500,SrcObjectNotFound,Object versionID is invalid\r\n"+
		"src,n.txt,null,failed,404,NoSuchVersion,The specified version does not exist.\r\n"))
	writeJobsJSON(t, plan, []manifest.RunJob{
		{Shard: "shards/copy/00000.csv", Route: "copy", JobID: "A", ReportPrefix: reports, Status: StatusFailed},
		{Shard: "shards/copy/00001.csv", Route: "copy", JobID: "B", ReportPrefix: reports, Status: StatusComplete},
	})
	return plan, lines
}

// TestAccountRealShapedReports reads reports shaped as S3 writes them and
// checks every object's outcome and the re-run lines, byte for byte.
func TestAccountRealShapedReports(t *testing.T) {
	plan, _ := realShapedRun(t)
	out := t.TempDir()
	s, err := Run(context.Background(), Options{Plan: plan, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	p := s.Plan
	if p.Planned != 7 || p.Succeeded != 2 || p.Failed != 3 || p.NotRun != 2 || p.FailedByClass["permanent"] != 2 || p.FailedByClass["retryable"] != 1 || p.NotRunByReason[NotRunJobFailed] != 2 {
		t.Fatalf("plan summary %+v", p)
	}
	if j := p.ByJob[0]; j.JobID != "A" || j.Status != StatusFailed || j.Planned != 4 || j.Succeeded != 1 || j.Failed != 1 || j.NotRun != 2 {
		t.Fatalf("shard 0: %+v", j)
	}
	if j := p.ByJob[1]; j.JobID != "B" || j.Status != StatusComplete || j.Planned != 3 || j.Succeeded != 1 || j.Failed != 2 || j.NotRun != 0 {
		t.Fatalf("shard 1: %+v", j)
	}
	for class, want := range map[string][]string{
		"retryable": {"copy|src|src,a%20b%2Bc.jpg"},
		"permanent": {"copy|src|src,v.txt," + plusVersion, "copy|src|src,n.txt,null"},
		"unknown":   nil,
		NotRunClass: {"copy|src|src,photos/x%2C1.jpg", "copy|src|src,gone.txt"},
	} {
		_, got := rerunLines(t, out, class)
		sort.Strings(got)
		sort.Strings(want)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("rerun/%s:\n got %q\nwant %q", class, got, want)
		}
	}
	var text bytes.Buffer
	if err := WriteText(&text, s, 20); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"7 objects planned: 2 succeeded, 3 failed, 2 not run", "not run by reason:  job_failed 2", "shards/copy/00000.csv", "rerun/not-run"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	// Without the plan, the same reports: what ran is counted, and the
	// summary says plainly that what never ran cannot be listed.
	s2, err := Run(context.Background(), Options{Prefixes: []string{filepath.Join(filepath.Dir(plan), "reports")}, Out: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if s2.Plan != nil || s2.NotRun != NotRunNote || s2.Tasks.Total != 4 {
		t.Fatalf("prefix summary: plan %v, not run %q, tasks %+v", s2.Plan, s2.NotRun, s2.Tasks)
	}
}

// TestAccountBadInput: what does not fit is named (job and shard) and
// counted, never dropped silently.
func TestAccountBadInput(t *testing.T) {
	ctx := context.Background()
	t.Run("job without report", func(t *testing.T) {
		plan, _ := realShapedRun(t)
		os.RemoveAll(filepath.Join(filepath.Dir(plan), "reports", "job-B"))
		s, err := Run(ctx, Options{Plan: plan, Out: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if s.Plan.Problems.JobsWithoutReport != 1 || s.Plan.NotRunByReason[NotRunNoReport] != 3 || !hasWarning(s, "job B (shard shards/copy/00001.csv, status Complete) has no report") {
			t.Fatalf("problems %+v, not run %v, warnings %q", s.Plan.Problems, s.Plan.NotRunByReason, s.Warnings)
		}
	})
	t.Run("report of a job not in the plan", func(t *testing.T) {
		plan, _ := realShapedRun(t)
		other := t.TempDir()
		writeTestReport(t, other, "Z", []testRow{{line: testLine{bucket: "src", key: "elsewhere"}, failed: true, http: 503, code: "SlowDown"}}, reportStyle{})
		s, err := Run(ctx, Options{Plan: plan, Prefixes: []string{other}, Out: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if s.Plan.Problems.JobsNotInPlan != 1 || s.Plan.Problems.RowsOutsidePlan != 1 || s.Plan.Planned != 7 || s.Tasks.Total != 5 || !hasWarning(s, "report of job Z") {
			t.Fatalf("problems %+v, tasks %+v, warnings %q", s.Plan.Problems, s.Tasks, s.Warnings)
		}
	})
	t.Run("jobs.json names a shard the plan does not list", func(t *testing.T) {
		plan, _ := realShapedRun(t)
		r, _ := manifest.ReadRun(ctx, nil, plan)
		r.Jobs[1].Shard = "shards/copy/00009.csv"
		writeJobsJSON(t, plan, r.Jobs)
		s, err := Run(ctx, Options{Plan: plan, Out: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if s.Plan.Problems.JobsNotInPlan != 1 || s.Plan.NotRunByReason[NotRunNoJob] != 3 || !hasWarning(s, "job B of shard shards/copy/00009.csv") {
			t.Fatalf("problems %+v, not run %v, warnings %q", s.Plan.Problems, s.Plan.NotRunByReason, s.Warnings)
		}
	})
	t.Run("shard changed since it was planned", func(t *testing.T) {
		plan, _ := realShapedRun(t)
		p := filepath.Join(plan, "shards", "copy", "00000.csv")
		raw, _ := os.ReadFile(p)
		os.WriteFile(p, append(raw, "src,added.txt\n"...), 0o644)
		_, err := Run(ctx, Options{Plan: plan, Out: t.TempDir()})
		var de *DataError
		if !errors.As(err, &de) || !errors.Is(err, ErrShardChanged) || de.Job != "A" || de.File != p {
			t.Fatalf("error %v, want ErrShardChanged naming job A and %s", err, p)
		}
		s, err := Run(ctx, Options{Plan: plan, Out: t.TempDir(), KeepGoing: true})
		if err != nil {
			t.Fatal(err)
		}
		if s.Plan.Problems.ShardsChanged != 1 || s.Plan.Planned != 8 || !hasWarning(s, "shard changed since it was planned") {
			t.Fatalf("problems %+v, planned %d, warnings %q", s.Plan.Problems, s.Plan.Planned, s.Warnings)
		}
	})
	t.Run("report row matching no planned line", func(t *testing.T) {
		plan, lines := realShapedRun(t)
		reports := filepath.Join(filepath.Dir(plan), "reports")
		writeTestReport(t, reports, "A", []testRow{{line: lines[0][0], failed: true, http: 503, code: "SlowDown"},
			{line: testLine{bucket: "src", key: "not-planned.txt"}, failed: true, http: 404, code: "NoSuchKey"}}, reportStyle{})
		s, err := Run(ctx, Options{Plan: plan, Out: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if s.Plan.Problems.RowsNotInPlan != 1 || !hasWarning(s, `key "not-planned.txt"`) {
			t.Fatalf("problems %+v, warnings %q", s.Plan.Problems, s.Warnings)
		}
	})
	t.Run("no jobs.json", func(t *testing.T) {
		plan, _ := realShapedRun(t)
		os.Remove(filepath.Join(plan, manifest.JobsFile))
		out := t.TempDir()
		s, err := Run(ctx, Options{Plan: plan, Out: out})
		if err != nil {
			t.Fatal(err)
		}
		if s.Plan.NotRun != 7 || s.Plan.NotRunByReason[NotRunNoJob] != 7 || !hasWarning(s, "has no jobs.json") {
			t.Fatalf("plan %+v, warnings %q", s.Plan, s.Warnings)
		}
		if _, ls := rerunLines(t, out, NotRunClass); len(ls) != 7 {
			t.Fatalf("rerun/not-run holds %d lines", len(ls))
		}
	})
	t.Run("status refreshed by the caller", func(t *testing.T) {
		plan, _ := realShapedRun(t)
		r, _ := manifest.ReadRun(ctx, nil, plan)
		r.Jobs[0].Status = "Active"
		writeJobsJSON(t, plan, r.Jobs)
		s, err := Run(ctx, Options{Plan: plan, Out: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if s.Plan.NotRunByReason[NotRunJobNotFinished] != 2 || s.Plan.Problems.JobsNotEnded != 1 {
			t.Fatalf("as recorded: %+v", s.Plan)
		}
		s, err = Run(ctx, Options{Plan: plan, Out: t.TempDir(), Statuses: map[string]string{"A": StatusCancelled}})
		if err != nil {
			t.Fatal(err)
		}
		if s.Plan.NotRunByReason[NotRunJobCancelled] != 2 || s.Plan.Problems.JobsNotEnded != 0 {
			t.Fatalf("refreshed: %+v", s.Plan)
		}
	})
}

func hasWarning(s *Summary, part string) bool {
	for _, w := range s.Warnings {
		if strings.Contains(w, part) {
			return true
		}
	}
	return false
}

// FuzzRerunRoundTrip writes a key and a version id into a plan with the
// manifest writer, reports its task failed (echoing the raw fields as a
// report does, "\N" for no version id), and checks that the re-run line,
// with and without the plan, is the line the plan wrote.
func FuzzRerunRoundTrip(f *testing.F) {
	for _, s := range [][2]string{{"a b+c", plusVersion}, {"100%", ""}, {"x,y\"z", "v=1"}, {"é/日本", "null"}, {"new\nline", "a%b"}} {
		f.Add([]byte(s[0]), []byte(s[1]), len(s[1]) > 0)
	}
	f.Fuzz(func(t *testing.T, key, version []byte, versioned bool) {
		if len(key) == 0 || len(key) > 1024 || len(version) > 1024 || !utf8Valid(key) || !utf8Valid(version) || manifest.IsAbsentVersion(version) {
			return
		}
		if !versioned {
			version = nil
		}
		dir := t.TempDir()
		plan := filepath.Join(dir, "plan")
		_, lines := writeTestPlan(t, plan, []testShard{{route: "copy", bucket: "src", versioned: versioned, objects: []testObject{{"src", string(key), string(version)}}}})
		reports := filepath.Join(dir, "reports")
		writeTestReport(t, reports, "J", []testRow{{line: lines[0][0], failed: true, http: 503, code: "SlowDown"}}, reportStyle{absentAsN: true, crlf: true})
		writeJobsJSON(t, plan, []manifest.RunJob{{Shard: "shards/copy/00000.csv", Route: "copy", JobID: "J", ReportPrefix: reports, Status: StatusFailed}})
		want := lines[0][0].raw
		for _, o := range []Options{{Plan: plan}, {Prefixes: []string{reports}}} {
			o.Out = filepath.Join(dir, fmt.Sprint("out", o.Plan == ""))
			if _, err := Run(context.Background(), o); err != nil {
				t.Fatal(err)
			}
			_, got := rerunLines(t, o.Out, "retryable")
			if len(got) != 1 || strings.SplitN(got[0], "|", 3)[2] != want {
				t.Fatalf("plan %q: re-run lines %q, want %q", o.Plan, got, want)
			}
			row, err := manifest.ParseRow([]byte(want))
			if err != nil || row.Key != string(key) || versioned && row.VersionID != string(orNull(version)) {
				t.Fatalf("line %q reads %+v, %v", want, row, err)
			}
		}
	})
}

func utf8Valid(b []byte) bool { return strings.ToValidUTF8(string(b), "\uFFFD") == string(b) }

func orNull(v []byte) []byte {
	if len(v) == 0 {
		return []byte("null")
	}
	return v
}

// TestAccountRerunKeepsVersionKinds checks that re-run plans keep the
// plan's split of current and noncurrent versions: no re-run shard mixes
// them, noncurrent shards come first and say so in plan.json, so that
// submit orders their jobs as it orders the plan's.
func TestAccountRerunKeepsVersionKinds(t *testing.T) {
	plan := filepath.Join(t.TempDir(), "plan")
	writeTestPlan(t, plan, []testShard{
		{route: "copy", bucket: "src", versioned: true, versions: manifest.VersionsCurrent, objects: []testObject{{"src", "a", "v2"}, {"src", "b", "v4"}}},
		{route: "copy", bucket: "src", versioned: true, versions: manifest.VersionsNoncurrent, objects: []testObject{{"src", "a", "v1"}, {"src", "b", "v3"}}},
		{route: "copy", bucket: "src", objects: []testObject{{"src", "c", ""}}},
	})
	writeJobsJSON(t, plan, nil) // nothing submitted: every object not run
	out := t.TempDir()
	if _, err := Run(context.Background(), Options{Plan: plan, Out: out}); err != nil {
		t.Fatal(err)
	}
	p, _ := rerunLines(t, out, NotRunClass)
	var got []string
	for _, sh := range p.Shards {
		raw, err := os.ReadFile(filepath.Join(out, RerunDir, NotRunClass, sh.Path))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %v %s: %s", sh.Path, sh.VersionIDs, sh.Versions, strings.ReplaceAll(strings.TrimSpace(string(raw)), "\n", " ")))
	}
	want := []string{
		"shards/copy/00000.csv false : src,c",
		"shards/copy/00001.csv true noncurrent: src,a,v1 src,b,v3",
		"shards/copy/00002.csv true current: src,a,v2 src,b,v4",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("re-run shards:\n got %q\nwant %q", got, want)
	}
}
