package objio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// RetryPolicy is the one retry policy of every AWS request the process
// makes (S3 through objio, the local engine's S3 client, the S3 Control
// client) and of objio's re-reads of ranged GETs cut short.
//
// Classification. Throttling — any 503 (S3 answers a throttled HEAD with
// a bare 503 and no body, so the code SlowDown is not there to see), 429,
// and the SDK's throttling codes — and other 5xx answers wait from
// BaseDelay; connection errors, answers cut short and the rest of the
// SDK's retryable errors (RequestTimeout) wait from BaseDelay/20, as the
// SDK's own transient-error base is a twentieth of its throttling base.
// Missing or rejected credentials are never retried (CredentialsError).
//
// Backoff. Before retry i (1 for the first) the wait is d/2 plus a random
// part of up to d/2, with d = min(base × 2^(i-1), MaxBackoff): the waits
// are spread like full jitter's, but never shorter than half the
// schedule, so a run of failures always spans at least half of it. With
// the defaults (8 attempts, 1 s, 20 s) throttling is ridden out for 35 s
// at least and 71 s at most before a request gives up.
type RetryPolicy struct {
	MaxAttempts int           // attempts per request; zero: DefaultRetryMaxAttempts
	BaseDelay   time.Duration // first wait after throttling or a 5xx; zero: DefaultRetryBaseDelay
	MaxBackoff  time.Duration // cap of one wait; zero: DefaultRetryMaxBackoff
	// Backoff, when set, replaces the computation of the waits (tests
	// that want none); the classification stays.
	Backoff retry.BackoffDelayer
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = DefaultRetryMaxAttempts
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = DefaultRetryBaseDelay
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = DefaultRetryMaxBackoff
	}
	return p
}

// Delay returns the wait before retry attempt (1 for the first) after
// err.
func (p RetryPolicy) Delay(attempt int, err error) time.Duration {
	p = p.withDefaults()
	base := p.BaseDelay
	switch retryCause(err) {
	case causeThrottled, causeServer:
	default:
		base /= 20
	}
	d := p.MaxBackoff
	if attempt < 1 {
		attempt = 1
	}
	if attempt <= 30 {
		d = min(base<<(attempt-1), p.MaxBackoff)
	}
	if d <= 0 {
		return 0
	}
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// NewRetryer returns the SDK retryer of policy p, for AWS clients that are
// not built from AWSConfig (it neither counts requests nor logs).
func NewRetryer(p RetryPolicy) aws.RetryerV2 {
	p = p.withDefaults()
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = p.MaxAttempts
		o.MaxBackoff = p.MaxBackoff
		// No client-side retry quota: a long run under throttling must
		// keep backing off, not start failing.
		o.RateLimiter = ratelimit.None
		o.Retryables = append(o.Retryables, retryTruncated)
		o.Throttles = append(o.Throttles, throttle503)
		if p.Backoff != nil {
			o.Backoff = p.Backoff
		} else {
			o.Backoff = retry.BackoffDelayerFunc(func(attempt int, err error) (time.Duration, error) {
				return p.Delay(attempt, err), nil
			})
		}
	})
}

// retryTruncated retries a request whose answer ended before its
// Content-Length (the connection dropped mid-body): the SDK's defaults
// retry connection errors only before an answer arrives, and would fail
// a ListObjectsV2 or CopyObject whose XML was cut short.
var retryTruncated = retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return aws.TrueTernary
	}
	return aws.UnknownTernary
})

// throttle503 counts every 503 as throttling: S3's SlowDown, and the
// bodiless 503 it answers a throttled HEAD with (whose code the SDK
// cannot read).
var throttle503 = retry.IsErrorThrottleFunc(func(err error) aws.Ternary {
	if httpStatus(err) == http.StatusServiceUnavailable {
		return aws.TrueTernary
	}
	return aws.UnknownTernary
})

var isThrottle = retry.IsErrorThrottles(append(append([]retry.IsErrorThrottle{}, retry.DefaultThrottles...), throttle503))

// httpStatus is the HTTP status of an SDK error; 0 when no answer came.
func httpStatus(err error) int {
	var st interface{ HTTPStatusCode() int }
	if errors.As(err, &st) {
		return st.HTTPStatusCode()
	}
	return 0
}

type cause uint8

const (
	causeThrottled cause = iota
	causeServer
	causeConnection
	causeTruncated
	causeOther
)

