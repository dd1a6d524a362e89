package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/parquet-go/parquet-go"
	"github.com/urfave/cli/v2"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/inventory"
	"github.com/s3batchkit/s3batchkit/inventory/orc"
)

func newCatCommand() *cli.Command {
	return &cli.Command{
		Name:      "cat",
		Usage:     "print the rows of an inventory report or data file as JSON lines",
		UsageText: "s3batchkit cat [--columns LIST] [--limit N] [--format csv|parquet|orc] [--schema FIELDS] FILE|MANIFEST",
		Description: `Prints one JSON object per row, with every column under its snake_case
name, in the order the report lists its data files: values as the planner
sees them (keys decoded, empty values null, enum fields upper-cased,
timestamps as RFC 3339 UTC with milliseconds).

The argument is a report's manifest.json (local path or s3:// URL; data
files are found as plan finds them and checked against their MD5s), or
one data file, whose format comes from --format, else its extension
(.csv.gz, .parquet, .orc), else its first bytes. A CSV data file has no
header, so its columns must be given with --schema, in fileSchema's
spelling. An ORC file that is not an inventory file (no bucket and key
columns), or any ORC file with --raw, is printed column for column as
stored, whatever its types: strings, numbers, booleans, binary (base64),
dates, timestamps (RFC 3339, UTC, nanoseconds), decimals, and nested
structs, lists and maps (maps as [{"key":...,"value":...}]); a file whose
root is not a struct prints one bare value per line.

Examples:
   # the first 10 rows of a report
   s3batchkit cat --limit 10 inv/src-bucket/cfg/2024-11-01T01-00Z/manifest.json

   # keys, sizes and storage classes of one ORC data file
   s3batchkit cat --columns key,size,storage_class data/0a1b2c.orc

   # a CSV data file without its manifest
   s3batchkit cat --schema "Bucket, Key, Size, LastModifiedDate, ETag, StorageClass" data/0a1b2c.csv.gz

   # any ORC file, every column as stored
   s3batchkit cat --raw --limit 5 /work/shared/testdata/orc/TestOrcFile.test1.orc

   # find the rows of one key with jq
   s3batchkit cat manifest.json | jq -c 'select(.key == "photos/a b.jpg")'`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "columns", Aliases: []string{"c"}, Usage: "print only these columns, in this order (`NAME`s in any spelling: key, Key, storage_class; commas allowed)"},
			&cli.Int64Flag{Name: "limit", Aliases: []string{"n"}, Usage: "stop after `N` rows (0: all)"},
			&cli.StringFlag{Name: "format", Usage: "data file format `FORMAT`: csv, parquet or orc (default: from the extension or the file's first bytes)"},
			&cli.StringFlag{Name: "schema", Usage: "the columns of a CSV data file, as fileSchema spells them: `FIELDS` such as \"Bucket, Key, Size\""},
			&cli.BoolFlag{Name: "raw", Usage: "ORC: print every column as stored, not as inventory fields"},
			&cli.StringFlag{Name: "data-root", Usage: "`DIR` that files[].key of a manifest is relative to (default: search the manifest's ancestor folders)"},
			&cli.BoolFlag{Name: "no-verify", Usage: "skip manifest.checksum and data file MD5 checks"},
		},
		Before: func(c *cli.Context) error {
			if c.NArg() != 1 {
				for _, a := range c.Args().Slice()[1:] {
					if strings.HasPrefix(a, "-") {
						return usagef("cat: flag %s after the argument: put flags before FILE or MANIFEST", a)
					}
				}
				return usagef("cat takes one FILE or MANIFEST argument, got %d", c.NArg())
			}
			if c.Int64("limit") < 0 {
				return usagef("--limit must not be negative")
			}
			if f := c.String("format"); f != "" {
				if _, err := inventory.ParseFormat(f); err != nil {
					return usagef("--format: %v", err)
				}
			}
			return nil
		},
		Action: func(c *cli.Context) error {
			o := catOptions{
				loc: c.Args().First(), limit: c.Int64("limit"), format: c.String("format"), schema: c.String("schema"),
				raw: c.Bool("raw"), dataRoot: c.String("data-root"), skipChecksums: c.Bool("no-verify"),
			}
			for _, v := range c.StringSlice("columns") {
				for _, n := range strings.Split(v, ",") {
					if n = strings.TrimSpace(n); n != "" {
						o.columns = append(o.columns, n)
					}
				}
			}
			w := bufio.NewWriterSize(c.App.Writer, 256<<10)
			err := runCat(c.Context, w, o)
			if ferr := w.Flush(); err == nil {
				err = ferr
			}
			return err
		},
	}
}

// catOptions are the cat command's flags.
type catOptions struct {
	loc           string
	columns       []string
	limit         int64
	format        string
	schema        string
	raw           bool
	dataRoot      string
	skipChecksums bool
}

