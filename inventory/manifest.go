package inventory

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/s3batchkit/s3batchkit/internal/objio"
)

// Format is an inventory report's fileFormat.
type Format string

// The three S3 Inventory formats, spelled as manifest.json spells them.
const (
	FormatCSV     Format = "CSV"
	FormatORC     Format = "ORC"
	FormatParquet Format = "Parquet"
)

// ParseFormat accepts a format name case-insensitively ("csv", "orc",
// "parquet").
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "csv":
		return FormatCSV, nil
	case "orc":
		return FormatORC, nil
	case "parquet":
		return FormatParquet, nil
	}
	return "", fmt.Errorf("%w %q: expected CSV, ORC or Parquet", ErrFormat, s)
}

// Manifest is a parsed inventory manifest.json, with its columns mapped to
// canonical fields and its data files resolved to locations.
type Manifest struct {
	SourceBucket      string     `json:"sourceBucket"`
	DestinationBucket string     `json:"destinationBucket"`
	Version           string     `json:"version"`
	CreationTimestamp string     `json:"creationTimestamp"`
	FileFormat        string     `json:"fileFormat"`
	FileSchema        string     `json:"fileSchema"`
	Files             []DataFile `json:"files"`

	// Location is where manifest.json was read from.
	Location string `json:"-"`
	// MD5 is the hex MD5 of manifest.json's bytes.
	MD5 string `json:"-"`
	// ChecksumVerified says whether a manifest.checksum was found and matched.
	ChecksumVerified bool `json:"-"`
	// Format is the parsed FileFormat.
	Format Format `json:"-"`
	// Columns lists fileSchema's columns in order.
	Columns []Column `json:"-"`
	// Fields is the set of canonical fields the report carries.
	Fields FieldSet `json:"-"`
}

// Column is one column named by fileSchema.
type Column struct {
	Name  string // as fileSchema spells it
	Field Field  // the canonical field, when Known
	Known bool   // false for a column s3batchkit does not know (kept, skipped)
}

// DataFile is one entry of manifest.json's files array.
type DataFile struct {
	Key         string `json:"key"`
	Size        int64  `json:"size"`
	MD5checksum string `json:"MD5checksum"`

	// Location is where the file was found (set by OpenManifest).
	Location string `json:"-"`
	// Units, when not nil, are the only row groups (Parquet) or stripes
	// (ORC) of the file to read, as a range of a distributed plan
	// selects them; nil reads the whole file. CSV files are always read
	// whole.
	Units []int `json:"-"`
	// NoVerify, set by a range of a distributed plan that another range
	// verifies the file for, skips the file's MD5 check (its size is
	// still checked).
	NoVerify bool `json:"-"`
}

// ManifestOptions control how a manifest is opened.
type ManifestOptions struct {
	// DataRoot, when set, is the folder (or s3:// prefix) that files[].key
	// is relative to: the root of the destination bucket or of its copy.
	// When empty: for a manifest.json in S3 in its destination bucket (as
	// S3 delivers it), the destination bucket named by destinationBucket,
	// with no probing; for a local copy, or a manifest copied to another
	// bucket, each ancestor folder of manifest.json is tried, nearest
	// first, as the copied bucket's root (see OpenManifest).
	DataRoot string
	// SkipChecksums turns off manifest.checksum and data file MD5 checks.
	SkipChecksums bool
	// IO reads the manifest and the data files (nil: see objio).
	IO *objio.Client
}

