package partition_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s3batchkit/s3batchkit/partition"
)

// conflictingReport writes a CSV report of files data files in which
// about half the keys are listed more than once, in different files, with
// different sizes and storage classes (so that their routes differ) but
// the same last-modified time: duplicates that only their other columns
// tell apart. It returns the manifest and, per key, the smallest size
// listed.
func conflictingReport(t *testing.T, files, keys int) (string, map[string]int64) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "inv")
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	classes := []string{"STANDARD", "GLACIER", "STANDARD_IA", "DEEP_ARCHIVE"}
	bodies := make([]strings.Builder, files)
	smallest := map[string]int64{}
	for k := range keys {
		key := fmt.Sprintf("dir%02d/obj %06d", k%7, k)
		copies := 1 + rng.IntN(2)*rng.IntN(4)
		for range copies {
			size := int64(1 + rng.IntN(3))
			if s, ok := smallest[key]; !ok || size < s {
				smallest[key] = size
			}
			fmt.Fprintf(&bodies[rng.IntN(files)], "\"src\",\"%s\",\"%d\",\"2024-01-02T03:04:05.000Z\",\"%s\"\n",
				strings.ReplaceAll(key, " ", "+"), size, classes[rng.IntN(len(classes))])
		}
	}
	var list []map[string]any
	for i := range bodies {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(bodies[i].String()))
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		key := fmt.Sprintf("data/f%d.csv.gz", i)
		if err := os.WriteFile(filepath.Join(dir, key), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		sum := md5.Sum(b.Bytes())
		list = append(list, map[string]any{"key": key, "size": b.Len(), "MD5checksum": hex.EncodeToString(sum[:])})
	}
	raw, err := json.Marshal(map[string]any{
		"sourceBucket": "src", "destinationBucket": "arn:aws:s3:::dst", "version": "2016-11-30",
		"creationTimestamp": "1514944800000", "fileFormat": "CSV",
		"fileSchema": "Bucket, Key, Size, LastModifiedDate, StorageClass", "files": list,
	})
	if err != nil {
		t.Fatal(err)
	}
	m := filepath.Join(dir, "manifest.json")
	if err := os.WriteFile(m, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return m, smallest
}

// TestPlanConflictingDuplicates plans a report whose duplicates differ in
// size and storage class, with batches arriving in whatever order the
// workers read them (a sorted plan reads unordered): every worker count,
// batch size and memory budget must give the same plan, keeping for each
// key the row with the smallest size.
func TestPlanConflictingDuplicates(t *testing.T) {
	inv, smallest := conflictingReport(t, 6, 20000)
	var ref map[string][]byte
	for i, v := range []struct {
		workers, batch int
		memory         int64
	}{{1, 0, 1 << 30}, {6, 97, 1 << 30}, {2, 64, 256 << 10}, {4, 1000, 1 << 20}, {3, 33, 128 << 10}} {
		o := partition.Options{Inventories: []string{inv}, Sort: true, Out: t.TempDir(), TmpDir: t.TempDir(), SortMemory: v.memory}
		o.Reader.Workers, o.Reader.BatchRows = v.workers, v.batch
		plan, stats, err := partition.Plan(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		if plan.Counters.RowsKept != int64(len(smallest)) {
			t.Fatalf("run %d: kept %d rows, want one per key, %d", i, plan.Counters.RowsKept, len(smallest))
		}
		got := readPlanDir(t, o.Out)
		if i == 0 {
			ref = got
			// The shards' object bytes add up to the smallest copy of
			// each key.
			var sum, want int64
			for _, sh := range plan.Shards {
				sum += sh.Bytes
			}
			for _, s := range smallest {
				want += s
			}
			if sum != want {
				t.Fatalf("shards hold %d bytes of objects, want %d (the smallest copy of each key)", sum, want)
			}
			continue
		}
		if stats.Sort.Runs == 0 && v.memory < 1<<30 {
			t.Errorf("run %d: no spill with a %d-byte budget", i, v.memory)
		}
		if len(got) != len(ref) {
			t.Fatalf("run %d: %d files, want %d", i, len(got), len(ref))
		}
		for name, raw := range ref {
			if !bytes.Equal(got[name], raw) {
				t.Errorf("run %d (workers %d, batch %d, memory %d): %s differs", i, v.workers, v.batch, v.memory, name)
			}
		}
	}
}
