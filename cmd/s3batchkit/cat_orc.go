package main

import (
	"encoding/base64"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/s3batchkit/s3batchkit/inventory/orc"
)

// catRawORC prints every row of an ORC file column for column as stored,
// stripe by stripe: one JSON object per row keyed by the top-level column
// names, or one bare value per row when the root is not a struct.
func catRawORC(w io.Writer, f *orc.File, o catOptions) error {
	names := f.ColumnNames()
	bare := len(names) == 1 && names[0] == "" && f.Schema().Kind != orc.Struct
	var cols []string
	if len(o.columns) > 0 {
		if bare {
			return usagef("--columns: the file's root is a %v, not a struct of columns", f.Schema())
		}
		have := map[string]bool{}
		for _, n := range names {
			have[n] = true
		}
		for _, n := range o.columns {
			if !have[n] {
				return usagef("--columns: the file has no column %q (it has %v)", n, f.Schema())
			}
		}
		cols = o.columns
	}
	var printed int64
	var line []byte
	for s := 0; s < f.NumStripes(); s++ {
		b, err := f.ReadStripe(s, cols)
		if err != nil {
			return orcDataError(o.loc, s, err)
		}
		keys := make([][]byte, len(b.Names))
		for k, n := range b.Names {
			keys[k] = appendJSONString(nil, n)
		}
		for i := 0; i < b.NumRows; i++ {
			if o.limit > 0 && printed == o.limit {
				return nil
			}
			if bare {
				line = appendORCValue(line[:0], b.Columns[0], i)
			} else {
				line = append(line[:0], '{')
				for k, c := range b.Columns {
					if k > 0 {
						line = append(line, ',')
					}
					line = append(line, keys[k]...)
					line = append(line, ':')
					line = appendORCValue(line, c, i)
				}
				line = append(line, '}')
			}
			line = append(line, '\n')
			if _, err := w.Write(line); err != nil {
				return err
			}
			printed++
		}
	}
	return nil
}

// appendORCValue appends row i of column c as JSON.
func appendORCValue(dst []byte, c *orc.Column, i int) []byte {
	if c.IsNull(i) {
		return append(dst, "null"...)
	}
	switch c.Type.Kind {
	case orc.Boolean:
		return strconv.AppendBool(dst, c.Bool[i])
	case orc.Byte, orc.Short, orc.Int, orc.Long:
		return strconv.AppendInt(dst, c.Int64[i], 10)
	case orc.Float:
		return appendJSONFloat(dst, float64(c.Float32[i]), 32)
	case orc.Double:
		return appendJSONFloat(dst, c.Float64[i], 64)
	case orc.String, orc.Varchar, orc.Char:
		return appendJSONBytes(dst, c.Value(i))
	case orc.Binary:
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, c.Value(i))
		return append(dst, '"')
	case orc.Date:
		dst = append(dst, '"')
		dst = time.Unix(c.Int64[i]*86400, 0).UTC().AppendFormat(dst, "2006-01-02")
		return append(dst, '"')
	case orc.Timestamp, orc.TimestampInstant:
		dst = append(dst, '"')
		dst = time.Unix(c.Int64[i], int64(c.Nanos[i])).UTC().AppendFormat(dst, time.RFC3339Nano)
		return append(dst, '"')
	case orc.Decimal:
		return appendDecimal(dst, c.Int64[i], c.Type.Scale)
	case orc.Struct:
		dst = append(dst, '{')
		for k, ch := range c.Children {
			if k > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, c.Type.FieldNames[k])
			dst = append(dst, ':')
			dst = appendORCValue(dst, ch, i)
		}
		return append(dst, '}')
	case orc.List:
		dst = append(dst, '[')
		for k := c.Offsets[i]; k < c.Offsets[i+1]; k++ {
			if k > c.Offsets[i] {
				dst = append(dst, ',')
			}
			dst = appendORCValue(dst, c.Children[0], int(k))
		}
		return append(dst, ']')
	case orc.Map:
		dst = append(dst, '[')
		for k := c.Offsets[i]; k < c.Offsets[i+1]; k++ {
			if k > c.Offsets[i] {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"key":`...)
			dst = appendORCValue(dst, c.Children[0], int(k))
			dst = append(dst, `,"value":`...)
			dst = appendORCValue(dst, c.Children[1], int(k))
			dst = append(dst, '}')
		}
		return append(dst, ']')
	}
	return appendJSONString(dst, "<"+c.Type.Kind.String()+">")
}

// appendJSONFloat appends f in its shortest form; NaN and infinities,
// which JSON cannot hold, as strings.
func appendJSONFloat(dst []byte, f float64, bits int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return appendJSONString(dst, strconv.FormatFloat(f, 'g', -1, bits))
	}
	return strconv.AppendFloat(dst, f, 'g', -1, bits)
}

// appendDecimal appends unscaled/10^scale as an exact JSON number.
func appendDecimal(dst []byte, unscaled int64, scale int) []byte {
	if scale <= 0 {
		return strconv.AppendInt(dst, unscaled, 10)
	}
	var digits []byte
	if unscaled < 0 {
		dst = append(dst, '-')
		digits = strconv.AppendUint(nil, uint64(-(unscaled+1))+1, 10)
	} else {
		digits = strconv.AppendUint(nil, uint64(unscaled), 10)
	}
	for len(digits) <= scale {
		digits = append([]byte{'0'}, digits...)
	}
	dst = append(dst, digits[:len(digits)-scale]...)
	dst = append(dst, '.')
	return append(dst, digits[len(digits)-scale:]...)
}
