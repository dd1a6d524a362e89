package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ChildMain runs the measured run described by specJSON (made by the
// harness for Options.Exec) in this process and writes its Output as JSON
// to w. The parent measures the process from outside.
func ChildMain(ctx context.Context, specJSON string, w io.Writer) error {
	var spec RunSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		return fmt.Errorf("%w: bad child spec: %v", ErrOptions, err)
	}
	out, err := RunStage(ctx, spec)
	if err != nil {
		return err
	}
	return json.NewEncoder(w).Encode(out)
}

// measureChild runs spec in a child process (argv, then the spec as JSON;
// through via when set, see MeasureMain) and reads its wall time, and its
// CPU time and peak RSS from the operating system.
func measureChild(ctx context.Context, via, argv []string, spec RunSpec) (Measurement, error) {
	raw, err := json.Marshal(spec)
	if err != nil {
		return Measurement{}, err
	}
	var stdout, stderr bytes.Buffer
	full := append(append([]string(nil), argv...), string(raw))
	m, err := measureCommand(ctx, via, full, &stdout, &stderr)
	if err != nil {
		return m, fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(stderr.String()))
	}
	if err := json.Unmarshal(stdout.Bytes(), &m.Output); err != nil {
		return m, fmt.Errorf("child output %q: %w", stdout.String(), err)
	}
	return m, nil
}

// measureCommand runs argv with the given stdout and stderr and measures
// it. With via (the command line of a process that calls MeasureMain,
// such as `s3batchkit bench --measure --`), the measuring is done by that
// small, freshly started process, and the result read from its fd 3.
//
// Why: Go starts children with vfork (CLONE_VM), and Linux reports as a
// child's maximum RSS the larger of its own and that of the memory it
// started in, which is the parent's. A benchmark parent that generated a
// large report would lend its peak to every child it measures; a fresh
// measuring process lends only its own few MiB.
func measureCommand(ctx context.Context, via, argv []string, stdout, stderr io.Writer) (Measurement, error) {
	if len(via) == 0 {
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Stdout, cmd.Stderr = stdout, stderr
		return timeCommand(cmd)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return Measurement{}, err
	}
	defer r.Close()
	full := append(append([]string(nil), via...), argv...)
	cmd := exec.CommandContext(ctx, full[0], full[1:]...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		w.Close()
		return Measurement{}, err
	}
	w.Close()
	raw, rerr := io.ReadAll(r)
	werr := cmd.Wait()
	var res measured
	if rerr == nil {
		rerr = json.Unmarshal(raw, &res)
	}
	switch {
	case rerr != nil && werr != nil:
		return Measurement{}, werr
	case rerr != nil:
		return Measurement{}, fmt.Errorf("measuring process: %v (%q)", rerr, raw)
	case res.Error != "":
		return res.Measurement, errors.New(res.Error)
	}
	return res.Measurement, werr
}

// measured is what MeasureMain reports.
type measured struct {
	Measurement
	Error string `json:"error,omitempty"`
}

// MeasureMain runs argv with this process's standard streams, waits for
// it, and writes its wall time, CPU time and peak RSS as JSON to report
// (fd 3 when started by the harness). It returns the command's error.
func MeasureMain(ctx context.Context, argv []string, report io.Writer) error {
	if len(argv) == 0 {
		return fmt.Errorf("%w: nothing to measure", ErrOptions)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	m, err := timeCommand(cmd)
	res := measured{Measurement: m}
	if err != nil {
		res.Error = err.Error()
	}
	if jerr := json.NewEncoder(report).Encode(res); jerr != nil && err == nil {
		err = jerr
	}
	return err
}

// timeCommand runs cmd and measures it: wall time around Run, user and
// system time and peak RSS from the child's rusage.
func timeCommand(cmd *exec.Cmd) (Measurement, error) {
	start := time.Now()
	err := cmd.Run()
	m := Measurement{WallSeconds: time.Since(start).Seconds()}
	if cmd.ProcessState != nil {
		u := readRusage(cmd.ProcessState)
		m.UserSeconds, m.SysSeconds, m.PeakBytes = u.User.Seconds(), u.Sys.Seconds(), u.PeakBytes
	}
	return m, err
}

// Usage is the resource use of a finished process (or of this one).
type Usage struct {
	User, Sys time.Duration
	PeakBytes int64 // maximum resident set size
}

// measureInProcess runs spec in this process: CPU time from getrusage
// (this process, every thread), peak from the Go runtime's mapped memory
// sampled every 10 ms (the process's own maximum RSS only ever grows, so
// it cannot tell one run from the next). The figure includes what the
// process held before the run.
func measureInProcess(ctx context.Context, spec RunSpec) (Measurement, error) {
	before := selfUsage()
	stop := samplePeak(10 * time.Millisecond)
	start := time.Now()
	out, err := RunStage(ctx, spec)
	wall := time.Since(start)
	peak := stop()
	after := selfUsage()
	return Measurement{
		WallSeconds: wall.Seconds(),
		UserSeconds: (after.User - before.User).Seconds(),
		SysSeconds:  (after.Sys - before.Sys).Seconds(),
		PeakBytes:   peak,
		Output:      out,
	}, err
}

// residentBytes returns this process's resident set size from
// /proc/self/statm where there is one, else the memory the Go runtime
// holds from the OS (all it mapped less what it released).
func residentBytes(s []metrics.Sample) int64 {
	if raw, err := os.ReadFile("/proc/self/statm"); err == nil {
		if f := strings.Fields(string(raw)); len(f) > 1 {
			if pages, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				return pages * int64(os.Getpagesize())
			}
		}
	}
	metrics.Read(s)
	var v [2]uint64
	for i := range s {
		if s[i].Value.Kind() == metrics.KindUint64 {
			v[i] = s[i].Value.Uint64()
		}
	}
	return int64(v[0] - v[1])
}

// samplePeak samples residentBytes every interval until the returned
// function is called, which returns the largest value seen.
func samplePeak(interval time.Duration) func() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	var mu sync.Mutex
	peak := residentBytes(s)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		s := []metrics.Sample{{Name: s[0].Name}, {Name: s[1].Name}}
		for {
			select {
			case <-done:
				return
			case <-t.C:
				v := residentBytes(s)
				mu.Lock()
				peak = max(peak, v)
				mu.Unlock()
			}
		}
	}()
	return func() int64 {
		close(done)
		wg.Wait()
		return max(peak, residentBytes(s))
	}
}

// exe is the running program, for child processes.
func exe() string {
	p, err := os.Executable()
	if err != nil {
		return os.Args[0]
	}
	return p
}
