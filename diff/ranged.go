package diff

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/s3batchkit/s3batchkit/internal/optname"
	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/manifest"
	"github.com/s3batchkit/s3batchkit/partition"
)

// Range restricts Run to one source-key range of a distributed diff
// (docs/scale-out.md; package scaleout makes the ranges). Ranges split the
// source key space: a source row belongs to the range holding its key, a
// target row to the range holding its key once mapped to a source key
// (KeyMap.ToSource; a target key under no target prefix by the key
// itself, so that it is counted as DropUnmapped by exactly one range).
// Rows outside the range are skipped before any filter and appear in no
// counter. Every row of a key, on both sides, is in one range, so the
// ranges' shards, concatenated per route in range order, are the bytes of
// the unranged diff's.
//
// Reads restricts the data files each side reads, as a distributed plan's
// ranges do (direct reading by key statistics, or the scatter's files).
type Range struct {
	// Lo and Hi bound the range's source keys, Lo included, Hi not; nil
	// is no bound. Their Bucket is ignored (each side holds one bucket,
	// and the sides' buckets differ).
	Lo, Hi *manifest.SplitKey
	// Reads are the data files the range reads of the source (input 0)
	// and the target (input 1); their InputMD5s, when not nil, are the
	// MD5s the two manifest.json files must have.
	partition.Reads
	// Part, when not nil, makes Run commit a part of a distributed diff
	// (part.json, whose Extra is a PartSummary) instead of plan.json and
	// diff.json.
	Part *manifest.Part
}

// PartSummary is the Extra of a distributed diff's part.json: the range's
// summary and what the merge needs to finish the merged one.
type PartSummary struct {
	Summary *Summary `json:"summary"`
	// Examples is Options.Examples (the merged summary keeps as many of
	// each class).
	Examples int `json:"examples"`
	// ETagWarning is the text of the warning about multipart ETag
	// mismatches, with %d for their count; empty when the comparison does
	// not use ETags. The merge adds it once, for the summed count.
	ETagWarning string `json:"etag_warning,omitempty"`
}

func (rg *Range) contains(key []byte) bool {
	if rg.Lo != nil && bytes.Compare(key, []byte(rg.Lo.Key)) < 0 {
		return false
	}
	return rg.Hi == nil || bytes.Compare(key, []byte(rg.Hi.Key)) < 0
}

// selectRows sets sel to the rows of rec whose key is in the range.
func (rg *Range) selectRows(rec arrow.RecordBatch, fields inventory.FieldSet, sel []int32) []int32 {
	sel = sel[:0]
	keys := inventory.Batch{Rec: rec, Fields: fields}.Strings(inventory.Key)
	for i := range int(rec.NumRows()) {
		if rg.contains(inventory.StringBytes(keys, i)) {
			sel = append(sel, int32(i))
		}
	}
	return sel
}

func (rg *Range) part() *manifest.Part {
	if rg == nil {
		return nil
	}
	return rg.Part
}

// restrict checks side k's manifest against the split's MD5 and keeps
// only the data files the range reads.
func (rg *Range) restrict(k int, m *inventory.Manifest) error {
	if rg == nil {
		return nil
	}
	return rg.Reads.Restrict(k, m)
}

// readFields are the columns a diff reads of each report.
func readFields(filter *inventory.Filter, c Compare) inventory.FieldSet {
	return filter.Needs() | mergeFields | partition.SortFields() | c.uses()
}

// ReadFields returns the columns a diff with options o reads of each
// report: the scatter of a distributed diff keeps only them.
func ReadFields(o Options) (inventory.FieldSet, error) {
	if o.Out == "" {
		o.Out = "-"
	}
	if _, err := o.check(); err != nil {
		return 0, err
	}
	filter, err := inventory.NewFilter(o.filterOptions())
	if err != nil {
		return 0, err
	}
	return readFields(filter, o.Compare), nil
}

// etagWarning is the text of the multipart ETag warning, %d for the
// count.
func etagWarning(o *Options) string {
	return "%d changed objects differ by ETag where an ETag is not a content MD5 (multipart upload, or SSE-KMS/SSE-C): a copy with other part sizes has another ETag for the same bytes; if these objects were copied, compare with " +
		optname.Name(o.OptionName, "Compare") + " size,mtime"
}

