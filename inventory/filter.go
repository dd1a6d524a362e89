package inventory

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Reasons a filter drops a row, as counted in plan.json's
// counters.dropped. A row is counted once, under the first predicate (in
// the order below) that drops it.
const (
	DropDeleteMarker    = "delete_marker"     // a delete marker (dropped unless asked for)
	DropNotDeleteMarker = "not_delete_marker" // not a delete marker, with DeleteMarkersOnly
	DropNotLatest       = "not_latest"        // a noncurrent version, with LatestOnly
	DropStorageClass    = "storage_class"
	DropReplication     = "replication_status"
	DropEncryption      = "encryption_status"
	DropLockMode        = "object_lock_mode"
	DropLegalHold       = "legal_hold"
	DropTieringTier     = "tiering_tier"
	DropChecksum        = "checksum_algorithm"
	DropMultipart       = "multipart"
	DropMinSize         = "min_size"
	DropMaxSize         = "max_size"
	DropModifiedAfter   = "modified_after"  // last modified before ModifiedAfter
	DropModifiedBefore  = "modified_before" // last modified at or after ModifiedBefore
	DropPrefix          = "prefix"
	DropSuffix          = "suffix"
	DropSubstring       = "substring"
	DropRegex           = "regex"
	DropGlob            = "glob"
	DropKeyList         = "not_in_key_list"
	DropExcludedKey     = "excluded_key"
	DropWhere           = "where"
)

// ErrFilter is returned (inside a *FilterError) for filter options that
// cannot work: a bad regex, glob or expression, an unknown storage class,
// a size range that is empty.
var ErrFilter = errors.New("invalid filter")

// ErrMissingField is returned (inside a *FilterError) when a filter reads a
// field the report does not carry.
var ErrMissingField = errors.New("field not in the report")

// FilterError names the option at fault. Option is the kebab-case name of
// the FilterOptions field ("min-size", "storage-class", "where"), which is
// also the plan command's flag.
type FilterError struct {
	Option string
	Msg    string
	Err    error // ErrFilter or ErrMissingField
}

func (e *FilterError) Error() string { return fmt.Sprintf("--%s: %s", e.Option, e.Msg) }
func (e *FilterError) Unwrap() error { return e.Err }

func filterErr(opt, format string, a ...any) error {
	return &FilterError{Option: opt, Msg: fmt.Sprintf(format, a...), Err: ErrFilter}
}

// DeleteMarkers says what to do with delete-marker rows.
type DeleteMarkers uint8

const (
	// DeleteMarkersExclude drops them (the default: no operation but a
	// delete can act on a delete marker).
	DeleteMarkersExclude DeleteMarkers = iota
	// DeleteMarkersInclude keeps them with the other rows.
	DeleteMarkersInclude
	// DeleteMarkersOnly keeps only them.
	DeleteMarkersOnly
)

// Tristate is a yes/no filter that may be off.
type Tristate uint8

const (
	Any  Tristate = iota // no filtering
	Only                 // keep only rows with the property
	Not                  // drop rows with the property
)

// FilterOptions describe which rows go on to the plan. The zero value
// keeps every row except delete markers. Lists match any of their values;
// enum values compare case-insensitively and the value NONE matches a row
// where the field is empty (for example an object that is not replicated).
// Options for different fields all have to hold.
type FilterOptions struct {
	// Key filters: keep keys that start with any of Prefixes, end with any
	// of Suffixes, contain any of Substrings, match any of Regexes (RE2
	// syntax, unanchored) and any of Globs (anchored; "*" and "?" do not
	// cross "/", "**" does, [...] is a class).
	Prefixes, Suffixes, Substrings, Regexes, Globs []string
	// IncludeKeys keeps only these keys (nil: no list); ExcludeKeys drops
	// them. See LoadKeyList.
	IncludeKeys, ExcludeKeys *KeyList

	// MinSize and MaxSize bound Size, inclusive; a negative value (and
	// zero for MaxSize... see HasMaxSize) means no bound. Rows without a
	// size fail either bound.
	MinSize    int64
	MaxSize    int64
	HasMaxSize bool // MaxSize applies (so that a max of 0 can be asked for)

	// ModifiedAfter keeps objects last modified at or after it;
	// ModifiedBefore keeps objects last modified strictly before it. The
	// zero time means no bound.
	ModifiedAfter, ModifiedBefore time.Time

	// StorageClasses, ReplicationStatuses, EncryptionStatuses, LockModes,
	// LegalHold, TieringTiers and ChecksumAlgorithms keep rows whose field
	// is one of the values (vocabularies in docs/formats.md#inventory-values; checksum
	// names ignore '-' so SHA-256 matches SHA256). Empty: no filter.
	StorageClasses      []string
	ReplicationStatuses []string
	EncryptionStatuses  []string
	LockModes           []string
	LegalHold           []string // ON or OFF; OFF also matches an empty value
	TieringTiers        []string
	ChecksumAlgorithms  []string

	// Multipart keeps (Only) or drops (Not) objects uploaded in parts,
	// known from IsMultipartUploaded or, where that is empty or absent,
	// from an ETag ending in "-N".
	Multipart Tristate

	// LatestOnly keeps only current versions (IsLatest true; a report
	// without versions holds only current versions).
	LatestOnly bool
	// DeleteMarkers: excluded by default.
	DeleteMarkers DeleteMarkers

	// Where is an expr-lang expression over the row's columns, by their
	// snake_case names (size, key, storage_class, last_modified_date, ...);
	// see CompileWhere. Empty: no expression.
	Where string
}

