package manifest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/s3batchkit/s3batchkit/internal/objio"
)

// A distributed plan (docs/scale-out.md) is made in three steps that
// share only a folder (or an s3:// prefix), the run root:
//
//	ROOT/ranges.json                 the split: key ranges, who reads what
//	ROOT/scatter/<jjjj>/…            shuffle only: slice j's rows, by range
//	ROOT/parts/<iiii>/shards/…       range i's shards, then part.json last
//	ROOT/plan.json                   the merge: every part's shards, last
//
// ranges.json is written once by the split; every later step reads it and
// records its SHA-256, so that the merge can refuse a part or a scatter
// slice made from another split.

// RangesVersion is the version of the ranges.json layout.
const RangesVersion = 1

// File names of a distributed plan.
const (
	RangesName  = "ranges.json"
	PartName    = "part.json"
	ScatterName = "scatter.json"
)

// Modes of an input of ranges.json.
const (
	// ModeDirect: each range reads the data files (and row groups or
	// stripes) whose key statistics overlap it.
	ModeDirect = "direct"
	// ModeShuffle: scatter slices read the files once and write each
	// range's rows apart; each range reads its rows from every slice.
	ModeShuffle = "shuffle"
)

// Errors of distributed plans. The merge's refusals wrap ErrPartMismatch
// or ErrPartMissing; a step given a ranges.json it cannot use gets
// ErrRanges.
var (
	// ErrRanges: ranges.json does not parse, or does not fit the step
	// (another inventory, other options, a range index out of bounds).
	ErrRanges = errors.New("invalid or mismatched ranges.json")
	// ErrPartMissing: a part (or a scatter slice) has not been written,
	// or its writing did not finish (no part.json, no scatter.json).
	ErrPartMissing = errors.New("part missing")
	// ErrPartMismatch: a part or a scatter slice was made from another
	// ranges.json, for another range, or does not account for its data
	// files as ranges.json says (a file verified twice or never).
	ErrPartMismatch = errors.New("part does not match ranges.json")
)

// SplitKey is a (bucket, key) pair: a range starts at its split key. Keys
// that are not valid UTF-8 are written in hex (key_hex).
type SplitKey struct {
	Bucket string
	Key    string
}

type splitKeyJSON struct {
	Bucket    string `json:"bucket"`
	Key       string `json:"key,omitempty"`
	KeyHex    string `json:"key_hex,omitempty"`
	BucketHex string `json:"bucket_hex,omitempty"`
}