// OptionsHash returns the options that shape a diff's output, as a map,
// and the SHA-256 (hex) of its JSON: the split of a distributed diff
// records them, and every range refuses other ones. The report locations
// are not part of them (the split records the reports' MD5s).
func OptionsHash(o Options) (string, map[string]any, error) {
	o.Out = "-"
	if o.Source == "" {
		o.Source = "-"
	}
	if o.Target == "" {
		o.Target = "-"
	}
	km, err := o.check()
	if err != nil {
		return "", nil, err
	}
	m := partition.DescribeOptions(partition.Options{Filter: o.filterOptions(), Bounds: o.Bounds, Sort: true, NoRoutes: o.NoRoutes})
	m["diff"] = map[string]any{"compare": o.Compare.String(), "all_versions": o.AllVersions,
		"cross_bucket": o.CrossBucket, "maps": km.Rules(), "examples": o.Examples}
	raw, err := json.Marshal(m)
	if err != nil {
		return "", nil, err
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:]), m, nil
}

// MergeSummaries merges the summaries of a distributed diff's parts, in
// range order, into the unranged diff's: counters summed, the first
// examples of each class kept, and the warnings: the merged plan's
// (plan.Warnings, shard paths relative to the run root), then the ETag
// warning for the summed count, which is also appended to plan.Warnings.
func MergeSummaries(parts []*PartSummary, plan *manifest.Plan) (*Summary, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("%w: no parts", manifest.ErrPartMismatch)
	}
	first := parts[0]
	if first.Summary == nil {
		return nil, fmt.Errorf("%w: part 0 has no diff summary", manifest.ErrPartMismatch)
	}
	s0 := first.Summary
	out := &Summary{
		Version: s0.Version, Compare: s0.Compare, AllVersions: s0.AllVersions, CrossBucket: s0.CrossBucket, Maps: s0.Maps,
		OnlyInSource: Class{Examples: []Example{}}, OnlyInTarget: Class{Examples: []Example{}},
		Changed: ChangedClass{Class: Class{Examples: []Example{}}, By: map[string]int64{}}, Unchanged: Class{Examples: []Example{}},
	}
	out.Source = SideStats{Manifest: s0.Source.Manifest, Bucket: s0.Source.Bucket, Format: s0.Source.Format, Dropped: map[string]int64{}}
	out.Target = SideStats{Manifest: s0.Target.Manifest, Bucket: s0.Target.Bucket, Format: s0.Target.Format, Dropped: map[string]int64{}}
	addClass := func(dst *Class, src Class, limit int) {
		dst.Objects += src.Objects
		dst.Bytes += src.Bytes
		for _, e := range src.Examples {
			if len(dst.Examples) < limit {
				dst.Examples = append(dst.Examples, e)
			}
		}
	}
	addSide := func(dst *SideStats, src SideStats) {
		dst.RowsRead += src.RowsRead
		dst.RowsCompared += src.RowsCompared
		for r, n := range src.Dropped {
			dst.Dropped[r] += n
		}
	}
	for i, p := range parts {
		s := p.Summary
		switch {
		case s == nil:
			return nil, fmt.Errorf("%w: part %d has no diff summary", manifest.ErrPartMismatch, i)
		case p.Examples != first.Examples || p.ETagWarning != first.ETagWarning || s.Version != s0.Version ||
			s.Compare != s0.Compare || s.AllVersions != s0.AllVersions || s.CrossBucket != s0.CrossBucket ||
			s.Source.Manifest != s0.Source.Manifest || s.Target.Manifest != s0.Target.Manifest:
			return nil, fmt.Errorf("%w: part %d compared other reports or with other options than part 0", manifest.ErrPartMismatch, i)
		}
		addSide(&out.Source, s.Source)
		addSide(&out.Target, s.Target)
		addClass(&out.OnlyInSource, s.OnlyInSource, p.Examples)
		addClass(&out.OnlyInTarget, s.OnlyInTarget, p.Examples)
		addClass(&out.Unchanged, s.Unchanged, p.Examples)
		addClass(&out.Changed.Class, s.Changed.Class, p.Examples)
		for r, n := range s.Changed.By {
			out.Changed.By[r] += n
		}
		out.Changed.MultipartETag += s.Changed.MultipartETag
		out.Changed.Unverified += s.Changed.Unverified
	}
	if n := out.Changed.MultipartETag; n > 0 && first.ETagWarning != "" {
		plan.Warnings = append(plan.Warnings, fmt.Sprintf(first.ETagWarning, n))
	}
	out.Warnings = plan.Warnings
	return out, nil
}
