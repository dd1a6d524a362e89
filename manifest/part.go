package manifest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/s3batchkit/s3batchkit/internal/objio"
)

// PartVersion is the version of the part.json and scatter.json layouts.
const PartVersion = 1

// Part is the content of part.json, the commit marker of one range of a
// distributed plan: its folder holds the range's shards as a plan folder
// does (shards/<route>/<nnnnn>.csv), and part.json lists them. Same
// ranges.json, inventories and options give the same bytes.
type Part struct {
	Version int `json:"version"`
	// Ranges is the SHA-256 of the ranges.json the part was made from.
	Ranges string `json:"ranges_sha256"`
	Range  int    `json:"range"`
	// Verified are the data files of direct inputs whose MD5 the range
	// checked (ranges.json's verified_by); NoVerify is set when checks
	// were turned off.
	Verified []FileRef `json:"verified"`
	NoVerify bool      `json:"no_verify,omitempty"`
	// RowsByInput counts, per input, the rows of the range read (the
	// sum is Plan.Counters.RowsRead): the merge checks them against the
	// inputs' row counts.
	RowsByInput []int64 `json:"rows_read_by_input"`
	// Plan is the range's plan: its counters and warnings, and its shards
	// with paths relative to the part folder.
	Plan Plan `json:"plan"`
	// Extra is the command's own summary of the range (diff: what its
	// diff.json would hold), merged by that command.
	Extra json.RawMessage `json:"extra,omitempty"`
}

// ScatterSlice is the content of scatter.json, the commit marker of one
// scatter slice: the files it read and, per range, the rows it kept for
// the range (in files beside it) and the counts of the rows of the range
// it read.
type ScatterSlice struct {
	Version  int       `json:"version"`
	Ranges   string    `json:"ranges_sha256"`
	Slice    int       `json:"slice"`
	Slices   int       `json:"slices"`
	Verified []FileRef `json:"verified"`
	NoVerify bool      `json:"no_verify,omitempty"`
	// Outputs has one entry per range, in range order.
	Outputs []ScatterOutput `json:"outputs"`
}

// ScatterOutput is what a scatter slice wrote for one range.
type ScatterOutput struct {
	Range int `json:"range"`
	// Counters has one entry per input: the rows of the range read from
	// the slice's files of that input (the scatter does not filter: the
	// range's worker does, and counts what it keeps and drops).
	Counters []Counters `json:"counters"`
	// Files hold the rows, one per input that has any.
	Files []ScatterFile `json:"files"`
}

// ScatterFile is one file of kept rows.
type ScatterFile struct {
	Path  string `json:"path"` // relative to the slice folder
	Input int    `json:"input"`
	Rows  int64  `json:"rows"`
	Bytes int64  `json:"bytes"`
	MD5   string `json:"md5"`
}

