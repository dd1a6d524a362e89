package partition_test

// These tests plan generated reports end to end through the exported API.
// They live in the external test package because the generator (package
// bench) imports partition for its benchmark harness.

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/s3batchkit/s3batchkit/gen"
	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/manifest"
	"github.com/s3batchkit/s3batchkit/partition"
)

// genReport writes a small versioned report once per test binary.
func genReport(t *testing.T, rows int64, files int) string {
	t.Helper()
	dir := t.TempDir()
	res, err := gen.Generate(context.Background(), gen.Options{Rows: rows, Out: dir, Seed: 7, Versions: true, Files: files})
	if err != nil {
		t.Fatal(err)
	}
	return res.Manifest
}

func readPlanDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		raw, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[rel] = raw
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPlanDeterministicAcrossWorkersAndMemory(t *testing.T) {
	inv := genReport(t, 30000, 3)
	base := partition.Options{
		Inventories: []string{inv},
		Sort:        true,
		Filter:      inventory.FilterOptions{MinSize: 1},
		Bounds:      partition.Bounds{MaxObjects: 4000, MaxBytes: 2 << 40, MinObjects: 1000},
	}
	var ref map[string][]byte
	var refPlan *manifest.Plan
	for i, v := range []struct {
		workers int
		memory  int64
	}{{1, 1 << 30}, {3, 1 << 30}, {2, 1 << 20}, {1, 300 << 10}} {
		o := base
		o.Out = t.TempDir()
		o.TmpDir = t.TempDir()
		o.Reader.Workers = v.workers
		o.SortMemory = v.memory
		plan, stats, err := partition.Plan(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("workers %d memory %d: runs %d passes %d", v.workers, v.memory, stats.Sort.Runs, stats.Sort.Passes)
		got := readPlanDir(t, o.Out)
		if ents, _ := os.ReadDir(o.TmpDir); len(ents) != 0 {
			t.Errorf("spill files left: %v", ents)
		}
		if i == 0 {
			ref, refPlan = got, plan
			continue
		}
		if len(got) != len(ref) {
			t.Fatalf("run %d: %d files, want %d", i, len(got), len(ref))
		}
		for name, raw := range ref {
			if !bytes.Equal(got[name], raw) {
				t.Errorf("run %d (workers %d, memory %d): %s differs", i, v.workers, v.memory, name)
			}
		}
	}
	// The plan accounts for every row, and sorted shards are ordered,
	// non-overlapping key ranges within each route.
	c := refPlan.Counters
	var dropped int64
	for _, n := range c.Dropped {
		dropped += n
	}
	if c.RowsRead != 30000 || c.RowsKept+dropped != c.RowsRead {
		t.Errorf("counters %+v do not add up", c)
	}
	var planned int64
	// Current and noncurrent versions are cut apart: key ranges are
	// ordered within each (route, versions).
	prev := map[[2]string]manifest.Shard{}
	for _, sh := range refPlan.Shards {
		planned += sh.Objects
		if sh.FirstKey > sh.LastKey {
			t.Errorf("%s: first key %q after last %q", sh.Path, sh.FirstKey, sh.LastKey)
		}
		k := [2]string{sh.Route, sh.Versions}
		if p, ok := prev[k]; ok && p.LastKey > sh.FirstKey {
			t.Errorf("%s starts at %q, before the previous shard's last key %q", sh.Path, sh.FirstKey, p.LastKey)
		}
		prev[k] = sh
		lines := bytes.Count(ref[filepath.FromSlash(sh.Path)], []byte("\n"))
		if int64(lines) != sh.Objects {
			t.Errorf("%s: %d lines, plan says %d", sh.Path, lines, sh.Objects)
		}
	}
	if planned != c.RowsKept {
		t.Errorf("shards hold %d objects, rows kept %d", planned, c.RowsKept)
	}
}

func TestPlanDedupesAcrossInventories(t *testing.T) {
	inv := genReport(t, 5000, 2)
	o := partition.Options{Inventories: []string{inv, inv}, Sort: true, DryRun: true}
	plan, _, err := partition.Plan(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	once, _, err := partition.Plan(context.Background(), partition.Options{Inventories: []string{inv}, Sort: true, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Counters.RowsKept != once.Counters.RowsKept || plan.Counters.Dropped[partition.DropDuplicate] != once.Counters.RowsKept {
		t.Errorf("twice: kept %d, duplicates %d; once: kept %d", plan.Counters.RowsKept, plan.Counters.Dropped[partition.DropDuplicate], once.Counters.RowsKept)
	}
}

func TestPlanDryRunWritesNothing(t *testing.T) {
	inv := genReport(t, 3000, 1)
	out := filepath.Join(t.TempDir(), "plan")
	plan, stats, err := partition.Plan(context.Background(), partition.Options{Inventories: []string{inv}, Out: out, DryRun: true, Sort: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("dry run created %s", out)
	}
	if len(plan.Shards) == 0 || len(stats.Costs) != len(plan.Routes) {
		t.Fatalf("dry run plan %d shards, %d costs", len(plan.Shards), len(stats.Costs))
	}
	for _, c := range stats.Costs {
		want := float64(c.Shards)*partition.DefaultPricePerJob + float64(c.Objects)/1e6*partition.DefaultPricePerMillion
		if c.USD != want {
			t.Errorf("%s: $%v, want $%v", c.Route, c.USD, want)
		}
	}
}

func TestPlanMissingFieldFails(t *testing.T) {
	inv := genReport(t, 100, 1)
	_, _, err := partition.Plan(context.Background(), partition.Options{Inventories: []string{inv}, DryRun: true,
		Filter: inventory.FilterOptions{Where: `object_owner == "me"`}})
	var fe *inventory.FilterError
	if !errorsAs(err, &fe) || fe.Option != "where" {
		t.Fatalf("err = %v, want a missing-field error for --where", err)
	}
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

func benchGenerate(dir string, rows int64) (string, error) {
	res, err := gen.Generate(context.Background(), gen.Options{Rows: rows, Out: dir, Seed: 7, Versions: true, Files: 2})
	if err != nil {
		return "", err
	}
	return res.Manifest, nil
}

// benchInventory is a report to plan: $S3BK_BENCH_INVENTORY, or a
// generated 200,000-row versioned report.
func benchInventory(b *testing.B) string {
	if p := os.Getenv("S3BK_BENCH_INVENTORY"); p != "" {
		return p
	}
	b.Helper()
	dir := b.TempDir()
	res, err := benchGenerate(dir, 200000)
	if err != nil {
		b.Fatal(err)
	}
	return res
}

// BenchmarkPlan plans a report unsorted, sorted in memory and sorted with
// spills (dry run, so that disk writes of shards do not blur the
// comparison). Besides wall-clock rows/s it reports CPU seconds per
// million rows (user+sys of the whole process, which is what a shared
// machine charges), the sort's runs, and the plan's kept rows as a check.
func BenchmarkPlan(b *testing.B) {
	inv := benchInventory(b)
	for _, bc := range []struct {
		name   string
		sort   bool
		memory int64
	}{
		{"unsorted", false, 0},
		{"sorted", true, 1 << 30},
		{"sorted-spilled", true, 64 << 20},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var rows, kept int64
			var runs int
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				plan, stats, err := partition.Plan(context.Background(), partition.Options{Inventories: []string{inv}, DryRun: true, Sort: bc.sort, TmpDir: b.TempDir(), SortMemory: bc.memory})
				if err != nil {
					b.Fatal(err)
				}
				if i > 0 && plan.Counters.RowsKept != kept {
					b.Fatalf("kept %d rows, earlier %d", plan.Counters.RowsKept, kept)
				}
				rows, kept, runs = plan.Counters.RowsRead, plan.Counters.RowsKept, stats.Sort.Runs
			}
			cpu := cpuTime() - cpu0
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(cpu.Seconds()*1e6/(float64(rows)*float64(b.N)), "cpu-s/Mrow")
			b.ReportMetric(float64(runs), "runs")
		})
	}
}

// cpuTime returns the user and system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
