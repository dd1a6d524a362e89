package local

import (
	"bufio"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// prepare reads and checks the manifest, counts its tasks, and moves the
// job to Suspended or Ready, or to Failed.
func (e *Engine) prepare(j *job) {
	e.mu.Lock()
	if j.rec.Status != types.JobStatusNew && j.rec.Status != types.JobStatusPreparing {
		e.mu.Unlock()
		return // cancelled before it started
	}
	e.setStatus(j, types.JobStatusPreparing, "")
	loc, etag, versioned := j.rec.ManifestLoc, aws.ToString(j.rec.Manifest.Location.ETag), manifestVersioned(j.rec.Manifest)
	e.mu.Unlock()
	n, err := scanManifest(e.base, loc, etag, versioned)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.base.Err() != nil || j.rec.Status != types.JobStatusPreparing {
		return // closing (prepared again on restart), or cancelled meanwhile
	}
	if err != nil {
		var fe *failure
		if errors.As(err, &fe) {
			e.fail(j, fe.code, fe.msg)
		} else {
			e.fail(j, "ManifestReadFailed", fmt.Sprintf("Reading the manifest failed: %v", err))
		}
		return
	}
	j.rec.Total = n
	if j.rec.ConfirmationRequired {
		j.rec.SuspendedCause = "AwaitingConfirmation"
		e.setStatus(j, types.JobStatusSuspended, "")
		return
	}
	e.setStatus(j, types.JobStatusReady, "")
}

// failure is a job failure with its FailureCode.
type failure struct{ code, msg string }

func (f *failure) Error() string { return f.code + ": " + f.msg }

func manifestVersioned(m types.JobManifest) bool {
	if m.Spec == nil {
		return false
	}
	for _, f := range m.Spec.Fields {
		if f == types.JobManifestFieldNameVersionId {
			return true
		}
	}
	return false
}

// scanManifest checks the manifest object's ETag (its MD5 when the store
// has no ETags), parses every line and returns the number of tasks.
func scanManifest(ctx context.Context, loc, etag string, versioned bool) (int64, error) {
	info, err := objio.Stat(ctx, loc)
	if err != nil {
		if errors.Is(err, objio.ErrNotFound) {
			return 0, &failure{"ManifestNotFound", fmt.Sprintf("Reading the manifest failed: %s: NoSuchKey", loc)}
		}
		return 0, err
	}
	want := strings.ToLower(strings.Trim(etag, `"`))
	if info.ETag != "" && !strings.EqualFold(info.ETag, want) {
		return 0, &failure{"ManifestETagMismatch", fmt.Sprintf("The manifest ETag %s does not match the ETag given, %s", info.ETag, want)}
	}
	f, err := objio.Open(ctx, loc)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	h := md5.New()
	var n int64
	err = eachLine(io.TeeReader(f, h), func(line []byte) error {
		n++
		row, err := manifest.ParseRow(line)
		if err != nil {
			return &failure{"ManifestParseFailed", fmt.Sprintf("Reading the manifest failed: line %d: %v", n, err)}
		}
		if row.HasVersion != versioned {
			return &failure{"ManifestParseFailed", fmt.Sprintf("Reading the manifest failed: line %d: %d fields, expected %d (Spec.Fields)", n, 2+b2i(row.HasVersion), 2+b2i(versioned))}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if info.ETag == "" {
		if sum := hex.EncodeToString(h.Sum(nil)); sum != want {
			return 0, &failure{"ManifestETagMismatch", fmt.Sprintf("The manifest MD5 %s does not match the ETag given, %s", sum, want)}
		}
	}
	if n == 0 {
		return 0, &failure{"ManifestEmpty", "The manifest holds no task"}
	}
	return n, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// eachLine calls fn with every non-empty line of r (without "\n" or
// "\r\n"); the slice is valid during the call only.
func eachLine(r io.Reader, fn func([]byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 256<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if len(line) == 0 {
			continue
		}
		if err := fn(line); err != nil {
			return err
		}
	}
	return sc.Err()
}
