package deploy

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The outputs checked against schemas written by others, offline:
//
//   - AWS Batch: batchcheck/batchcheck.py validates each request against
//     the input shape of its operation in botocore's Batch service model
//     (Debian's python3-botocore, which .ci/run installs with
//     python3-boto3);
//   - Kubernetes: the k8scheck module decodes each document strictly into
//     k8s.io/api batch/v1 Job and applies the API server's Job rules.
//
// With CI=true a missing python3, botocore or go fails the test instead
// of skipping it.

// nastySpec has arguments that a shell, a YAML reader or a JSON encoder
// could get wrong.
func nastySpec() Spec {
	return Spec{
		Image: "img:1", Root: "s3://b/r", Ranges: 3, Slices: 2, Attempts: 1,
		PlanArgs: []string{"--prefix=yes", "--prefix=null", "--prefix=- x", "--suffix=#no comment", "--substring=a: b",
			"--where=key == \"\\\\\" or key contains \"\x7f\u0085\ufeff\u2028\"", "--prefix=日本/", "--prefix=\t", "--prefix=~", "--prefix=0x1F", "--prefix='"},
		AWS:        AWSOptions{JobQueue: "q"},
		Kubernetes: K8sOptions{Namespace: "ns"},
	}
}

func needTool(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s: %v (CI=true: installing it is .ci/run's job)", what, err)
	}
	t.Skipf("%s: %v", what, err)
}

// python returns a python3 that imports botocore: Debian's (which .ci/run
// gives python3-botocore), else the one on PATH.
func python(t *testing.T) string {
	t.Helper()
	var err error
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if err = exec.Command(py, "-c", "import botocore.validate").Run(); err == nil {
			return py
		}
	}
	needTool(t, "python3 with botocore (Debian: python3-botocore)", err)
	return ""
}

func batchCheck(t *testing.T, py string, doc []byte) (string, error) {
	cmd := exec.Command(py, filepath.Join("batchcheck", "batchcheck.py"))
	cmd.Stdin = bytes.NewReader(doc)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestBatchSchema(t *testing.T) {
	py := python(t)
	specs := goldenSpecs()
	specs["nasty"] = nastySpec()
	specs["ones"] = Spec{Image: "i", Root: "s3://b/r", Ranges: 1, Slices: 1, AWS: AWSOptions{JobQueue: "q"}}
	for name, s := range specs {
		t.Run(name, func(t *testing.T) {
			doc, err := AWSBatch(s)
			if err != nil {
				t.Fatal(err)
			}
			out, err := batchCheck(t, py, doc)
			if err != nil || !strings.HasPrefix(out, "ok: ") {
				t.Fatalf("botocore refused the requests: %v\n%s", err, out)
			}
			t.Log(strings.TrimSpace(out))
		})
	}
	// The check can fail: each of these breaks one request, and the
	// message names the field broken.
	breaks := []struct {
		name, field string
		edit        func(*BatchDocument)
	}{
		{"unknown action", "action", func(d *BatchDocument) {
			d.RegisterJobDefinitions[0].RetryStrategy.EvaluateOnExit[0].Action = "RETRY_LATER"
		}},
		{"unknown resource", "resourceRequirements[0].type", func(d *BatchDocument) {
			d.RegisterJobDefinitions[0].ContainerProperties.ResourceRequirements[0].Type = "CPU"
		}},
		{"empty job queue", "jobQueue", func(d *BatchDocument) { d.SubmitJobs[0].JobQueue = "" }},
		{"empty image", "image", func(d *BatchDocument) { d.RegisterJobDefinitions[2].ContainerProperties.Image = "" }},
		{"array of one", "arrayProperties.size", func(d *BatchDocument) { d.SubmitJobs[0].ArrayProperties.Size = 1 }},
		{"11 attempts", "attempts", func(d *BatchDocument) { d.RegisterJobDefinitions[1].RetryStrategy.Attempts = 11 }},
		{"space in a name", "jobName", func(d *BatchDocument) { d.SubmitJobs[1].JobName = "a b" }},
		{"exit code pattern", "onExitCode", func(d *BatchDocument) { d.RegisterJobDefinitions[0].RetryStrategy.EvaluateOnExit[0].OnExitCode = "1,2" }},
	}
	t.Run("refused/no job queue", func(t *testing.T) {
		js, err := AWSBatch(nastySpec())
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(js, &doc); err != nil {
			t.Fatal(err)
		}
		delete(doc["submit_jobs"].([]any)[1].(map[string]any), "jobQueue")
		js, _ = json.Marshal(doc)
		if out, err := batchCheck(t, py, js); err == nil || !strings.Contains(out, "jobQueue") {
			t.Fatalf("accepted, or refused for another reason: %v\n%s", err, out)
		}
	})
	for _, b := range breaks {
		t.Run("refused/"+b.name, func(t *testing.T) {
			d, err := BatchDefinitions(nastySpec())
			if err != nil {
				t.Fatal(err)
			}
			b.edit(&d)
			js, _ := json.Marshal(d)
			if out, err := batchCheck(t, py, js); err == nil || !strings.Contains(out, b.field) {
				t.Fatalf("accepted, or refused for another reason than %s: %v\n%s", b.field, err, out)
			}
		})
	}
}

// k8sCheck builds the k8scheck command (the go command caches the
// build).
func k8sCheck(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	needTool(t, "go", err)
	bin := filepath.Join(t.TempDir(), "k8scheck")
	cmd := exec.Command(gobin, "build", "-o", bin, ".")
	cmd.Dir = "k8scheck"
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building deploy/k8scheck (it needs k8s.io/api from the module proxy or cache): %v\n%s", err, out)
	}
	return bin
}

