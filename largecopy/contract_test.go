package largecopy

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/contract")

// noS3 is the client of the contract cases that must answer without
// calling S3: any call panics, which Invoke turns into an error, which
// differs from the golden answer.
type noS3 struct{ Client }

// TestContract is the Lambda contract as golden files: each
// testdata/contract/NAME.event.json is an event (of schema 1.0 or 2.0)
// and NAME.response.json the function's answer — or NAME.error.txt the
// function error — with NAME.env.json, if any, the environment's
// arguments (schema 1.0). Events that name {{SRC}} or {{DST}} run against
// the test server, with two buckets put in their place and the sources
// golden/a.bin (two parts) and "golden/b c+d€.bin" written first; the
// others must be answered without calling S3. -update rewrites the
// answers.
func TestContract(t *testing.T) {
	files, err := filepath.Glob("testdata/contract/*.event.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no contract cases: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".event.json")
		t.Run(name, func(t *testing.T) {
			event, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			env, err := os.ReadFile(strings.TrimSuffix(file, ".event.json") + ".env.json")
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			var cl Client = noS3{}
			fill, unfill := strings.NewReplacer(), strings.NewReplacer()
			if bytes.Contains(event, []byte("{{")) || bytes.Contains(env, []byte("{{")) {
				ep := endpoint(t)
				c := newClient(t, ep, nil, 3)
				src, dst := newBucket(t, c, "src"), newBucket(t, c, "dst")
				put(t, c, src, "golden/a.bin", source{body: payload(testPart+1000, 1), contentType: "application/octet-stream", tagging: "t=1"})
				put(t, c, src, "golden/b c+d€.bin", source{body: payload(1000, 2), metadata: map[string]string{"m": "2"}})
				fill = strings.NewReplacer("{{SRC}}", src, "{{DST}}", dst)
				unfill = strings.NewReplacer(src, "{{SRC}}", dst, "{{DST}}")
				cl = c
			}
			var args map[string]string
			if env != nil {
				if err := json.Unmarshal([]byte(fill.Replace(string(env))), &args); err != nil {
					t.Fatalf("%s.env.json: %v", name, err)
				}
			}
			h := mustHandler(t, Options{Client: cl, PartSize: testPart, Arguments: args})
			out, err := h.Invoke(context.Background(), []byte(fill.Replace(string(event))))
			var got []byte
			golden := strings.TrimSuffix(file, ".event.json")
			if err != nil {
				got, golden = []byte(unfill.Replace(err.Error())+"\n"), golden+".error.txt"
			} else {
				var buf bytes.Buffer
				if err := json.Indent(&buf, []byte(unfill.Replace(string(out))), "", "  "); err != nil {
					t.Fatalf("answer %s: %v", out, err)
				}
				buf.WriteByte('\n')
				got, golden = buf.Bytes(), golden+".response.json"
			}
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestContract -update to write it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("answer differs from %s:\n got: %s\nwant: %s", golden, got, want)
			}
		})
	}
}

// FuzzParseEvent: no input makes ParseEvent, or the task accessors of
// what it accepts, panic; an accepted event written back as JSON parses
// to the same event.
func FuzzParseEvent(f *testing.F) {
	files, _ := filepath.Glob("testdata/contract/*.event.json")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"invocationSchemaVersion":"2.0","invocationId":"i","job":{"id":"j","userArguments":{}},"tasks":[{"taskId":"t","s3Key":"%E2%82","s3VersionId":""}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := ParseEvent(data)
		if err != nil {
			return
		}
		for _, task := range ev.Tasks {
			task.Bucket()
			task.Key()
			task.VersionID()
		}
		again, err := json.Marshal(ev)
		if err != nil {
			t.Fatalf("accepted event does not marshal: %v", err)
		}
		ev2, err := ParseEvent(again)
		if err != nil {
			t.Fatalf("written back as %s, the event no longer parses: %v", again, err)
		}
		if !reflect.DeepEqual(ev, ev2) {
			t.Fatalf("round trip changed the event:\n %+v\n %+v", ev, ev2)
		}
	})
}
