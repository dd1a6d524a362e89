package largecopy

import (
	"errors"
	"fmt"
)

var (
	// ErrEvent is returned (wrapped in an *EventError) for an event that
	// is not a Batch Operations LambdaInvoke event this function can
	// answer: not JSON, an unknown invocationSchemaVersion, no
	// invocationId, no tasks, a task without taskId.
	ErrEvent = errors.New("malformed Batch Operations event")
	// ErrArguments is returned (wrapped in an *ArgumentError) for
	// UserArguments (or, with schema 1.0, the function's environment)
	// that do not describe a copy: TargetResource missing or not a bucket
	// ARN, an unknown key, a value of the wrong form.
	ErrArguments = errors.New("invalid UserArguments")
	// ErrOptions is returned by New for Options out of range.
	ErrOptions = errors.New("invalid largecopy options")
)

// EventError names what is wrong with an event.
type EventError struct {
	Field string // JSON path of the field, such as "tasks[0].taskId"; "" for the whole event
	Msg   string
}

func (e *EventError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%v: %s", ErrEvent, e.Msg)
	}
	return fmt.Sprintf("%v: %s: %s", ErrEvent, e.Field, e.Msg)
}

func (e *EventError) Unwrap() error { return ErrEvent }

// ArgumentError names the argument that does not parse.
type ArgumentError struct {
	Key string // the UserArguments key (also the environment variable's name for schema 1.0); "" for the whole set
	Msg string
}

func (e *ArgumentError) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("%v: %s", ErrArguments, e.Msg)
	}
	return fmt.Sprintf("%v: %s: %s", ErrArguments, e.Key, e.Msg)
}

func (e *ArgumentError) Unwrap() error { return ErrArguments }
