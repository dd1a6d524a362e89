package inventory

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/parquet-go/parquet-go/format"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/inventory/orc"
)

// Key statistics of data files, read from their footers without reading
// their rows: how many rows each unit (a Parquet row group, an ORC
// stripe) holds and, where the writer recorded them, the smallest and the
// largest bucket and key among them (docs/formats.md#orc-and-parquet-data-files). A distributed
// plan (partition.Split) uses them to pick split keys and to give each
// range only the units whose keys can fall in it.

// Unit kinds of FileStats.
const (
	UnitRowGroup = "row_group"
	UnitStripe   = "stripe"
	UnitFile     = "file"
)

// UnitStats describe one unit of a data file.
type UnitStats struct {
	Rows int64
	// Known says that every row of the unit has a bucket in [MinBucket,
	// MaxBucket] and a key in [MinKey, MaxKey] (unsigned byte order).
	// False when the writer recorded no bounds (or ones that cannot be
	// trusted): the unit may then hold any key.
	Known                bool
	MinBucket, MaxBucket []byte
	MinKey, MaxKey       []byte
}

// FileStats describe one data file.
type FileStats struct {
	// Unit is UnitRowGroup, UnitStripe or UnitFile (CSV: no units, the
	// file is read whole; Rows is then -1, unknown).
	Unit  string
	Rows  int64
	Units []UnitStats
}

// ReadFileStats reads the footer of data file i of m and returns its key
// statistics. A CSV file has none: its statistics say only that it is one
// unit of unknown rows. The file is read through oc (nil: see objio).
// Errors are those of opening the file, and *DataErrors for footers that
// do not decode.
func ReadFileStats(ctx context.Context, oc *objio.Client, m *Manifest, i int) (*FileStats, error) {
	df := &m.Files[i]
	switch m.Format {
	case FormatCSV:
		return &FileStats{Unit: UnitFile, Rows: -1}, nil
	case FormatParquet:
		obj, err := oc.Open(ctx, df.Location)
		if err != nil {
			return nil, err
		}
		defer obj.Close()
		return parquetStats(obj, obj.Size(), df.Location)
	case FormatORC:
		obj, err := oc.Open(ctx, df.Location)
		if err != nil {
			return nil, err
		}
		defer obj.Close()
		return orcStats(obj, obj.Size(), df.Location)
	}
	return nil, fmt.Errorf("%s: %w %q", df.Location, ErrFormat, m.FileFormat)
}

// ParquetFileStats is ReadFileStats for one Parquet file read through ra.
func ParquetFileStats(ra SizedReaderAt, name string) (*FileStats, error) {
	return parquetStats(ra, ra.Size(), name)
}

// ORCFileStats is ReadFileStats for one ORC file read through ra.
func ORCFileStats(ra SizedReaderAt, name string) (*FileStats, error) {
	return orcStats(ra, ra.Size(), name)
}

