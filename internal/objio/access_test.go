package objio_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/internal/objio/objiotest"
	"github.com/s3batchkit/s3batchkit/internal/s3fault"
)

// TestRejectedCredentials: a wrong secret and an unknown access key are
// credentials errors (never "not found", never retried) whose message
// names the key id and what to check, and never holds the secret.
func TestRejectedCredentials(t *testing.T) {
	oc, bucket := objiotest.Setup(t)
	ctx := context.Background()
	loc := "s3://" + bucket + "/k"
	if err := oc.WriteFileAtomic(ctx, loc, []byte("data")); err != nil {
		t.Fatal(err)
	}
	base := objiotest.Config(t)
	const secret = "not-the-secret-0123456789"
	for _, tc := range []struct {
		name, key, code, says string
	}{
		{"wrong secret", os.Getenv(objiotest.EnvAccessKey), "SignatureDoesNotMatch", "secret key does not match access key " + os.Getenv(objiotest.EnvAccessKey)},
		// versitygw answers an unknown key with 404 XAdminUserNotFound
		// (S3: 403 InvalidAccessKeyId); a HEAD shows neither code.
		{"unknown key", "AKIAUNKNOWNKEY000000", "", "access key AKIAUNKNOWNKEY000000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			cfg.Credentials = credentials.NewStaticCredentialsProvider(tc.key, secret, "")
			c := objio.New(cfg)
			checks := map[string]error{}
			_, checks["Stat"] = c.Stat(ctx, loc)
			_, checks["Stat of a missing key"] = c.Stat(ctx, loc+"-missing")
			_, checks["ReadAll"] = c.ReadAll(ctx, loc)
			_, checks["List"] = c.List(ctx, "s3://"+bucket+"/")
			checks["WriteFileAtomic"] = c.WriteFileAtomic(ctx, loc+"-new", []byte("x"))
			checks["CheckAccess"] = c.CheckAccess(ctx, loc)
			for what, err := range checks {
				var ce *objio.CredentialsError
				if !errors.As(err, &ce) || !errors.Is(err, objio.ErrCredentials) || errors.Is(err, objio.ErrNotFound) || errors.Is(err, objio.ErrAccessDenied) {
					t.Errorf("%s: %v; want a credentials error", what, err)
					continue
				}
				msg := err.Error()
				if (tc.code != "" && ce.Code != tc.code) || !strings.Contains(msg, tc.says) || strings.Contains(msg, secret) {
					t.Errorf("%s: code %q, message %q; want code %q, %q, no secret", what, ce.Code, msg, tc.code, tc.says)
				}
			}
			if st := c.Stats(); st.Retries != 0 {
				t.Errorf("rejected credentials were retried: %+v", st)
			}
			t.Logf("%v", checks["Stat"])
		})
	}
}

// failingProvider has no credentials to give, as a chain with none.
type failingProvider struct{ calls atomic.Int64 }

func (p *failingProvider) Retrieve(context.Context) (aws.Credentials, error) {
	p.calls.Add(1)
	return aws.Credentials{}, errors.New("no EC2 IMDS role found")
}

