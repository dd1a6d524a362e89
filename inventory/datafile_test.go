package inventory_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/inventory/orc"
)

// TestSniffFormat tells formats by name, then by first bytes, and refuses
// a file that matches none.
func TestSniffFormat(t *testing.T) {
	dir := t.TempDir()
	orcFile, err := os.ReadFile("testdata/layouts/orc-java-zlib.orc")
	if err != nil {
		t.Fatal(err)
	}
	pqFile, err := os.ReadFile("testdata/layouts/parquet-parquet-mr.parquet")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		data     []byte
		format   inventory.Format
		manifest bool
		err      error
	}{
		{"manifest.json", []byte("{}"), "", true, nil},
		{"a.csv.gz", []byte("x"), inventory.FormatCSV, false, nil},
		{"A.CSV", []byte("x"), inventory.FormatCSV, false, nil},
		{"a.parquet", []byte("x"), inventory.FormatParquet, false, nil},
		{"a.orc", []byte("x"), inventory.FormatORC, false, nil},
		{"orc-data", orcFile, inventory.FormatORC, false, nil},
		{"parquet-data", pqFile, inventory.FormatParquet, false, nil},
		{"gzip-data", []byte{0x1f, 0x8b, 8, 0}, inventory.FormatCSV, false, nil},
		{"json-data", []byte(`{"files": []}`), "", true, nil},
		{"text", []byte("Bucket,Key"), "", false, inventory.ErrUnknownDataFile},
		{"empty", nil, "", false, inventory.ErrUnknownDataFile},
	} {
		p := filepath.Join(dir, tc.name)
		if err := os.WriteFile(p, tc.data, 0o644); err != nil {
			t.Fatal(err)
		}
		format, manifest, err := inventory.SniffFormat(context.Background(), nil, p)
		if format != tc.format || manifest != tc.manifest || !errors.Is(err, tc.err) {
			t.Errorf("%s: %q manifest %v err %v; want %q %v %v", tc.name, format, manifest, err, tc.format, tc.manifest, tc.err)
		}
	}
	if _, _, err := inventory.SniffFormat(context.Background(), nil, filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing file was sniffed")
	}
}

// TestScanORCStripes reads the stripes of an ORC file as stored, and
// checks that a panic in the decoder comes back as an *InternalError
// naming the file.
func TestScanORCStripes(t *testing.T) {
	data, err := os.ReadFile("testdata/layouts/orc-java-zlib.orc")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "x.orc")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, closer, err := inventory.OpenORCFile(context.Background(), nil, p)
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	rows := 0
	if err := inventory.ScanORCStripes(f, p, nil, func(b *orc.Batch) error { rows += b.NumRows; return nil }); err != nil || rows != 200 {
		t.Fatalf("%d rows, %v", rows, err)
	}
	pr := &panicReader{data: data, after: 1 << 30}
	pf, err := orc.Open(pr, int64(len(data)), nil)
	if err != nil {
		t.Fatal(err)
	}
	pr.after = pr.calls.Load() // the next read panics
	err = inventory.ScanORCStripes(pf, "y.orc", nil, func(*orc.Batch) error { return nil })
	var ie *inventory.InternalError
	if !errors.As(err, &ie) || ie.File != "y.orc" {
		t.Fatalf("got %v, want an *InternalError naming y.orc", err)
	}
}
