package local

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"
)

// signer builds requests to an httptest server of the engine's front and
// signs them with the AWS SDK's own SigV4 signer, as an S3 client does
// (X-Amz-Content-Sha256 set and signed).
type signer struct {
	t                   *testing.T
	url                 string // http://127.0.0.1:PORT
	key, secret, token  string
	region              string
	at                  time.Time // signing time; zero: now
	noContentSHA256     bool      // leave X-Amz-Content-Sha256 out (generic SigV4)
	payloadHashOverride string    // sign this payload hash instead of the body's
	host                string    // the Host header; "": the URL's
	chunked             bool      // send the body without a length
}

func (s signer) request(method, path string, body []byte, hdr map[string]string) *http.Request {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url+path, bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	if s.chunked {
		req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(body)), -1
	}
	req.Host = s.host
	req.Header.Set("X-Amz-Account-Id", testAccount)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	if s.payloadHashOverride != "" {
		hash = s.payloadHashOverride
	}
	if !s.noContentSHA256 {
		req.Header.Set("X-Amz-Content-Sha256", hash)
	}
	at := s.at
	if at.IsZero() {
		at = time.Now()
	}
	region := s.region
	if region == "" {
		region = "us-east-1"
	}
	creds := aws.Credentials{AccessKeyID: s.key, SecretAccessKey: s.secret, SessionToken: s.token}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hash, "s3", region, at); err != nil {
		s.t.Fatal(err)
	}
	return req
}

// send sends req and returns the status and the error code of the answer
// ("" for a success).
func send(t *testing.T, req *http.Request) (int, string, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var env struct {
		Code    string `xml:"Error>Code"`
		Message string `xml:"Error>Message"`
	}
	if resp.StatusCode >= 300 {
		if err := xml.Unmarshal(b, &env); err != nil {
			t.Fatalf("%s %s: %d with a body that is not the error envelope: %q", req.Method, req.URL.Path, resp.StatusCode, b)
		}
	}
	return resp.StatusCode, env.Code, env.Message
}

// xmlBody is the REST-XML body of an SDK input, as root.
func xmlBody(t *testing.T, root string, in any) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := xml.NewEncoder(&b)
	if err := encodeValue(enc, root, reflect.ValueOf(in)); err != nil {
		t.Fatal(err)
	}
	if err := enc.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// frontSecret is the secret of testKeyID in the tests of the front: a
// string no message should contain.
const frontSecret = "wJalr-FRONT-secret-9d7Q"

// frontEnv is an engine behind its HTTP front (accepting testKeyID), with
// one job created and waiting Suspended for confirmation.
type frontEnv struct {
	e      *Engine
	srv    *httptest.Server
	state  string
	jobID  string
	create *s3control.CreateJobInput
	sign   signer
}

