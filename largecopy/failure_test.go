package largecopy

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3batchkit/s3batchkit/internal/s3fault"
)

// fixture is a source object of parts parts (the last one short) and an
// empty destination bucket.
type fixture struct {
	cl              *s3.Client
	ep              string
	srcB, dstB, key string
	body            []byte
	args            map[string]string
	parts           int
}

func newFixture(t *testing.T, parts int) *fixture {
	ep := endpoint(t)
	f := &fixture{ep: ep, cl: newClient(t, ep, nil, 3), key: "big/object 1.bin", parts: parts}
	f.srcB, f.dstB = newBucket(t, f.cl, "src"), newBucket(t, f.cl, "dst")
	f.body = payload((parts-1)*testPart+777, uint64(parts))
	put(t, f.cl, f.srcB, f.key, source{body: f.body, metadata: map[string]string{"m": "1"}, tagging: "t=1"})
	f.args = map[string]string{"TargetResource": "arn:aws:s3:::" + f.dstB, "TargetKeyPrefix": "copy"}
	return f
}

func (f *fixture) event() []byte  { return event2(f.args, f.srcB, enc(f.key)) }
func (f *fixture) dstKey() string { return "copy/" + f.key }

// handler returns a handler over a client of ep (through hc).
func (f *fixture) handler(t *testing.T, ep string, hc *http.Client, attempts, concurrency int) *Handler {
	return mustHandler(t, Options{Client: newClient(t, ep, hc, attempts), PartSize: testPart, Concurrency: concurrency, Reserve: 100 * time.Millisecond})
}

// partCopies counts the UploadPartCopy requests a hookProxy saw.
func (p *hookProxy) partCopies() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, s := range p.seen {
		if strings.HasPrefix(s, "PUT ") && strings.Contains(s, "partNumber=") {
			n++
		}
	}
	return n
}

// TestPartFailsThenSucceeds: a part whose first attempt fails (each way
// a struggling S3 fails) is tried again, and the copy succeeds.
func TestPartFailsThenSucceeds(t *testing.T) {
	for _, kind := range s3fault.Failing {
		t.Run(kind.String(), func(t *testing.T) {
			f := newFixture(t, 3)
			var hit atomic.Bool
			proxy, err := s3fault.New(f.ep, s3fault.Options{Rate: 1, Kinds: []s3fault.Kind{kind}, Match: func(r *http.Request) bool {
				n, ok := isPartCopy(r)
				return ok && n == 2 && hit.CompareAndSwap(false, true)
			}})
			if err != nil {
				t.Fatal(err)
			}
			defer proxy.Close()
			r := invoke(t, context.Background(), f.handler(t, proxy.URL, nil, 3, 2), f.event())
			wantResult(t, r, 0, Succeeded, "in 3 parts")
			if c := proxy.Counts(); c.Failing() != 1 {
				t.Errorf("faults injected: %v, want one", c)
			}
			sameObject(t, f.cl, f.srcB, f.key, f.dstB, f.dstKey())
			noUploads(t, f.cl, f.dstB)
		})
	}
}

