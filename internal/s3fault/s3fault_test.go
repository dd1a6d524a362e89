package s3fault_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/s3batchkit/s3batchkit/internal/objio/objiotest"
	"github.com/s3batchkit/s3batchkit/internal/s3fault"
)

// client returns an S3 client of the test server's credentials that
// talks to endpoint (through hc, if not nil) and makes attempts attempts
// per request.
func client(t *testing.T, endpoint string, hc *http.Client, attempts int, checksums aws.RequestChecksumCalculation) *s3.Client {
	cfg := objiotest.Config(t)
	o := s3.Options{
		Region: "us-east-1", Credentials: cfg.Credentials, BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		RetryMaxAttempts: attempts, RequestChecksumCalculation: checksums,
	}
	if hc != nil {
		o.HTTPClient = hc
	}
	return s3.New(o)
}

func payload(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func getAll(t *testing.T, cl *s3.Client, bucket, key string) []byte {
	t.Helper()
	out, err := cl.GetObject(context.Background(), &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		t.Fatalf("GET %q: %v", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("GET %q: %v", key, err)
	}
	return b
}

// TestForwardsFaithfully: with no faults, signed requests pass the proxy
// and the server accepts their signatures — tricky keys (encoded path),
// a 3 MiB PUT (Expect: 100-continue), an unseekable body sent as
// aws-chunked with a trailing checksum (streaming SigV4), a multipart
// upload, a ranged GET and a listing — and what was written is what the
// server holds, byte for byte.
func TestForwardsFaithfully(t *testing.T) {
	_, bucket := objiotest.Setup(t)
	cfg := objiotest.Config(t)
	var streamed atomic.Int64 // requests with an aws-chunked body
	p, err := s3fault.New(cfg.EndpointURL, s3fault.Options{TLS: true, Match: func(r *http.Request) bool {
		if strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-") && r.Header.Get("Content-Encoding") == "aws-chunked" {
			streamed.Add(1)
		}
		return true
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if u, _ := url.Parse(p.URL); u.Hostname() != "127.0.0.1" {
		t.Fatalf("proxy listens on %s, want 127.0.0.1", p.URL)
	}
	ctx := context.Background()
	via := client(t, p.URL, p.Client(), 1, aws.RequestChecksumCalculationWhenSupported)
	direct := client(t, cfg.EndpointURL, nil, 1, aws.RequestChecksumCalculationWhenSupported)

	want := map[string][]byte{}
	for i, k := range []string{"plain", "with space+plus", "ünïcödé/鍵", "a%20b", "semi;colon=eq&amp?q", "tilde~/star*/(paren)!"} {
		want[k] = payload(100+i, uint64(i))
	}
	want["big"] = payload(3<<20, 99)
	for k, b := range want {
		if _, err := via.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String(k), Body: bytes.NewReader(b)}); err != nil {
			t.Fatalf("PUT %q through the proxy: %v", k, err)
		}
	}
	// An io.Reader that cannot seek: the SDK streams it aws-chunked with
	// a trailing checksum.
	chunked := payload(200_000, 7)
	if _, err := via.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("chunked"), Body: io.MultiReader(bytes.NewReader(chunked)),
		ContentLength: aws.Int64(int64(len(chunked)))}); err != nil {
		t.Fatalf("aws-chunked PUT through the proxy: %v", err)
	}
	if streamed.Load() == 0 {
		t.Fatal("no aws-chunked (streaming SigV4) body went through the proxy")
	}
	want["chunked"] = chunked
	// A multipart upload of two parts.
	mp := payload(6<<20, 8)
	mu, err := via.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &bucket, Key: aws.String("multipart")})
	if err != nil {
		t.Fatal(err)
	}
	var parts []types.CompletedPart
	for i, b := range [][]byte{mp[:5<<20], mp[5<<20:]} {
		out, err := via.UploadPart(ctx, &s3.UploadPartInput{Bucket: &bucket, Key: aws.String("multipart"), UploadId: mu.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(b)})
		if err != nil {
			t.Fatalf("part %d through the proxy: %v", i+1, err)
		}
		parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(int32(i + 1))})
	}
	if _, err := via.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &bucket, Key: aws.String("multipart"), UploadId: mu.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}); err != nil {
		t.Fatalf("completing the multipart upload through the proxy: %v", err)
	}
	want["multipart"] = mp

	for k, b := range want {
		if got := getAll(t, direct, bucket, k); !bytes.Equal(got, b) {
			t.Errorf("%q: the server holds %d bytes, differing from the %d written", k, len(got), len(b))
		}
		if got := getAll(t, via, bucket, k); !bytes.Equal(got, b) {
			t.Errorf("%q: read through the proxy: %d bytes, differing from the %d written", k, len(got), len(b))
		}
	}
	rng := "bytes=1000-1999"
	out, err := via.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String("big"), Range: &rng})
	if err != nil {
		t.Fatal(err)
	}
	part, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if !bytes.Equal(part, want["big"][1000:2000]) {
		t.Error("ranged GET through the proxy differs")
	}
	lo, err := via.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &bucket})
	if err != nil || len(lo.Contents) != len(want) {
		t.Fatalf("listing through the proxy: %d objects, want %d: %v", len(lo.Contents), len(want), err)
	}
	if c := p.Counts(); c.Failing()+c.Faults[s3fault.Slow] != 0 || c.Requests < int64(2*len(want)) {
		t.Errorf("counts at rate 0: %v", c)
	}
}