func runK8sCheck(bin string, yaml []byte) (string, error) {
	cmd := exec.Command(bin)
	cmd.Stdin = bytes.NewReader(yaml)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stderr.String(), err
	}
	return stdout.String(), nil
}

func TestK8sSchema(t *testing.T) {
	if testing.Short() {
		t.Skip("builds k8s.io/api (about 40 s the first time)")
	}
	bin := k8sCheck(t)
	specs := goldenSpecs()
	specs["nasty"] = nastySpec()
	for name, s := range specs {
		t.Run(name, func(t *testing.T) {
			y, err := Kubernetes(s)
			if err != nil {
				t.Fatal(err)
			}
			out, err := runK8sCheck(bin, y)
			if err != nil {
				t.Fatalf("k8scheck refused the Jobs: %v\n%s", err, out)
			}
			// What a YAML reader gets is what was meant, value for value.
			jobs, err := K8sJobs(s)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != len(jobs) {
				t.Fatalf("%d documents read, %d written", len(lines), len(jobs))
			}
			for i, j := range jobs {
				var got, want any
				js, _ := json.Marshal(j)
				if err := json.Unmarshal(js, &want); err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal([]byte(lines[i]), &got); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("job %s reads back as\n%s\nwant\n%s", j.Metadata.Name, lines[i], js)
				}
			}
		})
	}
	// The check can fail: each of these breaks the Jobs.
	good, err := Kubernetes(goldenSpecs()["direct"])
	if err != nil {
		t.Fatal(err)
	}
	breaks := map[string][2]string{
		"unknown field":         {"completionMode:", "completionModes:"},
		"string for a number":   {"completions: 4", "completions: \"4\""},
		"bad quantity":          {`memory: "2816Mi"`, `memory: "lots"`},
		"restart on failure":    {`restartPolicy: "Never"`, `restartPolicy: "OnFailure"`},
		"unknown container":     {`containerName: "s3batchkit"`, `containerName: "plan"`},
		"exit code 0":           {"- 2\n", "- 0\n"},
		"per index, no indices": {`completionMode: "Indexed"`, `completionMode: "NonIndexed"`},
		"bad label":             {`app.kubernetes.io/instance: "photos-2024"`, `app.kubernetes.io/instance: "photos 2024"`},
	}
	for name, b := range breaks {
		t.Run("refused/"+name, func(t *testing.T) {
			bad := strings.Replace(string(good), b[0], b[1], 1)
			if bad == string(good) {
				t.Fatalf("%q not in the output", b[0])
			}
			if out, err := runK8sCheck(bin, []byte(bad)); err == nil {
				t.Fatalf("accepted:\n%s", out)
			}
		})
	}
}
