package main

import (
	"fmt"
	"io"
	"os"
	"sync"
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

// liveLine keeps one line of progress up to date on a terminal (term,
// the command's stderr): draw is called every second with the time
// elapsed. The command's own output goes through Write, which clears the
// line first, so that output and progress never overprint each other
// when both reach the same terminal. A liveLine that is off (term is not
// a terminal, or --quiet) only passes Write on.
type liveLine struct {
	mu       sync.Mutex
	term     io.Writer
	out      io.Writer
	draw     func(elapsed time.Duration) string
	on       bool
	shown    bool
	start    time.Time
	done     chan struct{}
	finished chan struct{}
}

// startLine starts a live line on term when on is set.
func startLine(term, out io.Writer, on bool, draw func(elapsed time.Duration) string) *liveLine {
	l := &liveLine{term: term, out: out, draw: draw, on: on, start: time.Now(), done: make(chan struct{}), finished: make(chan struct{})}
	if !on {
		close(l.finished)
		return l
	}
	go func() {
		defer close(l.finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-l.done:
				return
			case <-t.C:
				l.mu.Lock()
				fmt.Fprint(l.term, "\r\033[K"+l.draw(time.Since(l.start)))
				l.shown = true
				l.mu.Unlock()
			}
		}
	}()
	return l
}

// Write writes p to the command's output, clearing the line first.
func (l *liveLine) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.shown {
		fmt.Fprint(l.term, "\r\033[K")
		l.shown = false
	}
	return l.out.Write(p)
}

// Stop clears the line for good; safe to call more than once.
func (l *liveLine) Stop() {
	l.mu.Lock()
	select {
	case <-l.done:
	default:
		close(l.done)
	}
	l.mu.Unlock()
	<-l.finished
	l.mu.Lock()
	if l.shown {
		fmt.Fprint(l.term, "\r\033[K")
		l.shown = false
	}
	l.mu.Unlock()
}

// rateAndETA says how fast done grows and, when total is known (above
// zero), how long the rest should take: "812/s, about 10s left".
func rateAndETA(done, total int64, elapsed time.Duration) string {
	secs := elapsed.Seconds()
	if secs <= 0 || done <= 0 {
		return "rate unknown yet"
	}
	rate := float64(done) / secs
	s := fmt.Sprintf("%s/s", humanCount(int64(rate+0.5)))
	if total > done {
		left := time.Duration(float64(total-done) / rate * float64(time.Second))
		s += fmt.Sprintf(", about %v left", left.Round(time.Second))
	}
	return s
}