// TestEachFault checks what a client sees of each kind of fault, with
// the SDK's retries off, and the counts.
func TestEachFault(t *testing.T) {
	_, bucket := objiotest.Setup(t)
	cfg := objiotest.Config(t)
	ctx := context.Background()
	direct := client(t, cfg.EndpointURL, nil, 1, aws.RequestChecksumCalculationWhenRequired)
	data := payload(10_000, 1)
	if _, err := direct.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("obj"), Body: bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
	apiCode := func(err error) (string, int) {
		var ae smithy.APIError
		var re *awshttp.ResponseError
		code, status := "", 0
		if errors.As(err, &ae) {
			code = ae.ErrorCode()
		}
		if errors.As(err, &re) {
			status = re.HTTPStatusCode()
		}
		return code, status
	}
	for _, tc := range []struct {
		kind  s3fault.Kind
		check func(t *testing.T, via *s3.Client)
	}{
		{s3fault.SlowDown, func(t *testing.T, via *s3.Client) {
			_, err := via.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String("obj")})
			if code, status := apiCode(err); code != "SlowDown" || status != 503 {
				t.Errorf("GET: %q %d (%v), want SlowDown 503", code, status, err)
			}
		}},
		{s3fault.InternalError, func(t *testing.T, via *s3.Client) {
			_, err := via.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("other"), Body: bytes.NewReader(data)})
			if code, status := apiCode(err); code != "InternalError" || status != 500 {
				t.Errorf("PUT: %q %d (%v), want InternalError 500", code, status, err)
			}
		}},
		{s3fault.Reset, func(t *testing.T, via *s3.Client) {
			_, err := via.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("obj")})
			if _, status := apiCode(err); err == nil || status != 0 {
				t.Errorf("HEAD: status %d, %v; want an error without an answer", status, err)
			}
		}},
		{s3fault.Slow, func(t *testing.T, via *s3.Client) {
			start := time.Now()
			if got := getAll(t, via, bucket, "obj"); !bytes.Equal(got, data) {
				t.Error("slow GET: wrong data")
			}
			if d := time.Since(start); d < 30*time.Millisecond {
				t.Errorf("slow GET took %v, want at least the 30ms delay", d)
			}
		}},
		{s3fault.Truncate, func(t *testing.T, via *s3.Client) {
			out, err := via.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String("obj")})
			if err != nil {
				t.Fatalf("GET: %v", err)
			}
			got, err := io.ReadAll(out.Body)
			out.Body.Close()
			if aws.ToInt64(out.ContentLength) != int64(len(data)) || !errors.Is(err, io.ErrUnexpectedEOF) || len(got) != len(data)/2 || !bytes.Equal(got, data[:len(got)]) {
				t.Errorf("GET: Content-Length %d, read %d bytes, %v; want %d, %d, unexpected EOF", aws.ToInt64(out.ContentLength), len(got), err, len(data), len(data)/2)
			}
			// A PUT's answer has no body: it is lost, after the server
			// stored the object.
			_, err = via.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("lost-answer"), Body: bytes.NewReader(data)})
			if _, status := apiCode(err); err == nil || status != 0 {
				t.Errorf("PUT: status %d, %v; want an error without an answer", status, err)
			}
			if got := getAll(t, direct, bucket, "lost-answer"); !bytes.Equal(got, data) {
				t.Error("the PUT whose answer was lost did not store the object")
			}
		}},
	} {
		for _, tls := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/tls=%v", tc.kind, tls), func(t *testing.T) {
				p, err := s3fault.New(cfg.EndpointURL, s3fault.Options{Rate: 1, Kinds: []s3fault.Kind{tc.kind}, Delay: 30 * time.Millisecond, TLS: tls})
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				tc.check(t, client(t, p.URL, p.Client(), 1, aws.RequestChecksumCalculationWhenRequired))
				c := p.Counts()
				if c.Requests == 0 || c.Faults[tc.kind] != c.Requests {
					t.Errorf("counts: %v; want every request a %v", c, tc.kind)
				}
			})
		}
	}
}

