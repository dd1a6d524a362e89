package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/inventory/orc"
)

// Reading one data file without its manifest: telling its format, its
// schema, and describing it as a report of that file alone, so that it is
// read exactly as a report's files are.

// ErrUnknownDataFile is returned by SniffFormat for a file whose name and
// first bytes match no format.
var ErrUnknownDataFile = errors.New("cannot tell the format from the name or the first bytes")

// SniffFormat tells whether loc (a local path or s3:// URL, read through
// oc) is a manifest.json, and otherwise the format of the data file: from
// its name (.json; .csv.gz or .csv; .parquet; .orc), else from its first
// bytes (PAR1, ORC, the gzip magic, '{'). Errors: objio's when the file
// cannot be opened, ErrUnknownDataFile when nothing matches.
func SniffFormat(ctx context.Context, oc *objio.Client, loc string) (format Format, manifest bool, err error) {
	base := strings.ToLower(path.Base(strings.ReplaceAll(loc, "\\", "/")))
	switch {
	case strings.HasSuffix(base, ".json"):
		return "", true, nil
	case strings.HasSuffix(base, ".csv.gz"), strings.HasSuffix(base, ".csv"):
		return FormatCSV, false, nil
	case strings.HasSuffix(base, ".parquet"):
		return FormatParquet, false, nil
	case strings.HasSuffix(base, ".orc"):
		return FormatORC, false, nil
	}
	obj, err := oc.Open(ctx, loc)
	if err != nil {
		return "", false, err
	}
	defer obj.Close()
	head := make([]byte, 4)
	n, _ := obj.ReadAt(head, 0)
	head = head[:n]
	switch {
	case strings.HasPrefix(string(head), "PAR1"):
		return FormatParquet, false, nil
	case strings.HasPrefix(string(head), "ORC"):
		return FormatORC, false, nil
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		return FormatCSV, false, nil
	case len(head) > 0 && head[0] == '{':
		return "", true, nil
	}
	return "", false, fmt.Errorf("%s: %w", loc, ErrUnknownDataFile)
}

// SingleFileManifest describes the data file loc, of the given format and
// fileSchema, as a report of that file alone (with no checksums: there
// are none to check against). Errors are *DataErrors naming loc.
func SingleFileManifest(loc string, format Format, schema string) (*Manifest, error) {
	raw, err := json.Marshal(map[string]any{
		"fileFormat": string(format), "fileSchema": schema,
		"files": []map[string]any{{"key": path.Base(loc), "size": 0}},
	})
	if err != nil {
		return nil, err
	}
	m, err := ParseManifest(raw)
	if err != nil {
		return nil, &DataError{File: loc, Offset: -1, Err: err}
	}
	m.Location = loc
	m.Files[0].Location = loc
	return m, nil
}

// HasInventoryColumns reports whether the column names include bucket and
// key (in any spelling LookupField knows): whether a file can be read as
// an inventory data file.
func HasInventoryColumns(names []string) bool {
	var set FieldSet
	for _, n := range names {
		if f, ok := LookupField(n); ok {
			set |= Fields(f)
		}
	}
	return set.Has(Bucket) && set.Has(Key)
}

// ParquetFileSchema renders the top-level columns of the Parquet file loc
// as a fileSchema ("message s3.inventory { optional binary size; ... }"),
// enough for SingleFileManifest: the reader takes the types from the
// file.
func ParquetFileSchema(ctx context.Context, oc *objio.Client, loc string) (string, error) {
	obj, err := oc.Open(ctx, loc)
	if err != nil {
		return "", err
	}
	defer obj.Close()
	f, err := parquet.OpenFile(obj, obj.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return "", &DataError{File: loc, Offset: -1, Expected: "a Parquet file", Err: fmt.Errorf("%w: %v", ErrCorrupt, err)}
	}
	var b strings.Builder
	b.WriteString("message s3.inventory {")
	for _, c := range f.Root().Columns() {
		fmt.Fprintf(&b, " optional binary %s;", strings.ReplaceAll(c.Name(), ";", "_"))
	}
	b.WriteString(" }")
	return b.String(), nil
}

// OpenORCFile opens the ORC file loc (its tail) for reading stripe by
// stripe, with ScanORCStripes; the returned Closer closes it. Errors are
// *DataErrors naming loc (ErrCorrupt for a damaged tail).
func OpenORCFile(ctx context.Context, oc *objio.Client, loc string) (*orc.File, io.Closer, error) {
	obj, err := oc.Open(ctx, loc)
	if err != nil {
		return nil, nil, err
	}
	f, err := orc.Open(obj, obj.Size(), nil)
	if err != nil {
		obj.Close()
		return nil, nil, ORCError(loc, -1, err)
	}
	return f, obj, nil
}

// ORCError wraps an error of package orc as a *DataError naming the file
// (and the stripe, when stripe >= 0), unwrapping to ErrCorrupt as well
// when the file is corrupt.
func ORCError(loc string, stripe int, err error) error {
	var ce *orc.CorruptError
	if stripe >= 0 && (!errors.As(err, &ce) || ce.Stripe < 0) {
		err = fmt.Errorf("stripe %d: %w", stripe, err)
	}
	de := &DataError{File: loc, Offset: -1, Err: err}
	if errors.Is(err, orc.ErrCorrupt) {
		de.Err = fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return de
}

// ScanORCStripes decodes the given top-level columns (nil: all) of ORC
// file f, named loc in errors, stripe by stripe, as stored, and calls fn
// with each stripe's batch, until fn returns an error (returned as is).
// Decoding errors are ORCErrors; a panic in the decoder is recovered as
// an *InternalError.
func ScanORCStripes(f *orc.File, loc string, columns []string, fn func(*orc.Batch) error) error {
	for s := 0; s < f.NumStripes(); s++ {
		b, err := readORCStripe(f, loc, s, columns)
		if err != nil {
			return err
		}
		if err := fn(b); err != nil {
			return err
		}
	}
	return nil
}

func readORCStripe(f *orc.File, loc string, s int, columns []string) (b *orc.Batch, err error) {
	defer func() {
		if p := recover(); p != nil {
			b, err = nil, newInternalError(loc, p)
		}
	}()
	b, err = f.ReadStripe(s, columns)
	if err != nil {
		return nil, ORCError(loc, s, err)
	}
	return b, nil
}
