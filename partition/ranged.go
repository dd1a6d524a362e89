package partition

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/manifest"
)

// Range restricts a plan to one key range of a distributed plan
// (docs/scale-out.md): only the rows whose (bucket, key) is in [Lo, Hi)
// are counted, filtered, sorted and cut; the others are skipped as soon
// as they are decoded, before any filter, and appear in no counter. The
// plan's Inputs and Options are those of the unranged plan.
type Range struct {
	// Lo and Hi bound the range's (bucket, key), Lo included, Hi not;
	// nil is no bound.
	Lo, Hi *manifest.SplitKey
	// Reads are the data files the range reads of each input.
	Reads
	// Part, when not nil, makes the plan a part of a distributed plan:
	// Plan fills its RowsByInput and Plan and commits it as part.json
	// instead of plan.json.
	Part *manifest.Part
}

// Reads say what one range of a distributed plan or diff reads of its
// inputs (ranges.json's reads, or the scatter's files); the zero value
// reads every data file of every input. A distributed plan and a
// distributed diff restrict their inputs with it alike.
type Reads struct {
	// InputMD5s, when not nil, are the MD5s the inputs' manifest.json
	// files must have, in order: a manifest that changed since the split
	// is an error wrapping manifest.ErrRanges.
	InputMD5s []string
	// Files, when not nil, has one entry per input: the data files the
	// range reads (possibly none); nil reads every file of every input.
	Files [][]RangeFile
	// Replace, when not nil, has one entry per input: when not nil, the
	// range reads that input's rows from these files, written by the
	// scatter step (inventory.FormatArrowIPC), instead of its data files.
	Replace [][]inventory.DataFile
}

// RangeFile is one data file a range reads.
type RangeFile struct {
	// File is its index in manifest.json's files.
	File int
	// Units are the row groups or stripes to read; nil reads them all.
	Units []int
	// Verify says the range checks the file's MD5 (else its size only).
	Verify bool
}

// contains says whether (bucket, key) is in the range.
func (rg *Range) contains(bucket, key []byte) bool {
	if rg.Lo != nil && cmpSplit(bucket, key, rg.Lo) < 0 {
		return false
	}
	return rg.Hi == nil || cmpSplit(bucket, key, rg.Hi) < 0
}

func cmpSplit(bucket, key []byte, s *manifest.SplitKey) int {
	if c := bytes.Compare(bucket, []byte(s.Bucket)); c != 0 {
		return c
	}
	return bytes.Compare(key, []byte(s.Key))
}

// selectRows sets sel to the rows of rec in the range.
func (rg *Range) selectRows(rec arrow.RecordBatch, fields inventory.FieldSet, sel []int32) []int32 {
	sel = sel[:0]
	n := int(rec.NumRows())
	if rg.Lo == nil && rg.Hi == nil {
		for i := range n {
			sel = append(sel, int32(i))
		}
		return sel
	}
	cs := newCols(rec, fields)
	for i := range n {
		if rg.contains(cs.str(inventory.Bucket, i), cs.str(inventory.Key, i)) {
			sel = append(sel, int32(i))
		}
	}
	return sel
}

// Restrict checks input k's manifest against the split's MD5 and keeps,
// in m, only the data files the range reads, with their row groups or
// stripes and whether to check their MD5 (or the scatter's files instead).
func (rg *Reads) Restrict(k int, m *inventory.Manifest) error {
	if rg.InputMD5s != nil {
		if k >= len(rg.InputMD5s) {
			return fmt.Errorf("%w: input %d (%s) is not an input of the split (it has %d)", manifest.ErrRanges, k+1, m.Location, len(rg.InputMD5s))
		}
		if m.MD5 != rg.InputMD5s[k] {
			return fmt.Errorf("%w: %s has MD5 %s, the split read one with MD5 %s (another delivery, or it changed)", manifest.ErrRanges, m.Location, m.MD5, rg.InputMD5s[k])
		}
	}
	if rg.Replace != nil && k < len(rg.Replace) && rg.Replace[k] != nil {
		m.Format = inventory.FormatArrowIPC
		m.Files = slices.Clone(rg.Replace[k])
		return nil
	}
	if rg.Files == nil {
		return nil
	}
	if k >= len(rg.Files) {
		return fmt.Errorf("%w: input %d (%s) has no files in ranges.json", manifest.ErrRanges, k+1, m.Location)
	}
	files := make([]inventory.DataFile, 0, len(rg.Files[k]))
	for _, f := range rg.Files[k] {
		if f.File < 0 || f.File >= len(m.Files) {
			return fmt.Errorf("%w: %s has %d data files, ranges.json names file %d", manifest.ErrRanges, m.Location, len(m.Files), f.File)
		}
		df := m.Files[f.File]
		df.Units = slices.Clone(f.Units)
		df.NoVerify = !f.Verify
		files = append(files, df)
	}
	m.Files = files
	return nil
}

// part is rg's Part; nil for no range.
func (rg *Range) part() *manifest.Part {
	if rg == nil {
		return nil
	}
	return rg.Part
}

// PlanOptions returns the options that shape a plan, as plan.json records
// them (Plan.Options), for o once normalized; the split of a distributed
// plan hashes them (OptionsHash) so that every step refuses other ones.
func PlanOptions(o Options) (map[string]any, error) {
	if err := o.normalize(); err != nil {
		return nil, err
	}
	return planOptions(o), nil
}

// OptionsHash is the SHA-256 (hex) of the JSON of PlanOptions(o).
func OptionsHash(o Options) (string, map[string]any, error) {
	m, err := PlanOptions(o)
	if err != nil {
		return "", nil, err
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return "", nil, err
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:]), m, nil
}

// PlanFields are the fields a plan with options o reads: those its filter
// needs and those its sort and cutter carry. A scatter step keeps only
// them.
func PlanFields(o Options) (inventory.FieldSet, error) {
	filter, err := inventory.NewFilter(o.Filter)
	if err != nil {
		return 0, err
	}
	return filter.Needs() | cutterFields | sortFields, nil
}
