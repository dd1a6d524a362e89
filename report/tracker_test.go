package report

import (
	"bytes"
	"cmp"
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/s3batchkit/s3batchkit/manifest"
)

// modelRun is a generated run of several jobs over a shared set of
// objects, with what report must make of it computed independently.
type modelRun struct {
	plan    string // plan folder with jobs.json
	objects map[string]*modelObject
	routes  []string // by job
	tasks   int64
}

type modelObject struct {
	bucket, key, version string
	fails                []modelFail
	maxOK                int // newest job (1-based) with a success; 0: none
}

type modelFail struct {
	seq   int
	class Class
}

var modelCodes = []struct {
	code  string
	http  int
	class Class
}{
	{"SlowDown", 503, Retryable},
	{"AccessDenied", 403, Permanent},
	{"NoSuchVersion", 404, Permanent},
	{"Teapot", 418, Unknown},
	{"RestoreAlreadyInProgress", 409, Success},
}

// genModelRun writes jobs job-<n>/ folders under dir and a plan folder
// whose jobs.json lists them with routes. Objects appear in several jobs,
// fail and succeed; some fail twice in one job (with the same code, so
// that which of the two is kept does not matter), some succeed and fail
// in the same job, and some fail inside succeeded result files (read
// after the failed ones), where nothing succeeds.
func genModelRun(t *testing.T, dir string, seed uint64, nobj, njobs int) *modelRun {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 99))
	routeNames := []string{"copy", "restore", "large", "copy", "restore"}
	mr := &modelRun{plan: filepath.Join(dir, "plan"), objects: map[string]*modelObject{}}
	type object struct{ bucket, key, version string }
	objs := make([]object, nobj)
	for i := range objs {
		o := object{bucket: fmt.Sprintf("bucket-%d", i%3), key: fmt.Sprintf("dir %d/k+%d/é%d.bin", i%7, i, i*7919%1000)}
		if i%4 == 0 {
			o.version = fmt.Sprintf("v%04dXyZ", i)
		}
		if i%11 == 0 {
			o.key = fmt.Sprintf("same/%d", i%5) // the same key in several buckets and versions
		}
		objs[i] = o
	}
	reports := filepath.Join(dir, "reports")
	var entries []manifest.RunJob
	for j := 0; j < njobs; j++ {
		seq := j + 1
		id := fmt.Sprintf("job%02d-%d", j, seed)
		route := routeNames[j%len(routeNames)]
		mr.routes = append(mr.routes, route)
		entries = append(entries, manifest.RunJob{Shard: fmt.Sprintf("shards/%s/%05d.csv", route, j), Route: route, JobID: id, ReportPrefix: reports})
		var failedFiles, okFiles [3][]byte
		row := func(o object, failed bool, c int) []byte {
			b := append([]byte(o.bucket), ',')
			b = manifest.AppendEncoded(b, []byte(o.key))
			b = append(b, ',')
			b = append(b, o.version...)
			if !failed {
				return append(b, ",succeeded,200,,Successful\n"...)
			}
			mc := modelCodes[c]
			msg := fmt.Sprintf(`"%s, ""quoted"" at %d
second line"`, mc.code, rng.IntN(1e6))
			return fmt.Appendf(b, ",failed,%d,%s,%s\n", mc.http, mc.code, msg)
		}
		for i, o := range objs {
			if rng.IntN(100) >= 45 {
				continue
			}
			name := o.bucket + "\x00" + o.key + "\x00" + o.version
			mo := mr.objects[name]
			if mo == nil {
				mo = &modelObject{bucket: o.bucket, key: o.key, version: o.version}
				mr.objects[name] = mo
			}
			phase2 := i%13 == 5 // fails only, in succeeded files
			outcomes := 1 + rng.IntN(2)
			c := rng.IntN(len(modelCodes))
			for k := 0; k < outcomes; k++ {
				mr.tasks++
				failed := phase2 || rng.IntN(100) < 40
				f := rng.IntN(3)
				if !failed {
					okFiles[f] = append(okFiles[f], row(o, false, 0)...)
					mo.maxOK = max(mo.maxOK, seq)
					continue
				}
				if phase2 {
					c = 0
				}
				if modelCodes[c].class == Success {
					mo.maxOK = max(mo.maxOK, seq)
				} else {
					mo.fails = append(mo.fails, modelFail{seq: seq, class: modelCodes[c].class})
				}
				if phase2 {
					okFiles[f] = append(okFiles[f], row(o, true, c)...)
				} else {
					failedFiles[f] = append(failedFiles[f], row(o, true, c)...)
				}
			}
		}
		var results []ResultEntry
		jdir := filepath.Join(reports, "job-"+id)
		if err := os.MkdirAll(filepath.Join(jdir, "results"), 0o755); err != nil {
			t.Fatal(err)
		}
		for k, data := range append(failedFiles[:], okFiles[:]...) {
			if len(data) == 0 {
				continue
			}
			status := "failed"
			if k >= 3 {
				status = "succeeded"
			}
			sum := md5.Sum(data)
			key := fmt.Sprintf("job-%s/results/%040x.csv", id, k)
			if err := os.WriteFile(filepath.Join(reports, key), data, 0o644); err != nil {
				t.Fatal(err)
			}
			results = append(results, ResultEntry{TaskExecutionStatus: status, Bucket: "reports", MD5Checksum: hex.EncodeToString(sum[:]), Key: key})
		}
		raw, _ := json.Marshal(ReportManifest{Format: ReportFormat, ReportCreationDate: "2024-05-01T00:00:00.000Z", Results: results})
		if err := os.WriteFile(filepath.Join(jdir, "manifest.json"), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, _ := json.Marshal(manifest.Run{Jobs: entries})
	if err := os.MkdirAll(mr.plan, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mr.plan, manifest.JobsFile), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return mr
}

type modelRow struct{ route, bucket, key, version string }

// want computes the object counters, the per-class plan counters and the
// rows of every rerun class, in the order the rerun plans hold them.
func (mr *modelRun) want() (ObjectSummary, map[string]manifest.Counters, map[string][]modelRow) {
	var os ObjectSummary
	os.LatestByClass = map[string]int64{}
	counters := map[string]manifest.Counters{}
	rows := map[string][]modelRow{}
	for _, cl := range FailureClasses {
		os.LatestByClass[cl.String()] = 0
		counters[cl.String()] = manifest.Counters{Dropped: map[string]int64{"later_succeeded": 0, "superseded": 0}}
	}
	// Every object of the model has at least one task: each is one
	// distinct object of the reports.
	os.Distinct = int64(len(mr.objects))
	for _, o := range mr.objects {
		if len(o.fails) == 0 {
			continue
		}
		os.FailedObjects++
		if len(o.fails) > 1 {
			os.FailedSeveralTimes++
		}
		newest := o.fails[0]
		for _, f := range o.fails {
			if f.seq > newest.seq {
				newest = f
			}
		}
		kept := newest.seq > o.maxOK
		if kept {
			os.LatestFailed++
			os.LatestByClass[newest.class.String()]++
			rows[newest.class.String()] = append(rows[newest.class.String()], modelRow{mr.routes[newest.seq-1], o.bucket, o.key, o.version})
		} else {
			os.LaterSucceeded++
		}
		keptOne := false
		for _, f := range o.fails {
			c := counters[f.class.String()]
			c.RowsRead++
			switch {
			case !kept:
				c.Dropped["later_succeeded"]++
			case f.seq == newest.seq && !keptOne:
				keptOne = true
				c.RowsKept++
			default:
				c.Dropped["superseded"]++
			}
			counters[f.class.String()] = c
		}
	}
	for _, r := range rows {
		// Route, bucket, rows without version ids first, key, version.
		slices.SortFunc(r, func(a, b modelRow) int {
			return cmp.Or(strings.Compare(a.route, b.route), strings.Compare(a.bucket, b.bucket),
				cmp.Compare(min(len(a.version), 1), min(len(b.version), 1)), strings.Compare(a.key, b.key), strings.Compare(a.version, b.version))
		})
	}
	return os, counters, rows
}

// readRerun reads the rows of a rerun class in shard order, with routes.
func readRerun(t *testing.T, dir string) (*manifest.Plan, []modelRow) {
	t.Helper()
	p, _ := readShards(t, dir)
	var out []modelRow
	for _, sh := range p.Shards {
		raw, err := os.ReadFile(filepath.Join(dir, sh.Path))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n") {
			if line == "" {
				continue
			}
			r, err := manifest.ParseRow([]byte(line))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, modelRow{sh.Route, r.Bucket, r.Key, r.VersionID})
		}
	}
	return p, out
}

