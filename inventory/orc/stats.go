package orc

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// Column statistics beyond counts: the minimum and maximum of string
// columns, per file (footer) and per stripe (the metadata section), as
// writers record them for readers to skip stripes (orc_proto.proto
// ColumnStatistics, StringStatistics, Metadata).

// Field numbers from orc_proto.proto.
const (
	csStringStatistics = 4

	ssMinimum    = 1
	ssMaximum    = 2
	ssLowerBound = 4
	ssUpperBound = 5

	mdStripeStats = 1
	ssColStats    = 1
)

// writerHive8732 is the first writer version whose string statistics are
// right: earlier writers merged the statistics of stripes wrongly
// (HIVE-8732), and readers ignore them.
const writerHive8732 = 1

// StringStats bound the values of a string column: every value v has
// Min <= v <= Max in unsigned byte order (the order of UTF-8 bytes). When
// the writer cut a long minimum or maximum short (ORC-203), Min and Max
// are the bounds it wrote instead, which still hold. HasMin and HasMax
// are false when the writer gave none (a column of nulls only).
type StringStats struct {
	Min, Max       []byte
	HasMin, HasMax bool
}

// parseColumnStats decodes one ColumnStatistics message.
func parseColumnStats(b []byte) (ColumnStats, error) {
	var cs ColumnStats
	err := walkFields(b, func(g field) error {
		switch {
		case g.num == csNumberOfValues && g.typ == protowire.VarintType:
			cs.NumValues = g.v
		case g.num == csHasNull && g.typ == protowire.VarintType:
			cs.HasNull = g.v != 0
		case g.num == csStringStatistics && g.typ == protowire.BytesType:
			ss, err := parseStringStats(g.b)
			if err != nil {
				return err
			}
			cs.String = &ss
		}
		return nil
	})
	return cs, err
}

func parseStringStats(b []byte) (StringStats, error) {
	var ss StringStats
	var lower, upper []byte
	var hasLower, hasUpper bool
	err := walkFields(b, func(g field) error {
		if g.typ != protowire.BytesType {
			return nil
		}
		v := append([]byte{}, g.b...)
		switch g.num {
		case ssMinimum:
			ss.Min, ss.HasMin = v, true
		case ssMaximum:
			ss.Max, ss.HasMax = v, true
		case ssLowerBound:
			lower, hasLower = v, true
		case ssUpperBound:
			upper, hasUpper = v, true
		}
		return nil
	})
	if !ss.HasMin && hasLower {
		ss.Min, ss.HasMin = lower, true
	}
	if !ss.HasMax && hasUpper {
		ss.Max, ss.HasMax = upper, true
	}
	return ss, err
}

// StringStatsUsable says whether the file's string statistics can be
// trusted (the writer is not older than the fix of HIVE-8732).
func (f *File) StringStatsUsable() bool { return f.ps.writerVersion >= writerHive8732 }

// MetadataLength is the size of the file's metadata section (the stripe
// statistics, compressed), 0 when the file has none.
func (f *File) MetadataLength() int64 { return int64(f.ps.metadataLength) }

// StripeStats reads the metadata section and returns the statistics of
// each stripe, indexed by stripe and then by column id (0 is the root
// struct); nil when the file has no metadata section. A section that
// lists another number of stripes than the footer, or does not decode,
// is an error wrapping ErrCorrupt.
func (f *File) StripeStats() ([][]ColumnStats, error) {
	n := f.ps.metadataLength
	if n == 0 {
		return nil, nil
	}
	w := where{section: "metadata", stripe: -1, column: -1, base: f.metaOff}
	raw := make([]byte, n)
	if err := f.readAt(raw, f.metaOff); err != nil {
		return nil, err
	}
	buf, err := f.codec.decompress(raw)
	if err != nil {
		return nil, w.wrap(err)
	}
	var out [][]ColumnStats
	err = walkFields(buf, func(g field) error {
		if g.num != mdStripeStats {
			return nil
		}
		if err := wantBytes(g); err != nil {
			return err
		}
		var cols []ColumnStats
		err := walkFields(g.b, func(h field) error {
			if h.num != ssColStats {
				return nil
			}
			if err := wantBytes(h); err != nil {
				return err
			}
			cs, err := parseColumnStats(h.b)
			cols = append(cols, cs)
			return err
		})
		out = append(out, cols)
		return err
	})
	if err != nil {
		return nil, where{section: "metadata", stripe: -1, column: -1}.wrap(err)
	}
	if len(out) != len(f.stripes) {
		return nil, w.errorf(-1, "%s", fmt.Sprintf("statistics of %d stripes, the footer lists %d", len(out), len(f.stripes)))
	}
	return out, nil
}