// errLimit stops a scan once --limit rows are printed.
var errLimit = errors.New("limit reached")

func runCat(ctx context.Context, w io.Writer, o catOptions) error {
	format, isManifest, err := catFormat(ctx, o)
	if err != nil {
		return err
	}
	var m *inventory.Manifest
	if isManifest {
		if o.raw {
			return usagef("--raw applies to one ORC data file, not to a manifest")
		}
		m, err = inventory.OpenManifest(ctx, o.loc, inventory.ManifestOptions{DataRoot: o.dataRoot, SkipChecksums: o.skipChecksums})
		if err != nil {
			return err
		}
	} else {
		var schema string
		switch format {
		case inventory.FormatCSV:
			if o.schema == "" {
				return usagef("a CSV data file has no header: give its columns with --schema \"Bucket, Key, ...\" or cat its manifest.json")
			}
			schema = o.schema
		case inventory.FormatORC:
			f, names, closeFile, err := openORCFile(ctx, o.loc)
			if err != nil {
				return err
			}
			defer closeFile()
			if o.raw || !hasBucketAndKey(names) {
				return catRawORC(w, f, o)
			}
			schema = f.Schema().String()
		case inventory.FormatParquet:
			if schema, err = parquetFileSchema(ctx, o.loc); err != nil {
				return err
			}
		}
		if o.raw && format != inventory.FormatORC {
			return usagef("--raw applies to ORC files only")
		}
		if m, err = singleFileManifest(o.loc, format, schema); err != nil {
			return err
		}
	}
	return catReport(ctx, w, m, o)
}

// catFormat decides whether loc is a manifest, and otherwise the data
// file's format: --format, else the extension, else the first bytes.
func catFormat(ctx context.Context, o catOptions) (inventory.Format, bool, error) {
	if o.format != "" {
		f, err := inventory.ParseFormat(o.format)
		return f, false, err
	}
	base := strings.ToLower(path.Base(strings.ReplaceAll(o.loc, "\\", "/")))
	switch {
	case strings.HasSuffix(base, ".json"):
		return "", true, nil
	case strings.HasSuffix(base, ".csv.gz"), strings.HasSuffix(base, ".csv"):
		return inventory.FormatCSV, false, nil
	case strings.HasSuffix(base, ".parquet"):
		return inventory.FormatParquet, false, nil
	case strings.HasSuffix(base, ".orc"):
		return inventory.FormatORC, false, nil
	}
	obj, err := objio.Open(ctx, o.loc)
	if err != nil {
		return "", false, err
	}
	defer obj.Close()
	head := make([]byte, 4)
	n, _ := obj.ReadAt(head, 0)
	head = head[:n]
	switch {
	case strings.HasPrefix(string(head), "PAR1"):
		return inventory.FormatParquet, false, nil
	case strings.HasPrefix(string(head), "ORC"):
		return inventory.FormatORC, false, nil
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		return inventory.FormatCSV, false, nil
	case len(head) > 0 && head[0] == '{':
		return "", true, nil
	}
	return "", false, usagef("cannot tell the format of %s from its name or first bytes: give --format csv, parquet or orc", o.loc)
}

// singleFileManifest describes one data file as a report of that file
// alone, so that it is read exactly as a report's files are (without
// checksums: there are none to check against).
func singleFileManifest(loc string, format inventory.Format, schema string) (*inventory.Manifest, error) {
	raw, err := json.Marshal(map[string]any{
		"fileFormat": string(format), "fileSchema": schema,
		"files": []map[string]any{{"key": path.Base(loc), "size": 0}},
	})
	if err != nil {
		return nil, err
	}
	m, err := inventory.ParseManifest(raw)
	if err != nil {
		return nil, &inventory.DataError{File: loc, Offset: -1, Err: err}
	}
	m.Location = loc
	m.Files[0].Location = loc
	return m, nil
}

func hasBucketAndKey(names []string) bool {
	var set inventory.FieldSet
	for _, n := range names {
		if f, ok := inventory.LookupField(n); ok {
			set |= inventory.Fields(f)
		}
	}
	return set.Has(inventory.Bucket) && set.Has(inventory.Key)
}

// parquetFileSchema renders a Parquet file's top-level columns as a
// fileSchema ("message s3.inventory { optional int64 size; ... }").
func parquetFileSchema(ctx context.Context, loc string) (string, error) {
	obj, err := objio.Open(ctx, loc)
	if err != nil {
		return "", err
	}
	defer obj.Close()
	f, err := parquet.OpenFile(obj, obj.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return "", &inventory.DataError{File: loc, Offset: -1, Expected: "a Parquet file", Err: fmt.Errorf("%w: %v", inventory.ErrCorrupt, err)}
	}
	var b strings.Builder
	b.WriteString("message s3.inventory {")
	for _, c := range f.Root().Columns() {
		fmt.Fprintf(&b, " optional binary %s;", strings.ReplaceAll(c.Name(), ";", "_"))
	}
	b.WriteString(" }")
	return b.String(), nil
}