// TestTrackerMatchesModel runs report over generated runs whose objects
// fail and succeed across jobs, with the default memory and with sort
// buffers so small that every sort spills (and merges runs in several
// passes), with one and several readers and tiny batches, and checks each
// against the model — the object counters, the rerun counters and rows in
// order — and that all write byte-identical outputs.
func TestTrackerMatchesModel(t *testing.T) {
	for _, seed := range []uint64{1, 2} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			dir := t.TempDir()
			mr := genModelRun(t, dir, seed, 3000, 6)
			wantObj, wantCounters, wantRows := mr.want()
			if wantObj.LatestFailed == 0 || wantObj.LaterSucceeded == 0 || wantObj.FailedSeveralTimes == 0 {
				t.Fatalf("the generated run lacks cases: %+v", wantObj)
			}
			var outs []string
			for _, cfg := range []struct {
				name string
				o    Options
			}{
				{"default", Options{}},
				{"spilling", Options{Workers: 3, BatchRows: 7, Merge: MergeOptions{SortMemory: 1500}}},
				{"one worker", Options{Workers: 1, Merge: MergeOptions{SortMemory: 20000}}},
			} {
				o := cfg.o
				o.Plan = mr.plan
				o.Out = filepath.Join(dir, "out-"+strings.ReplaceAll(cfg.name, " ", "-"))
				o.MaxShardObjects = 50
				spilled := sortRuns.Load()
				s, err := Run(context.Background(), o)
				if err != nil {
					t.Fatalf("%s: %v", cfg.name, err)
				}
				if spilled = sortRuns.Load() - spilled; (o.Merge.SortMemory == 0) != (spilled == 0) || (o.Merge.SortMemory > 0 && o.Merge.SortMemory < 10000 && spilled < 2*sortMaxFanIn) {
					t.Errorf("%s: %d runs spilled", cfg.name, spilled)
				}
				if s.Tasks.Total != mr.tasks {
					t.Errorf("%s: %d tasks, want %d", cfg.name, s.Tasks.Total, mr.tasks)
				}
				gotObj := s.Objects
				gotObj.DistinctEstimate = 0
				if !reflect.DeepEqual(gotObj, wantObj) {
					t.Errorf("%s: objects\n got %+v\nwant %+v", cfg.name, gotObj, wantObj)
				}
				for _, cl := range FailureClasses {
					p, rows := readRerun(t, filepath.Join(o.Out, RerunDir, cl.String()))
					if !reflect.DeepEqual(p.Counters, wantCounters[cl.String()]) {
						t.Errorf("%s: %s counters %+v, want %+v", cfg.name, cl, p.Counters, wantCounters[cl.String()])
					}
					if !slices.Equal(rows, wantRows[cl.String()]) {
						t.Errorf("%s: %s: %d rows, want %d (or another order)", cfg.name, cl, len(rows), len(wantRows[cl.String()]))
					}
				}
				if left, _ := filepath.Glob(filepath.Join(o.Out, spillPattern)); len(left) > 0 {
					t.Errorf("%s: spill files left: %v", cfg.name, left)
				}
				outs = append(outs, o.Out)
			}
			for _, other := range outs[1:] {
				compareTrees(t, outs[0], other)
			}
		})
	}
}

