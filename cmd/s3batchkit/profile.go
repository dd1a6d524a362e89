package main

import (
	"fmt"
	"io"
	"os"
	"runtime/pprof"
)

// profileEnv names a file to write a CPU profile of the whole command to,
// for performance reports ("go tool pprof s3batchkit FILE"). It is an
// environment variable rather than a flag so that it works the same with
// every command and never shows in scripts' command lines.
const profileEnv = "S3BATCHKIT_CPUPROFILE"

// startProfile starts the CPU profile that $S3BATCHKIT_CPUPROFILE asks
// for, if any, and returns the function that ends it. A profile that
// cannot be started is reported and the command runs anyway.
func startProfile(stderr io.Writer) func() {
	path := os.Getenv(profileEnv)
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
		if err != nil {
			f.Close()
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "s3batchkit: %s: %v (running without a profile)\n", profileEnv, err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintf(stderr, "s3batchkit: %s: %v\n", profileEnv, err)
		}
	}
}