// retryCause says why a failed attempt is retried.
func retryCause(err error) cause {
	status := httpStatus(err)
	switch {
	case isThrottle.IsErrorThrottle(err) == aws.TrueTernary || status == http.StatusTooManyRequests:
		return causeThrottled
	case errors.Is(err, io.ErrUnexpectedEOF):
		return causeTruncated
	case status >= 500:
		return causeServer
	case status == 0:
		return causeConnection
	}
	return causeOther
}

// Transient reports whether err is a failure that may go away by itself:
// throttling, a 5xx answer, a connection that failed or was cut, an
// endpoint that could not be reached, or the SDK giving up after its
// attempts at any of these. Credentials, permission and not-found errors
// are not transient. Callers that poll (status --watch) keep polling
// through transient errors.
func Transient(err error) bool {
	if err == nil || errors.Is(err, ErrCredentials) || errors.Is(err, ErrAccessDenied) || errors.Is(err, ErrNotFound) ||
		errors.Is(err, context.Canceled) {
		return false
	}
	var me *retry.MaxAttemptsError
	if errors.Is(err, ErrUnreachable) || errors.As(err, &me) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	if status := httpStatus(err); status >= 500 || status == http.StatusTooManyRequests || isThrottle.IsErrorThrottle(err) == aws.TrueTernary {
		return true
	}
	return retry.RetryableConnectionError{}.IsErrorRetryable(err) == aws.TrueTernary
}

// RequestStats counts the S3 requests made through a Client and the
// retries among them, by cause. Retries is the sum of the causes.
type RequestStats struct {
	Requests     int64 `json:"requests"`      // attempts sent, retries included
	Retries      int64 `json:"retries"`       // attempts that repeat a failed one
	Throttled    int64 `json:"throttled"`     // after 503 SlowDown (or a bare 503) and other throttling errors
	ServerErrors int64 `json:"server_errors"` // after other 5xx answers
	Connection   int64 `json:"connection"`    // after no answer: connection reset, refused, timed out
	Truncated    int64 `json:"truncated"`     // after an answer cut short (a ranged GET reads the rest)
	Other        int64 `json:"other"`         // after other retryable errors (clock skew, RequestTimeout)
	// BytesRead are the bytes of object data GETs received (bodies of
	// ranged reads, answers cut short included): what reading cost on
	// the wire.
	BytesRead int64 `json:"bytes_read"`
}

// counters are the live RequestStats of one client.
type counters struct {
	requests, throttled, server, conn, truncated, other atomic.Int64
	bytesRead                                           atomic.Int64
}

func (n *counters) snapshot() RequestStats {
	s := RequestStats{Requests: n.requests.Load(), Throttled: n.throttled.Load(), ServerErrors: n.server.Load(),
		Connection: n.conn.Load(), Truncated: n.truncated.Load(), Other: n.other.Load(), BytesRead: n.bytesRead.Load()}
	s.Retries = s.Throttled + s.ServerErrors + s.Connection + s.Truncated + s.Other
	return s
}

// retried counts a retry after err.
func (n *counters) retried(err error) {
	switch retryCause(err) {
	case causeThrottled:
		n.throttled.Add(1)
	case causeTruncated:
		n.truncated.Add(1)
	case causeServer:
		n.server.Add(1)
	case causeConnection:
		n.conn.Add(1)
	default:
		n.other.Add(1)
	}
}

// countingRetryer is the policy's retryer, counting attempts and retries
// (the retry middleware asks for an attempt token before every attempt
// and for the delay before every retry) and logging retries to the debug
// log.
type countingRetryer struct {
	aws.RetryerV2
	n     *counters
	debug io.Writer
	mu    *sync.Mutex
}

func newCountingRetryer(p RetryPolicy, n *counters, debug io.Writer) countingRetryer {
	return countingRetryer{RetryerV2: NewRetryer(p), n: n, debug: debug, mu: &sync.Mutex{}}
}

func (r countingRetryer) GetAttemptToken(ctx context.Context) (func(error) error, error) {
	r.n.requests.Add(1)
	return r.RetryerV2.GetAttemptToken(ctx)
}

func (r countingRetryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	r.n.retried(err)
	d, derr := r.RetryerV2.RetryDelay(attempt, err)
	if r.debug != nil {
		r.mu.Lock()
		fmt.Fprintf(r.debug, "debug: retry %d after %v: waiting %v\n", attempt, firstLine(err), d.Round(time.Millisecond))
		r.mu.Unlock()
	}
	return d, derr
}

// Sleep waits for d or until ctx ends, whichever comes first, and returns
// ctx's error in the second case.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
