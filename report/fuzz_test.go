package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// seedFiles adds every result CSV (or manifest.json) under testdata.
func seedFiles(f *testing.F, suffix string) {
	filepath.Walk("testdata", func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && filepath.Ext(p) == suffix {
			if raw, err := os.ReadFile(p); err == nil {
				f.Add(raw)
			}
		}
		return nil
	})
}

// FuzzResultReader checks that the row parser never panics, that every
// error it returns is a *DataError with a known sentinel, and that the
// rows it accepts are consistent (lines increase, keys non-empty, valid
// statuses: 100 to 999, or 0 for a request that got no answer).
func FuzzResultReader(f *testing.F) {
	seedFiles(f, ".csv")
	for _, s := range []string{"", "\n", "a,b,,failed,503,X,\"m\"\"q\"\r\n", "a,b,,succeeded,200,,\"", `a,b,c,d,e,f,"g`, "b,k,,failed,Code,404,m\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, br := range []int{1, 3} {
			rr := NewResultReader(bytes.NewReader(data), "fuzz.csv", ReaderOptions{BatchRows: br})
			var b Batch
			last := int64(0)
			for {
				err := rr.ReadBatch(&b)
				for _, r := range b.Rows {
					// HTTP 0: no answer, as an engine records a transport failure.
					if r.Line <= last || len(r.Key) == 0 || len(r.Bucket) == 0 || r.HTTPStatus != 0 && (r.HTTPStatus < 100 || r.HTTPStatus > 999) {
						t.Fatalf("bad row %+v after line %d", r, last)
					}
					last = r.Line
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					var de *DataError
					if !errors.As(err, &de) {
						t.Fatalf("error %T %v is not a *DataError", err, err)
					}
					if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrFieldCount) && !errors.Is(err, ErrBadValue) && !errors.Is(err, ErrBadEscape) {
						t.Fatalf("unexpected sentinel: %v", err)
					}
					if err2 := rr.ReadBatch(&b); err2 != err {
						t.Fatalf("error not sticky: %v then %v", err, err2)
					}
					break
				}
			}
		}
	})
}

// FuzzParseReportManifest checks that the report manifest parser never
// panics and that what it accepts survives a JSON round trip.
func FuzzParseReportManifest(f *testing.F) {
	seedFiles(f, ".json")
	f.Add([]byte(`{"Format":"Report_CSV_20180820","Results":[]}`))
	f.Add([]byte(`{"Format":"Report_CSV_20180820","Results":[{"TaskExecutionStatus":"failed","Key":"../x","MD5Checksum":"00000000000000000000000000000000"}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := ParseReportManifest(raw, "manifest.json")
		if err != nil {
			if !errors.Is(err, ErrReportManifest) {
				t.Fatalf("error without ErrReportManifest: %v", err)
			}
			return
		}
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := ParseReportManifest(again, "again.json")
		if err != nil {
			t.Fatalf("re-marshalled manifest does not parse: %v", err)
		}
		if len(m2.Results) != len(m.Results) || m2.Format != m.Format {
			t.Fatalf("round trip changed the manifest")
		}
	})
}
