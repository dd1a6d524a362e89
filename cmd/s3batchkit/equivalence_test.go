package main

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// TestFormatEquivalence generates the same versioned report (tricky keys,
// null version ids, delete markers, several files) as CSV.gz, Parquet and
// ORC with one seed, plans each, and checks that the three plans hold
// byte-identical shard files and the same plan.json, inputs aside.
func TestFormatEquivalence(t *testing.T) {
	rows := "40000"
	if testing.Short() {
		rows = "6000"
	}
	ctx := context.Background()
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if code := Main(ctx, append([]string{"s3batchkit"}, args...), &stdout, &stderr); code != 0 {
			t.Fatalf("%s: exit %d: %s", strings.Join(args, " "), code, stderr.String())
		}
	}
	// readShards returns every file under plan/shards by relative path.
	readShards := func(plan string) map[string][]byte {
		t.Helper()
		out := map[string][]byte{}
		root := filepath.Join(plan, "shards")
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			raw, err := os.ReadFile(p)
			rel, _ := filepath.Rel(root, p)
			out[filepath.ToSlash(rel)] = raw
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	type result struct {
		plan   *manifest.Plan
		shards map[string][]byte
	}
	results := map[string]result{}
	for _, format := range []string{"csv", "parquet", "orc"} {
		inv := filepath.Join(dir, "inv-"+format)
		out := filepath.Join(dir, "plan-"+format)
		run("gen", "--rows", rows, "--versions", "--files", "3", "--seed", "11", "--format", format, "--out", inv)
		run("plan", "--inventory", filepath.Join(inv, "manifest.json"), "--out", out, "--max-objects", "3000", "--quiet")
		p, err := manifest.ReadPlan(ctx, nil, out)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Inputs) != 1 || !strings.EqualFold(p.Inputs[0].Format, format) {
			t.Fatalf("%s: plan inputs %+v", format, p.Inputs)
		}
		results[format] = result{p, readShards(out)}
	}

	want := results["csv"]
	// The report must exercise what the test claims to cover.
	if want.plan.Counters.Dropped[inventory.DropDeleteMarker] == 0 {
		t.Error("no delete markers in the report")
	}
	var all []byte
	for _, b := range want.shards {
		all = append(all, b...)
	}
	for _, s := range []string{",null\n", "%20", "%2B", "%25", "%C3%AF"} {
		if !bytes.Contains(all, []byte(s)) {
			t.Errorf("no shard line holds %q: the report lacks null versions or tricky keys", s)
		}
	}
	if len(want.shards) < 3 {
		t.Errorf("only %d shards; the test should cut several", len(want.shards))
	}

	for _, format := range []string{"parquet", "orc"} {
		got := results[format]
		t.Run(format, func(t *testing.T) {
			if !reflect.DeepEqual(got.plan.Counters, want.plan.Counters) {
				t.Errorf("counters %+v, CSV %+v", got.plan.Counters, want.plan.Counters)
			}
			if !reflect.DeepEqual(got.plan.Shards, want.plan.Shards) {
				t.Errorf("plan.json shards differ from CSV's:\n%+v\n%+v", got.plan.Shards, want.plan.Shards)
			}
			if !reflect.DeepEqual(got.plan.Routes, want.plan.Routes) {
				t.Errorf("routes %+v, CSV %+v", got.plan.Routes, want.plan.Routes)
			}
			if len(got.shards) != len(want.shards) {
				t.Errorf("%d shard files, CSV %d", len(got.shards), len(want.shards))
			}
			for name, w := range want.shards {
				if g, ok := got.shards[name]; !ok {
					t.Errorf("missing shard %s", name)
				} else if !bytes.Equal(g, w) {
					t.Errorf("shard %s differs from CSV's (%d vs %d bytes)", name, len(g), len(w))
				}
			}
		})
	}
}
