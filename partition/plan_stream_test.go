package partition_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/s3batchkit/s3batchkit/partition"
)

// presortedReport writes a CSV report whose rows are in the plan's order
// across its files (keys ascending; each duplicated key's copies in the
// sort's order, smallest size first), then disturbs it: "late" moves
// the first row to the end of the last file, "overlap" swaps two rows
// across a file boundary, "dups" swaps the copies of one duplicated key.
func presortedReport(t *testing.T, files, keys int, disturb string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "inv")
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	var rows []string
	for k := range keys {
		key := fmt.Sprintf("dir%02d/obj %06d", k*7/keys, k)
		copies := 1
		if k%5 == 0 {
			copies = 2
		}
		for c := range copies {
			class := []string{"STANDARD", "GLACIER"}[k%2]
			rows = append(rows, fmt.Sprintf("\"src\",\"%s\",\"%d\",\"2024-01-02T03:04:05.000Z\",\"%s\"\n",
				strings.ReplaceAll(key, " ", "+"), 10+c, class))
		}
	}
	per := (len(rows) + files - 1) / files
	switch disturb {
	case "late":
		rows = append(rows[1:], rows[0])
	case "overlap":
		rows[per-1], rows[per] = rows[per], rows[per-1]
	case "dups":
		i := len(rows) / 2
		for !strings.Contains(rows[i], "\"10\"") || !strings.Contains(rows[i+1], "\"11\"") {
			i++
		}
		rows[i], rows[i+1] = rows[i+1], rows[i]
	}
	var list []map[string]any
	for f := range files {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		for _, r := range rows[min(f*per, len(rows)):min((f+1)*per, len(rows))] {
			zw.Write([]byte(r))
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		key := fmt.Sprintf("data/f%d.csv.gz", f)
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
	return m
}

// TestPlanStreamsPresortedInput: a report in key order is planned as it
// is read, without a sort, and gives the plan the sort gives; a report
// that turns out of order (late, across files, or in the order of a
// key's duplicates) falls back to the sort, with the same result and
// counts, whatever the workers and budget.
func TestPlanStreamsPresortedInput(t *testing.T) {
	for _, disturb := range []string{"none", "late", "overlap", "dups"} {
		t.Run(disturb, func(t *testing.T) {
			inv := presortedReport(t, 4, 20000, disturb)
			var ref map[string][]byte
			var refPlan []byte
			for i, v := range []struct {
				stream  bool
				workers int
				memory  int64
			}{{false, 1, 1 << 30}, {true, 1, 1 << 30}, {true, 3, 1 << 30}, {true, 2, 64 << 10}, {false, 2, 64 << 10}} {
				*partition.StreamPresorted = v.stream
				o := partition.Options{Inventories: []string{inv}, Sort: true, Out: t.TempDir(), TmpDir: t.TempDir(), SortMemory: v.memory,
					Bounds: partition.Bounds{MaxObjects: 3000}}
				o.Reader.Workers, o.Reader.BatchRows = v.workers, 1000
				plan, stats, err := partition.Plan(context.Background(), o)
				*partition.StreamPresorted = true
				if err != nil {
					t.Fatal(err)
				}
				streamed := stats.Sort.Streamed > 0
				if want := v.stream && disturb == "none"; streamed != want {
					t.Errorf("run %d: streamed %v, want %v (%+v)", i, streamed, want, stats.Sort)
				}
				if plan.Counters.Dropped[partition.DropDuplicate] != 20000/5 || plan.Counters.RowsRead != 24000 {
					t.Errorf("run %d: counters %+v", i, plan.Counters)
				}
				got := readPlanDir(t, o.Out)
				pj, _ := json.Marshal(plan.Counters)
				if i == 0 {
					ref, refPlan = got, pj
					continue
				}
				if !bytes.Equal(pj, refPlan) {
					t.Errorf("run %d: counters %s, want %s", i, pj, refPlan)
				}
				names := slices.Sorted(func(yield func(string) bool) {
					for n := range ref {
						if !yield(n) {
							return
						}
					}
				})
				if len(got) != len(ref) {
					t.Fatalf("run %d: %d files, want %d", i, len(got), len(ref))
				}
				for _, name := range names {
					if !bytes.Equal(got[name], ref[name]) {
						t.Errorf("run %d: %s differs", i, name)
					}
				}
			}
		})
	}
}
