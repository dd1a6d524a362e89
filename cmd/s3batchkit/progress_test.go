package main

import (
	"testing"

	"github.com/s3batchkit/s3batchkit/inventory"
)

func TestProgressLine(t *testing.T) {
	p := &inventory.Progress{}
	p.Rows.Store(1234567)
	p.InputBytes.Store(50 << 20)
	p.FilesDone.Store(3)
	got := progressLine(p, 2, 8, 100<<20)
	if want := "\r\033[K 50.0% files 3/8, 1,234,567 rows, 0.62 M rows/s, 50.0 MiB of 100.0 MiB read"; got != want {
		t.Errorf("reading: %q, want %q", got, want)
	}
	p.Merging.Store(2000000)
	p.Merged.Store(500000)
	got = progressLine(p, 2, 8, 100<<20)
	if want := "\r\033[K 25.0% merging sorted runs: 500,000 of 2,000,000 rows (1,234,567 rows read)"; got != want {
		t.Errorf("merging: %q, want %q", got, want)
	}
}