// MarshalJSON writes the key as text, or in hex when it is not valid
// UTF-8 (JSON strings cannot hold other bytes).
func (k SplitKey) MarshalJSON() ([]byte, error) {
	j := splitKeyJSON{Bucket: k.Bucket, Key: k.Key}
	if !utf8.ValidString(k.Bucket) {
		j.Bucket, j.BucketHex = "", hex.EncodeToString([]byte(k.Bucket))
	}
	if !utf8.ValidString(k.Key) {
		j.Key, j.KeyHex = "", hex.EncodeToString([]byte(k.Key))
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (k *SplitKey) UnmarshalJSON(b []byte) error {
	var j splitKeyJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	k.Bucket, k.Key = j.Bucket, j.Key
	if j.BucketHex != "" {
		v, err := hex.DecodeString(j.BucketHex)
		if err != nil {
			return fmt.Errorf("bucket_hex: %w", err)
		}
		k.Bucket = string(v)
	}
	if j.KeyHex != "" {
		v, err := hex.DecodeString(j.KeyHex)
		if err != nil {
			return fmt.Errorf("key_hex: %w", err)
		}
		k.Key = string(v)
	}
	return nil
}

// Compare orders split keys as the plan orders rows: by bucket, then key,
// as unsigned bytes.
func (k SplitKey) Compare(o SplitKey) int {
	if c := compareStrings(k.Bucket, o.Bucket); c != 0 {
		return c
	}
	return compareStrings(k.Key, o.Key)
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Ranges is the content of ranges.json.
type Ranges struct {
	Version int `json:"version"`
	// Kind is "plan" or "diff": the command the ranges are for.
	Kind string `json:"kind"`
	// Inputs are the inventory reports, in the order of the command
	// line (diff: the source, then the target).
	Inputs []RangesInput `json:"inputs"`
	// OptionsHash is the SHA-256 of the options that change the output
	// (filters, bounds, routing; diff's comparison); every step given
	// other options refuses to run. Options shows them.
	OptionsHash string         `json:"options_sha256"`
	Options     map[string]any `json:"options"`
	// Splits are the N−1 split keys, ascending: range i holds the rows
	// whose (bucket, key) is at least Splits[i-1] (range 0: any) and
	// below Splits[i] (the last range: any).
	Splits []SplitKey `json:"splits"`
	// Columns are the inventory fields (canonical names) the plan reads:
	// a scatter slice keeps only them. Empty: every column.
	Columns []string `json:"columns,omitempty"`
	// Slices is the number of scatter slices (zero when no input is
	// shuffled); slice j reads the files whose VerifiedBy is j.
	Slices int           `json:"scatter_slices"`
	Ranges []RangeDetail `json:"ranges"`
}

// RangesInput is one inventory report of a distributed plan.
type RangesInput struct {
	Manifest string `json:"manifest"`
	MD5      string `json:"md5"`
	// DataRoot is the split's --data-root, which scatter slices use too.
	DataRoot string `json:"data_root,omitempty"`
	Format   string `json:"format"`
	// Mode is ModeDirect or ModeShuffle.
	Mode string `json:"mode"`
	// Unit is what the statistics describe: row_group, stripe or file.
	Unit string `json:"unit"`
	// Rows is the number of rows (-1 when unknown: CSV).
	Rows int64 `json:"rows"`
	// ReadAmplification is, for direct reading, the rows all ranges
	// would read together over Rows (1: each row read once); what the
	// split decided the mode by.
	ReadAmplification float64      `json:"read_amplification"`
	Files             []RangesFile `json:"files"`
}

// RangesFile is one data file of an input.
type RangesFile struct {
	Key   string `json:"key"`
	Size  int64  `json:"size"`
	MD5   string `json:"md5"`
	Rows  int64  `json:"rows"`  // -1 when unknown
	Units int    `json:"units"` // row groups or stripes; 1 for CSV
	// VerifiedBy is the range (direct) or the scatter slice (shuffle)
	// that checks the file's MD5; the others read it unchecked (its size
	// is checked, and S3 reads are pinned to one ETag).
	VerifiedBy int `json:"verified_by"`
}

// RangeDetail is one range.
type RangeDetail struct {
	Index int `json:"index"`
	// Rows is the split's estimate of the rows in the range.
	Rows int64 `json:"estimated_rows"`
	// Reads are the files of direct inputs the range reads.
	Reads []FileRead `json:"reads"`
}

// FileRead is one data file a range reads.
type FileRead struct {
	Input int `json:"input"`
	File  int `json:"file"`
	// Units are the row groups or stripes to read; nil reads all.
	Units []int `json:"units,omitempty"`
	// Verify says the range checks the file's MD5.
	Verify bool `json:"verify,omitempty"`
}

// FileRef names a data file of an input.
type FileRef struct {
	Input int `json:"input"`
	File  int `json:"file"`
}

// N is the number of ranges.
func (r *Ranges) N() int { return len(r.Ranges) }

// Marshal renders ranges.json as indented JSON with a final newline.
func (r *Ranges) Marshal() ([]byte, error) { return marshalIndent(r) }

func marshalIndent(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Check validates the structure: version, ascending splits, one range per
// split and one more, file references in bounds, every file verified by
// one range or slice.
func (r *Ranges) Check() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrRanges}, a...)...)
	}
	if r.Version != RangesVersion {
		return bad("version %d, expected %d", r.Version, RangesVersion)
	}
	if len(r.Ranges) == 0 || len(r.Ranges) != len(r.Splits)+1 {
		return bad("%d ranges for %d split keys", len(r.Ranges), len(r.Splits))
	}
	for i := 1; i < len(r.Splits); i++ {
		if r.Splits[i-1].Compare(r.Splits[i]) > 0 {
			return bad("split keys %d and %d are out of order", i-1, i)
		}
	}
	shuffled := false
	for k, in := range r.Inputs {
		if in.Mode != ModeDirect && in.Mode != ModeShuffle {
			return bad("input %d: mode %q", k, in.Mode)
		}
		for f, file := range in.Files {
			limit := len(r.Ranges)
			if in.Mode == ModeShuffle {
				limit = r.Slices
				shuffled = true
			}
			if file.VerifiedBy < 0 || file.VerifiedBy >= limit {
				return bad("input %d file %d: verified_by %d out of range", k, f, file.VerifiedBy)
			}
		}
	}
	if shuffled != (r.Slices > 0) {
		return bad("%d scatter slices for inputs that are %s", r.Slices, map[bool]string{true: "shuffled", false: "not shuffled"}[shuffled])
	}
	for i, rg := range r.Ranges {
		if rg.Index != i {
			return bad("range %d is numbered %d", i, rg.Index)
		}
		for _, fr := range rg.Reads {
			if fr.Input < 0 || fr.Input >= len(r.Inputs) || r.Inputs[fr.Input].Mode != ModeDirect ||
				fr.File < 0 || fr.File >= len(r.Inputs[fr.Input].Files) {
				return bad("range %d reads input %d file %d, which is not a file of a direct input", i, fr.Input, fr.File)
			}
			file := r.Inputs[fr.Input].Files[fr.File]
			if fr.Verify != (file.VerifiedBy == i) {
				return bad("range %d: input %d file %d is verified by range %d", i, fr.Input, fr.File, file.VerifiedBy)
			}
			for _, u := range fr.Units {
				if u < 0 || u >= file.Units {
					return bad("range %d: input %d file %d has no unit %d", i, fr.Input, fr.File, u)
				}
			}
		}
	}
	return nil
}

