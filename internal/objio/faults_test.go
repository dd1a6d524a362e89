package objio_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/internal/objio/objiotest"
	"github.com/s3batchkit/s3batchkit/internal/s3fault"
)

// throughProxy starts a fault proxy in front of the test server and
// returns it with a client for the server behind it (small parts, short
// backoff).
func throughProxy(t *testing.T, o s3fault.Options) (*s3fault.Proxy, *objio.Client) {
	t.Helper()
	cfg := objiotest.Config(t)
	p, err := s3fault.New(cfg.EndpointURL, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	cfg.EndpointURL = p.URL
	cfg.RetryMaxBackoff = 5 * time.Millisecond
	smallParts(&cfg)
	return p, objio.New(cfg)
}

// TestS3Faults writes, reads (streamed, random ReadAt, sequential
// ReadAt) and lists objects through a proxy that faults a quarter of the
// requests, every kind mixed: every byte comes back right, and the
// retries are counted by cause.
func TestS3Faults(t *testing.T) {
	oc, bucket := objiotest.Setup(t, smallParts)
	ctx := context.Background()
	p, oc := throughProxy(t, s3fault.Options{Rate: 0.25, Seed: 1, Delay: 5 * time.Millisecond})

	objs := map[string][]byte{"big.bin": randomBytes(13<<20+12345, 1), "mid.bin": randomBytes(2<<20, 2)}
	for i := range 20 {
		objs[fmt.Sprintf("small/%02d", i)] = randomBytes(1000+i, uint64(10+i))
	}
	var wg sync.WaitGroup
	for k, b := range objs {
		wg.Go(func() {
			if _, err := oc.Upload(ctx, "s3://"+bucket+"/"+k, bytes.NewReader(b), int64(len(b)), objio.UploadOptions{}); err != nil {
				t.Errorf("upload %s: %v", k, err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	list, err := oc.List(ctx, "s3://"+bucket+"/")
	if err != nil || len(list) != len(objs) {
		t.Fatalf("List: %d objects, want %d: %v", len(list), len(objs), err)
	}
	for _, info := range list {
		_, k, _ := objio.ParseS3(info.Name)
		got, err := oc.ReadAll(ctx, info.Name)
		if err != nil || !bytes.Equal(got, objs[k]) {
			t.Errorf("%s: read back %d bytes (%v), differing from the %d written", k, len(got), err, len(objs[k]))
		}
	}
	big := objs["big.bin"]
	o, err := oc.Open(ctx, "s3://"+bucket+"/big.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	for _, c := range []struct{ off, n int64 }{{0, 4}, {5<<20 - 3, 10}, {1 << 20, 3 << 20}, {7 << 20, 6 << 20}, {int64(len(big)) - 100, 100}} {
		b := make([]byte, c.n)
		if n, err := o.ReadAt(b, c.off); int64(n) != c.n || (err != nil && err != io.EOF) || !bytes.Equal(b, big[c.off:c.off+c.n]) {
			t.Errorf("ReadAt(%d, %d) = %d, %v, or wrong bytes", c.off, c.n, n, err)
		}
	}
	var seq bytes.Buffer
	if _, err := io.CopyBuffer(&seq, io.NewSectionReader(o, 0, o.Size()), make([]byte, 1<<20)); err != nil || !bytes.Equal(seq.Bytes(), big) {
		t.Errorf("sequential ReadAt: %v, or wrong bytes", err)
	}

	st, c := oc.Stats(), p.Counts()
	t.Logf("proxy: %v; client: %+v", c, st)
	if st.Retries == 0 || st.Retries > c.Failing() || st.Requests > c.Requests {
		t.Errorf("client counted %+v; proxy %v: want some retries, no more than the failing faults", st, c)
	}
	if st.Retries != st.Throttled+st.ServerErrors+st.Connection+st.Truncated+st.Other {
		t.Errorf("retries %d are not the sum of their causes: %+v", st.Retries, st)
	}
}

// TestS3TruncatedReads: a third of the answers are cut short (and bodiless
// answers lost); ranged GETs read the rest of their range again and never
// accept a short body.
func TestS3TruncatedReads(t *testing.T) {
	oc, bucket := objiotest.Setup(t, smallParts)
	ctx := context.Background()
	data := randomBytes(11<<20+7, 3)
	loc := "s3://" + bucket + "/cut.bin"
	if _, err := oc.Upload(ctx, loc, bytes.NewReader(data), int64(len(data)), objio.UploadOptions{}); err != nil {
		t.Fatal(err)
	}
	p, oc := throughProxy(t, s3fault.Options{Rate: 0.33, Seed: 2, Kinds: []s3fault.Kind{s3fault.Truncate}})
	for range 2 {
		got, err := oc.ReadAll(ctx, loc)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("read %d bytes (%v), differing from the %d written", len(got), err, len(data))
		}
	}
	st := oc.Stats()
	t.Logf("proxy: %v; client: %+v", p.Counts(), st)
	if st.Truncated == 0 || st.Truncated > p.Counts().Faults[s3fault.Truncate] {
		t.Errorf("%d truncated answers retried, %d cut by the proxy", st.Truncated, p.Counts().Faults[s3fault.Truncate])
	}
}

// TestS3CompleteAnswerLost: the answer to CompleteMultipartUpload is lost
// after the server made the object; the SDK's retry finds the upload gone
// (NoSuchUpload), and Upload recognises its object by the multipart ETag.
func TestS3CompleteAnswerLost(t *testing.T) {
	_, bucket := objiotest.Setup(t, smallParts)
	ctx := context.Background()
	var cut atomic.Bool
	p, oc := throughProxy(t, s3fault.Options{Rate: 1, Kinds: []s3fault.Kind{s3fault.Truncate}, Match: func(r *http.Request) bool {
		complete := r.Method == http.MethodPost && r.URL.Query().Has("uploadId")
		return complete && cut.CompareAndSwap(false, true)
	}})
	data := randomBytes(11<<20, 4)
	loc := "s3://" + bucket + "/completed-twice.bin"
	info, err := oc.Upload(ctx, loc, bytes.NewReader(data), int64(len(data)), objio.UploadOptions{})
	if err != nil {
		t.Fatalf("upload whose completion answer was lost: %v (proxy: %v)", err, p.Counts())
	}
	if p.Counts().Faults[s3fault.Truncate] != 1 {
		t.Fatalf("proxy: %v; want the completion cut", p.Counts())
	}
	got, err := oc.ReadAll(ctx, loc)
	if err != nil || !bytes.Equal(got, data) || !strings.HasSuffix(info.ETag, "-3") {
		t.Errorf("object %+v: read %d bytes, %v", info, len(got), err)
	}
}

// TestS3AllFaults: when every request fails, a read gives up after
// RetryMaxAttempts attempts, quickly, with the SDK's error.
func TestS3AllFaults(t *testing.T) {
	oc, bucket := objiotest.Setup(t, smallParts)
	ctx := context.Background()
	if err := oc.WriteFileAtomic(ctx, "s3://"+bucket+"/k", []byte("data")); err != nil {
		t.Fatal(err)
	}
	p, oc := throughProxy(t, s3fault.Options{Rate: 1, Kinds: s3fault.Failing, Seed: 3})
	start := time.Now()
	_, err := oc.ReadAll(ctx, "s3://"+bucket+"/k")
	var me *retry.MaxAttemptsError
	if !errors.As(err, &me) || me.Attempt != objio.DefaultRetryMaxAttempts || errors.Is(err, objio.ErrNotFound) {
		t.Fatalf("ReadAll = %v; want the SDK's MaxAttemptsError after %d attempts", err, objio.DefaultRetryMaxAttempts)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("gave up after %v", d)
	}
	st := oc.Stats()
	if st.Requests != objio.DefaultRetryMaxAttempts || st.Retries != objio.DefaultRetryMaxAttempts-1 {
		t.Errorf("counted %+v; want %d requests, %d retries (proxy: %v)", st, objio.DefaultRetryMaxAttempts, objio.DefaultRetryMaxAttempts-1, p.Counts())
	}
	t.Logf("%v after %v", err, time.Since(start))
}