// Filter is compiled FilterOptions, ready to run on batches. It is safe
// for concurrent use by several goroutines once built.
type Filter struct {
	opts  FilterOptions
	preds []pred
	where *Where
}

// pred is one compiled predicate: it narrows a selection vector over a
// whole batch. reads are the fields it reads; a report lacking one of them
// makes the filter fail (Check) unless optional is set, in which case an
// absent field means the predicate holds for every row; with anyOf, one of
// reads suffices.
type pred struct {
	reason   string
	option   string
	reads    FieldSet
	optional bool
	anyOf    bool
	run      func(b Batch, sel []int32) []int32
}

// Batch gives typed access to the columns of a record batch projected to
// a field set.
type Batch struct {
	Rec    arrow.RecordBatch
	Fields FieldSet
}

// Strings returns f's column, or nil when the batch lacks it.
func (b Batch) Strings(f Field) *array.String {
	if !b.Fields.Has(f) {
		return nil
	}
	return b.Rec.Column(b.Fields.ColumnIndex(f)).(*array.String)
}

// Int64s returns f's column (an int64 or a timestamp in ms) as int64
// values and its array, or nil when the batch lacks it.
func (b Batch) Int64s(f Field) ([]int64, arrow.Array) {
	if !b.Fields.Has(f) {
		return nil, nil
	}
	a := b.Rec.Column(b.Fields.ColumnIndex(f))
	switch c := a.(type) {
	case *array.Int64:
		return c.Int64Values(), c
	case *array.Timestamp:
		return arrow.Int64Traits.CastFromBytes(arrow.TimestampTraits.CastToBytes(c.TimestampValues())), c
	}
	return nil, nil
}

// Bools returns f's column, or nil when the batch lacks it.
func (b Batch) Bools(f Field) *array.Boolean {
	if !b.Fields.Has(f) {
		return nil
	}
	return b.Rec.Column(b.Fields.ColumnIndex(f)).(*array.Boolean)
}

// Known value vocabularies (docs/formats.md#inventory-values), upper case.
var (
	storageClasses = []string{"STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING",
		"GLACIER", "DEEP_ARCHIVE", "OUTPOSTS", "GLACIER_IR", "SNOW", "EXPRESS_ONEZONE"}
	replicationStatuses = []string{"PENDING", "COMPLETED", "FAILED", "REPLICA", "NONE"}
	encryptionStatuses  = []string{"SSE-S3", "SSE-KMS", "DSSE-KMS", "SSE-C", "NOT-SSE", "NONE"}
	lockModes           = []string{"GOVERNANCE", "COMPLIANCE", "NONE"}
	legalHolds          = []string{"ON", "OFF"}
	tieringTiers        = []string{"FREQUENT", "INFREQUENT", "ARCHIVE_INSTANT_ACCESS", "ARCHIVE", "DEEP_ARCHIVE", "NONE"}
)

// KnownValues returns the values field f is known to take (upper case,
// as the readers normalize them), or nil for a field with no fixed
// vocabulary. The caller must not modify the slice.
func KnownValues(f Field) []string {
	switch f {
	case StorageClass:
		return storageClasses
	case ReplicationStatus:
		return replicationStatuses
	case EncryptionStatus:
		return encryptionStatuses
	case ObjectLockMode:
		return lockModes
	case ObjectLockLegalHoldStatus:
		return legalHolds
	case IntelligentTieringAccessTier:
		return tieringTiers
	}
	return nil
}

