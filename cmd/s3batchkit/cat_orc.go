package main

import (
	"errors"
	"io"

	"github.com/s3batchkit/s3batchkit/inventory"
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
	var keys [][]byte
	err := inventory.ScanORCStripes(f, o.loc, cols, func(b *orc.Batch) error {
		keys = keys[:0]
		for _, n := range b.Names {
			keys = append(keys, inventory.AppendJSONString(nil, n))
		}
		for i := 0; i < b.NumRows; i++ {
			if o.limit > 0 && printed == o.limit {
				return errLimit
			}
			if bare {
				line = inventory.AppendORCJSON(line[:0], b.Columns[0], i)
			} else {
				line = append(line[:0], '{')
				for k, c := range b.Columns {
					if k > 0 {
						line = append(line, ',')
					}
					line = append(line, keys[k]...)
					line = append(line, ':')
					line = inventory.AppendORCJSON(line, c, i)
				}
				line = append(line, '}')
			}
			line = append(line, '\n')
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
