// Package orc reads Apache ORC files, and writes the subset of ORC that S3
// Inventory reports use. It is written from the ORC specification
// (https://orc.apache.org/specification/ORCv1/) and needs no generated
// protobuf code.
//
// It belongs to the inventory stage: an ORC inventory data file goes in,
// columnar batches come out, one per stripe.
//
// # Reading
//
// Open reads the file tail (postscript, footer, schema, stripe list):
//
//	f, err := orc.Open(r, size, nil)     // r is an io.ReaderAt
//	for i := range f.NumStripes() {
//		b, err := f.ReadStripe(i, []string{"key", "size"})
//		...
//	}
//
// ReadStripe decodes one stripe of the projected top-level columns into a
// Batch of Columns whose layout follows Apache Arrow (flat bytes plus int32
// offsets for strings, []int64 for integers, []bool validity), so memory
// is bounded by one stripe of the projected columns and building Arrow
// arrays needs no per-value conversion. ReadStripe is safe for concurrent
// use, so stripes can be decoded in parallel. See Column for the layout of
// each type.
//
// ReadStripeInto decodes into a Batch that it reuses: stripe after stripe
// into the same Batch, it allocates next to nothing. With
// ReadOptions.Dictionaries it leaves dictionary-encoded strings as their
// dictionary plus one index per row:
//
//	var b orc.Batch
//	opts := &orc.ReadOptions{Dictionaries: true}
//	for i := range f.NumStripes() {
//		if err := f.ReadStripeInto(&b, i, cols, opts); err != nil {
//			...
//		}
//		... // b's values are valid until the next call
//	}
//
// ZLIB chunks are inflated with Intel ISA-L in builds with -tags isal and
// cgo (see InflateImpl), several times faster than the pure-Go decoder.
//
// Supported: compression NONE, ZLIB, SNAPPY, LZ4 and ZSTD; encodings
// DIRECT, DICTIONARY, DIRECT_V2 and DICTIONARY_V2; integer RLE v1 and v2;
// types boolean, tinyint, smallint, int, bigint, float, double, string,
// varchar, char, binary, timestamp, timestamp with local time zone, date,
// decimal (up to 18 digits), struct, list and map. Not supported: union
// columns, LZO, column encryption (ErrUnsupportedType,
// ErrUnsupportedCompression, ErrUnsupportedEncoding).
//
// Timestamps are returned as instants (seconds and nanoseconds since the
// Unix epoch, UTC). ORC stores TIMESTAMP values relative to 2015-01-01
// 00:00:00 in the writer's time zone, which stripes record; for old files
// that do not, Options.DefaultTimezone is assumed.
//
// # Robustness
//
// Every length, count and offset read from the file is checked against the
// file, stripe or stream it must fit in before anything is allocated for
// it, and every decoder is bounds-checked: malformed input yields an error
// that unwraps to ErrCorrupt (a *CorruptError naming the section, stripe,
// column, stream and offset), never a panic or a hang.
//
// # Writing
//
// NewWriter writes a struct of string, bigint, boolean and timestamp
// columns in the layouts the Java writer uses for inventories: ZLIB,
// SNAPPY, LZ4, ZSTD or no compression, any compression block size from 64
// bytes, RLE v2 integers (PATCHED_BASE runs on request), dictionary or
// direct strings, empty dictionaries for columns null on every row, and
// PRESENT streams left out or always written; see WriterOptions.
package orc
