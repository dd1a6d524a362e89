package diff

import (
	"bytes"
	"encoding/json"
	"time"
)

// SummaryFile is the name of the diff summary in the plan directory. It is
// written before plan.json and, like the shards, is valid only when
// plan.json is there.
const SummaryFile = "diff.json"

// SummaryVersion is the version of the diff.json layout.
const SummaryVersion = 1

// DefaultExamples is how many examples of each class diff.json lists when
// Options.Examples is zero.
const DefaultExamples = 10

// Summary is the content of diff.json. Same inputs and options give the
// same bytes.
type Summary struct {
	Version     int       `json:"version"`
	Source      SideStats `json:"source"`
	Target      SideStats `json:"target"`
	Compare     string    `json:"compare"`
	AllVersions bool      `json:"all_versions"`
	CrossBucket bool      `json:"cross_bucket"`
	Maps        []Mapping `json:"maps,omitempty"`
	// The classes. Every compared row of the source is in exactly one of
	// OnlyInSource, Changed and Unchanged; every compared row of the
	// target in one of OnlyInTarget, Changed and Unchanged.
	OnlyInSource Class        `json:"only_in_source"`
	OnlyInTarget Class        `json:"only_in_target"`
	Changed      ChangedClass `json:"changed"`
	Unchanged    Class        `json:"unchanged"`
	Warnings     []string     `json:"warnings,omitempty"`
}

// SideStats accounts for one side's rows: RowsRead = RowsCompared + the
// sum of Dropped.
type SideStats struct {
	Manifest     string           `json:"manifest"`
	Bucket       string           `json:"bucket"`
	Format       string           `json:"format"`
	RowsRead     int64            `json:"rows_read"`
	RowsCompared int64            `json:"rows_compared"`
	Dropped      map[string]int64 `json:"dropped"`
}

// Class counts the objects of one class. Bytes sums the sizes on the side
// the objects come from (the source's for changed objects).
type Class struct {
	Objects  int64     `json:"objects"`
	Bytes    int64     `json:"bytes"`
	Examples []Example `json:"examples"`
}

// ChangedClass adds why objects changed.
type ChangedClass struct {
	Class
	// By counts changed objects per test that found a difference (an
	// object can count under several).
	By map[string]int64 `json:"by"`
	// MultipartETag counts ETag differences where an ETag is not a content
	// MD5 (multipart or KMS/SSE-C): the bytes may well be equal. See
	// Compare.
	MultipartETag int64 `json:"multipart_etag_mismatch"`
	// Unverified counts objects whose content the checksum test could not
	// compare (an ETag is not a content MD5), whether changed or not.
	Unverified int64 `json:"checksum_unverified"`
}

// Example is one object of a class. Key is the object's key in source
// terms (what copy manifests list; for an object only at the target, the
// key it would have at the source); TargetKey is its key at the target,
// set only when key mappings make it differ. VersionID is set with
// AllVersions. Route is the shard route the object went to (none for
// unchanged objects); Reasons the tests that found a change.
type Example struct {
	Key       string      `json:"key"`
	TargetKey string      `json:"target_key,omitempty"`
	VersionID string      `json:"version_id,omitempty"`
	Route     string      `json:"route,omitempty"`
	Reasons   []string    `json:"reasons,omitempty"`
	Source    *ObjectInfo `json:"source,omitempty"`
	Target    *ObjectInfo `json:"target,omitempty"`
}

// ObjectInfo is what an example shows of one side's object.
type ObjectInfo struct {
	Size              *int64 `json:"size,omitempty"`
	LastModified      string `json:"last_modified,omitempty"`
	ETag              string `json:"etag,omitempty"`
	StorageClass      string `json:"storage_class,omitempty"`
	ChecksumAlgorithm string `json:"checksum_algorithm,omitempty"`
}

func infoOf(o *Object) *ObjectInfo {
	in := &ObjectInfo{ETag: string(o.ETag), StorageClass: string(o.StorageClass), ChecksumAlgorithm: string(o.ChecksumAlgorithm)}
	if o.HasSize {
		s := o.Size
		in.Size = &s
	}
	if o.HasLastModified {
		in.LastModified = time.UnixMilli(o.LastModified).UTC().Format("2006-01-02T15:04:05.000Z")
	}
	return in
}

// Marshal renders the summary as indented JSON with a final newline.
func (s *Summary) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
