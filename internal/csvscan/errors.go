package csvscan

import (
	"errors"
	"fmt"
	"strings"
)

// ErrSyntax is what every *SyntaxError unwraps to, besides its precise
// sentinel below.
var ErrSyntax = errors.New("malformed CSV")

// What is wrong, each inside a *SyntaxError.
var (
	// ErrBareQuote: a '"' inside an unquoted field (without
	// Options.LazyQuotes).
	ErrBareQuote = errors.New("quote inside an unquoted field")
	// ErrAfterQuote: a closing quote followed by something else than a
	// comma or a line end.
	ErrAfterQuote = errors.New("text after a closing quote")
	// ErrUnterminated: the input ends inside a quoted field.
	ErrUnterminated = errors.New("unterminated quoted field")
	// ErrTooLong: a record longer than the reader's limit
	// (Options.MaxRecordBytes), or a buffer past the offsets a Field holds.
	ErrTooLong = errors.New("record too long")
)

// SyntaxError says where a record breaks the grammar. Lines are 1-based
// and offsets 0-based bytes of the input (for Splitter.SplitLine: of the line,
// and the line numbers are 0). It unwraps to ErrSyntax and Err.
type SyntaxError struct {
	StartLine int64 // the line the record starts on
	Line      int64 // the line the error is on
	Column    int   // the 1-based field the error is in
	Offset    int64 // the byte the error is at
	// FieldOffset is where the field the error is in starts (its opening
	// quote, when quoted).
	FieldOffset int64
	// Near is what the input holds at Offset: up to 16 bytes (for
	// ErrUnterminated: from the opening quote).
	Near     string
	Expected string // what the grammar wanted there, in words
	Err      error  // ErrBareQuote, ErrAfterQuote, ErrUnterminated or ErrTooLong
}

func (e *SyntaxError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "csv: line %d", e.Line)
	if e.StartLine != e.Line {
		fmt.Fprintf(&b, " (record from line %d)", e.StartLine)
	}
	fmt.Fprintf(&b, ", column %d, byte %d: %v", e.Column, e.Offset, e.Err)
	if e.Near != "" {
		fmt.Fprintf(&b, ": %q", e.Near)
	}
	if e.Expected != "" {
		b.WriteString(": expected ")
		b.WriteString(e.Expected)
	}
	return b.String()
}

// Unwrap gives ErrSyntax and the precise sentinel, for errors.Is.
func (e *SyntaxError) Unwrap() []error { return []error{ErrSyntax, e.Err} }

// What each error expected, in words.
const (
	expectBareQuote   = "no quote inside an unquoted field"
	expectAfterQuote  = "a comma or line end after a closing quote"
	expectUnterminted = "a closing quote before the end of the input"
)

// nearLen is how many bytes SyntaxError.Near shows.
const nearLen = 16

// Tag returns e as the cause of a caller's own error: it reads as
// sentinel and what is wrong ("malformed CSV: text after a closing
// quote"), and unwraps to sentinel and to e.
func (e *SyntaxError) Tag(sentinel error) error { return &tagged{sentinel: sentinel, e: e} }

type tagged struct {
	sentinel error
	e        *SyntaxError
}

func (t *tagged) Error() string   { return t.sentinel.Error() + ": " + t.e.Err.Error() }
func (t *tagged) Unwrap() []error { return []error{t.sentinel, t.e} }