// TestPartKeepsFailingThenResumes: a part that fails every attempt ends
// the invocation in TemporaryFailure with the upload kept; the next
// invocation copies only the parts missing.
func TestPartKeepsFailingThenResumes(t *testing.T) {
	f := newFixture(t, 4)
	proxy, err := s3fault.New(f.ep, s3fault.Options{Rate: 1, Kinds: []s3fault.Kind{s3fault.SlowDown}, Match: func(r *http.Request) bool {
		n, ok := isPartCopy(r)
		return ok && n == 3
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	r := invoke(t, context.Background(), f.handler(t, proxy.URL, nil, 2, 1), f.event())
	wantResult(t, r, 0, TemporaryFailure, "SlowDown (HTTP 503)", "(2 of 4 parts copied)", "retries")
	if n := len(uploads(t, f.cl, f.dstB)); n != 2 {
		t.Fatalf("%d uploads in the destination after a temporary failure, want 2 (the copy's and its companion)", n)
	}
	absent(t, f.cl, f.dstB, f.dstKey())

	counter := newHookProxy(t, f.ep, nil)
	r = invoke(t, context.Background(), f.handler(t, counter.URL, nil, 2, 1), f.event())
	wantResult(t, r, 0, Succeeded, "in 4 parts", "(2 resumed)")
	if n := counter.partCopies(); n != 2 {
		t.Errorf("the resumed copy made %d UploadPartCopy requests, want 2 (parts 3 and 4)", n)
	}
	sameObject(t, f.cl, f.srcB, f.key, f.dstB, f.dstKey())
	noUploads(t, f.cl, f.dstB)
}

// TestDeadlineResumes: an invocation whose time runs out mid-copy answers
// TemporaryFailure before its deadline; the next one finishes from the
// parts listed. Parts 1 and 2 copy at once, part 3 hangs until the
// invocation gives up.
func TestDeadlineResumes(t *testing.T) {
	f := newFixture(t, 6)
	proxy, err := s3fault.New(f.ep, s3fault.Options{Rate: 1, Kinds: []s3fault.Kind{s3fault.Slow}, Delay: time.Minute,
		Match: func(r *http.Request) bool { n, ok := isPartCopy(r); return ok && n >= 3 }})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	const limit = 5 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	h := mustHandler(t, Options{Client: newClient(t, proxy.URL, nil, 2), PartSize: testPart, Concurrency: 1, Reserve: time.Second})
	start := time.Now()
	r := invoke(t, ctx, h, f.event())
	if d := time.Since(start); d >= limit {
		t.Errorf("the invocation answered after %v, past its %v deadline", d, limit)
	}
	wantResult(t, r, 0, TemporaryFailure, "time ran out (2 of 6 parts copied)", "resumes")
	absent(t, f.cl, f.dstB, f.dstKey())

	counter := newHookProxy(t, f.ep, nil)
	r = invoke(t, context.Background(), f.handler(t, counter.URL, nil, 2, 2), f.event())
	wantResult(t, r, 0, Succeeded, "in 6 parts", "(2 resumed)")
	if n := counter.partCopies(); n != 4 {
		t.Errorf("the resumed copy made %d UploadPartCopy requests, want 4 (parts 3 to 6)", n)
	}
	sameObject(t, f.cl, f.srcB, f.key, f.dstB, f.dstKey())
	noUploads(t, f.cl, f.dstB)
}

// TestPermanentFailures: a task that cannot succeed fails for good, names
// the object and the cause, and leaves no upload and no object behind.
func TestPermanentFailures(t *testing.T) {
	tests := []struct {
		name string
		// hook answers chosen requests (nil: none); event changes the
		// fixture's event.
		hook  func(f *fixture) func(*http.Request) (int, string)
		edit  func(f *fixture)
		wants []string
	}{
		{name: "source missing", edit: func(f *fixture) { f.key = "no/such key" },
			wants: []string{"s3://lc-src-", "no/such key", "NoSuchKey", "does not exist"}},
		{name: "destination bucket missing", edit: func(f *fixture) { f.args["TargetResource"] = "arn:aws:s3:::lc-no-such-bucket-h7" },
			wants: []string{"NoSuchBucket", "the bucket does not exist"}},
		{name: "destination not writable", hook: func(f *fixture) func(*http.Request) (int, string) {
			return func(r *http.Request) (int, string) {
				if isCreate(r) {
					return http.StatusForbidden, "AccessDenied"
				}
				return 0, ""
			}
		}, wants: []string{"AccessDenied (HTTP 403)", "needs s3:PutObject on the destination and s3:PutObjectTagging"}},
		{name: "part not readable", hook: func(f *fixture) func(*http.Request) (int, string) {
			return func(r *http.Request) (int, string) {
				if n, ok := isPartCopy(r); ok && n == 3 {
					return http.StatusForbidden, "AccessDenied"
				}
				return 0, ""
			}
		}, wants: []string{"copying parts (UploadPartCopy): AccessDenied", "the upload was aborted, nothing was written"}},
		{name: "source changed during the copy", hook: func(f *fixture) func(*http.Request) (int, string) {
			var once atomic.Bool
			return func(r *http.Request) (int, string) {
				if n, ok := isPartCopy(r); ok && n == 2 && once.CompareAndSwap(false, true) {
					put(t, f.cl, f.srcB, f.key, source{body: payload(len(f.body), 99)})
				}
				return 0, ""
			}
		}, wants: []string{"the source changed during the copy", "the upload was aborted"}},
		{name: "bad arguments", edit: func(f *fixture) { f.args["StorageClass"] = "COLD" },
			wants: []string{"was not copied", "StorageClass", `"COLD"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, 4)
			if tt.edit != nil {
				tt.edit(f)
			}
			var hook func(*http.Request) (int, string)
			if tt.hook != nil {
				hook = tt.hook(f)
			}
			proxy := newHookProxy(t, f.ep, hook)
			r := invoke(t, context.Background(), f.handler(t, proxy.URL, nil, 2, 1), f.event())
			wantResult(t, r, 0, PermanentFailure, tt.wants...)
			noUploads(t, f.cl, f.dstB)
			absent(t, f.cl, f.dstB, f.dstKey())
		})
	}
}

// TestSourceChangedBetweenAttempts: when the source changes between an
// attempt that ran out (TemporaryFailure) and its retry, the retry fails
// for good and drops the earlier attempt's parts.
func TestSourceChangedBetweenAttempts(t *testing.T) {
	f := newFixture(t, 4)
	proxy, err := s3fault.New(f.ep, s3fault.Options{Rate: 1, Kinds: []s3fault.Kind{s3fault.InternalError}, Match: func(r *http.Request) bool {
		n, ok := isPartCopy(r)
		return ok && n == 3
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	r := invoke(t, context.Background(), f.handler(t, proxy.URL, nil, 1, 1), f.event())
	wantResult(t, r, 0, TemporaryFailure, "InternalError")
	put(t, f.cl, f.srcB, f.key, source{body: payload(len(f.body)+1, 5)})
	r = invoke(t, context.Background(), f.handler(t, f.ep, nil, 2, 1), f.event())
	wantResult(t, r, 0, PermanentFailure, "the source changed since an earlier attempt", "upload was aborted")
	noUploads(t, f.cl, f.dstB)
	absent(t, f.cl, f.dstB, f.dstKey())
}
