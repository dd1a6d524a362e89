package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestNewShardRouteStaysInside: a route that is not a plain folder name
// is refused, so that no shard path leaves the plan directory; staging
// folders and temporary files of a killed run are removed by the next
// CreatePlanDir.
func TestNewShardRouteStaysInside(t *testing.T) {
	dir := t.TempDir()
	pd, err := CreatePlanDir(nil, filepath.Join(dir, "plan"))
	if err != nil {
		t.Fatal(err)
	}
	defer pd.Abort()
	for _, r := range []string{"", ".", "..", "../x", "a/b", "/abs", `..\x`, "a\x00"} {
		if _, err := pd.NewShard(r, "b", false); !errors.Is(err, ErrRoute) {
			t.Errorf("route %q: err %v, want ErrRoute", r, err)
		}
	}
	if _, err := pd.NewShard("copy", "b", false); err != nil {
		t.Errorf("route copy: %v", err)
	}

	// What a killed run leaves: a staging folder and a temporary plan.json.
	plan := filepath.Join(dir, "plan2")
	os.MkdirAll(filepath.Join(plan, ".staging-123", "shards", "copy"), 0o755)
	os.WriteFile(filepath.Join(plan, ".staging-123", "shards", "copy", "00000.csv"), []byte("b,k\n"), 0o644)
	os.WriteFile(filepath.Join(plan, ".plan.json.tmp-456"), []byte("{"), 0o600)
	os.WriteFile(filepath.Join(plan, "keep.txt"), []byte("not ours"), 0o644)
	pd2, err := CreatePlanDir(nil, plan)
	if err != nil {
		t.Fatal(err)
	}
	pd2.Abort()
	ents, _ := os.ReadDir(plan)
	if len(ents) != 1 || ents[0].Name() != "keep.txt" {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("after CreatePlanDir and Abort the folder holds %q, want only keep.txt", names)
	}
}
