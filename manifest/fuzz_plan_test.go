package manifest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadPlan checks that ReadPlan never panics on any plan.json, and
// that a plan it accepts is a fixed point of Marshal: written out and read
// back, it gives the same bytes.
func FuzzReadPlan(f *testing.F) {
	f.Add([]byte(`{"version":1,"inputs":[],"options":{},"counters":{"rows_read":0,"rows_kept":0,"dropped":{}},"routes":null,"shards":null}`))
	f.Add([]byte(`{"version":1,"inputs":[{"manifest":"m.json","md5":"00","checksum_verified":true,"source_bucket":"b","format":"CSV","files":1,"columns":"Bucket,Key"}],` +
		`"options":{"max_objects":1000000,"sort":true,"prefix":["a/","b/"]},"counters":{"rows_read":3,"rows_kept":2,"dropped":{"delete_marker":1}},` +
		`"warnings":["w"],"routes":[{"route":"copy","shards":1,"objects":2,"bytes":5}],` +
		`"shards":[{"path":"shards/copy/00000.csv","route":"copy","bucket":"b","objects":2,"bytes":5,"manifest_bytes":12,"md5":"d41d8cd98f00b204e9800998ecf8427e","first_key":"a b","last_key":"é\u2028<>&","version_ids":false}]}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`{"version":1,"options":{"x":1e400}}`))
	f.Add([]byte(`{"version":1,"warnings":[],"counters":{"dropped":null}}`))
	// The plan.json files of the golden tests.
	matches, _ := filepath.Glob("../cmd/s3batchkit/testdata/plan/*/want.txt")
	for _, m := range matches {
		raw, _ := os.ReadFile(m)
		if i := bytes.Index(raw, []byte("\n{\n  \"version\"")); i >= 0 {
			f.Add(raw[i+1:])
		}
	}
	dir := f.TempDir()
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, raw []byte) {
		if err := os.WriteFile(filepath.Join(dir, PlanFile), raw, 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := ReadPlan(ctx, nil, dir)
		if err != nil {
			if errors.Is(err, ErrNoPlan) {
				t.Fatalf("ErrNoPlan for a plan.json that exists: %v", err)
			}
			return
		}
		out, err := p.Marshal()
		if err != nil {
			// Only values JSON cannot hold make Marshal fail; Unmarshal
			// never produces them.
			t.Fatalf("marshal of an accepted plan: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, PlanFile), out, 0o644); err != nil {
			t.Fatal(err)
		}
		p2, err := ReadPlan(ctx, nil, dir)
		if err != nil {
			t.Fatalf("re-marshalled plan does not read back: %v\n%s", err, out)
		}
		out2, err := p2.Marshal()
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("plan round trip differs (%v):\n%s\n%s", err, out, out2)
		}
	})
}