// TestRateAndSeed: the share of faults follows the rate, every kind is
// drawn, and the same seed gives the same decisions.
func TestRateAndSeed(t *testing.T) {
	// A server that answers everything: the draws, not S3, are tested.
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer up.Close()
	outcomes := func(seed uint64) (string, s3fault.Counts) {
		p, err := s3fault.New(up.URL, s3fault.Options{Rate: 0.3, Seed: seed, Delay: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		var b strings.Builder
		hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		for range 400 {
			resp, err := hc.Get(p.URL + "/b/k")
			switch {
			case err != nil:
				b.WriteByte('x') // reset
			default:
				body, rerr := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch {
				case rerr != nil:
					b.WriteByte('t')
				case resp.StatusCode != 200:
					b.WriteString(resp.Status[:1])
				case string(body) == "ok":
					b.WriteByte('.')
				}
			}
		}
		return b.String(), p.Counts()
	}
	a, ca := outcomes(42)
	b, _ := outcomes(42)
	c, _ := outcomes(43)
	if a != b {
		t.Errorf("the same seed gave different decisions:\n%s\n%s", a, b)
	}
	if a == c {
		t.Error("two seeds gave the same decisions")
	}
	faults := ca.Failing() + ca.Faults[s3fault.Slow]
	if ca.Requests != 400 || faults < 80 || faults > 160 {
		t.Errorf("counts %v: want about 30%% of 400 requests faulted", ca)
	}
	for _, k := range s3fault.All {
		if ca.Faults[k] == 0 {
			t.Errorf("no %v drawn: %v", k, ca)
		}
	}
	if n := int64(strings.Count(a, "x")); n != ca.Faults[s3fault.Reset] {
		t.Errorf("%d requests reset, %d counted", n, ca.Faults[s3fault.Reset])
	}
	if n := int64(strings.Count(a, "t")); n != ca.Faults[s3fault.Truncate] {
		t.Errorf("%d answers cut short, %d counted", n, ca.Faults[s3fault.Truncate])
	}
}

func TestNewChecks(t *testing.T) {
	for _, tc := range []struct {
		upstream string
		o        s3fault.Options
	}{
		{"127.0.0.1:9000", s3fault.Options{}},
		{"http://127.0.0.1:9000/prefix", s3fault.Options{}},
		{"http://127.0.0.1:9000", s3fault.Options{Rate: 1.5}},
		{"http://127.0.0.1:9000", s3fault.Options{Kinds: []s3fault.Kind{99}}},
	} {
		if p, err := s3fault.New(tc.upstream, tc.o); err == nil {
			p.Close()
			t.Errorf("New(%q, %+v) accepted", tc.upstream, tc.o)
		}
	}
}
