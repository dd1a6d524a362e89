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
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"
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
	// DefaultRetryBaseDelay is the first wait after throttling or a 5xx
	// answer (see RetryPolicy).
	DefaultRetryBaseDelay = time.Second
	// DefaultRetryMaxBackoff caps one wait between attempts (the SDK's
	// default). With DefaultRetryMaxAttempts and DefaultRetryBaseDelay, a
	// request that keeps being throttled waits 35 to 71 s in all before
	// it gives up.
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
	// connection errors, answers cut short) with the backoff of
	// RetryPolicy; it also bounds the re-reads of a ranged GET whose body
	// ends early. When set, it replaces the chain's max_attempts
	// (AWS_MAX_ATTEMPTS) for every client built from AWSConfig. Zero: the
	// chain's max_attempts, else DefaultRetryMaxAttempts; 1: no retry.
	RetryMaxAttempts int
	// RetryBaseDelay is the first wait after throttling or a 5xx answer;
	// connection errors and answers cut short wait a twentieth of it
	// first. Each wait doubles, up to RetryMaxBackoff. Zero:
	// DefaultRetryBaseDelay. (Tests shrink it with RetryMaxBackoff to keep
	// the shape of the policy at a smaller time scale.)
	RetryBaseDelay time.Duration
	// RetryMaxBackoff caps one wait between attempts. Zero:
	// DefaultRetryMaxBackoff.
	RetryMaxBackoff time.Duration
	// Debug, when not nil, receives the SDK's own log lines (warnings
	// such as "falling back to IMDSv1") and one line per retry. Nil: they
	// are dropped.
	Debug io.Writer
	// OptionName names the settings in the hints of errors ("Profile",
	// "EndpointURL") the way the program's users set them; nil: the
	// field names. See internal/optname.
	OptionName func(option string) string
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
	if c.RetryBaseDelay <= 0 {
		c.RetryBaseDelay = DefaultRetryBaseDelay
	}
	if c.RetryMaxBackoff <= 0 {
		c.RetryMaxBackoff = DefaultRetryMaxBackoff
	}
	return c
}

// policy is the retry policy of the configuration.
func (c Config) policy() RetryPolicy {
	return RetryPolicy{MaxAttempts: c.RetryMaxAttempts, BaseDelay: c.RetryBaseDelay, MaxBackoff: c.RetryMaxBackoff}
}

// Client is one storage configuration with its S3 client (built on first
// use from the AWS configuration chain and Config), its request counters
// and the identity of the credentials it last used. Any number of Clients
// can live in one process, each with its own configuration and counts.
// A nil *Client is usable (see the package documentation). A Client is
// safe for concurrent use.
type Client struct {
	cfg         Config
	setAttempts bool // Config.RetryMaxAttempts was given
	stats       *counters

	mu     sync.Mutex // guards awsCfg and s3
	awsCfg *aws.Config
	s3     *s3.Client

	id atomic.Pointer[credID] // the credentials last retrieved
}

// New returns a client for c. It does no I/O: the AWS configuration chain
// is read on the first S3 access.
func New(c Config) *Client {
	return &Client{cfg: c.withDefaults(), setAttempts: c.RetryMaxAttempts > 0, stats: &counters{}}
}

// orZero returns c, or for a nil c a new client with the zero Config
// (see the package documentation: nothing is shared between calls).
func (c *Client) orZero() *Client {
	if c == nil {
		return New(Config{})
	}
	return c
}

// Config returns the client's configuration, with defaults filled in.
func (c *Client) Config() Config { return c.orZero().cfg }

// AWSConfig returns the AWS SDK configuration resolved from the chain and
// the overrides of Config, for other AWS clients of the process (the S3
// Control client of package jobs, the local engine's S3 client): they get
// the same credentials (whose failures are never retried), retry policy,
// request counters and debug log. Its BaseEndpoint is the S3 endpoint
// override, if any: a client for another service must clear it.
func (c *Client) AWSConfig(ctx context.Context) (aws.Config, error) {
	c = c.orZero()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.loadLocked(ctx); err != nil {
		return aws.Config{}, err
	}
	return c.awsCfg.Copy(), nil
}

// S3 returns the client's S3 client, built on first use.
func (c *Client) S3(ctx context.Context) (*s3.Client, error) {
	c = c.orZero()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.s3 != nil {
		return c.s3, nil
	}
	if err := c.loadLocked(ctx); err != nil {
		return nil, err
	}
	cfg := c.cfg
	custom := cfg.EndpointURL != "" || c.awsCfg.BaseEndpoint != nil
	c.s3 = s3.NewFromConfig(*c.awsCfg, func(o *s3.Options) {
		if cfg.EndpointURL != "" {
			o.BaseEndpoint = aws.String(cfg.EndpointURL)
		}
		o.UsePathStyle = custom && !cfg.VirtualHosted
	})
	return c.s3, nil
}

// Stats returns the S3 requests made through this client — by objio and
// by every client built from its AWSConfig (the local engine's) — and
// the retries among them, by cause; a nil client counts nothing. It is
// safe for concurrent use.
func (c *Client) Stats() RequestStats {
	if c == nil {
		return RequestStats{}
	}
	return c.stats.snapshot()
}

func (c *Client) loadLocked(ctx context.Context) error {
	if c.awsCfg != nil {
		return nil
	}
	cfg, stats := c.cfg, c.stats
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer { return newCountingRetryer(cfg.policy(), stats, cfg.Debug) }),
		// Checksums only where the API requires them: we send Content-MD5
		// ourselves, and S3-compatible servers differ in their support of
		// the newer flexible checksums on multipart uploads.
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
		// The SDK's warnings (IMDSv1 fallback, undrained bodies) are for
		// the debug log only.
		config.WithLogger(debugLogger(cfg.Debug)),
	}
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(cfg.Profile))
	}
	if cfg.Credentials != nil {
		opts = append(opts, config.WithCredentialsProvider(cfg.Credentials))
	}
	if cfg.EndpointURL != "" {
		opts = append(opts, config.WithBaseEndpoint(cfg.EndpointURL))
	}
	ac, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		var pe config.SharedConfigProfileNotExistError
		if errors.As(err, &pe) {
			return &CredentialsError{Identity: c.identity(), Err: err}
		}
		// The SDK's messages name files and profiles, never secrets.
		return fmt.Errorf("loading AWS configuration (%s): %w", cfg, err)
	}
	if c.setAttempts {
		// Clients apply the chain's max_attempts over their retryer's.
		ac.RetryMaxAttempts = cfg.RetryMaxAttempts
	}
	if ac.Region == "" {
		// S3 answers a wrong region with a redirect naming the right one;
		// custom endpoints mostly ignore the region.
		ac.Region = DefaultRegion
	}
	if ac.Credentials != nil {
		ac.Credentials = &credsProvider{inner: ac.Credentials, c: c}
	}
	c.awsCfg = &ac
	return nil
}

// debugLogger writes the SDK's log lines to w, or drops them.
func debugLogger(w io.Writer) logging.Logger {
	if w == nil {
		return logging.Nop{}
	}
	var mu sync.Mutex
	return logging.LoggerFunc(func(class logging.Classification, format string, v ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "debug: aws-sdk %s: %s\n", class, fmt.Sprintf(format, v...))
	})
}