// NewFilter checks and compiles o. Every error is a *FilterError naming
// the option. No data is read.
func NewFilter(o FilterOptions) (*Filter, error) {
	f := &Filter{opts: o}
	switch o.DeleteMarkers {
	case DeleteMarkersExclude:
		f.add(pred{reason: DropDeleteMarker, option: "include-delete-markers", reads: Fields(IsDeleteMarker), optional: true,
			run: func(b Batch, sel []int32) []int32 { return keepBool(sel, b.Bools(IsDeleteMarker), false) }})
	case DeleteMarkersOnly:
		f.add(pred{reason: DropNotDeleteMarker, option: "only-delete-markers", reads: Fields(IsDeleteMarker),
			run: func(b Batch, sel []int32) []int32 { return keepBoolStrict(sel, b.Bools(IsDeleteMarker), true) }})
	}
	if o.LatestOnly {
		f.add(pred{reason: DropNotLatest, option: "latest-only", reads: Fields(IsLatest), optional: true,
			run: func(b Batch, sel []int32) []int32 { return keepBool(sel, b.Bools(IsLatest), true) }})
	}
	enums := []struct {
		opt    string
		reason string
		field  Field
		vals   []string
		known  []string
		offNil bool
		norm   bool
	}{
		{"storage-class", DropStorageClass, StorageClass, o.StorageClasses, storageClasses, false, false},
		{"replication-status", DropReplication, ReplicationStatus, o.ReplicationStatuses, replicationStatuses, false, false},
		{"encryption", DropEncryption, EncryptionStatus, o.EncryptionStatuses, encryptionStatuses, false, false},
		{"lock-mode", DropLockMode, ObjectLockMode, o.LockModes, lockModes, false, false},
		{"legal-hold", DropLegalHold, ObjectLockLegalHoldStatus, o.LegalHold, legalHolds, true, false},
		{"tiering-tier", DropTieringTier, IntelligentTieringAccessTier, o.TieringTiers, tieringTiers, false, false},
		{"checksum-algorithm", DropChecksum, ChecksumAlgorithm, o.ChecksumAlgorithms, nil, false, true},
	}
	for _, e := range enums {
		if len(e.vals) == 0 {
			continue
		}
		m, err := newEnumMatch(e.opt, e.vals, e.known, e.norm)
		if err != nil {
			return nil, err
		}
		if e.offNil {
			m.matchNull = m.matchNull || m.has("OFF")
		}
		field := e.field
		f.add(pred{reason: e.reason, option: e.opt, reads: Fields(field),
			run: func(b Batch, sel []int32) []int32 { return m.keep(sel, b.Strings(field)) }})
	}
	switch o.Multipart {
	case Only, Not:
		want := o.Multipart == Only
		f.add(pred{reason: DropMultipart, option: "multipart", reads: Fields(IsMultipartUploaded, ETag), anyOf: true,
			run: func(b Batch, sel []int32) []int32 { return keepMultipart(sel, b, want) }})
	}
	if o.MinSize < 0 {
		o.MinSize = 0
	}
	if o.HasMaxSize && o.MaxSize < 0 {
		return nil, filterErr("max-size", "must not be negative, got %d", o.MaxSize)
	}
	if o.HasMaxSize && o.MinSize > o.MaxSize {
		return nil, filterErr("min-size", "%s is above --max-size %s: no object can match", FormatSize(o.MinSize), FormatSize(o.MaxSize))
	}
	if o.MinSize > 0 {
		lo := o.MinSize
		f.add(pred{reason: DropMinSize, option: "min-size", reads: Fields(Size),
			run: func(b Batch, sel []int32) []int32 { return keepRange(sel, b, Size, lo, 1<<63-1) }})
	}
	if o.HasMaxSize {
		hi := o.MaxSize
		f.add(pred{reason: DropMaxSize, option: "max-size", reads: Fields(Size),
			run: func(b Batch, sel []int32) []int32 { return keepRange(sel, b, Size, -1<<63, hi) }})
	}
	if !o.ModifiedAfter.IsZero() && !o.ModifiedBefore.IsZero() && !o.ModifiedAfter.Before(o.ModifiedBefore) {
		return nil, filterErr("modified-after", "%s is not before --modified-before %s: no object can match",
			o.ModifiedAfter.Format(time.RFC3339), o.ModifiedBefore.Format(time.RFC3339))
	}
	if !o.ModifiedAfter.IsZero() {
		lo := o.ModifiedAfter.UnixMilli()
		f.add(pred{reason: DropModifiedAfter, option: "modified-after", reads: Fields(LastModifiedDate),
			run: func(b Batch, sel []int32) []int32 { return keepRange(sel, b, LastModifiedDate, lo, 1<<63-1) }})
	}
	if !o.ModifiedBefore.IsZero() {
		hi := o.ModifiedBefore.UnixMilli() - 1
		f.add(pred{reason: DropModifiedBefore, option: "modified-before", reads: Fields(LastModifiedDate),
			run: func(b Batch, sel []int32) []int32 { return keepRange(sel, b, LastModifiedDate, -1<<63, hi) }})
	}
	if err := f.addKeyFilters(o); err != nil {
		return nil, err
	}
	if o.IncludeKeys != nil {
		set := o.IncludeKeys
		f.add(pred{reason: DropKeyList, option: "include-keys", reads: Fields(Key),
			run: func(b Batch, sel []int32) []int32 { return set.keep(sel, b.Strings(Key), true) }})
	}
	if o.ExcludeKeys != nil {
		set := o.ExcludeKeys
		f.add(pred{reason: DropExcludedKey, option: "exclude-keys", reads: Fields(Key),
			run: func(b Batch, sel []int32) []int32 { return set.keep(sel, b.Strings(Key), false) }})
	}
	if strings.TrimSpace(o.Where) != "" {
		w, err := CompileWhere(o.Where)
		if err != nil {
			return nil, err
		}
		f.where = w
		f.add(pred{reason: DropWhere, option: "where", reads: w.Needs(),
			run: func(b Batch, sel []int32) []int32 { return w.Select(b, sel) }})
	}
	return f, nil
}

