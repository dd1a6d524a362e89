package local

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
)

// TestBodyLimits: a CreateJob body over the limit is refused with
// MaxMessageLengthExceeded, whether its length is declared or chunked and
// whether the excess is inside the document or after it; a document with
// anything but white space after its root is refused as malformed; the
// same request within the limit creates its job.
func TestBodyLimits(t *testing.T) {
	f := newFrontEnv(t, APIOptions{})
	before := f.snapshot(t)
	create := *f.create
	create.ClientRequestToken = aws.String("tok-limits")
	doc := xmlBody(t, "CreateJobRequest", &create)
	// pad puts n bytes of white space inside the document, before its
	// last element ends.
	pad := func(n int) []byte {
		i := bytes.LastIndex(doc, []byte("</CreateJobRequest>"))
		return append(append(append([]byte{}, doc[:i]...), bytes.Repeat([]byte(" "), n)...), doc[i:]...)
	}
	limit := DefaultMaxBodyBytes
	cases := []struct {
		name    string
		body    []byte
		chunked bool
		status  int
		code    string
		msg     string
	}{
		{name: "padded inside, one byte over", body: pad(limit - len(doc) + 1), status: 400, code: "MaxMessageLengthExceeded", msg: fmt.Sprint(limit)},
		{name: "padded inside, chunked", body: pad(limit - len(doc) + 1), chunked: true, status: 400, code: "MaxMessageLengthExceeded"},
		{name: "3 MiB of white space after the document", body: append(append([]byte{}, doc...), bytes.Repeat([]byte("\n"), 3<<20)...), status: 400, code: "MaxMessageLengthExceeded"},
		{name: "3 MiB of white space after, chunked", body: append(append([]byte{}, doc...), bytes.Repeat([]byte("\n"), 3<<20)...), chunked: true, status: 400, code: "MaxMessageLengthExceeded"},
		{name: "a second document after the first", body: append(append([]byte{}, doc...), doc...), status: 400, code: "BadRequestException", msg: "after the end of CreateJobRequest"},
		{name: "text after the document", body: append(append([]byte{}, doc...), "garbage"...), status: 400, code: "BadRequestException", msg: "text at byte"},
		{name: "text before the document", body: append([]byte("garbage"), doc...), status: 400, code: "BadRequestException", msg: "before the CreateJobRequest"},
		{name: "a DOCTYPE", body: append([]byte(`<!DOCTYPE x [<!ENTITY a "b">]>`), doc...), status: 400, code: "BadRequestException", msg: "DOCTYPE"},
		{name: "cut short", body: doc[:len(doc)-5], status: 400, code: "BadRequestException", msg: "unexpected EOF"},
		{name: "empty", body: []byte{}, status: 400, code: "BadRequestException", msg: "no CreateJobRequest element"},
	}
	for _, c := range cases {
		sg := f.sign
		sg.chunked = c.chunked
		req := sg.request("POST", "/v20180820/jobs", c.body, nil)
		status, code, msg := send(t, req)
		if status != c.status || code != c.code || !strings.Contains(msg, c.msg) {
			t.Errorf("%s: got %d %s %q, want %d %s with %q", c.name, status, code, msg, c.status, c.code, c.msg)
		}
	}
	if after := f.snapshot(t); after != before {
		t.Fatalf("refused bodies changed the state:\n%s\n%s", before, after)
	}
	// Exactly at the limit, white space inside and comments around: taken.
	body := append([]byte("<?xml version=\"1.0\"?>\n<!-- a comment -->\n"), pad(limit-len(doc)-len("<?xml version=\"1.0\"?>\n<!-- a comment -->\n")-len("\n<!-- end -->\n"))...)
	body = append(body, "\n<!-- end -->\n"...)
	if len(body) != limit {
		t.Fatalf("test body is %d bytes, want %d", len(body), limit)
	}
	if status, code, msg := send(t, f.sign.request("POST", "/v20180820/jobs", body, nil)); status != 200 {
		t.Fatalf("a body of exactly %d bytes: %d %s %s", limit, status, code, msg)
	}
	// A smaller limit applies to every request, tagging too.
	g := newFrontEnv(t, APIOptions{MaxBodyBytes: 64})
	tag := xmlBody(t, "PutJobTaggingRequest", struct{ Tags []struct{ Key, Value string } }{Tags: []struct{ Key, Value string }{{"k", strings.Repeat("v", 64)}}})
	if status, code, _ := send(t, g.sign.request("PUT", "/v20180820/jobs/"+g.jobID+"/tagging", tag, nil)); status != 400 || code != "MaxMessageLengthExceeded" {
		t.Fatalf("PutJobTagging over a 64-byte limit: %d %s", status, code)
	}
}

