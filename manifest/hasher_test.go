package manifest

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// TestPlanDirShardMD5s writes plans of 0 to 19 shards — fewer than
// minLaneShards (crypto/md5), a remainder on lanes, whole batches of
// hashLanes started while other shards are still being written — closing
// shards in a random order, some asynchronously, and checks every MD5 in
// the plan against the committed file.
func TestPlanDirShardMD5s(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 2, 3, 7, 8, 9, 16, 19} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			dir := t.TempDir()
			d, err := CreatePlanDir(nil, dir)
			if err != nil {
				t.Fatal(err)
			}
			ws := make([]*ShardWriter, n)
			for i := range ws {
				if ws[i], err = d.NewShard("copy", "bkt", false); err != nil {
					t.Fatal(err)
				}
				rows := rng.IntN(30000)
				if i%5 == 0 {
					rows = 0
				}
				for j := range rows {
					if err := ws[i].Add([]byte("bkt"), fmt.Appendf(nil, "k/%d/%08d", i, j), nil, 1); err != nil {
						t.Fatal(err)
					}
				}
			}
			for _, i := range rng.Perm(n) {
				if rng.IntN(2) == 0 {
					ws[i].CloseAsync()
				} else if err := ws[i].Close(); err != nil {
					t.Fatal(err)
				}
			}
			p := &Plan{}
			if err := d.Commit(context.Background(), p); err != nil {
				t.Fatal(err)
			}
			if len(p.Shards) != n {
				t.Fatalf("%d shards in the plan, want %d", len(p.Shards), n)
			}
			for _, sh := range p.Shards {
				raw, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(sh.Path)))
				if err != nil {
					t.Fatal(err)
				}
				sum := md5.Sum(raw)
				if sh.MD5 != hex.EncodeToString(sum[:]) || sh.ManifestBytes != int64(len(raw)) {
					t.Errorf("%s: plan says MD5 %s, %d bytes; the file has %x, %d bytes", sh.Path, sh.MD5, sh.ManifestBytes, sum, len(raw))
				}
			}
		})
	}
}

// TestPlanDirAbortWhileHashing aborts a plan directory whose first
// batch of shards is being hashed: Abort must wait for it and remove the
// staging folder.
func TestPlanDirAbortWhileHashing(t *testing.T) {
	dir := t.TempDir()
	d, err := CreatePlanDir(nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range hashLanes + 2 {
		w, err := d.NewShard("copy", "bkt", false)
		if err != nil {
			t.Fatal(err)
		}
		for j := range 20000 {
			w.Add([]byte("bkt"), fmt.Appendf(nil, "k/%d/%08d", i, j), nil, 1)
		}
		if i < hashLanes {
			w.Close()
		}
	}
	d.Abort()
	left, _ := filepath.Glob(filepath.Join(dir, ".staging-*"))
	if len(left) != 0 {
		t.Fatalf("Abort left %v", left)
	}
}