// compareTrees checks that two output folders hold the same files with
// the same bytes (the output folder's own path aside).
func compareTrees(t *testing.T, a, b string) {
	t.Helper()
	files := func(root string) map[string][]byte {
		m := map[string][]byte{}
		filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() {
				raw, _ := os.ReadFile(p)
				rel, _ := filepath.Rel(root, p)
				m[rel] = bytes.ReplaceAll(raw, []byte(root), []byte("OUT"))
			}
			return nil
		})
		return m
	}
	fa, fb := files(a), files(b)
	if len(fa) != len(fb) {
		t.Errorf("%s holds %d files, %s %d", a, len(fa), b, len(fb))
	}
	for name, raw := range fa {
		if !bytes.Equal(raw, fb[name]) {
			t.Errorf("%s differs between %s and %s:\n%s\n%s", name, a, b, raw, fb[name])
		}
	}
}

func TestHashFilter(t *testing.T) {
	const n = 100_000
	f := newHashFilter(n)
	rng := rand.New(rand.NewPCG(1, 2))
	in := make([]uint64, n)
	for i := range in {
		in[i] = objectHash([]byte("b"), binary.LittleEndian.AppendUint64(nil, rng.Uint64()), nil)
		f.add(in[i])
	}
	for _, h := range in {
		if !f.has(h) {
			t.Fatalf("added hash %x not found", h)
		}
	}
	fp := 0
	for i := 0; i < n; i++ {
		if f.has(objectHash([]byte("other"), binary.LittleEndian.AppendUint64(nil, uint64(i)), nil)) {
			fp++
		}
	}
	if rate := float64(fp) / n; rate > 0.01 {
		t.Errorf("false positive rate %.4f (fill %.2f), want under 1%%", rate, f.fill())
	}
	if got := len(newHashFilter(1<<40).words) * 8; got != maxFilterBytes {
		t.Errorf("filter for 2^40 objects takes %d bytes, want the bound %d", got, maxFilterBytes)
	}
}