// TestHostHeader: requests are answered only for the names of the
// endpoint — localhost, loopback addresses, the listen host and configured
// names, each also with an SDK's account label in front — and refused,
// changing nothing, for any other name (a DNS-rebinding page's).
func TestHostHeader(t *testing.T) {
	var mu sync.Mutex
	var logged []string
	f := newFrontEnv(t, APIOptions{Listen: "127.0.0.1:9180", Hosts: []string{"batch.internal.example", "10.1.2.3"},
		Logf: func(format string, a ...any) {
			mu.Lock()
			logged = append(logged, fmt.Sprintf(format, a...))
			mu.Unlock()
		}})
	before := f.snapshot(t)
	port := f.srv.URL[strings.LastIndexByte(f.srv.URL, ':'):]
	for _, c := range []struct {
		host string
		ok   bool
	}{
		{"localhost" + port, true},
		{"LOCALHOST" + port, true},
		{"localhost", true},
		{"localhost." + port, true},
		{"127.0.0.1" + port, true},
		{"127.0.0.2" + port, true},
		{"[::1]" + port, true},
		{"123456789012.localhost" + port, true},
		{"123456789012.127.0.0.1" + port, true},
		{"123456789012.[::1]" + port, true},
		{"batch.internal.example" + port, true},
		{"123456789012.batch.internal.example", true},
		{"10.1.2.3" + port, true},
		{"evil.example" + port, false},
		{"123456789012.evil.example" + port, false},
		{"localhost.evil.example" + port, false},
		{"127.0.0.1.nip.io" + port, false},
		{"1234567890.localhost" + port, false},
		{"x.batch.internal.example", false},
		{"10.1.2.4" + port, false},
		{"[::2]" + port, false},
		{"localhost:port", false},
		{"a:b:c", false},
		{"[::1" + port, false},
	} {
		// Signed for that Host: only the name check can refuse it.
		sg := f.sign
		sg.host = c.host
		req := sg.request("POST", "/v20180820/jobs/"+f.jobID+"/priority?priority=7", nil, nil)
		status, code, msg := send(t, req)
		if c.ok && status != 200 {
			t.Errorf("Host %q: %d %s %s, want it accepted", c.host, status, code, msg)
		}
		if !c.ok {
			if status != 403 || code != "AccessDenied" {
				t.Errorf("Host %q: %d %s %s, want 403 AccessDenied", c.host, status, code, msg)
			}
			if after := f.snapshot(t); after != before {
				t.Fatalf("Host %q refused, yet the state changed", c.host)
			}
		} else {
			before = f.snapshot(t)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(logged) == 0 || !strings.Contains(strings.Join(logged, "\n"), "evil.example") {
		t.Fatalf("refusals not logged: %q", logged)
	}
	if strings.Contains(strings.Join(logged, "\n"), frontSecret) {
		t.Fatal("the log shows the secret")
	}
}

func TestHostPolicy(t *testing.T) {
	if _, err := newHostPolicy("nonsense", nil); err == nil {
		t.Fatal("a listen address without port accepted")
	}
	if _, err := newHostPolicy("127.0.0.1:1", []string{"bad/name"}); err == nil {
		t.Fatal("a host name with a slash accepted")
	}
	all, err := newHostPolicy("0.0.0.0:9180", nil)
	if err != nil {
		t.Fatal(err)
	}
	for host, ok := range map[string]bool{"192.168.1.20:9180": true, "[2001:db8::1]:9180": true, "123456789012.192.168.1.20:9180": true, "myhost:9180": false, "localhost:9180": true} {
		if err := all.check(host); (err == nil) != ok {
			t.Errorf("listening on 0.0.0.0, Host %q: %v, want ok=%v", host, err, ok)
		}
	}
	named, _ := newHostPolicy("myhost.example:9180", nil)
	for host, ok := range map[string]bool{"myhost.example:9180": true, "123456789012.myhost.example": true, "192.168.1.20:9180": false} {
		if err := named.check(host); (err == nil) != ok {
			t.Errorf("listening on myhost.example, Host %q: %v, want ok=%v", host, err, ok)
		}
	}
}

// TestSDKAccountHost: the Go SDK's own endpoint rules (no fixed
// resolver) put the account in front of the host, 123456789012.localhost,
// and sign that Host; the front takes it. The name is dialled as the
// server's address, since *.localhost need not resolve.
func TestSDKAccountHost(t *testing.T) {
	env := newDirEnv(t, "src-bucket", "dst-bucket", "reports")
	env.put("src-bucket", "a", "a")
	mkey, etag := env.manifestOf("m.csv", "src-bucket", []string{"a"})
	e := newTestEngine(t, Options{Storage: env.st})
	h := testHandler(t, e)
	var mu sync.Mutex
	hosts := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hosts[r.Host] = true
		mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	port := addr[strings.LastIndexByte(addr, ':'):]
	var d net.Dialer
	cl := s3control.New(s3control.Options{
		Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(testKeyID, testSecret, ""),
		BaseEndpoint: aws.String("http://localhost" + port), RetryMaxAttempts: 1,
		HTTPClient: &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		}}},
	})
	ctx := context.Background()
	in := createInput("tok-host", mkey, etag, copyOp("dst-bucket", ""))
	in.Tags = tagList("via", "account host")
	out, err := cl.CreateJob(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	g, err := cl.GetJobTagging(ctx, &s3control.GetJobTaggingInput{AccountId: aws.String(testAccount), JobId: out.JobId})
	if err != nil || tagMap(g.Tags)["via"] != "account host" {
		t.Fatalf("GetJobTagging: %+v %v", g, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := testAccount + ".localhost" + port; len(hosts) != 1 || !hosts[want] {
		t.Fatalf("Host headers %v, want only %s", hosts, want)
	}
}

// TestHostPolicyNamesOption: a refused Host names the option that would
// let it in, as the engine's API spells it (APIOptions.Hosts) or as
// Options.OptionName renames it (serve: --allow-host).
func TestHostPolicyNamesOption(t *testing.T) {
	p, err := newHostPolicy("127.0.0.1:9180", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.check("evil.example:9180"); err == nil || !strings.Contains(err.Error(), "(Hosts evil.example)") {
		t.Errorf("refusal = %v, want it to name Hosts", err)
	}
	p.optName = func(o string) string { return map[string]string{"Hosts": "--allow-host"}[o] }
	if err := p.check("evil.example:9180"); err == nil || !strings.Contains(err.Error(), "(--allow-host evil.example)") {
		t.Errorf("refusal = %v, want it to name --allow-host", err)
	}
}
