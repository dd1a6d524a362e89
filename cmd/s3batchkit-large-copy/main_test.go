package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/s3batchkit/s3batchkit/largecopy"
)

// runtimeAPI is the Lambda Runtime API as the provided.al2023 runtime
// serves it to bootstrap: events are handed out on GET …/next, answers
// posted to …/<id>/response or …/<id>/error.
type runtimeAPI struct {
	events chan string
	mu     sync.Mutex
	posts  map[string]string // "<id>/response" or "<id>/error" → body
	got    chan struct{}     // a post arrived
}

func (a *runtimeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const base = "/2018-06-01/runtime/"
	switch {
	case r.Method == http.MethodGet && r.URL.Path == base+"invocation/next":
		select {
		case ev := <-a.events:
			id := strconv.Itoa(len(ev)) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
			w.Header().Set("Lambda-Runtime-Aws-Request-Id", id)
			w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10))
			w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:s3batchkit-large-copy")
			io.WriteString(w, ev)
		case <-r.Context().Done():
		}
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, base+"invocation/"):
		b, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		a.posts[strings.TrimPrefix(r.URL.Path, base+"invocation/")] = string(b)
		a.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		a.got <- struct{}{}
	default:
		b, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		a.posts[r.URL.Path] = string(b)
		a.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		a.got <- struct{}{}
	}
}

// TestBootstrap builds the function as make lambda does and runs it
// against a stand-in of the Lambda Runtime API: a 1.0 event takes its
// arguments from the environment, a 2.0 event from userArguments, and an
// event that does not parse is a function error.
func TestBootstrap(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: building the function is left out")
	}
	exe := filepath.Join(t.TempDir(), "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", exe, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	api := &runtimeAPI{events: make(chan string, 3), posts: map[string]string{}, got: make(chan struct{}, 8)}
	srv := httptest.NewServer(api)
	defer srv.Close()

	cmd := exec.Command(exe)
	cmd.Env = []string{"AWS_LAMBDA_RUNTIME_API=" + strings.TrimPrefix(srv.URL, "http://"), "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret", "HOME=" + t.TempDir(),
		"TargetResource=arn:aws:s3:::amzn-s3-demo-destination", "StorageClass=COLD"}
	var logs strings.Builder
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill() // it waits for the next event forever
		cmd.Wait()
	}()

	events := []string{
		`{"invocationSchemaVersion":"1.0","invocationId":"inv-1","job":{"id":"j"},"tasks":[{"taskId":"t1","s3Key":"a.bin","s3VersionId":null,"s3BucketArn":"arn:aws:s3:::src"}]}`,
		`{"invocationSchemaVersion":"2.0","invocationId":"inv-2","job":{"id":"j","userArguments":{"TargetKeyPrefix":"x"}},"tasks":[{"taskId":"t2","s3Key":"a.bin","s3VersionId":null,"s3Bucket":"src"}]}`,
		`{"invocationSchemaVersion":"9.9","invocationId":"inv-3","tasks":[{"taskId":"t3"}]}`,
	}
	for _, ev := range events {
		api.events <- ev
		select {
		case <-api.got:
		case <-time.After(30 * time.Second):
			t.Fatalf("no answer to %s; the function logged:\n%s", ev, logs.String())
		}
	}
	api.mu.Lock()
	defer api.mu.Unlock()
	var answers []largecopy.Response
	var errs []string
	for path, body := range api.posts {
		switch {
		case strings.HasSuffix(path, "/response"):
			var r largecopy.Response
			if err := json.Unmarshal([]byte(body), &r); err != nil {
				t.Fatalf("answer %s: %v", body, err)
			}
			answers = append(answers, r)
		case strings.HasSuffix(path, "/error"):
			errs = append(errs, body)
		default:
			t.Errorf("unexpected post to %s: %s", path, body)
		}
	}
	if len(answers) != 2 || len(errs) != 1 {
		t.Fatalf("%d answers and %d errors, want 2 and 1: %v", len(answers), len(errs), api.posts)
	}
	for _, r := range answers {
		if len(r.Results) != 1 || r.Results[0].ResultCode != largecopy.PermanentFailure {
			t.Fatalf("answer %+v: want one PermanentFailure", r)
		}
		msg := r.Results[0].ResultString
		switch r.InvocationID {
		case "inv-1": // the environment's arguments, with their bad storage class
			if !strings.Contains(msg, "StorageClass") || !strings.Contains(msg, `"COLD"`) || r.InvocationSchemaVersion != "1.0" {
				t.Errorf("1.0 answer %q: want the environment's StorageClass named", msg)
			}
		case "inv-2": // its own arguments, without TargetResource
			if !strings.Contains(msg, "TargetResource: required") || r.InvocationSchemaVersion != "2.0" {
				t.Errorf("2.0 answer %q: want TargetResource missing", msg)
			}
		default:
			t.Errorf("answer to an unknown invocation: %+v", r)
		}
	}
	if !strings.Contains(errs[0], `"errorType":"EventError"`) || !strings.Contains(errs[0], "9.9") {
		t.Errorf("function error %s: want an EventError naming the version", errs[0])
	}
}

// TestNewHandlerEnvironment: the tuning variables are read and checked.
func TestNewHandlerEnvironment(t *testing.T) {
	for _, tt := range []struct {
		env     map[string]string
		wantErr bool
	}{
		{map[string]string{}, false},
		{map[string]string{"S3BATCHKIT_PART_SIZE": "104857600", "S3BATCHKIT_CONCURRENCY": "32"}, false},
		{map[string]string{"S3BATCHKIT_PART_SIZE": "100MiB"}, true},
		{map[string]string{"S3BATCHKIT_PART_SIZE": "1024"}, true}, // under 5 MiB
		{map[string]string{"S3BATCHKIT_CONCURRENCY": "0x10"}, true},
		{map[string]string{"S3BATCHKIT_CONCURRENCY": "1000"}, true},
	} {
		tt.env["AWS_REGION"] = "us-east-1"
		t.Setenv("AWS_REGION", "us-east-1")
		_, err := newHandler(context.Background(), func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
		if (err != nil) != tt.wantErr {
			t.Errorf("env %v: err %v, wantErr %v", tt.env, err, tt.wantErr)
		}
	}
}
