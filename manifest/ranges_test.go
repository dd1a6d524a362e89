package manifest

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func sampleRanges() *Ranges {
	return &Ranges{Version: RangesVersion, Kind: "plan", OptionsHash: "h", Options: map[string]any{"sort": true},
		Splits: []SplitKey{{Bucket: "b", Key: "k/5"}, {Bucket: "b", Key: "k/\xff\x00"}},
		Inputs: []RangesInput{{Manifest: "m.json", MD5: "x", Format: "Parquet", Mode: ModeDirect, Unit: "row_group", Rows: 10,
			Files: []RangesFile{{Key: "d/1.parquet", Size: 5, MD5: "y", Rows: 10, Units: 2, VerifiedBy: 1}}}},
		Ranges: []RangeDetail{{Index: 0, Reads: []FileRead{}}, {Index: 1, Reads: []FileRead{{Input: 0, File: 0, Units: []int{0, 1}, Verify: true}}},
			{Index: 2, Reads: []FileRead{{Input: 0, File: 0, Units: []int{1}}}}}}
}

// TestRangesCheck: a well-formed ranges.json passes, keys that are not
// UTF-8 survive JSON, and each kind of damage is refused with ErrRanges.
func TestRangesCheck(t *testing.T) {
	r := sampleRanges()
	if err := r.Check(); err != nil {
		t.Fatal(err)
	}
	raw, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var back Ranges
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if back.Splits[1].Key != "k/\xff\x00" || !strings.Contains(string(raw), `"key_hex"`) {
		t.Errorf("a key that is not UTF-8 came back as %q", back.Splits[1].Key)
	}
	if got := back.RangeOf([]byte("b"), []byte("k/5")); got != 1 {
		t.Errorf("the split key itself is in range %d, want 1", got)
	}
	if got := back.RangeOf([]byte("b"), []byte("k/4")); got != 0 {
		t.Errorf("k/4 in range %d, want 0", got)
	}
	if got := back.RangeOf([]byte("c"), nil); got != 2 {
		t.Errorf("bucket c in range %d, want 2", got)
	}
	for name, damage := range map[string]func(r *Ranges){
		"version":           func(r *Ranges) { r.Version = 9 },
		"splits unordered":  func(r *Ranges) { r.Splits[0], r.Splits[1] = r.Splits[1], r.Splits[0] },
		"ranges count":      func(r *Ranges) { r.Ranges = r.Ranges[:2] },
		"mode":              func(r *Ranges) { r.Inputs[0].Mode = "both" },
		"verified by none":  func(r *Ranges) { r.Inputs[0].Files[0].VerifiedBy = 3 },
		"verify flag":       func(r *Ranges) { r.Ranges[2].Reads[0].Verify = true },
		"unit out of range": func(r *Ranges) { r.Ranges[2].Reads[0].Units = []int{2} },
		"file out of range": func(r *Ranges) { r.Ranges[2].Reads[0].File = 1 },
		"slices unused":     func(r *Ranges) { r.Slices = 2 },
		"numbering":         func(r *Ranges) { r.Ranges[1].Index = 5 },
	} {
		d := sampleRanges()
		damage(d)
		if err := d.Check(); !errors.Is(err, ErrRanges) {
			t.Errorf("%s: %v, want ErrRanges", name, err)
		}
	}
}

// FuzzRanges parses damaged ranges.json files: Check never panics, and a
// file it accepts places every key in one of its ranges.
func FuzzRanges(f *testing.F) {
	raw, err := sampleRanges().Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add([]byte(`{"version":1,"splits":[],"ranges":[{"index":0}],"inputs":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Ranges
		if json.Unmarshal(data, &r) != nil || r.Check() != nil {
			return
		}
		for _, k := range []string{"", "k/5", "zzz", "\xff"} {
			if i := r.RangeOf([]byte("b"), []byte(k)); i < 0 || i >= r.N() {
				t.Fatalf("key %q in range %d of %d", k, i, r.N())
			}
		}
	})
}
