package deploy

import (
	"errors"
	"fmt"
)

// ErrSpec is returned (wrapped in a *SpecError) when a Spec cannot give
// valid definitions: a required field is empty, a value is out of range,
// or the engine does not allow it (an AWS Batch array of one).
var ErrSpec = errors.New("invalid deployment spec")

// SpecError names the Spec field that is wrong, the value given and what
// was expected. It unwraps to ErrSpec.
type SpecError struct {
	Field    string // the Spec field, e.g. "Ranges" or "AWS.JobQueue"
	Value    string // the value given, quoted as text ("" when empty)
	Expected string // what would be valid
}

func (e *SpecError) Error() string {
	return fmt.Sprintf("%s %q: expected %s", e.Field, e.Value, e.Expected)
}

func (e *SpecError) Unwrap() error { return ErrSpec }

func specErr(field, value, expected string) error {
	return &SpecError{Field: field, Value: value, Expected: expected}
}
