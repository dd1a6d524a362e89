package inventory

import (
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

var (
	// ErrChecksum is returned when manifest.json does not match
	// manifest.checksum, or a data file does not match its MD5checksum.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrManifest is returned when manifest.json cannot be parsed or lacks
	// a required field (fileFormat, fileSchema with Bucket and Key, files).
	ErrManifest = errors.New("invalid inventory manifest")
	// ErrMissingFile is returned when a data file listed in manifest.json
	// cannot be found under any candidate root.
	ErrMissingFile = errors.New("data file not found")
	// ErrFieldCount is returned when a CSV row has a different number of
	// fields than fileSchema names.
	ErrFieldCount = errors.New("wrong number of fields")
	// ErrBadValue is returned when a value cannot be parsed as its field's
	// type (a size that is not a number, a date that is not RFC 3339, ...).
	ErrBadValue = errors.New("bad value")
	// ErrBadEscape is returned when a CSV key holds an invalid %-escape.
	ErrBadEscape = errors.New("bad percent escape")
	// ErrBadKey is returned when a decoded key is empty or not valid UTF-8.
	ErrBadKey = errors.New("bad key")
	// ErrSyntax is returned for malformed CSV (an unterminated quote, a
	// stray quote, a record too long to be an inventory row).
	ErrSyntax = errors.New("malformed CSV")
	// ErrFormat is returned for a fileFormat the reader does not know.
	ErrFormat = errors.New("unknown inventory format")
	// ErrTruncated is returned when a data file ends early (a truncated
	// gzip stream, a file shorter than its manifest size).
	ErrTruncated = errors.New("truncated data file")
	// ErrCorrupt is returned when a binary data file (Parquet, ORC) is
	// structurally invalid: lengths or counts that do not fit the file,
	// pages that disagree with their headers, or a decoder that failed.
	ErrCorrupt = errors.New("corrupt data file")
	// ErrNotManifest is returned when the file given as a manifest.json is
	// a file of another kind that s3batchkit recognises (a data file, a
	// plan.json, a completion report's manifest.json, ...); the message
	// names it and says what to do. It wraps ErrManifest.
	ErrNotManifest error = &childError{"not an S3 Inventory manifest.json", ErrManifest}
)

// childError is a sentinel error that wraps a more general one.
type childError struct {
	msg    string
	parent error
}

func (e *childError) Error() string { return e.msg }
func (e *childError) Unwrap() error { return e.parent }

// Gzip decoding errors, mapped to ErrTruncated and ErrCorrupt by the CSV
// reader.
var (
	errEmptyGzip   = fmt.Errorf("%w: empty file, expected gzip data", io.ErrUnexpectedEOF)
	errCorruptGzip = errors.New("corrupt gzip data")
)

// DataError describes bad data at a known place: which file, which line or
// row (1-based; 0 when unknown), which field, what was found and what was
// expected. It wraps one of the sentinel errors above (or a lower-level
// cause), so callers test it with errors.Is and errors.As.
type DataError struct {
	File     string // the data file (or manifest) path or URL
	Line     int64  // 1-based line (CSV) or row (Parquet/ORC); 0 if unknown
	Offset   int64  // byte offset in the decoded stream when known; -1 if unknown
	Field    string // the field's name as the report spells it; "" if none
	Value    string // the offending value, shortened
	Expected string // what was expected, in words
	Err      error  // the sentinel or cause
}

func (e *DataError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Offset >= 0 && e.Line <= 0 {
		fmt.Fprintf(&b, " (offset %d)", e.Offset)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ": field %s", e.Field)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	if e.Value != "" || e.Expected != "" {
		fmt.Fprintf(&b, ": got %q", e.Value)
		if e.Expected != "" {
			fmt.Fprintf(&b, ", expected %s", e.Expected)
		}
	}
	return b.String()
}

func (e *DataError) Unwrap() error { return e.Err }

// shorten keeps error messages readable when a value is huge.
func shorten(v []byte) string {
	const max = 64
	if len(v) > max {
		return string(v[:max]) + "…"
	}
	return string(v)
}

// ErrInternal is what an *InternalError unwraps to: a bug in s3batchkit,
// never a property of the input.
var ErrInternal = errors.New("internal error")

// InternalError is a panic recovered while a data file was read: a bug in
// s3batchkit or in a library it uses, not bad input. The readers recover
// it so that one file cannot crash a process that reads many, and report
// it as this error instead of a *DataError, so that it is never taken for
// corrupt data: the command line exits with status 1 and asks for a bug
// report. It unwraps to ErrInternal.
type InternalError struct {
	File  string // the data file being read
	Panic any    // the value the panic carried
	Stack string // the panicking goroutine's frames, from the panic on (shortened)
}

func (e *InternalError) Error() string {
	return fmt.Sprintf("%s: %v: the reader panicked: %v (this is a bug in s3batchkit: please report it, with this message)\n%s",
		e.File, ErrInternal, e.Panic, e.Stack)
}

func (e *InternalError) Unwrap() error { return ErrInternal }

// internalStackFrames is how many frames an InternalError keeps.
const internalStackFrames = 12

// newInternalError makes the *InternalError for panic value p recovered
// while reading file. It must be called by the deferred function that
// recovered p, so that the stack still holds the panicking frames.
func newInternalError(file string, p any) *InternalError {
	return &InternalError{File: file, Panic: p, Stack: panicFrames(debug.Stack(), internalStackFrames)}
}

// panicFrames cuts a goroutine trace (debug.Stack's) to the frames below
// the call to panic, at most n of them (two lines each).
func panicFrames(trace []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(trace), "\n"), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "panic(") && i+2 < len(lines) {
			lines = lines[i+2:]
			break
		}
	}
	if len(lines) > 2*n {
		lines = append(lines[:2*n], "\t…")
	}
	return strings.Join(lines, "\n")
}
