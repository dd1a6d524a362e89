package main

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

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

func TestRateAndETA(t *testing.T) {
	for _, tc := range []struct {
		done, total int64
		el          time.Duration
		want        string
	}{
		{0, 100, time.Second, "rate unknown yet"},
		{500, 0, 2 * time.Second, "250/s"},
		{500, 2000, 2 * time.Second, "250/s, about 6s left"},
		{2500, 2000, 2 * time.Second, "1,250/s"},
	} {
		if got := rateAndETA(tc.done, tc.total, tc.el); got != tc.want {
			t.Errorf("rateAndETA(%d, %d, %v) = %q, want %q", tc.done, tc.total, tc.el, got, tc.want)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the live line's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLiveLine: the line is drawn on the terminal every second, cleared
// before the command's own output and at the end; off, it only passes
// the output on.
func TestLiveLine(t *testing.T) {
	var term, out syncBuffer
	l := startLine(&term, &out, true, func(el time.Duration) string { return "working" })
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(term.String(), "working") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Fprintln(l, "job 1 done")
	l.Stop()
	l.Stop()
	if got, want := term.String(), "\r\033[Kworking\r\033[K"; !strings.HasPrefix(got, want) || !strings.HasSuffix(got, "\r\033[K") {
		t.Errorf("terminal got %q, want the line drawn, then cleared", got)
	}
	if out.String() != "job 1 done\n" {
		t.Errorf("output %q", out.String())
	}
	var term2, out2 syncBuffer
	l = startLine(&term2, &out2, false, func(time.Duration) string { return "working" })
	fmt.Fprintln(l, "x")
	l.Stop()
	if term2.String() != "" || out2.String() != "x\n" {
		t.Errorf("off: terminal %q, output %q", term2.String(), out2.String())
	}
}
