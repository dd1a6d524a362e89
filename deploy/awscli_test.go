package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// TestAWSCLISubmitScript runs the submission script of docs/scale-out.md
// with the AWS CLI (Debian's, /usr/bin/aws, which .ci/run installs) on
// the definitions of a shuffle run whose arguments are full of quotes and
// control characters. The CLI validates each request against its own
// copy of the Batch model and sends it to a local endpoint that records
// it and answers as Batch does; the test then checks that Batch would
// have received exactly the definitions, and that each dependsOn names
// the job id returned for the job it waits for.
func TestAWSCLISubmitScript(t *testing.T) {
	aws := "/usr/bin/aws" // Debian's AWS CLI v2; an `aws` on PATH may be a v1 shim
	_, err := os.Stat(aws)
	needTool(t, "the AWS CLI (Debian: awscli)", err)
	for _, tool := range []string{"jq", "bash"} {
		_, err := exec.LookPath(tool)
		needTool(t, tool, err)
	}
	script := docBlock(t, filepath.Join("..", "docs", "scale-out.md"), "<!-- submit-aws-batch")

	type call struct {
		op   string
		body map[string]any
		id   string
	}
	var mu sync.Mutex
	var calls []call
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		if err := json.Unmarshal(raw, &body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		c := call{op: r.URL.Path, body: body}
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/registerjobdefinition":
			name, _ := body["jobDefinitionName"].(string)
			json.NewEncoder(w).Encode(map[string]any{"jobDefinitionName": name, "revision": 1,
				"jobDefinitionArn": "arn:aws:batch:us-east-1:123456789012:job-definition/" + name + ":1"})
		case "/v1/submitjob":
			name, _ := body["jobName"].(string)
			c.id = fmt.Sprintf("0000%04d-aaaa-bbbb-cccc-%012d", len(calls), len(calls))
			json.NewEncoder(w).Encode(map[string]any{"jobName": name, "jobId": c.id,
				"jobArn": "arn:aws:batch:us-east-1:123456789012:job/" + c.id})
		default:
			http.Error(w, "unexpected "+r.URL.Path, http.StatusNotFound)
			return
		}
		calls = append(calls, c)
	}))
	defer srv.Close()

	dir := t.TempDir()
	spec := nastySpec()
	doc, err := AWSBatch(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "run.json"), doc, 0o644); err != nil {
		t.Fatal(err)
	}
	// `aws` in the script is the CLI pointed at the local endpoint (the
	// CLI 2.9 reads no endpoint from the environment).
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	wrapper := fmt.Sprintf("#!/bin/sh\nexec %s --endpoint-url %s \"$@\"\n", aws, srv.URL)
	if err := os.WriteFile(filepath.Join(bin, "aws"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "HOME=" + dir, "AWS_ACCESS_KEY_ID=AKIDTEST", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=", "AWS_MAX_ATTEMPTS=1",
		"AWS_EC2_METADATA_DISABLED=true"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the script failed: %v\n%s", err, out)
	}

	d, err := BatchDefinitions(spec)
	if err != nil {
		t.Fatal(err)
	}
	n := len(d.RegisterJobDefinitions)
	if len(calls) != 2*n {
		t.Fatalf("%d calls, want %d registrations then %d submissions\n%s", len(calls), n, n, out)
	}
	ids := map[string]string{}
	for i, c := range calls {
		var want any
		if i < n {
			want = d.RegisterJobDefinitions[i]
		} else {
			job := d.SubmitJobs[i-n]
			for k, dep := range job.DependsOn {
				job.DependsOn[k].JobID = ids[dep.JobID] // what the script puts in
			}
			want = job
			ids[job.JobName] = c.id
			if !strings.Contains(string(out), job.JobName+": "+c.id) {
				t.Errorf("the script did not print %s: %s", job.JobName, c.id)
			}
		}
		js, _ := json.Marshal(want)
		var w map[string]any
		_ = json.Unmarshal(js, &w)
		if !reflect.DeepEqual(c.body, w) {
			got, _ := json.Marshal(c.body)
			t.Errorf("call %d (%s) sent\n%s\nwant\n%s", i, c.op, got, js)
		}
	}
	if ids[spec.WithDefaults().JobName(StepWorkers)] == "" {
		t.Errorf("no workers job submitted: %v", ids)
	}
}

// docBlock returns the first ```sh block after the line starting with
// marker in the Markdown file path.
func docBlock(t *testing.T, path, marker string) string {
	t.Helper()
	md, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := bytes.Cut(md, []byte("\n"+marker))
	if !ok {
		t.Fatalf("%s: no %q", path, marker)
	}
	_, rest, ok = bytes.Cut(rest, []byte("```sh\n"))
	block, _, ok2 := bytes.Cut(rest, []byte("\n```"))
	if !ok || !ok2 {
		t.Fatalf("%s: no ```sh block after %q", path, marker)
	}
	return string(block)
}
