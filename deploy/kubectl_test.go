package deploy

import (
	"context"
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
	"time"
)

// TestKubectlSteps runs the step-by-step script of docs/scale-out.md with
// kubectl on the emitted YAML. No API server runs here, so kubectl talks
// to a local endpoint that serves the discovery documents of batch/v1,
// stores the Jobs kubectl creates and reports each one Complete (or,
// for the step told to fail, Failed) when asked; it serves no OpenAPI
// document, so `kubectl apply` gets --validate=false (k8scheck validates
// the Jobs, TestK8sSchema). The test checks that
// kubectl accepts the stream and its label selection, that the steps
// are created in order, each exactly as K8sJobs made it, that a direct
// run has no scatter step, and that a failed step stops the script.
func TestKubectlSteps(t *testing.T) {
	if _, err := exec.LookPath("kubectl"); err != nil {
		// kubectl is no Debian package, so .ci/run cannot install it; the
		// YAML itself is still validated against k8s.io/api (k8scheck).
		t.Skipf("kubectl: %v (the manifests are still checked by TestK8sSchema)", err)
	}
	_, err := exec.LookPath("bash")
	needTool(t, "bash", err)
	script := docBlock(t, filepath.Join("..", "docs", "scale-out.md"), "<!-- k8s-steps")
	kubectl, _ := exec.LookPath("kubectl")

	for _, tt := range []struct {
		name   string
		slices int
		fail   string // the step whose Job fails
		want   []string
	}{
		{"direct", 0, "", []string{StepWorkers, StepMerge}},
		{"shuffle", 2, "", []string{StepScatter, StepWorkers, StepMerge}},
		{"workers fail", 2, StepWorkers, []string{StepScatter, StepWorkers}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			spec := nastySpec()
			spec.Name, spec.Kubernetes.Namespace, spec.Slices = "photos-2024", "batch", tt.slices // as the script's RUN and NS
			api := newJobsAPI(spec.JobName(tt.fail))
			srv := httptest.NewServer(api)
			defer srv.Close()

			dir := t.TempDir()
			y, err := Kubernetes(spec)
			if err != nil {
				t.Fatal(err)
			}
			kubeconfig := fmt.Sprintf("apiVersion: v1\nkind: Config\nclusters:\n- name: local\n  cluster: {server: %q}\n"+
				"contexts:\n- name: local\n  context: {cluster: local}\ncurrent-context: local\n", srv.URL)
			wrapper := fmt.Sprintf("#!/bin/sh\nif [ \"$1\" = apply ]; then shift; exec %s apply --validate=false \"$@\"; fi\nexec %s \"$@\"\n", kubectl, kubectl)
			if err := os.Mkdir(filepath.Join(dir, "bin"), 0o755); err != nil {
				t.Fatal(err)
			}
			for name, data := range map[string]string{"run.yaml": string(y), "kubeconfig": kubeconfig, "bin/kubectl": wrapper} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			// Bounded: a script that waits for ever is a failure too.
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "bash", "-c", script)
			cmd.WaitDelay = 5 * time.Second
			cmd.Dir = dir
			cmd.Env = []string{"PATH=" + filepath.Join(dir, "bin") + ":" + os.Getenv("PATH"), "HOME=" + dir, "KUBECONFIG=" + filepath.Join(dir, "kubeconfig")}
			out, err := cmd.CombinedOutput()
			if err != nil && tt.fail == "" {
				t.Fatalf("the script failed: %v\n%s", err, out)
			}
			if tt.fail != "" && !strings.Contains(string(out), "job "+spec.JobName(tt.fail)+" failed") {
				t.Errorf("no failure said:\n%s", out)
			}

			jobs, err := K8sJobs(spec)
			if err != nil {
				t.Fatal(err)
			}
			api.mu.Lock()
			defer api.mu.Unlock()
			var created []string
			for _, name := range api.order {
				created = append(created, strings.TrimPrefix(name, spec.Name+"-"))
			}
			if !reflect.DeepEqual(created, tt.want) {
				t.Fatalf("steps created %v, want %v\n%s", created, tt.want, out)
			}
			for _, j := range jobs {
				got, ok := api.jobs[j.Metadata.Name]
				if !ok {
					continue
				}
				js, _ := json.Marshal(j)
				var want map[string]any
				_ = json.Unmarshal(js, &want)
				// kubectl apply records the applied object in an annotation.
				if md, ok := got["metadata"].(map[string]any); ok {
					delete(md, "annotations")
				}
				delete(got, "status")
				if !reflect.DeepEqual(got, want) {
					g, _ := json.Marshal(got)
					t.Errorf("kubectl created\n%s\nwant\n%s", g, js)
				}
			}
		})
	}
}

// jobsAPI answers kubectl for batch/v1 Jobs: discovery, get, create.
type jobsAPI struct {
	mu    sync.Mutex
	fail  string
	jobs  map[string]map[string]any
	order []string
}

func newJobsAPI(fail string) *jobsAPI {
	return &jobsAPI{fail: fail, jobs: map[string]map[string]any{}}
}

const jobsPrefix = "/apis/batch/v1/namespaces/batch/jobs"

func (a *jobsAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	p := r.URL.Path
	switch {
	case p == "/version":
		fmt.Fprint(w, `{"major":"1","minor":"33","gitVersion":"v1.33.0"}`)
	case p == "/api":
		fmt.Fprint(w, `{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[]}`)
	case p == "/apis":
		fmt.Fprint(w, `{"kind":"APIGroupList","apiVersion":"v1","groups":[{"name":"batch","versions":[{"groupVersion":"batch/v1","version":"v1"}],"preferredVersion":{"groupVersion":"batch/v1","version":"v1"}}]}`)
	case p == "/api/v1":
		fmt.Fprint(w, `{"kind":"APIResourceList","groupVersion":"v1","resources":[]}`)
	case p == "/apis/batch/v1":
		fmt.Fprint(w, `{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"batch/v1","resources":[{"name":"jobs","singularName":"job","namespaced":true,"kind":"Job","verbs":["create","delete","get","list","patch","update","watch"]}]}`)
	case p == jobsPrefix && r.Method == http.MethodPost:
		body, _ := io.ReadAll(r.Body)
		var job map[string]any
		if err := json.Unmarshal(body, &job); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		md, _ := job["metadata"].(map[string]any)
		name, _ := md["name"].(string)
		a.jobs[name] = job
		a.order = append(a.order, name)
		w.WriteHeader(http.StatusCreated)
		w.Write(body)
	case strings.HasPrefix(p, jobsPrefix+"/") && r.Method == http.MethodGet:
		name := strings.TrimPrefix(p, jobsPrefix+"/")
		job, ok := a.jobs[name]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404,"message":"jobs.batch %q not found"}`, name)
			return
		}
		cond := "Complete"
		if name == a.fail {
			cond = "Failed"
		}
		out := map[string]any{}
		for k, v := range job {
			out[k] = v
		}
		out["status"] = map[string]any{"conditions": []map[string]string{{"type": cond, "status": "True"}}}
		json.NewEncoder(w).Encode(out)
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`)
	}
}
