package manifest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/s3batchkit/s3batchkit/internal/objio"
)

// ErrSubmitted is returned (inside a *SubmittedError) when a plan would
// be written into a directory whose jobs.json records jobs: they read the
// directory's shards and report audits them by its plan.json, so a new
// plan there would pull the ground from under them.
var ErrSubmitted = errors.New("the plan's jobs were submitted")

// SubmittedError says which directory holds a submitted plan, and how
// many jobs jobs.json records.
type SubmittedError struct {
	Dir    string
	PlanID string // the plan id jobs.json records
	Jobs   int
}

func (e *SubmittedError) Error() string {
	return fmt.Sprintf("%s holds a plan whose jobs were submitted (%d in %s, plan %s): a new plan there would replace the shards they read and report audits",
		e.Dir, e.Jobs, JobsFile, e.PlanID)
}

func (e *SubmittedError) Unwrap() error { return ErrSubmitted }

// CheckNotSubmitted returns a *SubmittedError when DIR/jobs.json records
// at least one job; nil when there is no jobs.json or it records none. A
// jobs.json that does not parse is an error too (a *JobsFileError): it
// may record jobs.
func CheckNotSubmitted(ctx context.Context, oc *objio.Client, dir string) error {
	run, err := ReadRunIfAny(ctx, oc, dir)
	if err != nil {
		return err
	}
	if run == nil || len(run.Jobs) == 0 {
		return nil
	}
	return &SubmittedError{Dir: dir, PlanID: run.PlanID, Jobs: len(run.Jobs)}
}

// SetAsideRun renames DIR/jobs.json to DIR/jobs-replaced-<plan id>.json
// (another free name if that one is taken), so that a new plan may be
// written in DIR while the record of the old one's jobs is kept. It
// returns the new location, or "" when DIR holds no jobs.json.
func SetAsideRun(ctx context.Context, oc *objio.Client, dir string) (string, error) {
	loc := objio.Join(dir, JobsFile)
	raw, err := oc.ReadAll(ctx, loc)
	if errors.Is(err, objio.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	id := "unknown"
	if run, err := ParseRun(raw, loc); err == nil && PlainName(run.PlanID) {
		id = run.PlanID
	}
	base := "jobs-replaced-" + strings.TrimSuffix(id, ".json")
	dst := objio.Join(dir, base+".json")
	for n := 2; ; n++ {
		if _, err := oc.Stat(ctx, dst); errors.Is(err, objio.ErrNotFound) {
			break
		} else if err != nil {
			return "", err
		}
		dst = objio.Join(dir, fmt.Sprintf("%s-%d.json", base, n))
	}
	if err := oc.WriteFileAtomic(ctx, dst, raw); err != nil {
		return "", err
	}
	if !objio.IsS3(dst) {
		if err := os.Chmod(dst, 0o644); err != nil {
			return "", err
		}
	}
	if err := oc.Remove(ctx, loc); err != nil {
		return "", err
	}
	return dst, nil
}
