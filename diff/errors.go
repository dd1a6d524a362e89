package diff

import (
	"errors"
	"fmt"
)

var (
	// ErrCrossBucket is returned when the two reports list different
	// source buckets and neither Options.CrossBucket nor a key mapping
	// says that this is intended.
	ErrCrossBucket = errors.New("the reports are of different buckets")
	// ErrVersionsAcrossBuckets is returned for AllVersions with reports of
	// different buckets or with key mappings: version ids never match
	// across buckets (a copy gets a new version id), so comparing by
	// version id would call every version missing.
	ErrVersionsAcrossBuckets = errors.New("version ids never match across buckets or mapped keys")
	// ErrNoVersions is returned for AllVersions when a report has no
	// VersionId column.
	ErrNoVersions = errors.New("the report has no version ids")
	// ErrCompare is returned for a Compare rule that is unknown, or that
	// needs a column one of the reports lacks.
	ErrCompare = errors.New("invalid compare rule")
	// ErrMap is returned for key mappings that do not parse or are
	// ambiguous (see KeyMap).
	ErrMap = errors.New("invalid key mapping")
	// ErrOptions is returned for options that contradict each other.
	ErrOptions = errors.New("invalid diff options")
	// ErrUnsorted is returned (in a *SideError) when a side's stream is
	// not sorted by key: a bug in the sort or a stream that was not sorted
	// by partition.Sorter.
	ErrUnsorted = errors.New("input is not sorted by key")
	// ErrMixedBuckets is returned (in a *SideError) when one side's rows
	// name more than one bucket.
	ErrMixedBuckets = errors.New("report lists more than one bucket")
)

// SideError is an error in one side of the diff: reading, filtering,
// sorting or merging it. It names the side and its manifest, and wraps
// the cause (an *inventory.DataError naming the data file and row, for
// bad data).
type SideError struct {
	Side     string // "source" or "target"
	Manifest string // the side's manifest.json location
	Key      string // the key where the problem showed, when known
	Err      error
}

func (e *SideError) Error() string {
	if e.Key != "" {
		return fmt.Sprintf("%s inventory %s: at key %q: %v", e.Side, e.Manifest, e.Key, e.Err)
	}
	return fmt.Sprintf("%s inventory %s: %v", e.Side, e.Manifest, e.Err)
}

func (e *SideError) Unwrap() error { return e.Err }
