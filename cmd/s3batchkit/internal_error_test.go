package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/s3batchkit/s3batchkit/inventory"
)

// panicAt is an io.ReaderAt that panics: a stand-in for a bug below the
// readers.
type panicAt struct{}

func (panicAt) ReadAt([]byte, int64) (int, error) { panic("injected") }

// TestInternalErrorExitCode checks that a reader's recovered panic, as the
// commands return it (wrapped), exits with status 1, not 3 (bad input),
// and that the message calls it a bug to report, naming the file.
func TestInternalErrorExitCode(t *testing.T) {
	for _, open := range []func() error{
		func() error {
			_, err := inventory.NewORCReader(panicAt{}, 1000, nil, "data/x.orc", inventory.AllFields, 0, 0)
			return err
		},
		func() error {
			_, err := inventory.NewParquetReader(panicAt{}, 1000, nil, "data/x.parquet", inventory.AllFields, 0)
			return err
		},
	} {
		err := open()
		var ie *inventory.InternalError
		if !errors.As(err, &ie) {
			t.Fatalf("got %T %v, want an *InternalError", err, err)
		}
		wrapped := fmt.Errorf("plan: reading the inventory: %w", err)
		if code := exitCode(context.Background(), wrapped); code != exitFailure {
			t.Fatalf("exit code %d, want %d", code, exitFailure)
		}
		if msg := wrapped.Error(); !strings.Contains(msg, "data/x.") || !strings.Contains(msg, "bug in s3batchkit") {
			t.Fatalf("message %q does not name the file and the bug", msg)
		}
	}
}

// TestS3FailureExitCode: S3 failing after the client's retries exits 1
// (job engines retry it) even when a data file's error wraps it; a data
// file cut short or failing its MD5 exits 3.
func TestS3FailureExitCode(t *testing.T) {
	s3 := &retry.MaxAttemptsError{Attempt: 5, Err: errors.New("api error InternalError: We encountered an internal error")}
	for _, tc := range []struct {
		err  error
		want int
	}{
		{fmt.Errorf("plan: %w", &inventory.DataError{File: "s3://b/data/x.parquet", Offset: 4, Err: fmt.Errorf("%w: %w", inventory.ErrCorrupt, s3)}), exitFailure},
		{fmt.Errorf("reading s3://b/data/x.parquet: %w", s3), exitFailure},
		{&inventory.DataError{File: "data/x.parquet", Offset: 4, Err: fmt.Errorf("%w: %w", inventory.ErrCorrupt, io.ErrUnexpectedEOF)}, exitBadInput},
		{&inventory.DataError{File: "data/x.parquet", Offset: 900, Err: inventory.ErrTruncated}, exitBadInput},
		{&inventory.DataError{File: "data/x.parquet", Offset: -1, Err: inventory.ErrChecksum}, exitBadInput},
	} {
		if got := exitCode(context.Background(), tc.err); got != tc.want {
			t.Errorf("%v: exit %d, want %d", tc.err, got, tc.want)
		}
	}
}
