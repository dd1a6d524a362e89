package inventory_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/s3batchkit/s3batchkit/inventory"
)

// aheadReport writes a Parquet report of n files of rows rows each; row j
// of file i has key "f<i>/<j>". It returns the manifest and the data
// files' paths.
func aheadReport(t *testing.T, n, rows int) (string, []string) {
	t.Helper()
	type row struct {
		Bucket string `parquet:"bucket"`
		Key    string `parquet:"key"`
		Size   int64  `parquet:"size"`
	}
	var files [][]byte
	for i := range n {
		var rs []row
		for j := range rows {
			rs = append(rs, row{"b", fmt.Sprintf("f%d/%05d", i, j), int64(j)})
		}
		files = append(files, writeParquet(t, rs))
	}
	loc := pqReport(t, fullSchema, files, nil)
	var paths []string
	for i := range n {
		paths = append(paths, filepath.Join(filepath.Dir(loc), "data", fmt.Sprintf("f%d.parquet", i)))
	}
	return loc, paths
}

// scanKeys scans loc, ordered or not, and returns the keys in the order
// handed over.
func scanKeys(t *testing.T, loc string, ordered bool, opts inventory.ReaderOptions) ([]string, error) {
	t.Helper()
	r, err := inventory.Open(context.Background(), loc, opts)
	if err != nil {
		return nil, err
	}
	var keys []string
	fn := func(rec arrow.RecordBatch) error {
		for _, line := range renderBatch(rec) {
			keys = append(keys, strings.SplitN(line, "|", 3)[1])
		}
		return nil
	}
	if ordered {
		err = r.Scan(context.Background(), fn)
	} else {
		err = r.ScanUnordered(context.Background(), fn)
	}
	return keys, err
}

// TestAheadVerifier checks the verification of many data files at once
// (verifyLanes files on one md5-simd server, batches ahead of the
// readers): a report of enough files reads the same rows as without
// checks, and a damaged file — first, in the middle of a batch, last —
// fails the scan with its own name, without one of its rows handed over.
func TestAheadVerifier(t *testing.T) {
	const n, rows = 19, 300
	loc, paths := aheadReport(t, n, rows)
	want, err := scanKeys(t, loc, true, inventory.ReaderOptions{SkipChecksums: true, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != n*rows {
		t.Fatalf("read %d rows, want %d", len(want), n*rows)
	}
	for _, ordered := range []bool{true, false} {
		for _, workers := range []int{1, 2, 5} {
			got, err := scanKeys(t, loc, ordered, inventory.ReaderOptions{Workers: workers})
			if err != nil {
				t.Fatalf("ordered=%v workers=%d: %v", ordered, workers, err)
			}
			if ordered && strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("workers=%d: verified scan differs from the unverified one", workers)
			}
			if len(got) != len(want) {
				t.Fatalf("ordered=%v workers=%d: %d rows, want %d", ordered, workers, len(got), len(want))
			}
		}
	}

	// A damaged file: manifest.json gives it another MD5 (the decoder,
	// which checks page CRCs, cannot tell), or it lost its last byte.
	man, err := os.ReadFile(loc)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		file     int
		truncate bool
		wantErr  error
	}{
		{"first/md5", 0, false, inventory.ErrChecksum},
		{"mid-batch/md5", 5, false, inventory.ErrChecksum},
		{"second-batch/truncated", 9, true, inventory.ErrTruncated},
		{"last/md5", n - 1, false, inventory.ErrChecksum},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer os.WriteFile(loc, man, 0o644)
			orig, err := os.ReadFile(paths[tc.file])
			if err != nil {
				t.Fatal(err)
			}
			defer os.WriteFile(paths[tc.file], orig, 0o644)
			if tc.truncate {
				err = os.WriteFile(paths[tc.file], orig[:len(orig)-1], 0o644)
			} else {
				sum := md5.Sum(orig)
				bad := md5.Sum(append(orig, 0))
				err = os.WriteFile(loc, bytes.Replace(man, []byte(hex.EncodeToString(sum[:])), []byte(hex.EncodeToString(bad[:])), 1), 0o644)
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, ordered := range []bool{true, false} {
				got, err := scanKeys(t, loc, ordered, inventory.ReaderOptions{Workers: 2})
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("ordered=%v: got %v, want %v", ordered, err, tc.wantErr)
				}
				var de *inventory.DataError
				if !errors.As(err, &de) || de.File != paths[tc.file] {
					t.Fatalf("ordered=%v: error %v does not name %s", ordered, err, paths[tc.file])
				}
				prefix := fmt.Sprintf("f%d/", tc.file)
				for _, k := range got {
					if strings.HasPrefix(k, prefix) {
						t.Fatalf("ordered=%v: row %s of the damaged file was handed over", ordered, k)
					}
				}
			}
		})
	}
}

// TestAheadVerifierStops checks that a scan ended early by its consumer
// stops the verifier: no goroutine is left behind.
func TestAheadVerifierStops(t *testing.T) {
	loc, _ := aheadReport(t, 24, 200)
	before := runtime.NumGoroutine()
	stop := errors.New("enough")
	for range 5 {
		r, err := inventory.Open(context.Background(), loc, inventory.ReaderOptions{Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		err = r.Scan(context.Background(), func(arrow.RecordBatch) error { return stop })
		if !errors.Is(err, stop) {
			t.Fatalf("got %v, want the consumer's error", err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines after the scans, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}
