package objio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Defaults of Config; zero fields take them.
const (
	// DefaultPartSize is the size of one ranged GET of the read-ahead and
	// of one part of a multipart upload.
	DefaultPartSize = 8 << 20
	// DefaultConcurrency is the number of ranged GETs (or part uploads)
	// in flight for one object.
	DefaultConcurrency = 4
	// DefaultMultipartThreshold is the size from which Upload uses a
	// multipart upload instead of one PUT.
	DefaultMultipartThreshold = 64 << 20
	// DefaultRegion is used when the AWS configuration chain names no
	// region.
	DefaultRegion = "us-east-1"
	// DefaultRetryMaxAttempts bounds the attempts of one S3 request.
	DefaultRetryMaxAttempts = 8
	// DefaultRetryMaxBackoff caps one wait between attempts (the SDK's
	// default): with DefaultRetryMaxAttempts, a request that keeps
	// failing gives up after about half a minute of waits.
	DefaultRetryMaxBackoff = 20 * time.Second
)

// Config configures the S3 backend. Every field is optional: credentials,
// region and profile come from the standard AWS configuration chain
// (environment, shared config and credentials files, SSO, IMDS …); the
// fields override it. Secrets set here are passed to the SDK and never
// printed; String() leaves them out.
type Config struct {
	// EndpointURL is a custom S3 endpoint such as http://127.0.0.1:7070
	// (MinIO, Ceph, versitygw). Empty: the AWS endpoint of Region, or
	// AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3 from the environment.
	EndpointURL string
	// Region overrides the region of the configuration chain. Empty: the
	// chain's, else DefaultRegion.
	Region string
	// Profile selects a shared-config profile. Empty: AWS_PROFILE or
	// "default".
	Profile string
	// VirtualHosted turns off path-style addressing for a custom
	// endpoint. Path style (http://host/bucket/key) is used whenever
	// EndpointURL is set, since most S3-compatible servers need it; AWS
	// itself always gets virtual-hosted addressing.
	VirtualHosted bool
	// Credentials, when not nil, replaces the chain's credentials (tests
	// use static keys).
	Credentials aws.CredentialsProvider
	// PartSize is the ranged-GET and multipart part size in bytes.
	// Zero: DefaultPartSize; at least 5 MiB (the S3 part minimum).
	PartSize int64
	// Concurrency bounds the requests in flight per object for reads
	// ahead and part uploads. Zero: DefaultConcurrency.
	Concurrency int
	// MultipartThreshold: objects of this size or more are uploaded in
	// parts. Zero: DefaultMultipartThreshold.
	MultipartThreshold int64
	// RetryMaxAttempts bounds attempts per request (throttling, 5xx,
	// connection errors, answers cut short) with exponential backoff and
	// jitter; it also bounds the re-reads of a ranged GET whose body ends
	// early. When set, it replaces the chain's max_attempts
	// (AWS_MAX_ATTEMPTS) for every client built from AWSConfig. Zero:
	// the chain's max_attempts, else DefaultRetryMaxAttempts; 1: no
	// retry.
	RetryMaxAttempts int
	// RetryMaxBackoff caps one wait between attempts (the waits grow from
	// 50 ms, 1 s for throttling, doubling each time, with full jitter).
	// Zero: DefaultRetryMaxBackoff.
	RetryMaxBackoff time.Duration
}

// String describes the configuration without secrets.
func (c Config) String() string {
	return fmt.Sprintf("endpoint=%q region=%q profile=%q path_style=%v", c.EndpointURL, c.Region, c.Profile, c.EndpointURL != "" && !c.VirtualHosted)
}