// RangeOf returns the index of the range holding (bucket, key).
func (r *Ranges) RangeOf(bucket, key []byte) int {
	lo, hi := 0, len(r.Splits)
	for lo < hi {
		m := (lo + hi) / 2
		if compareKey(bucket, key, &r.Splits[m]) >= 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// compareKey compares (bucket, key) with a split key.
func compareKey(bucket, key []byte, s *SplitKey) int {
	if c := bytes.Compare(bucket, []byte(s.Bucket)); c != 0 {
		return c
	}
	return bytes.Compare(key, []byte(s.Key))
}

// ReadRanges reads and checks the ranges.json at loc and returns it with
// the SHA-256 of its bytes (hex).
func ReadRanges(ctx context.Context, oc *objio.Client, loc string) (*Ranges, string, error) {
	raw, err := oc.ReadAll(ctx, loc)
	if err != nil {
		return nil, "", err
	}
	var r Ranges
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, "", fmt.Errorf("%s: %w: %v", loc, ErrRanges, err)
	}
	if err := r.Check(); err != nil {
		return nil, "", fmt.Errorf("%s: %w", loc, err)
	}
	sum := sha256.Sum256(raw)
	return &r, hex.EncodeToString(sum[:]), nil
}

// WriteRanges writes r to loc atomically and returns the SHA-256 of the
// bytes written.
func WriteRanges(ctx context.Context, oc *objio.Client, loc string, r *Ranges) (string, error) {
	r.Version = RangesVersion
	if err := r.Check(); err != nil {
		return "", err
	}
	data, err := r.Marshal()
	if err != nil {
		return "", err
	}
	if err := oc.WriteFileAtomic(ctx, loc, data); err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// RootOf returns the run root of a ranges.json location: the folder that
// holds it (scatter/ and, by default, parts/ are beside it).
func RootOf(rangesLoc string) string { return objio.Dir(rangesLoc) }

// PartDir returns the folder of range i's part under root.
func PartDir(root string, i int) string { return objio.Join(root, PartRel(i)) }

// PartRel is the path of range i's part folder relative to the run root.
func PartRel(i int) string { return fmt.Sprintf("parts/%04d", i) }

// ScatterDir returns the folder of scatter slice j under root.
func ScatterDir(root string, j int) string { return objio.Join(root, fmt.Sprintf("scatter/%04d", j)) }