// TestNoCredentials: without credentials nothing is sent; the error names
// the chain tried and what to do, and no request is retried.
func TestNoCredentials(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	t.Setenv("AWS_PROFILE", "")
	p := &failingProvider{}
	c := objio.New(objio.Config{EndpointURL: srv.URL, Region: "us-east-1", Credentials: p, RetryMaxBackoff: time.Millisecond})
	ctx := context.Background()
	for what, err := range map[string]error{
		"CheckCredentials": c.CheckCredentials(ctx),
		"CheckAccess":      c.CheckAccess(ctx, "s3://b/k"),
		"Stat":             func() error { _, err := c.Stat(ctx, "s3://b/k"); return err }(),
	} {
		var ce *objio.CredentialsError
		if !errors.As(err, &ce) || ce.Code != "" || !strings.Contains(err.Error(), "default chain") ||
			!strings.Contains(err.Error(), "aws sso login") || !strings.Contains(err.Error(), "AWS_PROFILE") {
			t.Errorf("%s: %v; want a credentials error naming the chain and what to do", what, err)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("%d requests reached the server without credentials", hits.Load())
	}
	if n := p.calls.Load(); n != 3 {
		t.Errorf("credentials retrieved %d times for 3 calls: retried?", n)
	}
}

// TestLeastPrivilege: through a store that refuses listing and answers
// 403 for missing keys (a role with s3:GetObject only), a missing key is
// a refused request, never "not found" nor "does not exist"; the plain
// server still says not found.
func TestLeastPrivilege(t *testing.T) {
	oc, bucket := objiotest.Setup(t)
	ctx := context.Background()
	loc := "s3://" + bucket + "/present"
	if err := oc.WriteFileAtomic(ctx, loc, []byte("data")); err != nil {
		t.Fatal(err)
	}
	if _, err := oc.Stat(ctx, loc+"-missing"); !errors.Is(err, objio.ErrNotFound) {
		t.Fatalf("plain server: Stat of a missing key = %v, want ErrNotFound", err)
	}
	cfg := objiotest.Config(t)
	p, err := s3fault.New(cfg.EndpointURL, s3fault.Options{NoListBucket: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	cfg.EndpointURL = p.URL
	c := objio.New(cfg)
	if got, err := c.ReadAll(ctx, loc); err != nil || string(got) != "data" {
		t.Fatalf("reading a present key: %q, %v", got, err)
	}
	_, statErr := c.Stat(ctx, loc+"-missing")
	_, readErr := c.ReadAll(ctx, loc+"-missing")
	ok, existsErr := c.Exists(ctx, loc+"-missing")
	_, listErr := c.List(ctx, "s3://"+bucket+"/")
	for what, err := range map[string]error{"Stat": statErr, "ReadAll": readErr, "Exists": existsErr} {
		var ae *objio.AccessError
		if !errors.As(err, &ae) || errors.Is(err, objio.ErrNotFound) || ae.Status != 403 || !strings.Contains(err.Error(), "s3:ListBucket") ||
			!strings.Contains(err.Error(), "access key "+os.Getenv(objiotest.EnvAccessKey)) {
			t.Errorf("%s of a missing key: %v; want a refused request naming the key id and s3:ListBucket", what, err)
		}
	}
	if ok {
		t.Error("Exists said true")
	}
	if ae := (*objio.AccessError)(nil); !errors.As(listErr, &ae) || ae.Op != "ListObjectsV2" || !strings.Contains(listErr.Error(), "needs s3:ListBucket on bucket "+bucket) {
		t.Errorf("List = %v; want a refused listing naming s3:ListBucket", listErr)
	}
	if err := c.CheckAccess(ctx, loc+"-missing"); err != nil {
		t.Errorf("CheckAccess of a refused key: %v; the credentials were accepted", err)
	}
	if err := c.CheckAccess(ctx, "s3://"+bucket+"/"); err != nil {
		t.Errorf("CheckAccess of a refused listing: %v; the credentials were accepted", err)
	}
	t.Logf("%v\n%v", statErr, listErr)
}

// TestCheckAccess: accepted credentials pass whatever the answer (object,
// missing key, empty object, prefix, missing bucket); an endpoint that
// refuses connections is unreachable.
func TestCheckAccess(t *testing.T) {
	oc, bucket := objiotest.Setup(t)
	ctx := context.Background()
	oc.WriteFileAtomic(ctx, "s3://"+bucket+"/full", []byte("x"))
	oc.WriteFileAtomic(ctx, "s3://"+bucket+"/empty", nil)
	for _, loc := range []string{"s3://" + bucket + "/full", "s3://" + bucket + "/empty", "s3://" + bucket + "/missing",
		"s3://" + bucket + "/", "s3://" + bucket, "s3://no-such-bucket-s3bk/x", "/local/path"} {
		if err := oc.CheckAccess(ctx, loc); err != nil {
			t.Errorf("CheckAccess(%s) = %v", loc, err)
		}
	}
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	cfg := objiotest.Config(t)
	cfg.EndpointURL, cfg.RetryMaxBackoff = url, time.Millisecond
	err := objio.New(cfg).CheckAccess(ctx, "s3://"+bucket+"/full")
	if !errors.Is(err, objio.ErrUnreachable) || !strings.Contains(err.Error(), url) {
		t.Errorf("CheckAccess of a closed port = %v; want ErrUnreachable naming %s", err, url)
	}
}

// TestThrottleWindow: the store answers every request 503 SlowDown (HEAD
// without a body, as S3) for longer than the SDK's default policy rides
// out, then recovers: Stat (a HEAD) and ReadAll succeed, and the retries
// count as throttling. Time is scaled down 20 times (base 50 ms, cap 1 s,
// window 500 ms): the classification is the real one. At this scale the
// SDK's own policy for a bare 503 (not throttling: 2.5 ms base, full
// jitter) waits at most 2.5 ms × 127 ≈ 320 ms in 8 attempts.
func TestThrottleWindow(t *testing.T) {
	oc, bucket := objiotest.Setup(t)
	ctx := context.Background()
	loc := "s3://" + bucket + "/k"
	data := randomBytes(3000, 9)
	if err := oc.WriteFileAtomic(ctx, loc, data); err != nil {
		t.Fatal(err)
	}
	cfg := objiotest.Config(t)
	p, err := s3fault.New(cfg.EndpointURL, s3fault.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	cfg.EndpointURL, cfg.RetryBaseDelay, cfg.RetryMaxBackoff = p.URL, 50*time.Millisecond, time.Second
	const window = 500 * time.Millisecond
	for _, tc := range []struct {
		name string
		do   func(c *objio.Client) error
	}{
		{"HEAD", func(c *objio.Client) error { _, err := c.Stat(ctx, loc); return err }},
		{"HEAD and GET", func(c *objio.Client) error {
			got, err := c.ReadAll(ctx, loc)
			if err == nil && !bytes.Equal(got, data) {
				err = errors.New("wrong bytes")
			}
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var debug bytes.Buffer
			dcfg := cfg
			dcfg.Debug = &debug
			c := objio.New(dcfg)
			p.SetFaults(1, s3fault.SlowDown)
			start := time.Now()
			time.AfterFunc(window, func() { p.SetFaults(0) })
			if err := tc.do(c); err != nil {
				t.Fatalf("after %v of throttling: %v", time.Since(start), err)
			}
			st := c.Stats()
			if took := time.Since(start); took < window || st.Throttled == 0 || st.Throttled != st.Retries {
				t.Errorf("took %v, stats %+v: want the window ridden out with throttling retries only", took, st)
			}
			// Each retry is in the debug log (and only there).
			if n := strings.Count(debug.String(), "debug: retry "); int64(n) != st.Retries {
				t.Errorf("%d retries logged, %d counted:\n%s", n, st.Retries, debug.String())
			}
			t.Logf("%v, %+v", time.Since(start), st)
		})
	}
}

// TestBareHEAD503 is why the policy counts every 503 as throttling: the
// SDK reads no code from a bodiless HEAD answer, and its own throttling
// checks do not recognise it.
func TestBareHEAD503(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	cl := s3.New(s3.Options{BaseEndpoint: aws.String(srv.URL), Region: "us-east-1", UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("a", "b", ""), RetryMaxAttempts: 1})
	_, err := cl.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String("b"), Key: aws.String("k")})
	if err == nil {
		t.Fatal("no error")
	}
	if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary {
		t.Errorf("the SDK now sees %v as throttling", err)
	}
	pol := objio.RetryPolicy{BaseDelay: time.Second, MaxBackoff: 20 * time.Second}
	// Throttling waits start at the base: [0.5 s, 1 s] for the first retry.
	for range 50 {
		if d := pol.Delay(1, err); d < 500*time.Millisecond || d > time.Second {
			t.Fatalf("first wait after a bare 503: %v, want 0.5 to 1 s", d)
		}
	}
	if !objio.Transient(err) {
		t.Errorf("Transient(%v) = false", err)
	}
}

// TestRetryDelays: waits double from the base, stay within [d/2, d], and
// are capped; connection errors start at a twentieth of the base.
func TestRetryDelays(t *testing.T) {
	pol := objio.RetryPolicy{BaseDelay: time.Second, MaxBackoff: 20 * time.Second}
	conn := errors.New("read tcp: connection reset by peer")
	slow := &s3fault503{}
	var minSum time.Duration
	for i := 1; i <= 7; i++ {
		want := min(time.Second<<(i-1), 20*time.Second)
		lo, hi := time.Duration(1<<62), time.Duration(0)
		for range 200 {
			d := pol.Delay(i, slow)
			lo, hi = min(lo, d), max(hi, d)
		}
		if lo < want/2 || hi > want {
			t.Errorf("retry %d after throttling: waits %v to %v, want within %v to %v", i, lo, hi, want/2, want)
		}
		minSum += want / 2
		if d := pol.Delay(i, conn); d > min(50*time.Millisecond<<(i-1), 20*time.Second) {
			t.Errorf("retry %d after a connection error: %v", i, d)
		}
	}
	if minSum != 35500*time.Millisecond {
		t.Errorf("the shortest throttling schedule of 8 attempts is %v", minSum)
	}
}

// s3fault503 is an error with HTTP status 503, as the SDK's response
// errors have.
type s3fault503 struct{}

func (*s3fault503) Error() string       { return "503 SlowDown" }
func (*s3fault503) HTTPStatusCode() int { return 503 }