func (f *Filter) add(p pred) { f.preds = append(f.preds, p) }

func (f *Filter) addKeyFilters(o FilterOptions) error {
	for _, list := range []struct {
		opt string
		v   []string
	}{{"prefix", o.Prefixes}, {"suffix", o.Suffixes}, {"substring", o.Substrings}} {
		for _, s := range list.v {
			if s == "" {
				return filterErr(list.opt, "must not be empty")
			}
		}
	}
	if len(o.Prefixes) > 0 {
		ps := toBytes(o.Prefixes)
		f.add(pred{reason: DropPrefix, option: "prefix", reads: Fields(Key),
			run: func(b Batch, sel []int32) []int32 { return keepKeys(sel, b.Strings(Key), ps, bytes.HasPrefix) }})
	}
	if len(o.Suffixes) > 0 {
		ps := toBytes(o.Suffixes)
		f.add(pred{reason: DropSuffix, option: "suffix", reads: Fields(Key),
			run: func(b Batch, sel []int32) []int32 { return keepKeys(sel, b.Strings(Key), ps, bytes.HasSuffix) }})
	}
	if len(o.Substrings) > 0 {
		ps := toBytes(o.Substrings)
		f.add(pred{reason: DropSubstring, option: "substring", reads: Fields(Key),
			run: func(b Batch, sel []int32) []int32 { return keepKeys(sel, b.Strings(Key), ps, bytes.Contains) }})
	}
	if len(o.Regexes) > 0 {
		var res []*regexp.Regexp
		for _, s := range o.Regexes {
			re, err := regexp.Compile(s)
			if err != nil {
				return filterErr("regex", "%q: %v", s, err)
			}
			res = append(res, re)
		}
		f.add(pred{reason: DropRegex, option: "regex", reads: Fields(Key),
			run: func(b Batch, sel []int32) []int32 { return keepRegex(sel, b.Strings(Key), res) }})
	}
	if len(o.Globs) > 0 {
		var res []*regexp.Regexp
		for _, s := range o.Globs {
			re, err := GlobRegexp(s)
			if err != nil {
				return filterErr("glob", "%q: %v", s, err)
			}
			res = append(res, re)
		}
		f.add(pred{reason: DropGlob, option: "glob", reads: Fields(Key),
			run: func(b Batch, sel []int32) []int32 { return keepRegex(sel, b.Strings(Key), res) }})
	}
	return nil
}

// Options returns the options the filter was built from.
func (f *Filter) Options() FilterOptions { return f.opts }

