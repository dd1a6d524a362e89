// Package localtest serves the local engine over HTTP for the tests of the
// tools that call S3 Control (submit, status, jobs): an engine (usually
// with Options.Hold, so that no job runs until the test releases it)
// behind an httptest server, with a thin recorder in front that counts the
// calls (per operation, and CreateJob per ClientRequestToken) and can
// answer a call with an error instead of passing it on, as a throttled or
// failing S3 Control does. Every answer that is not an injected fault is
// the engine's own: there is one S3 Control implementation, the engine.
package localtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/internal/objio/objiotest"
	"github.com/s3batchkit/s3batchkit/jobs/local"
)

// Fault is an error answer: an HTTP status and an S3 Control error code
// (TooManyRequestsException, InternalServiceException, AccessDenied …).
type Fault struct {
	Status int
	Code   string
}

// Server is the engine behind an HTTP server. Its methods are safe for
// concurrent use.
type Server struct {
	*httptest.Server
	// Engine is the engine; Storage its directory of buckets.
	Engine  *local.Engine
	Storage *local.DirStorage

	handler http.Handler

	mu       sync.Mutex
	busy     int        // requests being handled
	idle     *sync.Cond // on mu: busy fell to 0
	calls    map[string]int
	creates  map[string]int
	faults   map[string][]Fault
	ids      map[string]bool
	onCreate func(id string, n int)
}

// New starts an engine with o behind an HTTP server; both end with the
// test. An empty o.StateDir is a temporary folder; a nil o.Storage is a
// DirStorage on a temporary folder.
func New(t testing.TB, o local.Options) *Server {
	t.Helper()
	if o.StateDir == "" {
		o.StateDir = t.TempDir()
	}
	st, _ := o.Storage.(*local.DirStorage)
	if o.Storage == nil {
		st = &local.DirStorage{Root: t.TempDir()}
		o.Storage = st
	}
	e, err := local.New(o)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Engine: e, Storage: st, calls: map[string]int{}, creates: map[string]int{}, faults: map[string][]Fault{}, ids: map[string]bool{}}
	s.idle = sync.NewCond(&s.mu)
	// The engine checks signatures as serve does: it accepts the
	// credentials the test process signs with (those of o.IO, or of the
	// default chain as it stands at each request).
	if s.handler, err = e.Handler(local.APIOptions{Credentials: chainCredentials{oc: o.IO}}); err != nil {
		t.Fatal(err)
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		s.Server.Close()
		e.Close()
	})
	return s
}

var (
	jobPath  = regexp.MustCompile(`^/v20180820/jobs/[^/]+(/status|/priority)?$`)
	tokenRE  = regexp.MustCompile(`<ClientRequestToken>([^<]*)</ClientRequestToken>`)
	jobIDRE  = regexp.MustCompile(`<JobId>([^<]*)</JobId>`)
	opByPath = map[string]string{"": "DescribeJob", "/status": "UpdateJobStatus", "/priority": "UpdateJobPriority"}
)

// operation names the S3 Control call of r.
func operation(r *http.Request) string {
	if r.URL.Path == "/v20180820/jobs" {
		if r.Method == http.MethodPost {
			return "CreateJob"
		}
		return "ListJobs"
	}
	if m := jobPath.FindStringSubmatch(r.URL.Path); m != nil {
		return opByPath[m[1]]
	}
	return ""
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.busy++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.busy--; s.busy == 0 {
			s.idle.Broadcast()
		}
		s.mu.Unlock()
	}()
	op := operation(r)
	body, readErr := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	s.mu.Lock()
	s.calls[op]++
	// A token counts once its request has arrived whole: a client killed
	// while sending its body sent a request the engine refuses.
	if op == "CreateJob" && readErr == nil {
		if m := tokenRE.FindSubmatch(body); m != nil {
			s.creates[string(m[1])]++
		}
	}
	if f := s.faults[op]; len(f) > 0 {
		s.faults[op] = f[1:]
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(f[0].Status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><ErrorResponse><Error><Code>%s</Code><Message>injected fault</Message></Error><RequestId>localtest</RequestId></ErrorResponse>`, f[0].Code)
		return
	}
	s.mu.Unlock()
	if op != "CreateJob" {
		s.handler.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	s.handler.ServeHTTP(rec, r)
	var hook func(string, int)
	var id string
	n := 0
	if m := jobIDRE.FindSubmatch(rec.Body.Bytes()); m != nil && rec.Code == http.StatusOK {
		id = string(m[1])
		s.mu.Lock()
		if !s.ids[id] {
			s.ids[id] = true
			hook, n = s.onCreate, len(s.ids)
		}
		s.mu.Unlock()
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
	if hook != nil {
		hook(id, n)
	}
}

// Fail makes the next len(faults) calls of op (CreateJob, DescribeJob,
// ListJobs, UpdateJobStatus, UpdateJobPriority) fail, in order, without
// reaching the engine.
func (s *Server) Fail(op string, faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[op] = append(s.faults[op], faults...)
}

// OnCreate sets a hook called after the answer to each CreateJob that
// returned a job id not seen before, with the number of such jobs so far;
// tests use it to cut a submit short.
func (s *Server) OnCreate(f func(id string, n int)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onCreate = f
}

// Calls returns the number of requests of op received (faults included).
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// Settle waits until no request is being handled, so that what the
// engine did for every request received (CreateCalls) can be counted; a
// test calls it after killing a client.
func (s *Server) Settle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.busy > 0 {
		s.idle.Wait()
	}
}

// CreateCalls returns the CreateJob requests received whole, per token.
func (s *Server) CreateCalls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.creates))
	for k, v := range s.creates {
		out[k] = v
	}
	return out
}

// Jobs describes every job of account acct, in creation order.
func (s *Server) Jobs(t testing.TB, acct string) []*types.JobDescriptor {
	t.Helper()
	var out []*types.JobDescriptor
	list, _, err := s.Engine.ListJobs(acct, nil, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range list {
		d, err := s.Engine.DescribeJob(acct, *j.JobId)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// Wait waits for every job of acct to end.
func (s *Server) Wait(t testing.TB, ctx context.Context, acct string) {
	t.Helper()
	for _, d := range s.Jobs(t, acct) {
		if _, err := s.Engine.Wait(ctx, acct, *d.JobId); err != nil {
			t.Fatal(err)
		}
	}
}

// Tag returns the value of tag key of job id of acct, or "".
func (s *Server) Tag(t testing.TB, acct, id, key string) string {
	t.Helper()
	tags, err := s.Engine.JobTags(acct, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range tags {
		if tg.Key != nil && *tg.Key == key && tg.Value != nil {
			return *tg.Value
		}
	}
	return ""
}

// chainCredentials accepts the access key of oc's credentials (with a nil
// oc, those of the default chain at the time of each request), and the
// test S3 server's key (objiotest.EnvAccessKey), which tests hand to the
// commands they run as child processes.
type chainCredentials struct{ oc *objio.Client }

func (c chainCredentials) Lookup(ctx context.Context, id string) (local.Credential, bool, error) {
	if k, s := os.Getenv(objiotest.EnvAccessKey), os.Getenv(objiotest.EnvSecretKey); k != "" && k == id {
		return local.Credential{AccessKeyID: k, SecretAccessKey: s}, true, nil
	}
	cfg, err := c.oc.AWSConfig(ctx)
	if err != nil {
		return local.Credential{}, false, err
	}
	if cfg.Credentials == nil {
		return local.Credential{}, false, nil
	}
	return local.ProviderCredentials(cfg.Credentials).Lookup(ctx, id)
}
