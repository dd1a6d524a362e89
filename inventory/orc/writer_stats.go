package orc

import "bytes"

// String statistics of the writer (WriterOptions.StringStats): each
// string column's smallest and largest value per stripe, in the metadata
// section, and per file, in the footer, as the Java writer records them
// for readers that skip stripes (File.StripeStats reads them back).

// strStat is the minimum and maximum of a string column's values.
type strStat struct {
	min, max []byte
	has      bool
}

func (s *strStat) add(v []byte) {
	if !s.has {
		s.min, s.max, s.has = bytes.Clone(v), bytes.Clone(v), true
		return
	}
	if bytes.Compare(v, s.min) < 0 {
		s.min = bytes.Clone(v)
	}
	if bytes.Compare(v, s.max) > 0 {
		s.max = bytes.Clone(v)
	}
}

func (s *strStat) merge(o strStat) {
	if o.has {
		s.add(o.min)
		s.add(o.max)
	}
}

// colStat is one column's statistics of one stripe.
type colStat struct {
	values  uint64
	hasNull bool
	str     strStat
}

// stripeStats computes the statistics of the buffered stripe, before it
// is encoded, and adds its string bounds to the file's.
func (wr *Writer) stripeStats() {
	stats := make([]colStat, len(wr.cols))
	if wr.fileStr == nil {
		wr.fileStr = make([]strStat, len(wr.cols))
	}
	for k, c := range wr.cols {
		s := &stats[k]
		s.values = uint64(c.n)
		for _, v := range c.valid {
			if !v {
				s.values--
				s.hasNull = true
			}
		}
		if c.t.Kind == String || c.t.Kind == Varchar {
			var off int64
			for _, n := range c.lengths {
				s.str.add(c.bytes[off : off+n])
				off += n
			}
			wr.fileStr[k].merge(s.str)
		}
	}
	wr.stripeStat = append(wr.stripeStat, stats)
}

// appendStringStats appends a StringStatistics field for s, if it has
// values.
func appendStringStats(cs []byte, s strStat) []byte {
	if !s.has {
		return cs
	}
	var ss []byte
	ss = appendBytesField(ss, ssMinimum, s.min)
	ss = appendBytesField(ss, ssMaximum, s.max)
	return appendBytesField(cs, csStringStatistics, ss)
}

// metadataSection renders the Metadata message: per stripe, the root's
// and each column's statistics.
func (wr *Writer) metadataSection() []byte {
	var md []byte
	for i, stats := range wr.stripeStat {
		var st []byte
		var root []byte
		root = appendVarintField(root, csNumberOfValues, wr.stripes[i].numRows)
		root = appendVarintField(root, csHasNull, 0)
		st = appendBytesField(st, ssColStats, root)
		for _, s := range stats {
			var cs []byte
			cs = appendVarintField(cs, csNumberOfValues, s.values)
			hn := uint64(0)
			if s.hasNull {
				hn = 1
			}
			cs = appendVarintField(cs, csHasNull, hn)
			cs = appendStringStats(cs, s.str)
			st = appendBytesField(st, ssColStats, cs)
		}
		md = appendBytesField(md, mdStripeStats, st)
	}
	return md
}