// OpenManifest reads and validates manifest.json at loc, verifies it
// against manifest.checksum beside it when that file exists, maps its
// fileSchema to fields, and resolves every data file's location.
//
// files[].key is relative to the destination bucket (docs/formats.md#inventory-manifest).
// A manifest read from s3://B/… whose destinationBucket is B is S3's own
// delivery: each data file is read at s3://B/key, and nothing is probed —
// a role with s3:GetObject alone gets 403, not 404, for a key that does
// not exist, so probing would fail where reading works
// (docs/objio.md#least-privilege-reading-with-s3getobject-only).
// Otherwise (a local copy, a copy in another bucket, a synthetic report)
// the first data file is looked for under each ancestor folder of the
// manifest, nearest first (then, in S3, in the destination bucket), and
// the other files are read under the same root. ManifestOptions.DataRoot
// names the root instead.
func OpenManifest(ctx context.Context, loc string, opt ManifestOptions) (*Manifest, error) {
	raw, err := opt.IO.ReadAll(ctx, loc)
	if err != nil {
		if errors.Is(err, objio.ErrNotFound) && !objio.IsS3(loc) {
			if abs, aerr := filepath.Abs(loc); aerr == nil && abs != loc {
				return nil, fmt.Errorf("reading inventory manifest %s (%s): %w", loc, abs, err)
			}
		}
		return nil, fmt.Errorf("reading inventory manifest: %w", err)
	}
	m, err := ParseManifest(raw)
	if err != nil {
		return nil, &DataError{File: loc, Offset: -1, Err: err}
	}
	m.Location = loc
	sum := md5.Sum(raw)
	m.MD5 = hex.EncodeToString(sum[:])
	if !opt.SkipChecksums {
		// Read, not probed: S3 always writes manifest.checksum, and a copy
		// may lack it. A refusal (403) of the checksum alone — a policy
		// naming manifest.json only, or a missing file under least
		// privilege — leaves the manifest unverified, as plan.json records.
		ck := objio.Join(objio.Dir(loc), "manifest.checksum")
		want, err := opt.IO.ReadAll(ctx, ck)
		switch {
		case err == nil:
			w := strings.ToLower(strings.TrimSpace(string(want)))
			if w != m.MD5 {
				return nil, &DataError{File: loc, Offset: -1, Value: m.MD5, Expected: "MD5 " + shorten([]byte(w)) + " from manifest.checksum", Err: ErrChecksum}
			}
			m.ChecksumVerified = true
		case errors.Is(err, objio.ErrNotFound), errors.Is(err, objio.ErrAccessDenied):
		default:
			return nil, fmt.Errorf("reading %s: %w", ck, err)
		}
	}
	if err := resolveDataFiles(ctx, opt.IO, m, opt.DataRoot); err != nil {
		return nil, err
	}
	return m, nil
}

// ParseManifest parses manifest.json bytes and maps fileSchema to fields.
// Errors wrap ErrManifest or ErrFormat; a file of another kind that
// s3batchkit knows (see otherFile) wraps ErrNotManifest and says what it is.
func ParseManifest(raw []byte) (*Manifest, error) {
	if what := otherFile(raw); what != "" {
		return nil, fmt.Errorf("%w: %s", ErrNotManifest, what)
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrManifest, err)
	}
	if m.FileFormat == "" {
		return nil, fmt.Errorf("%w: fileFormat is missing", ErrManifest)
	}
	f, err := ParseFormat(m.FileFormat)
	if err != nil {
		return nil, err
	}
	m.Format = f
	if m.FileSchema == "" {
		return nil, fmt.Errorf("%w: fileSchema is missing", ErrManifest)
	}
	names, err := schemaColumnNames(f, m.FileSchema)
	if err != nil {
		return nil, err
	}
	seen := map[Field]bool{}
	for _, n := range names {
		c := Column{Name: n}
		if fl, ok := LookupField(n); ok {
			if seen[fl] {
				return nil, fmt.Errorf("%w: fileSchema names %s twice", ErrManifest, fl)
			}
			seen[fl] = true
			c.Field, c.Known = fl, true
			m.Fields |= Fields(fl)
		}
		m.Columns = append(m.Columns, c)
	}
	if !m.Fields.Has(Bucket) || !m.Fields.Has(Key) {
		return nil, fmt.Errorf("%w: fileSchema %q lacks Bucket or Key, expected both", ErrManifest, shorten([]byte(m.FileSchema)))
	}
	if m.Files == nil {
		return nil, fmt.Errorf("%w: files is missing", ErrManifest)
	}
	for i, df := range m.Files {
		if df.Key == "" {
			return nil, fmt.Errorf("%w: files[%d].key is empty", ErrManifest, i)
		}
		if df.Size < 0 {
			return nil, fmt.Errorf("%w: files[%d].size is negative", ErrManifest, i)
		}
		if df.MD5checksum != "" {
			if b, err := hex.DecodeString(df.MD5checksum); err != nil || len(b) != md5.Size {
				return nil, fmt.Errorf("%w: files[%d].MD5checksum %q is not a hex MD5", ErrManifest, i, shorten([]byte(df.MD5checksum)))
			}
		}
	}
	return &m, nil
}

