package jobs

import "errors"

var (
	// ErrOperation is returned when the --operation JSON is malformed, of
	// an unknown type, names more or less than one operation, or misses a
	// required field.
	ErrOperation = errors.New("invalid operation")
	// ErrInvalid is returned when an option (account id, role ARN, report
	// bucket, priority, routes …) is of the wrong form.
	ErrInvalid = errors.New("invalid option")
	// ErrETagMismatch is returned when a shard's object in S3 has an ETag
	// other than the MD5 plan.json records for it.
	ErrETagMismatch = errors.New("manifest ETag differs from the plan's MD5")
	// ErrConflict is returned when jobs.json already records a job for a
	// shard that was submitted with other settings (operation, role,
	// report, manifest location), or belongs to another plan.
	ErrConflict = errors.New("jobs.json conflict")
	// ErrNoncurrentIncomplete is returned when a noncurrent-version job
	// of a route ended Failed or Cancelled (or is no longer known): the
	// current versions of that route are not submitted, or the
	// destination could end with an old version current.
	// What to do then: copy the noncurrent versions that did not run
	// (report, given the plan, writes them as re-run plans), then submit
	// the current versions from a plan of current versions only.
	ErrNoncurrentIncomplete = errors.New("the noncurrent-version jobs did not complete")
	// ErrShardTooLarge is returned for a shard manifest over 5 GiB, the
	// most one PUT can upload: plan again with a lower bound on manifest
	// bytes (partition.Bounds.MaxManifestBytes).
	ErrShardTooLarge = errors.New("over the 5 GiB a single PUT can upload")
)
