//go:build unix

package bench

import (
	"os"
	"runtime"
	"syscall"
	"time"
)

// maxrssUnit is the unit of Rusage.Maxrss: bytes on Darwin, KiB on Linux
// and the BSDs.
var maxrssUnit = func() int64 {
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return 1
	}
	return 1024
}()

func fromRusage(ru *syscall.Rusage) Usage {
	return Usage{
		User:      time.Duration(ru.Utime.Nano()),
		Sys:       time.Duration(ru.Stime.Nano()),
		PeakBytes: int64(ru.Maxrss) * maxrssUnit,
	}
}

// readRusage returns the resource use of a finished child.
func readRusage(ps *os.ProcessState) Usage {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return Usage{User: ps.UserTime(), Sys: ps.SystemTime()}
	}
	return fromRusage(ru)
}

// selfUsage returns the resource use of this process so far.
func selfUsage() Usage {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return Usage{}
	}
	return fromRusage(&ru)
}