// schemaColumnNames splits a fileSchema into column names. CSV schemas are
// comma-separated names; ORC schemas are Hive struct<name:type,...>;
// Parquet schemas are "message name { required binary key (UTF8); ... }".
func schemaColumnNames(f Format, schema string) ([]string, error) {
	var names []string
	switch f {
	case FormatCSV:
		for _, p := range strings.Split(schema, ",") {
			if p = strings.TrimSpace(p); p == "" {
				return nil, fmt.Errorf("%w: fileSchema %q has an empty column name", ErrManifest, shorten([]byte(schema)))
			}
			names = append(names, p)
		}
	case FormatORC:
		s := strings.TrimSpace(schema)
		if !strings.HasPrefix(s, "struct<") || !strings.HasSuffix(s, ">") {
			return nil, fmt.Errorf("%w: ORC fileSchema %q: expected struct<...>", ErrManifest, shorten([]byte(schema)))
		}
		s = s[len("struct<") : len(s)-1]
		depth, start := 0, 0
		for i := 0; i <= len(s); i++ {
			if i < len(s) {
				switch s[i] {
				case '<':
					depth++
					continue
				case '>':
					depth--
					continue
				case ',':
					if depth != 0 {
						continue
					}
				default:
					continue
				}
			}
			part := strings.TrimSpace(s[start:i])
			start = i + 1
			name, _, ok := strings.Cut(part, ":")
			if !ok || strings.TrimSpace(name) == "" {
				return nil, fmt.Errorf("%w: ORC fileSchema entry %q: expected name:type", ErrManifest, shorten([]byte(part)))
			}
			names = append(names, strings.TrimSpace(name))
		}
	case FormatParquet:
		open := strings.IndexByte(schema, '{')
		end := strings.LastIndexByte(schema, '}')
		if open < 0 || end < open {
			return nil, fmt.Errorf("%w: Parquet fileSchema %q: expected message name { ... }", ErrManifest, shorten([]byte(schema)))
		}
		for _, p := range strings.Split(schema[open+1:end], ";") {
			tok := strings.Fields(p)
			if len(tok) == 0 {
				continue
			}
			if len(tok) < 3 {
				return nil, fmt.Errorf("%w: Parquet fileSchema entry %q: expected repetition type name", ErrManifest, shorten([]byte(p)))
			}
			names = append(names, tok[2])
		}
	}
	return names, nil
}

// destBucket returns the bucket name of destinationBucket (an ARN,
// arn:aws:s3:::name, or a plain name), or "".
func destBucket(v string) string {
	v = strings.TrimSpace(v)
	if rest, ok := strings.CutPrefix(v, "arn:"); ok {
		// arn:PARTITION:s3:::name
		parts := strings.SplitN(rest, ":", 5)
		if len(parts) != 5 || parts[1] != "s3" {
			return ""
		}
		v = parts[4]
	}
	if v == "" || strings.ContainsAny(v, "/:") {
		return ""
	}
	return v
}

// resolveDataFiles sets every data file's Location (see OpenManifest).
func resolveDataFiles(ctx context.Context, oc *objio.Client, m *Manifest, dataRoot string) error {
	loc := m.Location
	if len(m.Files) == 0 {
		return nil
	}
	if !objio.IsS3(loc) {
		for i := range m.Files {
			for _, seg := range strings.Split(m.Files[i].Key, "/") {
				if seg == ".." {
					return &DataError{File: loc, Offset: -1, Field: "files[].key", Value: m.Files[i].Key, Expected: "a key without '..' segments", Err: ErrManifest}
				}
			}
		}
	}
	setAll := func(root string) {
		for i := range m.Files {
			m.Files[i].Location = objio.Join(root, m.Files[i].Key)
		}
	}
	switch {
	case dataRoot != "" && objio.IsS3(dataRoot):
		setAll(dataRoot) // read, not probed: a missing file fails its read, naming it
		return nil
	case dataRoot != "":
		for i := range m.Files {
			l := objio.Join(dataRoot, m.Files[i].Key)
			if ok, err := oc.Exists(ctx, l); err != nil {
				return err
			} else if !ok {
				return &DataError{File: loc, Offset: -1, Field: "files[].key", Value: m.Files[i].Key,
					Expected: fmt.Sprintf("a data file at %s (under --data-root %s)", l, dataRoot), Err: ErrMissingFile}
			}
			m.Files[i].Location = l
		}
		return nil
	}
	dest := destBucket(m.DestinationBucket)
	if objio.IsS3(loc) {
		if b, _, _ := objio.ParseS3(loc); dest != "" && b == dest {
			setAll("s3://" + dest)
			return nil
		}
		// A copy in another bucket: find the root with the first file,
		// then read every file under it.
		root, err := findRoot(ctx, oc, loc, dest, m.Files[0].Key)
		if err != nil {
			return err
		}
		setAll(root)
		return nil
	}
	for i := range m.Files {
		root, err := findRoot(ctx, oc, loc, "", m.Files[i].Key)
		if err != nil {
			return err
		}
		m.Files[i].Location = objio.Join(root, m.Files[i].Key)
	}
	return nil
}

