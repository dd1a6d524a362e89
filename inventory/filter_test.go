package inventory

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// trow is a test row; empty strings and nil pointers are nulls.
type trow struct {
	key      string
	version  string
	latest   *bool
	dm       *bool
	size     *int64
	modified string
	etag     string
	class    string
	mp       *bool
	repl     string
	enc      string
	lock     string
	hold     string
	tier     string
	algo     string
}

func bp(b bool) *bool    { return &b }
func ip(n int64) *int64  { return &n }
func ms(s string) string { return s }

// testRows is a small report with one row per interesting case.
var testRows = []trow{
	0: {key: "photos/a.jpg", version: "v1", latest: bp(true), dm: bp(false), size: ip(100), modified: "2024-01-01T00:00:00.000Z", etag: "abc", class: "STANDARD", mp: bp(false), enc: "SSE-S3", hold: "OFF", algo: "CRC32"},
	1: {key: "photos/b.png", version: "v2", latest: bp(false), dm: bp(false), size: ip(2 << 20), modified: "2023-06-01T00:00:00.000Z", etag: "def-3", class: "GLACIER", mp: nil, repl: "COMPLETED", enc: "SSE-KMS", hold: "ON", algo: "SHA256"},
	2: {key: "videos/c.mp4", version: "", latest: bp(true), dm: bp(true), modified: "2024-03-01T00:00:00.000Z", class: ""},
	3: {key: "videos/2024/d.mp4", version: "v4", latest: bp(true), dm: bp(false), size: ip(6 << 30), modified: "2024-05-01T12:00:00.000Z", etag: "0123-12", class: "INTELLIGENT_TIERING", mp: bp(true), repl: "FAILED", enc: "NOT-SSE", lock: "COMPLIANCE", tier: "ARCHIVE", algo: "SHA-256"},
	4: {key: "logs/e.log", version: "v5", latest: bp(true), dm: bp(false), size: ip(0), modified: "2022-01-01T00:00:00.000Z", etag: "fff", class: "STANDARD_IA", mp: bp(false), repl: "REPLICA", enc: "SSE-S3", lock: "GOVERNANCE", tier: "", algo: ""},
	5: {key: "logs/my file+1.txt", version: "v6", latest: bp(true), dm: bp(false), size: ip(1 << 20), modified: "2024-01-15T00:00:00.000Z", etag: "ab-x", class: "STANDARD", mp: nil, enc: "DSSE-KMS", hold: "", algo: "CRC32C"},
}

func buildBatch(t testing.TB, rows []trow, set FieldSet) arrow.RecordBatch {
	t.Helper()
	b := NewBatchBuilder(set, len(rows))
	str := func(f Field, v string) {
		if !set.Has(f) {
			return
		}
		if v == "" {
			b.AppendNull(f)
		} else {
			b.AppendString(f, []byte(v))
		}
	}
	boolean := func(f Field, v *bool) {
		if !set.Has(f) {
			return
		}
		if v == nil {
			b.AppendNull(f)
		} else {
			b.AppendBool(f, *v)
		}
	}
	for _, r := range rows {
		// Append in canonical field order.
		for _, f := range set.List() {
			switch f {
			case Bucket:
				b.AppendString(f, []byte("bkt"))
			case Key:
				b.AppendString(f, []byte(r.key))
			case VersionID:
				str(f, r.version)
			case IsLatest:
				boolean(f, r.latest)
			case IsDeleteMarker:
				boolean(f, r.dm)
			case Size:
				if r.size == nil {
					b.AppendNull(f)
				} else {
					b.AppendInt(f, *r.size)
				}
			case LastModifiedDate:
				v, ok := ParseTimestamp([]byte(r.modified))
				if !ok {
					t.Fatalf("bad time %q", r.modified)
				}
				b.AppendInt(f, v)
			case ETag:
				str(f, r.etag)
			case StorageClass:
				str(f, r.class)
			case IsMultipartUploaded:
				boolean(f, r.mp)
			case ReplicationStatus:
				str(f, r.repl)
			case EncryptionStatus:
				str(f, r.enc)
			case ObjectLockMode:
				str(f, r.lock)
			case ObjectLockLegalHoldStatus:
				str(f, r.hold)
			case IntelligentTieringAccessTier:
				str(f, r.tier)
			case ChecksumAlgorithm:
				str(f, r.algo)
			default:
				b.AppendNull(f)
			}
		}
		b.EndRow()
	}
	return b.Build()
}