// ReadPart reads DIR/part.json; a missing one wraps ErrPartMissing.
func ReadPart(ctx context.Context, oc *objio.Client, dir string) (*Part, error) {
	var p Part
	if err := readMarker(ctx, oc, dir, PartName, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// ReadScatter reads DIR/scatter.json; a missing one wraps ErrPartMissing.
func ReadScatter(ctx context.Context, oc *objio.Client, dir string) (*ScatterSlice, error) {
	var s ScatterSlice
	if err := readMarker(ctx, oc, dir, ScatterName, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

func readMarker(ctx context.Context, oc *objio.Client, dir, name string, v any) error {
	loc := objio.Join(dir, name)
	raw, err := oc.ReadAll(ctx, loc)
	if err != nil {
		if errors.Is(err, objio.ErrNotFound) {
			return fmt.Errorf("%w: %s is not there (not run yet, or not finished)", ErrPartMissing, loc)
		}
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%s: %w: %v", loc, ErrPartMismatch, err)
	}
	return nil
}

// WriteScatter writes DIR/scatter.json, the slice's commit marker.
func WriteScatter(ctx context.Context, oc *objio.Client, dir string, s *ScatterSlice) error {
	s.Version = PartVersion
	data, err := marshalIndent(s)
	if err != nil {
		return err
	}
	return oc.WriteFileAtomic(ctx, objio.Join(dir, ScatterName), data)
}

// CommitPart is Commit for the folder of one range of a distributed plan:
// it closes the shards, fills part.Plan's shards and routes, and writes
// part.json (instead of plan.json) last.
func (p *PlanDir) CommitPart(ctx context.Context, part *Part) error {
	part.Version = PartVersion
	return p.commit(ctx, &part.Plan, PartName, func() ([]byte, error) { return marshalIndent(part) })
}

// MergeParts checks the parts and scatter slices of a distributed plan
// against r (whose ranges.json has the SHA-256 sum) and merges them into
// one plan: the parts' inputs and options, their counters summed, their
// warnings and shards in range order, shard paths made relative to the
// run root (parts/<iiii>/shards/…). parts[i] is range i's; scatters[j]
// slice j's (none when no input is shuffled).
//
// It refuses (ErrPartMismatch) a part or a slice of another ranges.json
// or of another range, parts that disagree on inputs or options, a data
// file verified twice, never, or by another range than ranges.json says
// (unless checks were off), and, for inputs whose row counts the split
// knew, rows read that do not add up to them (a file whose statistics
// lied about its keys, so that no range read some of its rows).
func MergeParts(r *Ranges, sum string, parts []*Part, scatters []*ScatterSlice) (*Plan, error) {
	mismatch := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrPartMismatch}, a...)...)
	}
	if len(parts) != r.N() {
		return nil, mismatch("%d parts for %d ranges", len(parts), r.N())
	}
	if len(scatters) != r.Slices {
		return nil, mismatch("%d scatter slices, ranges.json has %d", len(scatters), r.Slices)
	}
	verified := make([][]int, len(r.Inputs))
	for k, in := range r.Inputs {
		verified[k] = make([]int, len(in.Files))
	}
	noVerify := false
	mark := func(who string, refs []FileRef, mode string, by int) error {
		for _, f := range refs {
			if f.Input < 0 || f.Input >= len(r.Inputs) || f.File < 0 || f.File >= len(r.Inputs[f.Input].Files) {
				return mismatch("%s verified input %d file %d, which ranges.json does not list", who, f.Input, f.File)
			}
			in := r.Inputs[f.Input]
			if in.Mode != mode || in.Files[f.File].VerifiedBy != by {
				return mismatch("%s verified %s, which ranges.json gives to another %s", who, in.Files[f.File].Key, map[string]string{ModeDirect: "range", ModeShuffle: "scatter slice"}[in.Mode])
			}
			verified[f.Input][f.File]++
		}
		return nil
	}
	for j, s := range scatters {
		switch {
		case s.Ranges != sum:
			return nil, mismatch("scatter slice %d was made from another ranges.json (SHA-256 %s, this one is %s)", j, s.Ranges, sum)
		case s.Slice != j || s.Slices != r.Slices:
			return nil, mismatch("scatter slice %d says it is slice %d of %d", j, s.Slice, s.Slices)
		}
		noVerify = noVerify || s.NoVerify
		if err := mark(fmt.Sprintf("scatter slice %d", j), s.Verified, ModeShuffle, j); err != nil {
			return nil, err
		}
	}
	rows := make([]int64, len(r.Inputs))
	plan := &Plan{Version: PlanVersion, Counters: Counters{Dropped: map[string]int64{}}}
	var inputs, options []byte
	for i, p := range parts {
		switch {
		case p.Ranges != sum:
			return nil, mismatch("part %d was made from another ranges.json (SHA-256 %s, this one is %s)", i, p.Ranges, sum)
		case p.Range != i:
			return nil, mismatch("the part in %s is range %d's", PartRel(i), p.Range)
		case len(p.RowsByInput) != len(r.Inputs):
			return nil, mismatch("part %d counts rows of %d inputs, ranges.json has %d", i, len(p.RowsByInput), len(r.Inputs))
		}
		in, _ := json.Marshal(p.Plan.Inputs)
		opts, _ := json.Marshal(p.Plan.Options)
		if i == 0 {
			inputs, options = in, opts
			plan.Inputs, plan.Options = p.Plan.Inputs, p.Plan.Options
		} else if string(in) != string(inputs) || string(opts) != string(options) {
			return nil, mismatch("part %d was planned from other inputs or options than part 0", i)
		}
		noVerify = noVerify || p.NoVerify
		if err := mark(fmt.Sprintf("part %d", i), p.Verified, ModeDirect, i); err != nil {
			return nil, err
		}
		c := p.Plan.Counters
		plan.Counters.RowsRead += c.RowsRead
		plan.Counters.RowsKept += c.RowsKept
		for reason, n := range c.Dropped {
			plan.Counters.Dropped[reason] += n
		}
		for k, n := range p.RowsByInput {
			rows[k] += n
		}
		prefix := PartRel(i) + "/"
		for _, w := range p.Plan.Warnings {
			// Warnings name shards by their path in the part.
			if strings.HasPrefix(w, "shards/") {
				w = prefix + w
			}
			plan.Warnings = append(plan.Warnings, w)
		}
		for _, sh := range p.Plan.Shards {
			if !IsShardPath(sh.Path) {
				return nil, mismatch("part %d lists the shard %q, not a shard path", i, sh.Path)
			}
			sh.Path = prefix + sh.Path
			plan.Shards = append(plan.Shards, sh)
		}
	}
	for k, in := range r.Inputs {
		for f, n := range verified[k] {
			if n > 1 || n == 0 && !noVerify {
				return nil, mismatch("%s of %s was verified %d times, not once", in.Files[f].Key, in.Manifest, n)
			}
		}
		if in.Rows >= 0 && rows[k] != in.Rows {
			return nil, mismatch("the ranges read %d rows of %s, its data files hold %d: a file's key statistics do not hold for its rows (plan it with --mode shuffle)", rows[k], in.Manifest, in.Rows)
		}
	}
	if noVerify {
		plan.Warnings = append(plan.Warnings, "data file checksums were not checked (--no-verify)")
	}
	sortShards(plan.Shards)
	plan.Routes = totals(plan.Shards)
	if plan.Shards == nil {
		plan.Shards = []Shard{}
	}
	return plan, nil
}

// WriteMergedPlan writes plan as ROOT/plan.json, refusing a folder whose
// plan has jobs (ErrSubmitted). Side files (such as diff.json) must be
// written before, through WriteSideFile.
func WriteMergedPlan(ctx context.Context, oc *objio.Client, root string, plan *Plan) error {
	if err := CheckNotSubmitted(ctx, oc, root); err != nil {
		return err
	}
	data, err := plan.Marshal()
	if err != nil {
		return err
	}
	return oc.WriteFileAtomic(ctx, objio.Join(root, PlanFile), data)
}