// findRoot looks for key under each ancestor folder of the manifest at
// loc, nearest first, then (in S3) in the destination bucket dest, and
// returns the first root holding it. In S3 a 403 counts as absent (a key
// that does not exist, for a caller without s3:ListBucket) and is said
// in the error if no root holds the key.
func findRoot(ctx context.Context, oc *objio.Client, loc, dest, key string) (string, error) {
	var tried []string
	refused := 0
	try := func(root string) (bool, error) {
		l := objio.Join(root, key)
		tried = append(tried, l)
		ok, err := oc.Exists(ctx, l)
		if errors.Is(err, objio.ErrAccessDenied) {
			refused++
			return false, nil
		}
		return ok, err
	}
	dir := objio.Dir(loc)
	for {
		ok, err := try(dir)
		if err != nil {
			return "", err
		}
		if ok {
			return dir, nil
		}
		parent := objio.Dir(dir)
		if parent == dir || (!objio.IsS3(dir) && filepath.Clean(parent) == filepath.Clean(dir)) {
			break
		}
		dir = parent
	}
	if dest != "" {
		ok, err := try("s3://" + dest)
		if err != nil {
			return "", err
		}
		if ok {
			return "s3://" + dest, nil
		}
	}
	expected := fmt.Sprintf("a data file at one of %d candidate paths (nearest: %s); use --data-root to say where the copied bucket is", len(tried), tried[0])
	if refused > 0 {
		expected += fmt.Sprintf(" (%d of them refused with 403: without s3:ListBucket S3 answers 403 for a missing key)", refused)
	}
	return "", &DataError{File: loc, Offset: -1, Field: "files[].key", Value: key, Expected: expected, Err: ErrMissingFile}
}

// otherFile names the files people give instead of an inventory's
// manifest.json, and what to do instead: its data files, the files
// s3batchkit writes (plan.json, jobs.json, diff.json, summary.json, a
// manifest shard) and a Batch Operations completion report's
// manifest.json. It returns "" for anything else, which ParseManifest
// then parses as a manifest and reports on.
func otherFile(raw []byte) string {
	const dataFile = "it is %s data file; give the report's manifest.json (s3batchkit cat prints one data file)"
	switch {
	case bytes.HasPrefix(raw, []byte{0x1f, 0x8b}):
		return fmt.Sprintf(dataFile, "a gzip file: a CSV.gz")
	case bytes.HasPrefix(raw, []byte("PAR1")):
		return fmt.Sprintf(dataFile, "a Parquet")
	case bytes.HasPrefix(raw, []byte("ORC")):
		return fmt.Sprintf(dataFile, "an ORC")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		trimmed := bytes.TrimSpace(raw)
		line, _, _ := bytes.Cut(trimmed, []byte("\n"))
		if len(trimmed) > 0 && trimmed[0] != '{' && trimmed[0] != '[' && bytes.Contains(line, []byte(",")) {
			return "it is a CSV file, not JSON (a Batch Operations manifest or a data file?); give the report's manifest.json"
		}
		return ""
	}
	has := func(keys ...string) bool {
		for _, k := range keys {
			if _, ok := top[k]; !ok {
				return false
			}
		}
		return true
	}
	switch {
	case has("Format", "Results") || has("ReportCreationDate"):
		return "it is a Batch Operations completion report's manifest.json; use s3batchkit report --report LOCATION to read completion reports"
	case has("shards", "counters", "routes"):
		return "it is a plan.json written by s3batchkit plan or diff; give the inventory's manifest.json (a plan directory goes to submit, run or iam-policy --plan)"
	case has("plan_id", "jobs"):
		return "it is the jobs.json of a submitted plan; give the inventory's manifest.json (status, jobs and report read jobs.json with --plan DIR)"
	case has("tasks", "by_class"):
		return "it is a summary.json written by s3batchkit report; give the inventory's manifest.json"
	case has("source", "target", "only_in_source"):
		return "it is a diff.json written by s3batchkit diff; give the inventory's manifest.json"
	case !has("fileFormat") && !has("fileSchema") && !has("files"):
		return "this JSON has none of an S3 Inventory manifest's fileFormat, fileSchema and files; give the manifest.json of an inventory delivery"
	}
	return ""
}
