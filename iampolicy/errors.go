package iampolicy

import (
	"errors"
	"fmt"
)

// ErrInvalid is wrapped by every error about the options of Build (a bad
// ARN, a missing manifest location, an unknown route). Errors about the
// operation itself wrap jobs.ErrOperation instead.
var ErrInvalid = errors.New("invalid iam-policy options")

// OptionError names the option that is wrong, its value and what was
// expected. It wraps ErrInvalid.
type OptionError struct {
	Option   string // the Options field or the operation field, e.g. "ReportBucket"
	Value    string // the offending value; may be empty
	Expected string
}

func (e *OptionError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%v: %s: %s", ErrInvalid, e.Option, e.Expected)
	}
	return fmt.Sprintf("%v: %s %q: %s", ErrInvalid, e.Option, e.Value, e.Expected)
}

func (e *OptionError) Unwrap() error { return ErrInvalid }

func optErr(option, value, format string, a ...any) error {
	return &OptionError{Option: option, Value: value, Expected: fmt.Sprintf(format, a...)}
}
