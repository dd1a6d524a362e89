package manifest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// writePlan writes a plan of one shard per route into dir.
func writePlan(t *testing.T, dir string, routes ...string) error {
	t.Helper()
	pd, err := CreatePlanDir(nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routes {
		w, err := pd.NewShard(r, "bkt", false)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Add([]byte("bkt"), []byte(r+"/key"), nil, 1); err != nil {
			t.Fatal(err)
		}
	}
	err = pd.Commit(context.Background(), &Plan{})
	if err != nil {
		pd.Abort()
	}
	return err
}

// TestCommitLeavesForeignFiles: a new plan replaces the shards of the old
// one (removing those it does not write again) and nothing else under
// shards/.
func TestCommitLeavesForeignFiles(t *testing.T) {
	dir := t.TempDir()
	if err := writePlan(t, dir, "copy", "restore"); err != nil {
		t.Fatal(err)
	}
	foreign := []string{"shards/README.txt", "shards/copy/notes.csv", "shards/mine/00000.txt", "notes.md"}
	for _, f := range foreign {
		p := filepath.Join(dir, filepath.FromSlash(f))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("mine"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := writePlan(t, dir, "copy"); err != nil {
		t.Fatal(err)
	}
	for _, f := range foreign {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f))); err != nil {
			t.Errorf("%s was removed: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "shards", "restore")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the old plan's restore shard is still there: %v", err)
	}
	p, err := ReadPlan(context.Background(), nil, dir)
	if err != nil || len(p.Shards) != 1 || p.Shards[0].Path != "shards/copy/00000.csv" {
		t.Fatalf("plan %+v, %v", p, err)
	}
	for _, f := range []string{PlanFile, "shards/copy/00000.csv"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Mode().Perm() != 0o644 {
			t.Errorf("%s: %v, mode %v; want 0644", f, err, st.Mode().Perm())
		}
	}
}

// TestCommitRefusesSubmitted: a directory whose jobs.json records jobs
// keeps its plan; once jobs.json is set aside a new plan may be written.
func TestCommitRefusesSubmitted(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if err := writePlan(t, dir, "copy"); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, PlanFile))
	run := &Run{PlanID: "abc123", AccountID: "123456789012", Jobs: []RunJob{{Shard: "shards/copy/00000.csv", Route: "copy", JobID: "job-1", ReportPrefix: "s3://r/p"}}}
	if err := WriteRun(ctx, nil, dir, run); err != nil {
		t.Fatal(err)
	}
	err := writePlan(t, dir, "copy", "restore")
	var se *SubmittedError
	if !errors.Is(err, ErrSubmitted) || !errors.As(err, &se) || se.Jobs != 1 || se.PlanID != "abc123" {
		t.Fatalf("Commit over a submitted plan: %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, PlanFile))
	if string(after) != string(before) {
		t.Error("the submitted plan's plan.json changed")
	}
	if _, err := os.Stat(filepath.Join(dir, "shards", "restore")); !errors.Is(err, os.ErrNotExist) {
		t.Error("a shard of the refused plan was written")
	}
	aside, err := SetAsideRun(ctx, nil, dir)
	if err != nil || aside != filepath.Join(dir, "jobs-replaced-abc123.json") {
		t.Fatalf("SetAsideRun: %q, %v", aside, err)
	}
	if got, err := ReadRunIfAny(ctx, nil, dir); got != nil || err != nil {
		t.Fatalf("jobs.json still there: %v %v", got, err)
	}
	if err := writePlan(t, dir, "copy", "restore"); err != nil {
		t.Fatalf("a new plan once jobs.json is set aside: %v", err)
	}
	// A second set-aside of the same plan id takes another name.
	if err := WriteRun(ctx, nil, dir, run); err != nil {
		t.Fatal(err)
	}
	if aside, err := SetAsideRun(ctx, nil, dir); err != nil || aside != filepath.Join(dir, "jobs-replaced-abc123-2.json") {
		t.Fatalf("second SetAsideRun: %q, %v", aside, err)
	}
	if aside, err := SetAsideRun(ctx, nil, dir); aside != "" || err != nil {
		t.Fatalf("SetAsideRun without jobs.json: %q, %v", aside, err)
	}
	// A jobs.json without jobs does not protect anything.
	if err := WriteRun(ctx, nil, dir, &Run{PlanID: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := CheckNotSubmitted(ctx, nil, dir); err != nil {
		t.Errorf("an empty jobs.json: %v", err)
	}
}
