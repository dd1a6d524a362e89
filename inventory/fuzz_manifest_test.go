package inventory

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// seedManifests adds the manifest.json files of the repository's test data
// and a few hand-made ones, one per format.
func seedManifests(f *testing.F) {
	for _, root := range []string{"../testdata", "../cmd/s3batchkit/testdata", "../../shared/testdata"} {
		filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() && info.Name() == "manifest.json" {
				if raw, err := os.ReadFile(p); err == nil {
					f.Add(raw)
				}
			}
			return nil
		})
	}
	for _, s := range []string{
		`{"sourceBucket":"src","fileFormat":"CSV","fileSchema":"Bucket, Key, Size","files":[{"key":"data/a.csv.gz","size":10,"MD5checksum":"d41d8cd98f00b204e9800998ecf8427e"}]}`,
		`{"fileFormat":"ORC","fileSchema":"struct<bucket:string,key:string,size:bigint,last_modified_date:timestamp>","files":[]}`,
		`{"fileFormat":"Parquet","fileSchema":"message s3.inventory { required binary bucket (STRING); required binary key (STRING); optional int64 size; }","files":[{"key":"k","size":0}]}`,
		`{"fileFormat":"ORC","fileSchema":"struct<bucket:string,key:string,m:map<string,struct<a:int,b:int>>>","files":[]}`,
		`{"fileFormat":"csv","fileSchema":"Bucket,Key,Key","files":[]}`,
		`{"fileFormat":"CSV","fileSchema":"Bucket,Key","files":[{"key":"","size":-1}]}`,
		`{"fileFormat":"CSV","fileSchema":"Bucket,Key","files":[]} trailing`,
		`{"fileFormat":"CSV","fileSchema":"Bucket,,Key","files":null}`,
	} {
		f.Add([]byte(s))
	}
}

// FuzzParseManifest checks that ParseManifest never panics, that its errors
// wrap ErrManifest or ErrFormat, and that an accepted manifest re-marshals
// to JSON that parses to the same fields, columns and data files.
func FuzzParseManifest(f *testing.F) {
	seedManifests(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := ParseManifest(raw)
		if err != nil {
			if !errors.Is(err, ErrManifest) && !errors.Is(err, ErrFormat) {
				t.Fatalf("error wraps neither ErrManifest nor ErrFormat: %v", err)
			}
			return
		}
		if !m.Fields.Has(Bucket) || !m.Fields.Has(Key) || m.Files == nil || len(m.Columns) == 0 {
			t.Fatalf("accepted a manifest without bucket, key or files: %+v", m)
		}
		if len(m.Columns) > len(raw) {
			t.Fatalf("%d columns from %d bytes", len(m.Columns), len(raw))
		}
		for i, df := range m.Files {
			if df.Key == "" || df.Size < 0 {
				t.Fatalf("files[%d] accepted: %+v", i, df)
			}
		}
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		m2, err := ParseManifest(again)
		if err != nil {
			t.Fatalf("re-marshalled manifest %s does not parse: %v", again, err)
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip changed the manifest:\n%+v\n%+v", m, m2)
		}
	})
}
