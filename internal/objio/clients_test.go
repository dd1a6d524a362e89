package objio_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/s3batchkit/s3batchkit/internal/objio"
	"github.com/s3batchkit/s3batchkit/internal/objio/objiotest"
	"github.com/s3batchkit/s3batchkit/internal/s3fault"
)

// TestClientsApart runs three clients of different configurations in one
// process at the same time, each through its own proxy in front of the
// test server (so each has its own endpoint, and the proxy counts what
// reached it): a plain one; one whose proxy throttles or fails a third of
// the requests (short backoff); and one with a wrong secret key. The first
// two write and read back every object, each the other's too; every
// request of the third is refused as a credentials problem, never
// retried. Each client's Stats count exactly the requests its proxy saw,
// and its retries exactly the faults its proxy injected: nothing of one
// client is counted by another.
func TestClientsApart(t *testing.T) {
	_, bucket := objiotest.Setup(t)
	base := objiotest.Config(t)
	proxy := func(o s3fault.Options) *s3fault.Proxy {
		p, err := s3fault.New(base.EndpointURL, o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		return p
	}
	client := func(p *s3fault.Proxy, tune func(*objio.Config)) *objio.Client {
		cfg := base
		cfg.EndpointURL = p.URL
		cfg.RetryBaseDelay, cfg.RetryMaxBackoff, cfg.RetryMaxAttempts = time.Millisecond, 5*time.Millisecond, 30
		if tune != nil {
			tune(&cfg)
		}
		return objio.New(cfg)
	}
	plainP := proxy(s3fault.Options{})
	faultyP := proxy(s3fault.Options{Rate: 0.33, Seed: 7, Kinds: []s3fault.Kind{s3fault.SlowDown, s3fault.InternalError}})
	badP := proxy(s3fault.Options{})
	plain := client(plainP, nil)
	faulty := client(faultyP, nil)
	bad := client(badP, func(c *objio.Config) {
		c.Credentials = credentials.NewStaticCredentialsProvider(os.Getenv(objiotest.EnvAccessKey), "wrong-secret-0123456789", "")
	})
	if plain.Config().EndpointURL == faulty.Config().EndpointURL {
		t.Fatal("the clients share an endpoint")
	}

	const n = 12
	ctx := context.Background()
	data := func(who string, i int) []byte { return bytes.Repeat([]byte(fmt.Sprintf("%s %d;", who, i)), 100+i) }
	loc := func(who string, i int) string { return fmt.Sprintf("s3://%s/%s/%02d", bucket, who, i) }
	var wg sync.WaitGroup
	for _, c := range []struct {
		name string
		oc   *objio.Client
	}{{"plain", plain}, {"faulty", faulty}} {
		for i := range n {
			wg.Go(func() {
				if err := c.oc.WriteFileAtomic(ctx, loc(c.name, i), data(c.name, i)); err != nil {
					t.Errorf("%s: writing %s: %v", c.name, loc(c.name, i), err)
				}
			})
		}
	}
	badErrs := make([]error, n)
	for i := range n {
		wg.Go(func() { badErrs[i] = bad.WriteFileAtomic(ctx, loc("bad", i), data("bad", i)) })
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	// Each reads back every object, its own and the other client's.
	for _, c := range []*objio.Client{plain, faulty} {
		for _, who := range []string{"plain", "faulty"} {
			for i := range n {
				wg.Go(func() {
					got, err := c.ReadAll(ctx, loc(who, i))
					if err != nil || !bytes.Equal(got, data(who, i)) {
						t.Errorf("%s through %s: %d bytes (%v), want the %d written", loc(who, i), c.Config().EndpointURL, len(got), err, len(data(who, i)))
					}
				})
			}
		}
	}
	wg.Wait()
	for i, err := range badErrs {
		if !errors.Is(err, objio.ErrCredentials) {
			t.Errorf("write %d with the wrong secret: %v, want a credentials error", i, err)
		}
	}
	if l, err := plain.List(ctx, "s3://"+bucket+"/bad/"); err != nil || len(l) != 0 {
		t.Errorf("the client with the wrong secret wrote %d objects (%v)", len(l), err)
	}

	for _, c := range []struct {
		name string
		oc   *objio.Client
		p    *s3fault.Proxy
	}{{"plain", plain, plainP}, {"faulty", faulty, faultyP}, {"wrong secret", bad, badP}} {
		st, pc := c.oc.Stats(), c.p.Counts()
		t.Logf("%-12s %+v", c.name, st)
		if st.Requests != pc.Requests || st.Retries != pc.Failing() || st.Throttled != pc.Faults[s3fault.SlowDown] || st.ServerErrors != pc.Faults[s3fault.InternalError] {
			t.Errorf("%s client: counted %+v; its proxy received %d requests and failed %d (%d SlowDown, %d InternalError)",
				c.name, st, pc.Requests, pc.Failing(), pc.Faults[s3fault.SlowDown], pc.Faults[s3fault.InternalError])
		}
	}
	if st := plain.Stats(); st.Requests < 3*n || st.Retries != 0 {
		t.Errorf("plain client: %+v; want at least %d requests (a PUT per write, a HEAD and a GET per read) and no retry", st, 3*n)
	}
	// Each client read every object once: exactly their bytes, plus, for
	// the faulty one, the bytes of answers cut short and read again.
	var all int64
	for _, who := range []string{"plain", "faulty"} {
		for i := range n {
			all += int64(len(data(who, i)))
		}
	}
	if st := plain.Stats(); st.BytesRead != all {
		t.Errorf("plain client: %d bytes read, want the %d of the objects it read", st.BytesRead, all)
	}
	if st := faulty.Stats(); st.BytesRead < all {
		t.Errorf("faulty client: %d bytes read, want at least the %d of the objects it read", st.BytesRead, all)
	}
	if st := faulty.Stats(); st.Retries == 0 {
		t.Errorf("faulty client: %+v; want retries", st)
	}
	if st := bad.Stats(); st.Requests != n || st.Retries != 0 {
		t.Errorf("client with the wrong secret: %+v; want %d requests, none retried", st, n)
	}
}