func parquetStats(ra interface {
	ReadAt([]byte, int64) (int, error)
}, size int64, name string) (st *FileStats, err error) {
	defer func() {
		if p := recover(); p != nil {
			st, err = nil, newInternalError(name, p)
		}
	}()
	r := &ParquetReader{name: name, ra: ra, size: size, rg: -1}
	if err := r.readFooter(); err != nil {
		return nil, err
	}
	md := &r.meta
	// The leaf columns of bucket and key: top-level, one path element.
	bucketCol, keyCol := -1, -1
	if len(md.RowGroups) > 0 {
		for j, c := range md.RowGroups[0].Columns {
			if len(c.MetaData.PathInSchema) != 1 {
				continue
			}
			switch f, ok := LookupField(c.MetaData.PathInSchema[0]); {
			case ok && f == Bucket:
				bucketCol = j
			case ok && f == Key:
				keyCol = j
			}
		}
	}
	// min_value and max_value hold in the column order; a byte array's
	// TypeDefinedOrder is unsigned bytes. The deprecated min and max were
	// compared signed by old writers: never used.
	ordered := func(col int) bool {
		if col < 0 {
			return false
		}
		if len(md.ColumnOrders) == 0 {
			return true // no orders given: min_value/max_value use the type's
		}
		if col >= len(md.ColumnOrders) {
			return false
		}
		_, ok := md.ColumnOrders[col].Value.(*format.TypeDefinedOrder)
		return ok
	}
	usable := ordered(bucketCol) && ordered(keyCol)
	st = &FileStats{Unit: UnitRowGroup, Rows: md.NumRows, Units: make([]UnitStats, len(md.RowGroups))}
	for i := range md.RowGroups {
		rg := &md.RowGroups[i]
		u := UnitStats{Rows: rg.NumRows}
		if usable && bucketCol < len(rg.Columns) && keyCol < len(rg.Columns) {
			b, k := &rg.Columns[bucketCol].MetaData.Statistics, &rg.Columns[keyCol].MetaData.Statistics
			if len(b.MinValue) > 0 && len(b.MaxValue) > 0 && len(k.MinValue) > 0 && len(k.MaxValue) > 0 &&
				bytes.Compare(b.MinValue, b.MaxValue) <= 0 && bytes.Compare(k.MinValue, k.MaxValue) <= 0 {
				u.Known = true
				u.MinBucket, u.MaxBucket = bytes.Clone(b.MinValue), bytes.Clone(b.MaxValue)
				u.MinKey, u.MaxKey = bytes.Clone(k.MinValue), bytes.Clone(k.MaxValue)
			}
		}
		st.Units[i] = u
	}
	return st, nil
}

func orcStats(ra interface {
	ReadAt([]byte, int64) (int, error)
}, size int64, name string) (st *FileStats, err error) {
	defer func() {
		if p := recover(); p != nil {
			st, err = nil, newInternalError(name, p)
		}
	}()
	f, err := orc.Open(ra, size, nil)
	if err != nil {
		return nil, ORCError(name, -1, err)
	}
	bucketID, keyID := -1, -1
	if root := f.Schema(); root.Kind == orc.Struct {
		for i, n := range root.FieldNames {
			switch fld, ok := LookupField(n); {
			case ok && fld == Bucket:
				bucketID = root.Children[i].ID
			case ok && fld == Key:
				keyID = root.Children[i].ID
			}
		}
	}
	st = &FileStats{Unit: UnitStripe, Rows: f.NumRows(), Units: make([]UnitStats, f.NumStripes())}
	// bounds returns the bounds of bucket and key in one list of column
	// statistics, when both are there.
	bounds := func(cols []orc.ColumnStats) (UnitStats, bool) {
		if bucketID < 0 || keyID < 0 || bucketID >= len(cols) || keyID >= len(cols) {
			return UnitStats{}, false
		}
		b, k := cols[bucketID].String, cols[keyID].String
		if b == nil || k == nil || !b.HasMin || !b.HasMax || !k.HasMin || !k.HasMax ||
			bytes.Compare(b.Min, b.Max) > 0 || bytes.Compare(k.Min, k.Max) > 0 {
			return UnitStats{}, false
		}
		return UnitStats{Known: true, MinBucket: b.Min, MaxBucket: b.Max, MinKey: k.Min, MaxKey: k.Max}, true
	}
	var file UnitStats
	fileKnown := false
	var stripes [][]orc.ColumnStats
	if f.StringStatsUsable() {
		file, fileKnown = bounds(f.Stats())
		if stripes, err = f.StripeStats(); err != nil {
			var ce *orc.CorruptError
			if !errors.As(err, &ce) && !errors.Is(err, orc.ErrCorrupt) {
				return nil, ORCError(name, -1, err)
			}
			// Damaged statistics: read as if there were none; the reader
			// checks the stripes themselves.
			stripes = nil
		}
	}
	for s := range st.Units {
		u, ok := UnitStats{}, false
		if s < len(stripes) {
			u, ok = bounds(stripes[s])
		}
		if !ok && fileKnown {
			// The file's bounds hold for each of its stripes.
			u, ok = file, true
		}
		u.Known = ok
		u.Rows = f.Stripe(s).NumRows
		st.Units[s] = u
	}
	return st, nil
}