func newFrontEnv(t *testing.T, o APIOptions) *frontEnv {
	t.Helper()
	env := newDirEnv(t, "src-bucket", "dst-bucket", "reports")
	env.put("src-bucket", "a", "a")
	mkey, etag := env.manifestOf("m.csv", "src-bucket", []string{"a"})
	state := t.TempDir()
	e := newTestEngine(t, Options{Storage: env.st, StateDir: state})
	if o.Credentials == nil {
		o.Credentials = StaticCredentials(Credential{AccessKeyID: testKeyID, SecretAccessKey: frontSecret})
	}
	h, err := e.Handler(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	in := createInput("tok-suspended", mkey, etag, copyOp("dst-bucket", ""))
	in.ConfirmationRequired = aws.Bool(true)
	in.Tags = []types.S3Tag{{Key: aws.String("team"), Value: aws.String("data")}}
	id, err := e.CreateJob(context.Background(), testAccount, in)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		d, err := e.DescribeJob(testAccount, id)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status == types.JobStatusSuspended {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s is %s, never Suspended", id, d.Status)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return &frontEnv{e: e, srv: srv, state: state, jobID: id, create: in,
		sign: signer{t: t, url: srv.URL, key: testKeyID, secret: frontSecret}}
}

// snapshot is the engine's durable state and what the API reports of it.
func (f *frontEnv) snapshot(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(f.state, logName))
	if err != nil {
		t.Fatal(err)
	}
	list, _, err := f.e.ListJobs(testAccount, nil, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	d, err := f.e.DescribeJob(testAccount, f.jobID)
	if err != nil {
		t.Fatal(err)
	}
	tags, _ := f.e.GetJobTagging(testAccount, f.jobID)
	return string(raw) + "\n" + awsDump(list) + awsDump(d.Status, d.Priority, d.StatusUpdateReason) + awsDump(tags)
}

func awsDump(v ...any) string {
	var b strings.Builder
	for _, x := range v {
		b.WriteString(strings.ReplaceAll(strings.TrimSpace(string(xmlOf(x))), "\n", " "))
		b.WriteByte('\n')
	}
	return b.String()
}

func xmlOf(v any) []byte {
	var b bytes.Buffer
	enc := xml.NewEncoder(&b)
	encodeValue(enc, "v", reflect.ValueOf(v))
	enc.Flush()
	return b.Bytes()
}

// mutations are the requests an attacker would like to get through: each
// would change the engine's state if it were accepted.
func (f *frontEnv) mutations(t *testing.T) map[string]func(s signer) *http.Request {
	create := *f.create
	create.ClientRequestToken = aws.String("tok-attacker")
	create.ConfirmationRequired = aws.Bool(false)
	createBody := xmlBody(t, "CreateJobRequest", &create)
	tagBody := xmlBody(t, "PutJobTaggingRequest", &s3control.PutJobTaggingInput{Tags: []types.S3Tag{{Key: aws.String("owner"), Value: aws.String("attacker")}}})
	jp := "/v20180820/jobs/" + f.jobID
	return map[string]func(s signer) *http.Request{
		"CreateJob": func(s signer) *http.Request { return s.request("POST", "/v20180820/jobs", createBody, nil) },
		"UpdateJobStatus": func(s signer) *http.Request {
			return s.request("POST", jp+"/status?requestedJobStatus=Cancelled", nil, nil)
		},
		"UpdateJobPriority": func(s signer) *http.Request { return s.request("POST", jp+"/priority?priority=99", nil, nil) },
		"PutJobTagging":     func(s signer) *http.Request { return s.request("PUT", jp+"/tagging", tagBody, nil) },
		"DeleteJobTagging":  func(s signer) *http.Request { return s.request("DELETE", jp+"/tagging", nil, nil) },
	}
}

// TestSigV4Refused sends every state-changing request unsigned, with an
// unknown key, the wrong secret, a stale or future date, a tampered body,
// header, query or path, unsigned headers, a presigned URL and a broken
// Authorization header: each is refused with S3's code and the engine's
// state (jobs.log, the job's status, priority and tags, the job list) is
// byte for byte what it was. The same requests correctly signed then go
// through, so that the refusals are the signature's doing.
func TestSigV4Refused(t *testing.T) {
	f := newFrontEnv(t, APIOptions{})
	before := f.snapshot(t)
	good := f.sign
	cases := []struct {
		name       string
		status     int
		code       string
		tamper     func(s *signer)       // before signing
		afterwards func(r *http.Request) // after signing
		only       map[string]bool       // the operations it applies to (nil: all)
		msg        *regexp.Regexp        // the message, when it matters
	}{
		{name: "unsigned", status: 403, code: "AccessDenied", afterwards: func(r *http.Request) {
			r.Header.Del("Authorization")
		}, msg: regexp.MustCompile(`anonymous`)},
		{name: "unknown key", status: 403, code: "InvalidAccessKeyId", tamper: func(s *signer) { s.key = "AKIDOTHER" }},
		{name: "wrong secret", status: 403, code: "SignatureDoesNotMatch", tamper: func(s *signer) { s.secret = "not-the-secret" }},
		{name: "stale date (replayed 20 minutes later)", status: 403, code: "RequestTimeTooSkewed", tamper: func(s *signer) { s.at = time.Now().Add(-20 * time.Minute) }},
		{name: "date in the future", status: 403, code: "RequestTimeTooSkewed", tamper: func(s *signer) { s.at = time.Now().Add(16 * time.Minute) }},
		{name: "stale X-Amz-Date header swapped for a fresh one", status: 403, code: "SignatureDoesNotMatch", tamper: func(s *signer) { s.at = time.Now().Add(-time.Hour) }, afterwards: func(r *http.Request) {
			r.Header.Set("X-Amz-Date", time.Now().UTC().Format(amzDateLayout))
			r.Header.Set("Authorization", regexp.MustCompile(`/\d{8}/`).ReplaceAllString(r.Header.Get("Authorization"), "/"+time.Now().UTC().Format("20060102")+"/"))
		}},
		{name: "tampered body, same length", status: 400, code: "XAmzContentSHA256Mismatch", only: map[string]bool{"CreateJob": true, "PutJobTagging": true}, afterwards: func(r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			b = bytes.Replace(b, []byte("dst-bucket"), []byte("dst-bucke2"), 1)
			b = bytes.Replace(b, []byte("attacker"), []byte("attackez"), 1)
			r.Body = io.NopCloser(bytes.NewReader(b))
		}},
		{name: "tampered body with its hash", status: 403, code: "SignatureDoesNotMatch", only: map[string]bool{"CreateJob": true, "PutJobTagging": true}, afterwards: func(r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			b = bytes.Replace(b, []byte("dst-bucket"), []byte("dst-bucke2"), 1)
			b = bytes.Replace(b, []byte("attacker"), []byte("attackez"), 1)
			r.Body = io.NopCloser(bytes.NewReader(b))
			s := sha256.Sum256(b)
			r.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(s[:]))
		}},
		{name: "body added to a signed empty request", status: 400, code: "XAmzContentSHA256Mismatch", only: map[string]bool{"DeleteJobTagging": true, "UpdateJobStatus": true}, afterwards: func(r *http.Request) {
			r.Body = io.NopCloser(strings.NewReader("x"))
			r.ContentLength = 1
		}},
		{name: "tampered signed header (account)", status: 403, code: "SignatureDoesNotMatch", afterwards: func(r *http.Request) {
			r.Header.Set("X-Amz-Account-Id", "210987654321")
		}},
		{name: "tampered Host", status: 403, code: "SignatureDoesNotMatch", afterwards: func(r *http.Request) {
			r.Host = "localhost" + r.URL.Host[strings.LastIndexByte(r.URL.Host, ':'):]
		}},
		{name: "tampered query", status: 403, code: "SignatureDoesNotMatch", only: map[string]bool{"UpdateJobPriority": true, "UpdateJobStatus": true}, afterwards: func(r *http.Request) {
			r.URL.RawQuery = strings.Replace(strings.Replace(r.URL.RawQuery, "99", "98", 1), "Cancelled", "Ready", 1)
		}},
		{name: "tampered method", status: 403, code: "SignatureDoesNotMatch", only: map[string]bool{"DeleteJobTagging": true}, afterwards: func(r *http.Request) {
			r.Method = "PUT"
			r.Body = io.NopCloser(strings.NewReader(`<PutJobTaggingRequest><Tags></Tags></PutJobTaggingRequest>`))
			r.ContentLength = -1
		}},
		{name: "tampered path", status: 403, code: "SignatureDoesNotMatch", only: map[string]bool{"UpdateJobPriority": true}, afterwards: func(r *http.Request) {
			r.URL.Path = strings.Replace(r.URL.Path, "/priority", "/status", 1)
			r.URL.RawQuery = "requestedJobStatus=Cancelled"
		}},
		{name: "unsigned x-amz header added", status: 403, code: "AccessDenied", afterwards: func(r *http.Request) {
			r.Header.Set("X-Amz-Meta-Extra", "1")
		}, msg: regexp.MustCompile(`x-amz-meta-extra.*not signed`)},
		{name: "account header not signed", status: 403, code: "AccessDenied", afterwards: func(r *http.Request) {
			a := r.Header.Get("Authorization")
			a = strings.Replace(a, ";x-amz-account-id", "", 1)
			r.Header.Set("Authorization", a)
		}},
		{name: "UNSIGNED-PAYLOAD with a body", status: 400, code: "XAmzContentSHA256Mismatch", only: map[string]bool{"CreateJob": true, "PutJobTagging": true}, tamper: func(s *signer) { s.payloadHashOverride = unsignedPayload }},
		{name: "streaming payload", status: 400, code: "XAmzContentSHA256Mismatch", only: map[string]bool{"CreateJob": true}, tamper: func(s *signer) { s.payloadHashOverride = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" }},
		{name: "presigned URL", status: 403, code: "AccessDenied", afterwards: func(r *http.Request) {
			r.Header.Del("Authorization")
			r.URL.RawQuery += "&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00"
		}},
		{name: "Signature Version 2", status: 400, code: "AuthorizationHeaderMalformed", afterwards: func(r *http.Request) {
			r.Header.Set("Authorization", "AWS "+testKeyID+":c2lnbmF0dXJl")
		}},
		{name: "wrong service in scope", status: 400, code: "AuthorizationHeaderMalformed", afterwards: func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/s3/aws4_request", "/iam/aws4_request", 1))
		}},
		{name: "signature cut short", status: 400, code: "AuthorizationHeaderMalformed", afterwards: func(r *http.Request) {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:len(a)-2])
		}},
		{name: "no date", status: 403, code: "AccessDenied", afterwards: func(r *http.Request) {
			r.Header.Del("X-Amz-Date")
		}},
	}
	for _, c := range cases {
		for op, mk := range f.mutations(t) {
			if c.only != nil && !c.only[op] {
				continue
			}
			s := good
			if c.tamper != nil {
				c.tamper(&s)
			}
			req := mk(s)
			if c.afterwards != nil {
				c.afterwards(req)
			}
			status, code, msg := send(t, req)
			if status != c.status || code != c.code {
				t.Errorf("%s, %s: got %d %s (%s), want %d %s", c.name, op, status, code, msg, c.status, c.code)
			}
			if c.msg != nil && !c.msg.MatchString(msg) {
				t.Errorf("%s, %s: message %q does not match %s", c.name, op, msg, c.msg)
			}
			if strings.Contains(msg, frontSecret) || strings.Contains(msg, "not-the-secret") {
				t.Errorf("%s, %s: the message shows a secret: %q", c.name, op, msg)
			}
		}
	}
	if after := f.snapshot(t); after != before {
		t.Fatalf("refused requests changed the engine's state:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	// The same requests, signed correctly, in every accepted form.
	for _, s := range []signer{good, {t: t, url: f.srv.URL, key: testKeyID, secret: frontSecret, noContentSHA256: true, region: "eu-west-3"}} {
		for _, op := range []string{"PutJobTagging", "DeleteJobTagging", "UpdateJobPriority"} {
			if status, code, msg := send(t, f.mutations(t)[op](s)); status != 200 {
				t.Fatalf("%s signed (X-Amz-Content-Sha256 %v): %d %s %s", op, !s.noContentSHA256, status, code, msg)
			}
		}
	}
	// UNSIGNED-PAYLOAD is taken without a body: nothing could be swapped.
	s := good
	s.payloadHashOverride = unsignedPayload
	if status, code, msg := send(t, s.request("GET", "/v20180820/jobs/"+f.jobID+"/tagging", nil, nil)); status != 200 {
		t.Fatalf("GetJobTagging with UNSIGNED-PAYLOAD: %d %s %s", status, code, msg)
	}
	for _, op := range []string{"CreateJob", "UpdateJobStatus"} {
		if status, code, msg := send(t, f.mutations(t)[op](good)); status != 200 {
			t.Fatalf("%s signed: %d %s %s", op, status, code, msg)
		}
	}
	if after := f.snapshot(t); after == before {
		t.Fatal("the signed requests changed nothing: the test proves nothing")
	}
}

// TestSigV4SessionToken: a key with a session token (temporary
// credentials) is accepted with its token only.
func TestSigV4SessionToken(t *testing.T) {
	f := newFrontEnv(t, APIOptions{Credentials: StaticCredentials(Credential{AccessKeyID: "ASIATEMP", SecretAccessKey: "temp-secret", SessionToken: "the-token"})})
	before := f.snapshot(t)
	for _, c := range []struct {
		token  string
		status int
		code   string
	}{{"", 400, "InvalidToken"}, {"another-token", 400, "InvalidToken"}, {"the-token", 200, ""}} {
		s := signer{t: t, url: f.srv.URL, key: "ASIATEMP", secret: "temp-secret", token: c.token}
		status, code, msg := send(t, s.request("POST", "/v20180820/jobs/"+f.jobID+"/priority?priority=5", nil, nil))
		if status != c.status || code != c.code {
			t.Errorf("token %q: got %d %s (%s), want %d %s", c.token, status, code, msg, c.status, c.code)
		}
		if c.status != 200 {
			if after := f.snapshot(t); after != before {
				t.Fatalf("token %q: refused, yet the state changed", c.token)
			}
		}
	}
	if d, _ := f.e.DescribeJob(testAccount, f.jobID); d.Priority != 5 {
		t.Fatalf("priority %d after the accepted request, want 5", d.Priority)
	}
}

// TestParseAuthorization checks the parser on headers real clients send
// and on broken ones.
func TestParseAuthorization(t *testing.T) {
	const sig = "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024"
	for _, c := range []struct {
		h      string
		ok     bool
		key    string
		region string
		signed string
	}{
		{"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + sig, true, "AKIDEXAMPLE", "us-east-1", "host;x-amz-date"},
		{"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/eu-west-3/s3/aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=" + sig, true, "AKIDEXAMPLE", "eu-west-3", "host;x-amz-content-sha256;x-amz-date"},
		{"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, SignedHeaders=x-amz-date;host, Signature=" + sig, false, "", "", ""},       // not sorted
		{"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, SignedHeaders=host;Host, Signature=" + sig, false, "", "", ""},             // upper case
		{"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, SignedHeaders=host;;x-amz-date, Signature=" + sig, false, "", "", ""},      // empty name
		{"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/2015083/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + sig, false, "", "", ""},                   // short date
		{"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830//s3/aws4_request, SignedHeaders=host, Signature=" + sig, false, "", "", ""},                           // no region
		{"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request/x, SignedHeaders=host, Signature=" + sig, false, "", "", ""},                // 6 parts
		{"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + strings.ToUpper(sig), false, "", "", ""}, // upper hex
		{"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + sig + ", Signature=" + sig, false, "", "", ""},
		{"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, SignedHeaders=host", false, "", "", ""},
		{"AWS4-HMAC-SHA512 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + sig, false, "", "", ""},
		{"AWS4-ECDSA-P256-SHA256 Credential=AKIDEXAMPLE/20150830/s3/aws4_request, SignedHeaders=host, Signature=" + sig, false, "", "", ""},
		{"", false, "", "", ""},
	} {
		s, err := parseAuthorization(c.h)
		if (err == nil) != c.ok {
			t.Errorf("%q: error %v, want ok=%v", c.h, err, c.ok)
			continue
		}
		if err != nil {
			if code := err.(*APIError).Code(); code != "AuthorizationHeaderMalformed" {
				t.Errorf("%q: code %s", c.h, code)
			}
			continue
		}
		if s.keyID != c.key || s.region != c.region || strings.Join(s.signedHeaders, ";") != c.signed {
			t.Errorf("%q: parsed %+v", c.h, s)
		}
	}
}

// TestSigV4KnownAnswer verifies the worked example of the S3 API
// reference ("Signature Calculations for the Authorization Header",
// GET Object): a signature computed by AWS, not by this code.
func TestSigV4KnownAnswer(t *testing.T) {
	const want = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
	req := httptest.NewRequest("GET", "http://examplebucket.s3.amazonaws.com/test.txt", nil)
	req.Header.Set("Range", "bytes=0-9")
	req.Header.Set("X-Amz-Content-Sha256", emptySHA256)
	req.Header.Set("X-Amz-Date", "20130524T000000Z")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature="+want)
	creds := StaticCredentials(Credential{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"})
	at := time.Date(2013, 5, 24, 0, 5, 0, 0, time.UTC)
	s, err := parseSigV4(req, at)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.verify(context.Background(), creds, emptySHA256); err != nil {
		t.Fatalf("the documented example does not verify: %v\ncanonical request:\n%s", err, s.canonicalRequest("/test.txt", emptySHA256))
	}
	req.Header.Set("Range", "bytes=0-10")
	if err := s.verify(context.Background(), creds, emptySHA256); err == nil {
		t.Fatal("a changed Range header still verifies")
	}
	if _, err := parseSigV4(req, at.Add(MaxClockSkew)); err == nil {
		t.Fatal("the example verifies 20 minutes later")
	}
}

// TestCanonicalQuery: parameters sorted by name then value, escaped as
// SigV4 wants, whatever escaping the client sent.
func TestCanonicalQuery(t *testing.T) {
	for _, c := range []struct{ raw, want string }{
		{"", ""},
		{"Param2=value2&Param1=value1", "Param1=value1&Param2=value2"},
		{"Param1=value2&Param1=Value1", "Param1=Value1&Param1=value2"},
		{"jobStatuses=Complete&jobStatuses=Active&maxResults=10", "jobStatuses=Active&jobStatuses=Complete&maxResults=10"},
		{"statusUpdateReason=two%20words&requestedJobStatus=Cancelled", "requestedJobStatus=Cancelled&statusUpdateReason=two%20words"},
		{"statusUpdateReason=a+b", "statusUpdateReason=a%20b"},
		{"k=%C3%BC~-_.&tagging", "k=%C3%BC~-_.&tagging="},
		{"k=a%2Fb%3Dc", "k=a%2Fb%3Dc"},
	} {
		if got := canonicalQuery(c.raw); got != c.want {
			t.Errorf("canonicalQuery(%q) = %q, want %q", c.raw, got, c.want)
		}
	}
}