// Needs returns exactly the fields the filter reads: the projection a
// scan feeding it must carry (where the report has them).
func (f *Filter) Needs() FieldSet {
	var s FieldSet
	for _, p := range f.preds {
		s |= p.reads
	}
	return s
}

// Check returns a *FilterError wrapping ErrMissingField when a predicate
// reads a field that a report carrying the fields have does not. Fields
// whose absence has a meaning (no IsLatest: every row is current; no
// IsDeleteMarker: no delete markers) are not required.
func (f *Filter) Check(have FieldSet) error {
	for _, p := range f.preds {
		if p.optional {
			continue
		}
		missing := p.reads &^ have
		if missing == 0 || (p.anyOf && missing != p.reads) {
			continue
		}
		return &FilterError{Option: p.option, Err: ErrMissingField,
			Msg: fmt.Sprintf("the report has no %s column (it carries %s)", missing, have)}
	}
	return nil
}

// Drops counts dropped rows by reason.
type Drops map[string]int64

// Select returns the indices of rows of rec that pass the filter,
// appending to sel[:0]; fields is the batch's field set, which Check must
// have accepted. Drops are added to drops under the reason of the first
// predicate that dropped each row. Select does not allocate when sel has
// room for the batch (the --where path may allocate).
func (f *Filter) Select(rec arrow.RecordBatch, fields FieldSet, sel []int32, drops Drops) []int32 {
	n := int(rec.NumRows())
	if cap(sel) < n {
		sel = make([]int32, n)
	}
	sel = sel[:n]
	for i := range sel {
		sel[i] = int32(i)
	}
	return f.SelectIn(rec, fields, sel, drops)
}

// SelectIn is Select over the rows sel of rec only (ascending indices):
// it keeps, in place, those that pass the filter and returns them; rows
// not in sel are neither tested nor counted in drops.
func (f *Filter) SelectIn(rec arrow.RecordBatch, fields FieldSet, sel []int32, drops Drops) []int32 {
	b := Batch{Rec: rec, Fields: fields}
	for i := range f.preds {
		p := &f.preds[i]
		if len(sel) == 0 {
			break
		}
		if p.optional && p.reads&^fields != 0 {
			continue
		}
		before := len(sel)
		sel = p.run(b, sel)
		if d := before - len(sel); d > 0 {
			drops[p.reason] += int64(d)
		}
	}
	return sel
}

// keepBool keeps rows whose value is null or equals want (col may be nil:
// every row kept).
func keepBool(sel []int32, col *array.Boolean, want bool) []int32 {
	if col == nil {
		return sel
	}
	out := sel[:0]
	nulls := col.NullN() > 0
	for _, i := range sel {
		if nulls && col.IsNull(int(i)) || col.Value(int(i)) == want {
			out = append(out, i)
		}
	}
	return out
}

// keepBoolStrict keeps rows whose value equals want; null counts as false.
func keepBoolStrict(sel []int32, col *array.Boolean, want bool) []int32 {
	out := sel[:0]
	for _, i := range sel {
		v := col.IsValid(int(i)) && col.Value(int(i))
		if v == want {
			out = append(out, i)
		}
	}
	return out
}

// keepRange keeps rows whose int64/timestamp value is in [lo, hi]; null
// values fail.
func keepRange(sel []int32, b Batch, f Field, lo, hi int64) []int32 {
	vals, arr := b.Int64s(f)
	out := sel[:0]
	if arr.NullN() == 0 {
		for _, i := range sel {
			if v := vals[i]; v >= lo && v <= hi {
				out = append(out, i)
			}
		}
		return out
	}
	for _, i := range sel {
		if v := vals[i]; v >= lo && v <= hi && arr.IsValid(int(i)) {
			out = append(out, i)
		}
	}
	return out
}

func toBytes(s []string) [][]byte {
	out := make([][]byte, len(s))
	for i, v := range s {
		out[i] = []byte(v)
	}
	return out
}

func keepKeys(sel []int32, keys *array.String, pats [][]byte, match func(s, p []byte) bool) []int32 {
	offs := keys.ValueOffsets()
	data := keys.ValueBytes()
	base := offs[0]
	out := sel[:0]
	for _, i := range sel {
		k := data[offs[i]-base : offs[i+1]-base]
		for _, p := range pats {
			if match(k, p) {
				out = append(out, i)
				break
			}
		}
	}
	return out
}

