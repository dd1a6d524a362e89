package inventory

import (
	"encoding/base64"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/s3batchkit/s3batchkit/inventory/orc"
)

// JSON renderings of rows, one object per row (JSON lines): of inventory
// batches, values as the planner sees them, and of ORC files as stored.

// JSONRows renders rows of inventory batches as JSON objects whose keys
// are the fields' snake_case names, in a chosen order: strings as JSON
// strings, booleans, integers, timestamps as RFC 3339 UTC with
// milliseconds, nulls as null.
type JSONRows struct {
	idx   []int    // column of each field in the batches
	names [][]byte // the fields' names, as JSON strings
}

// NewJSONRows renders the fields in order (each in fields) of batches
// projected to fields.
func NewJSONRows(fields FieldSet, order []Field) *JSONRows {
	j := &JSONRows{idx: make([]int, len(order)), names: make([][]byte, len(order))}
	for i, f := range order {
		j.idx[i] = fields.ColumnIndex(f)
		j.names[i] = AppendJSONString(nil, f.ColumnName())
	}
	return j
}

// AppendRow appends row i of rec as a JSON object (no newline).
func (j *JSONRows) AppendRow(dst []byte, rec arrow.RecordBatch, i int) []byte {
	dst = append(dst, '{')
	for k, x := range j.idx {
		if k > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, j.names[k]...)
		dst = append(dst, ':')
		dst = AppendJSONValue(dst, rec.Column(x), i)
	}
	return append(dst, '}')
}

// AppendJSONValue appends value i of an inventory column as JSON.
func AppendJSONValue(dst []byte, col arrow.Array, i int) []byte {
	if col.IsNull(i) {
		return append(dst, "null"...)
	}
	switch a := col.(type) {
	case *array.String:
		return AppendJSONBytes(dst, StringBytes(a, i))
	case *array.Boolean:
		return strconv.AppendBool(dst, a.Value(i))
	case *array.Int64:
		return strconv.AppendInt(dst, a.Value(i), 10)
	case *array.Timestamp:
		dst = append(dst, '"')
		dst = time.UnixMilli(int64(a.Value(i))).UTC().AppendFormat(dst, "2006-01-02T15:04:05.000Z07:00")
		return append(dst, '"')
	}
	return AppendJSONString(dst, col.ValueStr(i))
}

// AppendJSONString appends s as a JSON string (see AppendJSONBytes).
func AppendJSONString(dst []byte, s string) []byte { return AppendJSONBytes(dst, []byte(s)) }

// AppendJSONBytes appends s as a JSON string: quotes, backslashes and
// control characters escaped, invalid UTF-8 replaced by U+FFFD, and
// nothing else (no HTML escaping, so keys stay readable).
func AppendJSONBytes(dst, s []byte) []byte {
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

// AppendORCJSON appends row i of an ORC column as stored, as JSON:
// strings, numbers, booleans, binary (base64), dates, timestamps (RFC
// 3339, UTC, nanoseconds), decimals (exact numbers), and nested structs
// (objects), lists (arrays) and maps (arrays of {"key":…,"value":…});
// NaN and infinities as strings.
func AppendORCJSON(dst []byte, c *orc.Column, i int) []byte {
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
		return AppendJSONBytes(dst, c.Value(i))
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
			dst = AppendJSONString(dst, c.Type.FieldNames[k])
			dst = append(dst, ':')
			dst = AppendORCJSON(dst, ch, i)
		}
		return append(dst, '}')
	case orc.List:
		dst = append(dst, '[')
		for k := c.Offsets[i]; k < c.Offsets[i+1]; k++ {
			if k > c.Offsets[i] {
				dst = append(dst, ',')
			}
			dst = AppendORCJSON(dst, c.Children[0], int(k))
		}
		return append(dst, ']')
	case orc.Map:
		dst = append(dst, '[')
		for k := c.Offsets[i]; k < c.Offsets[i+1]; k++ {
			if k > c.Offsets[i] {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"key":`...)
			dst = AppendORCJSON(dst, c.Children[0], int(k))
			dst = append(dst, `,"value":`...)
			dst = AppendORCJSON(dst, c.Children[1], int(k))
			dst = append(dst, '}')
		}
		return append(dst, ']')
	}
	return AppendJSONString(dst, "<"+c.Type.Kind.String()+">")
}

// appendJSONFloat appends f in its shortest form; NaN and infinities,
// which JSON cannot hold, as strings.
func appendJSONFloat(dst []byte, f float64, bits int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return AppendJSONString(dst, strconv.FormatFloat(f, 'g', -1, bits))
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