var testSet = Fields(Bucket, Key, VersionID, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag, StorageClass,
	IsMultipartUploaded, ReplicationStatus, EncryptionStatus, ObjectLockMode, ObjectLockLegalHoldStatus,
	IntelligentTieringAccessTier, ChecksumAlgorithm)

func mustTime(s string) time.Time {
	t, err := ParseTimeArg(s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestFilterSelect(t *testing.T) {
	all := DeleteMarkersInclude
	tests := []struct {
		name  string
		o     FilterOptions
		want  []int32
		drops Drops
		needs FieldSet
	}{
		{"default drops delete markers", FilterOptions{}, []int32{0, 1, 3, 4, 5}, Drops{DropDeleteMarker: 1}, Fields(IsDeleteMarker)},
		{"include delete markers", FilterOptions{DeleteMarkers: all}, []int32{0, 1, 2, 3, 4, 5}, Drops{}, 0},
		{"only delete markers", FilterOptions{DeleteMarkers: DeleteMarkersOnly}, []int32{2}, Drops{DropNotDeleteMarker: 5}, Fields(IsDeleteMarker)},
		{"latest only", FilterOptions{LatestOnly: true, DeleteMarkers: all}, []int32{0, 2, 3, 4, 5}, Drops{DropNotLatest: 1}, Fields(IsLatest)},
		{"prefixes", FilterOptions{Prefixes: []string{"photos/", "logs/e"}, DeleteMarkers: all}, []int32{0, 1, 4}, Drops{DropPrefix: 3}, Fields(Key)},
		{"suffix", FilterOptions{Suffixes: []string{".mp4"}, DeleteMarkers: all}, []int32{2, 3}, Drops{DropSuffix: 4}, Fields(Key)},
		{"substring", FilterOptions{Substrings: []string{"file+"}, DeleteMarkers: all}, []int32{5}, Drops{DropSubstring: 5}, Fields(Key)},
		{"regex", FilterOptions{Regexes: []string{`^videos/\d{4}/`}, DeleteMarkers: all}, []int32{3}, Drops{DropRegex: 5}, Fields(Key)},
		{"glob star does not cross slash", FilterOptions{Globs: []string{"videos/*.mp4"}, DeleteMarkers: all}, []int32{2}, Drops{DropGlob: 5}, Fields(Key)},
		{"glob double star", FilterOptions{Globs: []string{"videos/**.mp4", "logs/?.log"}, DeleteMarkers: all}, []int32{2, 3, 4}, Drops{DropGlob: 3}, Fields(Key)},
		{"min size (null fails)", FilterOptions{MinSize: 1 << 20, DeleteMarkers: all}, []int32{1, 3, 5}, Drops{DropMinSize: 3}, Fields(Size)},
		{"max size", FilterOptions{MaxSize: 1 << 20, HasMaxSize: true}, []int32{0, 4, 5}, Drops{DropDeleteMarker: 1, DropMaxSize: 2}, Fields(Size, IsDeleteMarker)},
		{"max size zero", FilterOptions{MaxSize: 0, HasMaxSize: true}, []int32{4}, Drops{DropDeleteMarker: 1, DropMaxSize: 4}, Fields(Size, IsDeleteMarker)},
		{"modified window", FilterOptions{ModifiedAfter: mustTime("2024-01-01"), ModifiedBefore: mustTime("2024-05-01T12:00:00Z")}, []int32{0, 5},
			Drops{DropDeleteMarker: 1, DropModifiedAfter: 2, DropModifiedBefore: 1}, Fields(LastModifiedDate, IsDeleteMarker)},
		{"storage class any case", FilterOptions{StorageClasses: []string{"standard", "Glacier"}}, []int32{0, 1, 5}, Drops{DropDeleteMarker: 1, DropStorageClass: 2}, Fields(StorageClass, IsDeleteMarker)},
		{"replication none matches empty", FilterOptions{ReplicationStatuses: []string{"NONE", "failed"}}, []int32{0, 3, 5}, Drops{DropDeleteMarker: 1, DropReplication: 2}, Fields(ReplicationStatus, IsDeleteMarker)},
		{"encryption", FilterOptions{EncryptionStatuses: []string{"SSE-KMS", "dsse-kms"}}, []int32{1, 5}, Drops{DropDeleteMarker: 1, DropEncryption: 3}, Fields(EncryptionStatus, IsDeleteMarker)},
		{"lock mode", FilterOptions{LockModes: []string{"governance", "compliance"}}, []int32{3, 4}, Drops{DropDeleteMarker: 1, DropLockMode: 3}, Fields(ObjectLockMode, IsDeleteMarker)},
		{"legal hold off matches empty", FilterOptions{LegalHold: []string{"off"}}, []int32{0, 3, 4, 5}, Drops{DropDeleteMarker: 1, DropLegalHold: 1}, Fields(ObjectLockLegalHoldStatus, IsDeleteMarker)},
		{"tiering tier", FilterOptions{TieringTiers: []string{"ARCHIVE", "deep_archive"}}, []int32{3}, Drops{DropDeleteMarker: 1, DropTieringTier: 4}, Fields(IntelligentTieringAccessTier, IsDeleteMarker)},
		{"checksum ignores dashes", FilterOptions{ChecksumAlgorithms: []string{"sha-256"}}, []int32{1, 3}, Drops{DropDeleteMarker: 1, DropChecksum: 3}, Fields(ChecksumAlgorithm, IsDeleteMarker)},
		{"multipart only: flag, else etag -N", FilterOptions{Multipart: Only}, []int32{1, 3}, Drops{DropDeleteMarker: 1, DropMultipart: 3}, Fields(IsMultipartUploaded, ETag, IsDeleteMarker)},
		{"multipart not", FilterOptions{Multipart: Not}, []int32{0, 4, 5}, Drops{DropDeleteMarker: 1, DropMultipart: 2}, Fields(IsMultipartUploaded, ETag, IsDeleteMarker)},
		{"include keys", FilterOptions{IncludeKeys: NewKeyList("t", []string{"logs/e.log", "videos/c.mp4", "nope"}), DeleteMarkers: all}, []int32{2, 4}, Drops{DropKeyList: 4}, Fields(Key)},
		{"exclude keys", FilterOptions{ExcludeKeys: NewKeyList("t", []string{"logs/my file+1.txt"}), DeleteMarkers: all}, []int32{0, 1, 2, 3, 4}, Drops{DropExcludedKey: 1}, Fields(Key)},
		{"first predicate counts", FilterOptions{StorageClasses: []string{"STANDARD"}, Prefixes: []string{"photos/"}}, []int32{0},
			Drops{DropDeleteMarker: 1, DropStorageClass: 3, DropPrefix: 1}, Fields(StorageClass, Key, IsDeleteMarker)},
		{"where columnar", FilterOptions{Where: `size >= bytes("1MiB") and storage_class in ["STANDARD", "GLACIER"] and not (key endsWith ".png")`}, []int32{5},
			Drops{DropDeleteMarker: 1, DropWhere: 4}, Fields(Size, StorageClass, Key, IsDeleteMarker)},
		{"where or + time", FilterOptions{Where: `last_modified_date < date("2023-01-01") || key startsWith "photos/"`}, []int32{0, 1, 4},
			Drops{DropDeleteMarker: 1, DropWhere: 2}, Fields(LastModifiedDate, Key, IsDeleteMarker)},
		{"where vm fallback", FilterOptions{Where: `len(key) > 11 && upper(e_tag) contains "F"`}, []int32{1},
			Drops{DropDeleteMarker: 1, DropWhere: 4}, Fields(Key, ETag, IsDeleteMarker)},
		{"where null reads as zero", FilterOptions{Where: `replication_status == "" and is_multipart_uploaded == false`, DeleteMarkers: all}, []int32{0, 2, 5},
			Drops{DropWhere: 3}, Fields(ReplicationStatus, IsMultipartUploaded)},
		// Enum comparisons ignore case, as --storage-class does; other
		// text columns do not.
		{"where enums any case", FilterOptions{Where: `storage_class in ["standard", "Glacier"] and "sse-s3" != encryption_status`}, []int32{1, 5},
			Drops{DropDeleteMarker: 1, DropWhere: 3}, Fields(StorageClass, EncryptionStatus, IsDeleteMarker)},
		{"where enum tests any case", FilterOptions{Where: `storage_class startsWith "standard" or object_lock_mode == "governance"`}, []int32{0, 4, 5},
			Drops{DropDeleteMarker: 1, DropWhere: 2}, Fields(StorageClass, ObjectLockMode, IsDeleteMarker)},
		{"where keys keep their case", FilterOptions{Where: `key == "PHOTOS/A.JPG" or e_tag == "ABC"`}, []int32{},
			Drops{DropDeleteMarker: 1, DropWhere: 5}, Fields(Key, ETag, IsDeleteMarker)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := NewFilter(tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Needs(); got != tt.needs {
				t.Errorf("Needs() = %s, want %s", got, tt.needs)
			}
			rec := buildBatch(t, testRows, testSet)
			defer rec.Release()
			drops := Drops{}
			got := f.Select(rec, testSet, nil, drops)
			if !reflect.DeepEqual(append([]int32{}, got...), tt.want) {
				t.Errorf("Select = %v, want %v", got, tt.want)
			}
			if !reflect.DeepEqual(drops, tt.drops) {
				t.Errorf("drops = %v, want %v", drops, tt.drops)
			}
			var total int64
			for _, n := range drops {
				total += n
			}
			if int(total)+len(got) != len(testRows) {
				t.Errorf("kept %d + dropped %d != %d rows", len(got), total, len(testRows))
			}
			if w := f.where; w != nil {
				// The VM-only path must agree with the columnar one.
				w.vmAll = true
				got2 := f.Select(rec, testSet, nil, Drops{})
				w.vmAll = false
				if !reflect.DeepEqual(append([]int32{}, got2...), tt.want) {
					t.Errorf("VM path Select = %v, want %v", got2, tt.want)
				}
			}
		})
	}
}

// TestWhereUnknownName: a name that is no column is answered with the
// column meant and the list of columns.
func TestWhereUnknownName(t *testing.T) {
	for _, tc := range []struct{ where, want string }{
		{`etag == "x"`, "did you mean e_tag?"},
		{`StorageClass == "GLACIER"`, "did you mean storage_class?"},
		{`sizee > 3`, "did you mean size?"},
		{`colour == "red"`, "unknown name colour"},
	} {
		_, err := NewFilter(FilterOptions{Where: tc.where})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "the columns are: bucket, key, version_id") {
			t.Errorf("%s: %v; want %q and the columns", tc.where, err, tc.want)
		}
		if tc.where == `colour == "red"` && strings.Contains(err.Error(), "did you mean") {
			t.Errorf("%s: a far name got a suggestion: %v", tc.where, err)
		}
	}
}

func TestFilterErrors(t *testing.T) {
	tests := []struct {
		name   string
		o      FilterOptions
		option string
	}{
		{"bad regex", FilterOptions{Regexes: []string{"("}}, "regex"},
		{"bad glob", FilterOptions{Globs: []string{"a[b"}}, "glob"},
		{"unknown class", FilterOptions{StorageClasses: []string{"STANDARD", "COLD"}}, "storage-class"},
		{"unknown tier", FilterOptions{TieringTiers: []string{"WARM"}}, "tiering-tier"},
		{"empty range", FilterOptions{MinSize: 10, MaxSize: 5, HasMaxSize: true}, "min-size"},
		{"empty window", FilterOptions{ModifiedAfter: mustTime("2024-02-01"), ModifiedBefore: mustTime("2024-01-01")}, "modified-after"},
		{"bad where", FilterOptions{Where: "size >"}, "where"},
		{"unknown column", FilterOptions{Where: `colour == "red"`}, "where"},
		{"not boolean", FilterOptions{Where: `size + 1`}, "where"},
		{"empty prefix", FilterOptions{Prefixes: []string{""}}, "prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewFilter(tt.o)
			var fe *FilterError
			if !errors.As(err, &fe) || !errors.Is(err, ErrFilter) {
				t.Fatalf("err = %v, want a *FilterError wrapping ErrFilter", err)
			}
			if fe.Option != tt.option {
				t.Errorf("option = %q, want %q (%v)", fe.Option, tt.option, err)
			}
		})
	}
}

