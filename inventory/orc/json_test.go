package orc

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// rowValue renders row i of c the way the reference Java tool prints it in
// its JSON dump, as Go values: int64, float32, float64, *big.Rat
// (decimals), string (strings, timestamps and dates), []any (lists, maps
// as {key,value} objects, and binary as byte values), map[string]any
// (structs), bool and nil. Timestamps are printed as wall-clock time in tz.
func rowValue(c *Column, i int, tz *time.Location) any {
	if c.IsNull(i) {
		return nil
	}
	switch c.Type.Kind {
	case Boolean:
		return c.Bool[i]
	case Byte, Short, Int, Long:
		return c.Int64[i]
	case Float:
		return c.Float32[i]
	case Double:
		return c.Float64[i]
	case String, Varchar, Char:
		return string(c.Value(i))
	case Binary:
		v := c.Value(i)
		out := make([]any, len(v))
		for k, b := range v {
			out[k] = int64(b)
		}
		return out
	case Date:
		return time.Unix(c.Int64[i]*86400, 0).UTC().Format("2006-01-02")
	case Timestamp, TimestampInstant:
		return formatTimestamp(c.Int64[i], c.Nanos[i], tz)
	case Decimal:
		return new(big.Rat).SetFrac(big.NewInt(c.Int64[i]), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(c.Type.Scale)), nil))
	case Struct:
		m := make(map[string]any, len(c.Children))
		for k, ch := range c.Children {
			m[c.Type.FieldNames[k]] = rowValue(ch, i, tz)
		}
		return m
	case List:
		out := []any{}
		for k := c.Offsets[i]; k < c.Offsets[i+1]; k++ {
			out = append(out, rowValue(c.Children[0], int(k), tz))
		}
		return out
	case Map:
		out := []any{}
		for k := c.Offsets[i]; k < c.Offsets[i+1]; k++ {
			out = append(out, map[string]any{
				"key":   rowValue(c.Children[0], int(k), tz),
				"value": rowValue(c.Children[1], int(k), tz),
			})
		}
		return out
	}
	return fmt.Sprintf("<%v>", c.Type.Kind)
}

// formatTimestamp prints like java.sql.Timestamp.toString: fraction digits
// as needed, at least one.
func formatTimestamp(sec int64, nanos int32, tz *time.Location) string {
	t := time.Unix(sec, int64(nanos)).In(tz)
	s := t.Format("2006-01-02 15:04:05")
	frac := strings.TrimRight(fmt.Sprintf("%09d", nanos), "0")
	if frac == "" {
		frac = "0"
	}
	return s + "." + frac
}

// batchRow renders row i of a batch: an object keyed by column name, or
// the bare value when the file's root is not a struct.
func batchRow(b *Batch, i int, tz *time.Location) any {
	if len(b.Names) == 1 && b.Names[0] == "" {
		return rowValue(b.Columns[0], i, tz)
	}
	m := make(map[string]any, len(b.Columns))
	for k, c := range b.Columns {
		m[b.Names[k]] = rowValue(c, i, tz)
	}
	return m
}

// compareJSON compares a rendered value with one decoded from the
// expected JSON (decoded with UseNumber). It returns "" when equal.
func compareJSON(got, want any, path string) string {
	switch w := want.(type) {
	case nil:
		if got != nil {
			return fmt.Sprintf("%s: got %v, want null", path, got)
		}
		return ""
	case json.Number:
		switch g := got.(type) {
		case int64:
			if wi, err := strconv.ParseInt(string(w), 10, 64); err != nil || wi != g {
				return fmt.Sprintf("%s: got %d, want %s", path, g, w)
			}
		case float32:
			wf, err := strconv.ParseFloat(string(w), 64)
			// The reference tool prints floats with 7 significant digits.
			g7, _ := strconv.ParseFloat(strconv.FormatFloat(float64(g), 'g', 7, 64), 64)
			if err != nil || (wf != g7 && float32(wf) != g) {
				return fmt.Sprintf("%s: got %v, want %s", path, g, w)
			}
		case float64:
			wf, err := strconv.ParseFloat(string(w), 64)
			if err != nil || wf != g {
				return fmt.Sprintf("%s: got %v, want %s", path, g, w)
			}
		case *big.Rat:
			wr, ok := new(big.Rat).SetString(string(w))
			if !ok || wr.Cmp(g) != 0 {
				return fmt.Sprintf("%s: got %v, want %s", path, g.FloatString(6), w)
			}
		default:
			return fmt.Sprintf("%s: got %T %v, want number %s", path, got, got, w)
		}
		return ""
	case string, bool:
		if got != want {
			return fmt.Sprintf("%s: got %#v, want %#v", path, got, want)
		}
		return ""
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s: got %#v, want %#v", path, got, want)
		}
		for k := range w {
			if d := compareJSON(g[k], w[k], fmt.Sprintf("%s[%d]", path, k)); d != "" {
				return d
			}
		}
		return ""
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s: got %#v, want %#v", path, got, want)
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				return fmt.Sprintf("%s: missing field %q", path, k)
			}
			if d := compareJSON(gv, wv, path+"."+k); d != "" {
				return d
			}
		}
		return ""
	}
	return fmt.Sprintf("%s: unexpected JSON value %T", path, want)
}
