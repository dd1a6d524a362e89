package report

import (
	"errors"
	"fmt"
	"strings"

	"github.com/s3batchkit/s3batchkit/internal/extsort"
)

var (
	// ErrReportManifest is returned when a report manifest.json cannot be
	// parsed, has another Format than Report_CSV_20180820, or lacks a
	// required field (Results, and in each result Key and MD5Checksum).
	ErrReportManifest = errors.New("invalid completion report manifest")
	// ErrNoReports is returned when a prefix holds no job-<id>/manifest.json.
	ErrNoReports = errors.New("no completion report found")
	// ErrMissingFile is returned when a result file named in a report
	// manifest exists under none of the candidate folders.
	ErrMissingFile = errors.New("result file not found")
	// ErrChecksum is returned when a result file's MD5 differs from the
	// MD5Checksum its report manifest gives.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrFieldCount is returned when a result row does not have exactly
	// seven fields.
	ErrFieldCount = errors.New("wrong number of fields")
	// ErrBadValue is returned when a field's value is not what its column
	// holds: an HTTP status that is not a number, a TaskStatus other than
	// succeeded or failed, an empty bucket or key.
	ErrBadValue = errors.New("bad value")
	// ErrBadEscape is returned when a key holds an invalid %-escape.
	ErrBadEscape = errors.New("bad percent escape")
	// ErrSyntax is returned for malformed CSV: an unterminated quoted
	// field, a stray quote, a record longer than the reader accepts.
	ErrSyntax = errors.New("malformed CSV")
	// ErrClasses is returned when a --classes file cannot be parsed or names
	// a class other than retryable, permanent, unknown or success.
	ErrClasses = errors.New("invalid classes file")
	// ErrSpill is returned (wrapped) when a temporary file of the report's
	// external sorts cannot be written or read back, for example when the
	// disk is full. The files are removed by Merger.Close. It is the
	// project's one external sort's error (internal/extsort), so that
	// errors.Is matches it whichever stage's sort failed.
	ErrSpill = extsort.ErrSpill
)

// DataError describes bad data at a known place: which job, which file,
// which line (1-based; 0 when unknown), which field, what was found and
// what was expected. It wraps one of the sentinel errors above, so callers
// test it with errors.Is and errors.As.
type DataError struct {
	Job      string // the job id; "" when not known
	File     string // the result file or report manifest location
	Line     int64  // 1-based line where the record starts; 0 if unknown
	Field    string // the column name (Key, HTTPStatusCode, ...); "" if none
	Value    string // the offending value, shortened
	Expected string // what was expected, in words
	Err      error  // the sentinel or cause
}

func (e *DataError) Error() string {
	var b strings.Builder
	if e.Job != "" {
		fmt.Fprintf(&b, "job %s: ", e.Job)
	}
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
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

// Errors of report --plan, each inside a *DataError that names the job
// and the shard.
var (
	// ErrShardChanged: a shard's bytes no longer have the MD5 (or the
	// line count) plan.json gives: it changed since it was planned, and
	// its lines may not be what its job ran.
	ErrShardChanged = errors.New("shard changed since it was planned")
	// ErrShardMissing: a shard plan.json lists cannot be read.
	ErrShardMissing = errors.New("shard missing")
	// ErrShardLine: a line of a shard that does not parse as a manifest
	// line (see manifest.Reader).
	ErrShardLine = errors.New("bad shard line")
)
