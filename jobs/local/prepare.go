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
	loc, etag := j.rec.ManifestLoc, aws.ToString(j.rec.Manifest.Location.ETag)
	fields, ferr := manifestFields(j.rec.Manifest)
	e.mu.Unlock()
	var n int64
	err := ferr
	if err == nil {
		n, err = scanManifest(e.base, e.o.IO, loc, etag, fields)
	}
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

// manifestFields is the column layout Spec.Fields gives (Bucket,Key
// without one). A list that cannot describe a CSV manifest fails the job.
func manifestFields(m types.JobManifest) (manifest.Fields, error) {
	var names []string
	if m.Spec != nil {
		for _, f := range m.Spec.Fields {
			names = append(names, string(f))
		}
	}
	f, err := manifest.ParseFields(names)
	if err != nil {
		return f, &failure{"ManifestParseFailed", fmt.Sprintf("Reading the manifest failed: Spec.Fields: %v", err)}
	}
	return f, nil
}

// scanManifest checks the manifest object's ETag (its MD5 when the store
// has no ETags), parses every line with the layout fields (strictly: see
// manifest.Reader) and returns the number of tasks. The first line that
// does not parse fails the job before any task runs, naming the line.
func scanManifest(ctx context.Context, oc *objio.Client, loc, etag string, fields manifest.Fields) (int64, error) {
	info, err := oc.Stat(ctx, loc)
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
	f, err := oc.Open(ctx, loc)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	h := md5.New()
	r := manifest.NewReader(io.TeeReader(f, h), loc, fields)
	var n int64
	for {
		_, err := r.Next()
		if err == io.EOF {
			break
		}
		if re := rowError(err); re != nil {
			return 0, &failure{"ManifestParseFailed", "Reading the manifest failed: " + rowProblem(re)}
		}
		if err != nil {
			return 0, err
		}
		n++
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

// rowError returns err as a *manifest.RowError, or nil.
func rowError(err error) *manifest.RowError {
	var re *manifest.RowError
	if errors.As(err, &re) {
		return re
	}
	return nil
}

// rowProblem describes a bad manifest line without the manifest's
// location (the job names it): "line 12: malformed manifest row: ...".
func rowProblem(re *manifest.RowError) string {
	c := *re
	c.File = ""
	return "line " + c.Error()
}

// eachLine calls fn with every non-empty line of r (without "\n" or
// "\r\n"); the slice is valid during the call only. It is lenient (run's
// MaterializeSources uses it); tasks and preparation read manifests
// through manifest.Reader.
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
