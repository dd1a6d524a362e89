//go:build unix

package extsort

import (
	"errors"
	"syscall"
)

// processAlive reports whether a process with id pid may exist: only a
// definite "no such process" says it does not.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return !errors.Is(err, syscall.ESRCH)
}
