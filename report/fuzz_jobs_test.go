package report

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// FuzzParseJobs checks that the jobs.json reader of report never panics,
// that its errors wrap ErrJobs, and that an accepted index survives a JSON
// round trip unchanged.
func FuzzParseJobs(f *testing.F) {
	f.Add([]byte(`{"jobs":[]}`))
	f.Add([]byte(`{"version":1,"jobs":[{"shard":"shards/copy/00000.csv","route":"copy","job_id":"j-1","report_prefix":"s3://r/p","status":"New"}]}`))
	f.Add([]byte(`{"jobs":[{"job_id":"j"}]}`))
	f.Add([]byte(`{"jobs":[{"job_id":"j","report_prefix":"../x","route":"../../etc"}]}`))
	f.Add([]byte(`{"jobs":null}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		ji, err := ParseJobs(raw, "jobs.json")
		if err != nil {
			var de *DataError
			if !errors.Is(err, ErrJobs) || !errors.As(err, &de) {
				t.Fatalf("error is not a *DataError wrapping ErrJobs: %v", err)
			}
			return
		}
		again, err := json.Marshal(ji)
		if err != nil {
			t.Fatal(err)
		}
		ji2, err := ParseJobs(again, "again.json")
		if err != nil {
			t.Fatalf("re-marshalled jobs.json %s does not parse: %v", again, err)
		}
		if !reflect.DeepEqual(ji, ji2) {
			t.Fatalf("round trip changed the index:\n%+v\n%+v", ji, ji2)
		}
	})
}