func keepRegex(sel []int32, keys *array.String, res []*regexp.Regexp) []int32 {
	out := sel[:0]
	for _, i := range sel {
		k := StringBytes(keys, int(i))
		for _, re := range res {
			if re.Match(k) {
				out = append(out, i)
				break
			}
		}
	}
	return out
}

// etagPartsRe is the shape of a multipart ETag: hex digest, "-", count.
func isMultipartETag(e []byte) bool {
	j := bytes.LastIndexByte(e, '-')
	if j < 0 || j == len(e)-1 {
		return false
	}
	for _, c := range e[j+1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func keepMultipart(sel []int32, b Batch, want bool) []int32 {
	flags := b.Bools(IsMultipartUploaded)
	etags := b.Strings(ETag)
	out := sel[:0]
	for _, i := range sel {
		var mp bool
		switch {
		case flags != nil && flags.IsValid(int(i)):
			mp = flags.Value(int(i))
		case etags != nil && etags.IsValid(int(i)):
			mp = isMultipartETag(StringBytes(etags, int(i)))
		}
		if mp == want {
			out = append(out, i)
		}
	}
	return out
}

// enumMatch matches an enum column against a small set of upper-case
// values.
type enumMatch struct {
	vals      [][]byte
	matchNull bool
	norm      bool // ignore '-' and '_' (checksum algorithm names)
}

func newEnumMatch(opt string, vals, known []string, norm bool) (*enumMatch, error) {
	m := &enumMatch{norm: norm}
	for _, v := range vals {
		u := strings.ToUpper(strings.TrimSpace(v))
		if u == "" {
			return nil, filterErr(opt, "empty value")
		}
		if known != nil && !contains(known, u) {
			return nil, filterErr(opt, "unknown value %q: expected one of %s", v, strings.Join(known, ", "))
		}
		if u == "NONE" {
			m.matchNull = true
			continue
		}
		if norm {
			u = strings.NewReplacer("-", "", "_", "").Replace(u)
		}
		m.vals = append(m.vals, []byte(u))
	}
	return m, nil
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

func (m *enumMatch) has(v string) bool {
	for _, x := range m.vals {
		if string(x) == v {
			return true
		}
	}
	return false
}

func (m *enumMatch) keep(sel []int32, col *array.String) []int32 {
	offs := col.ValueOffsets()
	data := col.ValueBytes()
	base := offs[0]
	out := sel[:0]
	for _, i := range sel {
		if col.IsNull(int(i)) || offs[i] == offs[i+1] {
			if m.matchNull {
				out = append(out, i)
			}
			continue
		}
		v := data[offs[i]-base : offs[i+1]-base]
		for _, w := range m.vals {
			if bytes.Equal(v, w) || m.norm && eqIgnoringDashes(v, w) {
				out = append(out, i)
				break
			}
		}
	}
	return out
}

// eqIgnoringDashes compares v (upper case) with w (upper case, without
// '-' and '_'), skipping '-' and '_' in v.
func eqIgnoringDashes(v, w []byte) bool {
	j := 0
	for _, c := range v {
		if c == '-' || c == '_' {
			continue
		}
		if j >= len(w) || w[j] != c {
			return false
		}
		j++
	}
	return j == len(w)
}

// GlobRegexp turns a key glob into an anchored regular expression: "*"
// matches any run of characters but "/", "**" any run at all, "?" one
// character but "/", "[...]" a class ("[!...]" negated); "\" escapes.
func GlobRegexp(glob string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString(`^`)
	for i := 0; i < len(glob); i++ {
		c := glob[i]
		switch c {
		case '*':
			if i+1 < len(glob) && glob[i+1] == '*' {
				b.WriteString(`.*`)
				i++
			} else {
				b.WriteString(`[^/]*`)
			}
		case '?':
			b.WriteString(`[^/]`)
		case '[':
			j := strings.IndexByte(glob[i+1:], ']')
			if j < 0 {
				return nil, errors.New("unterminated [ class")
			}
			class := glob[i+1 : i+1+j]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + strings.ReplaceAll(class, `\`, `\\`) + "]")
			i += j + 1
		case '\\':
			if i+1 < len(glob) {
				i++
				b.WriteString(regexp.QuoteMeta(glob[i : i+1]))
			} else {
				b.WriteString(`\\`)
			}
		default:
			_, n := utf8.DecodeRuneInString(glob[i:])
			b.WriteString(regexp.QuoteMeta(glob[i : i+n]))
			i += n - 1
		}
	}
	b.WriteString(`$`)
	return regexp.Compile(b.String())
}