// catReport prints the rows of a report (or one-file report) through the
// inventory reader.
func catReport(ctx context.Context, w io.Writer, m *inventory.Manifest, o catOptions) error {
	var want inventory.FieldSet
	var order []inventory.Field
	for _, n := range o.columns {
		f, ok := inventory.LookupField(n)
		if !ok {
			return usagef("--columns: unknown column %q (inventory fields are bucket, key, version_id, size, last_modified_date, e_tag, storage_class, ...)", n)
		}
		if !m.Fields.Has(f) {
			return usagef("--columns: the report has no %s column (it has %v)", f.ColumnName(), m.Fields)
		}
		want |= inventory.Fields(f)
		order = append(order, f)
	}
	if want == 0 {
		want = m.Fields
	}
	r := inventory.NewReport(m, inventory.ReaderOptions{Fields: want, SkipChecksums: o.skipChecksums || len(m.Files) == 1 && m.Files[0].MD5checksum == ""})
	fields := r.Fields()
	if order == nil {
		order = fields.List()
	}
	idx := make([]int, len(order))
	names := make([][]byte, len(order))
	for i, f := range order {
		idx[i] = fields.ColumnIndex(f)
		names[i] = appendJSONString(nil, f.ColumnName())
	}
	var printed int64
	var line []byte
	err := r.Scan(ctx, func(rec arrow.RecordBatch) error {
		for i := 0; i < int(rec.NumRows()); i++ {
			if o.limit > 0 && printed == o.limit {
				return errLimit
			}
			line = append(line[:0], '{')
			for k, x := range idx {
				if k > 0 {
					line = append(line, ',')
				}
				line = append(line, names[k]...)
				line = append(line, ':')
				line = appendArrowValue(line, rec.Column(x), i)
			}
			line = append(line, '}', '\n')
			if _, err := w.Write(line); err != nil {
				return err
			}
			printed++
		}
		return nil
	})
	if errors.Is(err, errLimit) {
		return nil
	}
	return err
}

// appendArrowValue appends value i of an inventory column as JSON.
func appendArrowValue(dst []byte, col arrow.Array, i int) []byte {
	if col.IsNull(i) {
		return append(dst, "null"...)
	}
	switch a := col.(type) {
	case *array.String:
		return appendJSONBytes(dst, inventory.StringBytes(a, i))
	case *array.Boolean:
		return strconv.AppendBool(dst, a.Value(i))
	case *array.Int64:
		return strconv.AppendInt(dst, a.Value(i), 10)
	case *array.Timestamp:
		dst = append(dst, '"')
		dst = time.UnixMilli(int64(a.Value(i))).UTC().AppendFormat(dst, "2006-01-02T15:04:05.000Z07:00")
		return append(dst, '"')
	}
	return appendJSONString(dst, col.ValueStr(i))
}

func appendJSONString(dst []byte, s string) []byte { return appendJSONBytes(dst, []byte(s)) }

// appendJSONBytes appends s as a JSON string: quotes, backslashes and
// control characters escaped, invalid UTF-8 replaced by U+FFFD, and
// nothing else (no HTML escaping, so keys stay readable).
func appendJSONBytes(dst, s []byte) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20 || c == 0x7f:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, `\ufffd`...)
		} else if r == '\u2028' || r == '\u2029' {
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&15])
		} else {
			dst = append(dst, s[i:i+n]...)
		}
		i += n
	}
	return append(dst, '"')
}

// openORCFile opens an ORC file and returns its top-level column names and
// a function that closes it.
func openORCFile(ctx context.Context, loc string) (*orc.File, []string, func(), error) {
	obj, err := objio.Open(ctx, loc)
	if err != nil {
		return nil, nil, nil, err
	}
	f, err := orc.Open(obj, obj.Size(), nil)
	if err != nil {
		obj.Close()
		return nil, nil, nil, orcDataError(loc, -1, err)
	}
	return f, f.ColumnNames(), func() { obj.Close() }, nil
}

// orcDataError wraps an error of package orc as a *DataError naming the
// file (and the stripe, when i >= 0).
func orcDataError(loc string, stripe int, err error) error {
	var ce *orc.CorruptError
	if stripe >= 0 && (!errors.As(err, &ce) || ce.Stripe < 0) {
		err = fmt.Errorf("stripe %d: %w", stripe, err)
	}
	de := &inventory.DataError{File: loc, Offset: -1, Err: err}
	if errors.Is(err, orc.ErrCorrupt) {
		de.Err = fmt.Errorf("%w: %w", inventory.ErrCorrupt, err)
	}
	return de
}
