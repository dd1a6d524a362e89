package orc

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Errors returned by this package wrap one of these, so
// callers test them with errors.Is.
var (
	// ErrCorrupt is returned when the file's bytes contradict the ORC
	// specification or themselves: a bad magic, a length that points
	// outside the file or stream, a run that overflows, a dictionary index
	// out of range, a stream that ends too early. The concrete error is a
	// *CorruptError that says where.
	ErrCorrupt = errors.New("orc: corrupt file")

	// ErrUnsupportedType is returned when a projected column has a type
	// this package does not decode (UNION, or a DECIMAL wider than 64 bits),
	// or when a Writer is given a schema it cannot write.
	ErrUnsupportedType = errors.New("orc: unsupported type")

	// ErrUnsupportedCompression is returned when the postscript names a
	// compression kind this package does not implement (LZO, or an unknown
	// kind).
	ErrUnsupportedCompression = errors.New("orc: unsupported compression")

	// ErrUnsupportedEncoding is returned when a column uses an encoding that
	// is valid for ORC but not implemented here (for example encrypted
	// column variants).
	ErrUnsupportedEncoding = errors.New("orc: unsupported encoding")

	// ErrColumnNotFound is returned by ReadStripe and Writer when a
	// requested column name is not a top-level field of the schema.
	ErrColumnNotFound = errors.New("orc: column not found")

	// ErrStripeRange is returned by ReadStripe when the stripe index is
	// out of range.
	ErrStripeRange = errors.New("orc: stripe index out of range")

	// ErrSchemaMismatch is returned by Writer.Write when a batch does not
	// match the writer's schema (column count, kinds or lengths).
	ErrSchemaMismatch = errors.New("orc: batch does not match schema")

	// ErrWriterClosed is returned by Writer.Write and Writer.Close after
	// Close has been called.
	ErrWriterClosed = errors.New("orc: writer closed")

	// ErrTooLarge is returned when a stripe exceeds a limit set in Options
	// (MaxStripeRows) or a representation limit (more than 2 GiB of string
	// bytes in one column of one stripe).
	ErrTooLarge = errors.New("orc: stripe too large")

	// ErrUnknownTimezone is returned when a stripe names a writer time zone
	// that the time package cannot load.
	ErrUnknownTimezone = errors.New("orc: unknown writer time zone")
)

// CorruptError describes data this package cannot decode and where it was
// found: malformed bytes (it unwraps to ErrCorrupt) or a valid construct
// that is not implemented (it unwraps to ErrUnsupportedType,
// ErrUnsupportedCompression, ErrUnsupportedEncoding or ErrUnknownTimezone,
// and not to ErrCorrupt). Stripe, Column and Offset are -1 when they do not
// apply.
type CorruptError struct {
	Section string // "postscript", "footer", "stripe footer", "stream", ...
	Stripe  int    // stripe index, or -1
	Column  int    // column id (pre-order type id), or -1
	Stream  string // stream kind ("DATA", "LENGTH", ...) or ""
	Offset  int64  // byte offset in the file or in the decompressed stream, or -1
	Msg     string // what was expected and what was found
	Err     error  // underlying cause; ErrCorrupt when nil
}

func (e *CorruptError) Error() string {
	var b strings.Builder
	if e.Err != nil && isSentinel(e.Err) {
		b.WriteString("orc: cannot decode ")
	} else {
		b.WriteString("orc: corrupt ")
	}
	if e.Section != "" {
		b.WriteString(e.Section)
	} else {
		b.WriteString("data")
	}
	if e.Stripe >= 0 {
		fmt.Fprintf(&b, " (stripe %d", e.Stripe)
		if e.Column >= 0 {
			fmt.Fprintf(&b, ", column %d", e.Column)
		}
		if e.Stream != "" {
			fmt.Fprintf(&b, ", stream %s", e.Stream)
		}
		b.WriteString(")")
	} else if e.Column >= 0 {
		fmt.Fprintf(&b, " (column %d)", e.Column)
	}
	if e.Offset >= 0 {
		fmt.Fprintf(&b, " at offset %d", e.Offset)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if e.Err != nil && e.Err != ErrCorrupt {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns ErrCorrupt, or the underlying cause when it is itself one
// of this package's sentinels (for example ErrUnsupportedType).
func (e *CorruptError) Unwrap() []error {
	if e.Err == nil || e.Err == ErrCorrupt {
		return []error{ErrCorrupt}
	}
	if isSentinel(e.Err) {
		return []error{e.Err}
	}
	return []error{ErrCorrupt, e.Err}
}

func isSentinel(err error) bool {
	switch err {
	case ErrUnsupportedType, ErrUnsupportedCompression, ErrUnsupportedEncoding, ErrUnknownTimezone, ErrTooLarge:
		return true
	}
	return false
}

// errf builds a decoding error without position; callers that know the
// position wrap it with (*position).wrap.
type decodeError struct {
	offset int64 // offset inside the decoded buffer, or -1
	msg    string
	err    error // sentinel (ErrCorrupt if nil)
}

func (e *decodeError) Error() string { return e.msg }

func corruptf(offset int, format string, args ...any) error {
	return &decodeError{offset: int64(offset), msg: fmt.Sprintf(format, args...)}
}

func unsupportedf(sentinel error, format string, args ...any) error {
	return &decodeError{offset: -1, msg: fmt.Sprintf(format, args...), err: sentinel}
}

// where identifies a location for error reporting.
type where struct {
	section string
	stripe  int
	column  int
	stream  string
	base    int64 // added to decodeError offsets that are relative; -1 = none
}

// wrap turns err into a *CorruptError carrying w's position. Errors that
// already carry a position are returned unchanged.
func (w where) wrap(err error) error {
	if err == nil {
		return nil
	}
	var ce *CorruptError
	if errors.As(err, &ce) {
		return err
	}
	out := &CorruptError{Section: w.section, Stripe: w.stripe, Column: w.column, Stream: w.stream, Offset: -1}
	var de *decodeError
	if errors.As(err, &de) {
		out.Msg = de.msg
		out.Err = de.err
		if de.offset >= 0 {
			out.Offset = de.offset
			if w.base > 0 {
				out.Offset += w.base
			}
		}
		return out
	}
	out.Msg = "decoding failed"
	out.Err = err
	return out
}

func (w where) errorf(offset int64, format string, args ...any) error {
	return &CorruptError{Section: w.section, Stripe: w.stripe, Column: w.column, Stream: w.stream, Offset: offset, Msg: fmt.Sprintf(format, args...)}
}
