package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/urfave/cli/v2"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/inventory"
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

Examples (paths as the examples of 's3batchkit gen' make them):
   # the first 10 rows of a report
   s3batchkit cat --limit 10 inv/src-bucket/cfg/2024-11-01T01-00Z/manifest.json

   # keys, sizes and storage classes of one ORC data file
   s3batchkit cat --columns key,size,storage_class inv-orc/data/*.orc

   # a CSV data file without its manifest
   s3batchkit cat --limit 5 --schema "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag, StorageClass, IsMultipartUploaded, ReplicationStatus, EncryptionStatus, ObjectLockRetainUntilDate, ObjectLockMode, ObjectLockLegalHoldStatus, IntelligentTieringAccessTier, BucketKeyStatus, ChecksumAlgorithm" \
       inv/versioned-bucket/cfg/2024-11-01T01-00Z/data/*.csv.gz

   # any ORC file, every column as stored
   s3batchkit cat --raw --limit 5 inv-orc/data/*.orc

   # the rows under one prefix, with jq
   s3batchkit cat inv/src-bucket/cfg/2024-11-01T01-00Z/manifest.json | jq -c 'select(.key | startswith("images/"))'`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "columns", Aliases: []string{"c"}, Usage: "print only these columns, in this order (`NAME`s in any spelling: key, Key, storage_class; commas allowed)"},
			&cli.GenericFlag{Name: "limit", Aliases: []string{"n"}, Value: &countValue{}, Usage: "stop after `N` rows (0: all)"},
			&cli.StringFlag{Name: "format", Usage: "data file format `FORMAT`: csv, parquet or orc (default: from the extension or the file's first bytes)"},
			&cli.StringFlag{Name: "schema", Usage: "the columns of a CSV data file, as fileSchema spells them: `FIELDS` such as \"Bucket, Key, Size\""},
			&cli.BoolFlag{Name: "raw", Usage: "ORC: print every column as stored, not as inventory fields"},
			&cli.StringFlag{Name: "data-root", Usage: "`DIR` that files[].key of a manifest is relative to (default: search the manifest's ancestor folders)"},
			&cli.BoolFlag{Name: "no-verify", Usage: "skip manifest.checksum and data file MD5 checks"},
		},
		Before: func(c *cli.Context) error {
			if c.NArg() != 1 {
				for _, a := range c.Args().Tail() {
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
				raw: c.Bool("raw"), dataRoot: c.String("data-root"), skipChecksums: c.Bool("no-verify"), io: storage(c),
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
	io            *objio.Client
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
		m, err = inventory.OpenManifest(ctx, o.loc, inventory.ManifestOptions{DataRoot: o.dataRoot, SkipChecksums: o.skipChecksums, IO: o.io})
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
			f, closer, err := inventory.OpenORCFile(ctx, o.io, o.loc)
			if err != nil {
				return err
			}
			defer closer.Close()
			if o.raw || !inventory.HasInventoryColumns(f.ColumnNames()) {
				return catRawORC(w, f, o)
			}
			schema = f.Schema().String()
		case inventory.FormatParquet:
			if schema, err = inventory.ParquetFileSchema(ctx, o.io, o.loc); err != nil {
				return err
			}
		}
		if o.raw && format != inventory.FormatORC {
			return usagef("--raw applies to ORC files only")
		}
		if m, err = inventory.SingleFileManifest(o.loc, format, schema); err != nil {
			return err
		}
	}
	return catReport(ctx, w, m, o)
}

// catFormat decides whether loc is a manifest, and otherwise the data
// file's format: --format, else inventory.SniffFormat.
func catFormat(ctx context.Context, o catOptions) (inventory.Format, bool, error) {
	if o.format != "" {
		f, err := inventory.ParseFormat(o.format)
		return f, false, err
	}
	f, manifest, err := inventory.SniffFormat(ctx, o.io, o.loc)
	if errors.Is(err, inventory.ErrUnknownDataFile) {
		return "", false, usagef("cannot tell the format of %s from its name or first bytes: give --format csv, parquet or orc", o.loc)
	}
	return f, manifest, err
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
	r := inventory.NewReport(m, inventory.ReaderOptions{IO: o.io, Fields: want, SkipChecksums: o.skipChecksums || len(m.Files) == 1 && m.Files[0].MD5checksum == ""})
	fields := r.Fields()
	if order == nil {
		order = fields.List()
	}
	rows := inventory.NewJSONRows(fields, order)
	var printed int64
	var line []byte
	err := r.Scan(ctx, func(rec arrow.RecordBatch) error {
		for i := 0; i < int(rec.NumRows()); i++ {
			if o.limit > 0 && printed == o.limit {
				return errLimit
			}
			line = append(rows.AppendRow(line[:0], rec, i), '\n')
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
