package largecopy

import (
	"fmt"
	"strconv"
)

// Environment variables of the function, besides the schema 1.0
// arguments (ArgumentsFromEnv); docs/large-objects.md.
const (
	// EnvPartSize is the part size in bytes (Options.PartSize).
	EnvPartSize = "S3BATCHKIT_PART_SIZE"
	// EnvConcurrency is the number of parts copied at once
	// (Options.Concurrency).
	EnvConcurrency = "S3BATCHKIT_CONCURRENCY"
)

// EnvOptions reads the settings the function takes from its environment
// (lookup is os.LookupEnv): EnvPartSize, EnvConcurrency and the arguments
// of schema 1.0 events. The deployed function and the local engine's
// in-process copy of it read them alike. An unset variable leaves its
// field zero (the default); a value that is not a decimal number, or out
// of range (Options.Check), is an error naming the variable. Client is
// left for the caller to set.
func EnvOptions(lookup func(string) (string, bool)) (Options, error) {
	o := Options{Arguments: ArgumentsFromEnv(lookup)}
	if v, ok := lookup(EnvPartSize); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return o, fmt.Errorf("%w: %s=%q: expected a number of bytes", ErrOptions, EnvPartSize, v)
		}
		if err := (Options{PartSize: n}).Check(); err != nil {
			return o, fmt.Errorf("%s=%q: %w", EnvPartSize, v, err)
		}
		o.PartSize = n
	}
	if v, ok := lookup(EnvConcurrency); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			return o, fmt.Errorf("%w: %s=%q: expected a number", ErrOptions, EnvConcurrency, v)
		}
		if err := (Options{Concurrency: n}).Check(); err != nil {
			return o, fmt.Errorf("%s=%q: %w", EnvConcurrency, v, err)
		}
		o.Concurrency = n
	}
	return o, nil
}
