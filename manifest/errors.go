package manifest

import (
	"errors"
	"fmt"
	"strings"
)

// ErrBadRow is returned (wrapped in a *RowError) for a manifest line that
// does not parse. Every *RowError wraps it and, besides, one of the more
// precise sentinels below.
var ErrBadRow = errors.New("malformed manifest row")

// What is wrong with a manifest line; each comes inside a *RowError that
// names the file, the line and the field.
var (
	// ErrEmptyLine: a line with nothing on it (a blank line between two
	// rows, or one after the last row). Batch Operations would count it
	// as a task; s3batchkit refuses it rather than guess.
	ErrEmptyLine = errors.New("empty line")
	// ErrNUL: a NUL byte, which no bucket, key or version id holds.
	ErrNUL = errors.New("NUL byte")
	// ErrUnterminatedQuote: a field that opens with '"' and does not close
	// on its line.
	ErrUnterminatedQuote = errors.New("unterminated quoted field")
	// ErrStrayQuote: a '"' inside an unquoted field, or a closing quote
	// followed by something else than a comma or the end of the line.
	ErrStrayQuote = errors.New("stray quote")
	// ErrFieldCount: not as many fields as Spec.Fields names.
	ErrFieldCount = errors.New("wrong number of fields")
	// ErrBadEscape: a '%' not followed by two hex digits.
	ErrBadEscape = errors.New("bad percent escape")
	// ErrBadUTF8: a field that does not decode to valid UTF-8.
	ErrBadUTF8 = errors.New("invalid UTF-8")
	// ErrEmptyField: an empty bucket or key.
	ErrEmptyField = errors.New("empty field")
	// ErrLineTooLong: a line longer than MaxLineBytes.
	ErrLineTooLong = errors.New("line too long")
)

// ErrFields is returned by ParseFields for a Spec.Fields list that cannot
// describe a CSV manifest.
var ErrFields = errors.New("invalid manifest fields")

// RowError names a manifest line that does not parse: the file, the
// 1-based line, the field (its role, or "column N"), the value (shortened)
// and what was wrong. It wraps ErrBadRow and Err.
type RowError struct {
	File  string
	Line  int64
	Field string // "Bucket", "Key", "VersionId", "column 3"; "" for the whole line
	Value string // the offending bytes, shortened; may be empty
	Err   error  // one of the sentinels above
	Msg   string // what was expected, in words; may be empty

	syntax error // the *csvscan.SyntaxError behind a quoting error, if any
}

func (e *RowError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(":")
	}
	fmt.Fprintf(&b, "%d: %v", e.Line, ErrBadRow)
	if e.Field != "" {
		fmt.Fprintf(&b, ": field %s", e.Field)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.Value != "" {
		fmt.Fprintf(&b, ": %q", e.Value)
	}
	if e.Msg != "" {
		b.WriteString(": ")
		b.WriteString(e.Msg)
	}
	return b.String()
}

// Unwrap gives ErrBadRow and the precise sentinel, for errors.Is, and
// for a quoting error the scanner's *csvscan.SyntaxError.
func (e *RowError) Unwrap() []error {
	errs := []error{ErrBadRow}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	if e.syntax != nil {
		errs = append(errs, e.syntax)
	}
	return errs
}

// shortValue keeps error messages readable when a value is huge.
func shortValue(v []byte) string {
	const max = 64
	if len(v) > max {
		return string(v[:max]) + "…"
	}
	return string(v)
}
