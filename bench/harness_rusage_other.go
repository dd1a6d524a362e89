//go:build !unix

package bench

import "os"

// readRusage returns the CPU time of a finished child; the peak is not
// known on this system.
func readRusage(ps *os.ProcessState) Usage {
	return Usage{User: ps.UserTime(), Sys: ps.SystemTime()}
}

// selfUsage is not known on this system.
func selfUsage() Usage { return Usage{} }