func TestFilterCheckMissingField(t *testing.T) {
	have := Fields(Bucket, Key, Size, LastModifiedDate, ETag, StorageClass) // a current-only report
	tests := []struct {
		name    string
		o       FilterOptions
		missing string // option at fault, "" for none
	}{
		{"defaults pass on an unversioned report", FilterOptions{}, ""},
		{"latest-only passes: every row is current", FilterOptions{LatestOnly: true}, ""},
		{"only delete markers needs the column", FilterOptions{DeleteMarkers: DeleteMarkersOnly}, "only-delete-markers"},
		{"replication", FilterOptions{ReplicationStatuses: []string{"FAILED"}}, "replication-status"},
		{"multipart from etag alone", FilterOptions{Multipart: Only}, ""},
		{"where names a missing column", FilterOptions{Where: `object_owner == "x"`}, "where"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := NewFilter(tt.o)
			if err != nil {
				t.Fatal(err)
			}
			err = f.Check(have)
			if tt.missing == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			var fe *FilterError
			if !errors.As(err, &fe) || !errors.Is(err, ErrMissingField) || fe.Option != tt.missing {
				t.Fatalf("Check = %v, want missing field for --%s", err, tt.missing)
			}
		})
	}
}

func TestFilterUnversionedSkipsOptional(t *testing.T) {
	set := Fields(Bucket, Key, Size)
	rec := buildBatch(t, testRows, set)
	defer rec.Release()
	f, err := NewFilter(FilterOptions{LatestOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	drops := Drops{}
	if got := f.Select(rec, set, nil, drops); len(got) != len(testRows) || len(drops) != 0 {
		t.Fatalf("kept %d, drops %v; want all rows", len(got), drops)
	}
}

func TestSelectAllocs(t *testing.T) {
	rec := buildBatch(t, testRows, testSet)
	defer rec.Release()
	f, err := NewFilter(FilterOptions{Prefixes: []string{"photos/", "logs/"}, MinSize: 1, StorageClasses: []string{"STANDARD"}, LatestOnly: true,
		ModifiedAfter: mustTime("2020-01-01")})
	if err != nil {
		t.Fatal(err)
	}
	sel := make([]int32, 0, 16)
	drops := Drops{DropDeleteMarker: 0, DropNotLatest: 0, DropPrefix: 0, DropMinSize: 0, DropStorageClass: 0, DropModifiedAfter: 0}
	if n := testing.AllocsPerRun(100, func() { sel = f.Select(rec, testSet, sel, drops) }); n != 0 {
		t.Errorf("Select allocates %.1f times per batch, want 0", n)
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"0", 0, false}, {"512", 512, false}, {"1KiB", 1024, false}, {"1 MiB", 1 << 20, false}, {"1mib", 1 << 20, false},
		{"1.5GB", 1_500_000_000, false}, {"5GiB", 5 << 30, false}, {"2T", 2 << 40, false}, {"10kb", 10_000, false},
		{"1_000", 1000, false}, {"", 0, true}, {"-1", 0, true}, {"1XB", 0, true}, {"MiB", 0, true}, {"99999999999PiB", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !errors.Is(err, ErrBadSize) {
			t.Errorf("ParseSize(%q) error %v does not wrap ErrBadSize", tt.in, err)
		}
	}
}

func TestParseTimeArg(t *testing.T) {
	for in, want := range map[string]int64{
		"2024-08-21":                1724198400000,
		"2024-08-21T15:28:26Z":      1724254106000,
		"2024-08-21T17:28:26+02:00": 1724254106000,
		"2024-08-21T15:28:26.5Z":    1724254106500,
	} {
		got, err := ParseTimeArg(in)
		if err != nil || got.UnixMilli() != want {
			t.Errorf("ParseTimeArg(%q) = %v (%d), %v; want %d", in, got, got.UnixMilli(), err, want)
		}
	}
	if _, err := ParseTimeArg("yesterday"); !errors.Is(err, ErrBadTime) {
		t.Errorf("ParseTimeArg(yesterday) = %v, want ErrBadTime", err)
	}
}

func TestGlobRegexp(t *testing.T) {
	tests := []struct {
		glob, key string
		want      bool
	}{
		{"*.jpg", "a.jpg", true}, {"*.jpg", "d/a.jpg", false}, {"**/*.jpg", "d/e/a.jpg", true},
		{"a?c", "abc", true}, {"a?c", "a/c", false}, {"[ab]*", "bx", true}, {"[!ab]*", "bx", false},
		{"日本*", "日本語", true}, {`a\*b`, "a*b", true}, {`a\*b`, "axb", false}, {"data/**", "data/x/y", true},
	}
	for _, tt := range tests {
		re, err := GlobRegexp(tt.glob)
		if err != nil {
			t.Fatalf("GlobRegexp(%q): %v", tt.glob, err)
		}
		if got := re.MatchString(tt.key); got != tt.want {
			t.Errorf("glob %q on %q = %v, want %v (re %s)", tt.glob, tt.key, got, tt.want, re)
		}
	}
}

func TestReadKeyList(t *testing.T) {
	l, err := ReadKeyList("keys.txt", strings.NewReader("a/b\r\n\nc d\na/b\n"))
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() != 2 {
		t.Fatalf("Len = %d, want 2", l.Len())
	}
}

var _ = fmt.Sprint
var _ = ms
