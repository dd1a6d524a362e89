package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/s3batchkit/s3batchkit/inventory"
)

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// startProgress prints a one-line progress report to w every interval
// until the returned stop function is called.
func startProgress(w io.Writer, p *inventory.Progress, totalFiles int, totalBytes int64) func() {
	done := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(w, "\r\033[K")
				return
			case <-t.C:
				el := time.Since(start).Seconds()
				files, bytes := int64(totalFiles), totalBytes
				if files == 0 {
					files, bytes = p.TotalFiles.Load(), p.TotalBytes.Load()
				}
				fmt.Fprint(w, progressLine(p, el, files, bytes))
			}
		}
	}()
	return func() { close(done); <-finished }
}

// progressLine is the progress report after el seconds: reading, then,
// once a sort's final merge has started, the merge.
func progressLine(p *inventory.Progress, el float64, files, bytes int64) string {
	rows, in := p.Rows.Load(), p.InputBytes.Load()
	if merging := p.Merging.Load(); merging > 0 {
		merged := p.Merged.Load()
		return fmt.Sprintf("\r\033[K%5.1f%% merging sorted runs: %s of %s rows (%s rows read)",
			100*float64(merged)/float64(merging), humanCount(merged), humanCount(merging), humanCount(rows))
	}
	pct := ""
	if bytes > 0 {
		pct = fmt.Sprintf("%5.1f%% ", 100*float64(in)/float64(bytes))
	}
	return fmt.Sprintf("\r\033[K%sfiles %d/%d, %s rows, %.2f M rows/s, %s of %s read",
		pct, p.FilesDone.Load(), files, humanCount(rows), float64(rows)/el/1e6, humanBytes(in), humanBytes(bytes))
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func humanCount(n int64) string {
	s := fmt.Sprint(n)
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
