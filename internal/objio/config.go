package objio

import (
	"context"
	"fmt"
	"sync"

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
	// timeouts) with exponential backoff. Zero: 8.
	RetryMaxAttempts int
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
		c.RetryMaxAttempts = 8
	}
	return c
}

// backend holds the configuration and the lazily built S3 client.
type backend struct {
	mu     sync.Mutex
	cfg    Config
	awsCfg *aws.Config
	client *s3.Client
}

var std = &backend{cfg: Config{}.withDefaults()}

// Configure sets the configuration of the S3 backend for the whole
// process. The CLI calls it once, from its global flags, before any
// command runs; a later call replaces the client (tests call it with the
// test server's endpoint). It does no I/O: the AWS configuration chain is
// read on the first S3 access.
func Configure(c Config) {
	std.mu.Lock()
	defer std.mu.Unlock()
	std.cfg = c.withDefaults()
	std.awsCfg = nil
	std.client = nil
}

// CurrentConfig returns the configuration set by Configure, with defaults
// filled in.
func CurrentConfig() Config {
	std.mu.Lock()
	defer std.mu.Unlock()
	return std.cfg
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
	c := b.cfg
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = c.RetryMaxAttempts
				// No client-side retry quota: a long run under throttling
				// must keep backing off, not start failing.
				o.RateLimiter = ratelimit.None
			})
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
	if ac.Region == "" {
		// S3 answers a wrong region with a redirect naming the right one;
		// custom endpoints mostly ignore the region.
		ac.Region = DefaultRegion
	}
	b.awsCfg = &ac
	return nil
}