func (c Config) withDefaults() Config {
	if c.PartSize <= 0 {
		c.PartSize = DefaultPartSize
	}
	if c.PartSize < 5<<20 {
		c.PartSize = 5 << 20
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.MultipartThreshold <= 0 {
		c.MultipartThreshold = DefaultMultipartThreshold
	}
	if c.RetryMaxAttempts <= 0 {
		c.RetryMaxAttempts = DefaultRetryMaxAttempts
	}
	if c.RetryMaxBackoff <= 0 {
		c.RetryMaxBackoff = DefaultRetryMaxBackoff
	}
	return c
}

// backend holds the configuration, the lazily built S3 client and the
// request counters.
type backend struct {
	mu          sync.Mutex
	cfg         Config
	setAttempts bool // Configure was given RetryMaxAttempts
	awsCfg      *aws.Config
	client      *s3.Client
	stats       *counters
}

var std = &backend{cfg: Config{}.withDefaults(), stats: &counters{}}

// Configure sets the configuration of the S3 backend for the whole
// process. The CLI calls it once, from its global flags, before any
// command runs; a later call replaces the client (tests call it with the
// test server's endpoint). It does no I/O: the AWS configuration chain is
// read on the first S3 access.
func Configure(c Config) {
	std.mu.Lock()
	defer std.mu.Unlock()
	std.cfg = c.withDefaults()
	std.setAttempts = c.RetryMaxAttempts > 0
	std.awsCfg = nil
	std.client = nil
	std.stats = &counters{}
}

// CurrentConfig returns the configuration set by Configure, with defaults
// filled in.
func CurrentConfig() Config {
	std.mu.Lock()
	defer std.mu.Unlock()
	return std.cfg
}

// currentStats returns the counters of the configuration in force.
func currentStats() *counters {
	std.mu.Lock()
	defer std.mu.Unlock()
	return std.stats
}

// AWSConfig returns the AWS SDK configuration resolved from the chain and
// the overrides of Configure, for other AWS clients of the process (the
// S3 Control client of package jobs). Its BaseEndpoint is the S3 endpoint
// override, if any: a client for another service must clear it.
func AWSConfig(ctx context.Context) (aws.Config, error) {
	std.mu.Lock()
	defer std.mu.Unlock()
	if err := std.loadLocked(ctx); err != nil {
		return aws.Config{}, err
	}
	return std.awsCfg.Copy(), nil
}

// S3Client returns the S3 client built from the configuration.
func S3Client(ctx context.Context) (*s3.Client, error) {
	std.mu.Lock()
	defer std.mu.Unlock()
	if std.client != nil {
		return std.client, nil
	}
	if err := std.loadLocked(ctx); err != nil {
		return nil, err
	}
	c := std.cfg
	custom := c.EndpointURL != "" || std.awsCfg.BaseEndpoint != nil
	std.client = s3.NewFromConfig(*std.awsCfg, func(o *s3.Options) {
		if c.EndpointURL != "" {
			o.BaseEndpoint = aws.String(c.EndpointURL)
		}
		o.UsePathStyle = custom && !c.VirtualHosted
	})
	return std.client, nil
}

func (b *backend) loadLocked(ctx context.Context) error {
	if b.awsCfg != nil {
		return nil
	}
	c, stats := b.cfg, b.stats
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return countingRetryer{retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = c.RetryMaxAttempts
				o.MaxBackoff = c.RetryMaxBackoff
				// No client-side retry quota: a long run under throttling
				// must keep backing off, not start failing.
				o.RateLimiter = ratelimit.None
				o.Retryables = append(o.Retryables, retryTruncated)
			}), stats}
		}),
		// Checksums only where the API requires them: we send Content-MD5
		// ourselves, and S3-compatible servers differ in their support of
		// the newer flexible checksums on multipart uploads.
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
	}
	if c.Region != "" {
		opts = append(opts, config.WithRegion(c.Region))
	}
	if c.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(c.Profile))
	}
	if c.Credentials != nil {
		opts = append(opts, config.WithCredentialsProvider(c.Credentials))
	}
	if c.EndpointURL != "" {
		opts = append(opts, config.WithBaseEndpoint(c.EndpointURL))
	}
	ac, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		// The SDK's messages name files and profiles, never secrets.
		return fmt.Errorf("loading AWS configuration (%s): %w", c, err)
	}
	if b.setAttempts {
		// Clients apply the chain's max_attempts over their retryer's.
		ac.RetryMaxAttempts = c.RetryMaxAttempts
	}
	if ac.Region == "" {
		// S3 answers a wrong region with a redirect naming the right one;
		// custom endpoints mostly ignore the region.
		ac.Region = DefaultRegion
	}
	b.awsCfg = &ac
	return nil
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

// RequestStats counts the S3 requests made since the last Configure —
// by objio and by every client built from AWSConfig (the local engine's)
// — and the retries among them, by cause. Retries is the sum of the
// causes.
type RequestStats struct {
	Requests     int64 `json:"requests"`      // attempts sent, retries included
	Retries      int64 `json:"retries"`       // attempts that repeat a failed one
	Throttled    int64 `json:"throttled"`     // after 503 SlowDown and other throttling errors
	ServerErrors int64 `json:"server_errors"` // after other 5xx answers
	Connection   int64 `json:"connection"`    // after no answer: connection reset, refused, timed out
	Truncated    int64 `json:"truncated"`     // after an answer cut short (a ranged GET reads the rest)
	Other        int64 `json:"other"`         // after other retryable errors (clock skew, RequestTimeout)
}

// Stats returns the S3 request counts since the last Configure. It is
// safe for concurrent use.
func Stats() RequestStats {
	std.mu.Lock()
	n := std.stats
	std.mu.Unlock()
	return n.snapshot()
}

// counters are the live RequestStats of one configuration.
type counters struct {
	requests, throttled, server, conn, truncated, other atomic.Int64
}

func (n *counters) snapshot() RequestStats {
	s := RequestStats{Requests: n.requests.Load(), Throttled: n.throttled.Load(), ServerErrors: n.server.Load(),
		Connection: n.conn.Load(), Truncated: n.truncated.Load(), Other: n.other.Load()}
	s.Retries = s.Throttled + s.ServerErrors + s.Connection + s.Truncated + s.Other
	return s
}

var isThrottle = retry.IsErrorThrottles(retry.DefaultThrottles)

// retried counts a retry after err.
func (n *counters) retried(err error) {
	status := 0 // 0: no answer (the SDK's ResponseError of a failed send has status 0)
	var st interface{ HTTPStatusCode() int }
	if errors.As(err, &st) {
		status = st.HTTPStatusCode()
	}
	switch {
	case isThrottle.IsErrorThrottle(err) == aws.TrueTernary || status == 429:
		n.throttled.Add(1)
	case errors.Is(err, io.ErrUnexpectedEOF):
		n.truncated.Add(1)
	case status >= 500:
		n.server.Add(1)
	case status == 0:
		n.conn.Add(1)
	default:
		n.other.Add(1)
	}
}

// countingRetryer is the SDK's standard retryer, counting attempts and
// retries: the retry middleware asks for an attempt token before every
// attempt and for the delay before every retry.
type countingRetryer struct {
	aws.RetryerV2
	n *counters
}

func (r countingRetryer) GetAttemptToken(ctx context.Context) (func(error) error, error) {
	r.n.requests.Add(1)
	return r.RetryerV2.GetAttemptToken(ctx)
}

func (r countingRetryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	r.n.retried(err)
	return r.RetryerV2.RetryDelay(attempt, err)
}
