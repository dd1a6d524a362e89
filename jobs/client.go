package jobs

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	smithyendpoints "github.com/aws/smithy-go/endpoints"

	"github.com/s3batchkit/s3batchkit/internal/objio"
)

// Control is the part of the S3 Control API the package uses;
// *s3control.Client implements it.
type Control interface {
	CreateJob(ctx context.Context, in *s3control.CreateJobInput, optFns ...func(*s3control.Options)) (*s3control.CreateJobOutput, error)
	DescribeJob(ctx context.Context, in *s3control.DescribeJobInput, optFns ...func(*s3control.Options)) (*s3control.DescribeJobOutput, error)
	UpdateJobStatus(ctx context.Context, in *s3control.UpdateJobStatusInput, optFns ...func(*s3control.Options)) (*s3control.UpdateJobStatusOutput, error)
	UpdateJobPriority(ctx context.Context, in *s3control.UpdateJobPriorityInput, optFns ...func(*s3control.Options)) (*s3control.UpdateJobPriorityOutput, error)
}

// ClientOptions configure the S3 Control client. Region, profile,
// credentials and the retry policy come from IO's configuration (the
// CLI's global flags and the AWS chain).
type ClientOptions struct {
	// IO gives the AWS configuration and counts the client's requests
	// (nil: see objio).
	IO *objio.Client
	// Endpoint is a fixed S3 Control endpoint URL (the local engine, a
	// test server), used as is: the SDK would otherwise put the account
	// id in front of its host (docs/formats.md#host-prefix). Empty: AWS's endpoint
	// for the region, https://<account>.s3-control.<region>.amazonaws.com.
	Endpoint string
	// RetryMaxAttempts bounds the attempts per call; throttling
	// (TooManyRequestsException, SlowDown, any 503), 5xx, connection
	// errors and timeouts are retried with objio's RetryPolicy, the one of
	// every AWS request of the process. Zero: 10.
	RetryMaxAttempts int
	// RetryMaxBackoff caps one backoff. Zero: IO's (the global
	// --retry-max-backoff, 20 s by default).
	RetryMaxBackoff time.Duration
	// Backoff, when set, replaces the backoff computation (tests).
	Backoff retry.BackoffDelayer
}

// NewClient returns an S3 Control client.
func NewClient(ctx context.Context, o ClientOptions) (*s3control.Client, error) {
	cfg, err := o.IO.AWSConfig(ctx)
	if err != nil {
		return nil, err
	}
	var fixed *url.URL
	if o.Endpoint != "" {
		u, err := url.Parse(o.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%w: S3 Control endpoint %q: expected http(s)://host[:port]", ErrInvalid, o.Endpoint)
		}
		fixed = u
	}
	attempts := o.RetryMaxAttempts
	if attempts <= 0 {
		attempts = 10
	}
	maxBackoff := o.RetryMaxBackoff
	if maxBackoff <= 0 {
		maxBackoff = o.IO.Config().RetryMaxBackoff
	}
	return s3control.NewFromConfig(cfg, func(so *s3control.Options) {
		// The S3 endpoint override (--endpoint-url, AWS_ENDPOINT_URL) is
		// not an S3 Control endpoint.
		so.BaseEndpoint = nil
		if fixed != nil {
			so.EndpointResolverV2 = fixedResolver{u: *fixed}
		}
		so.Retryer = objio.NewRetryer(objio.RetryPolicy{MaxAttempts: attempts, BaseDelay: o.IO.Config().RetryBaseDelay,
			MaxBackoff: maxBackoff, Backoff: o.Backoff})
	}), nil
}

// fixedResolver sends every request to one URL, keeping the signing
// properties of the default rules (service s3, the client's region).
type fixedResolver struct{ u url.URL }

func (r fixedResolver) ResolveEndpoint(ctx context.Context, p s3control.EndpointParameters) (smithyendpoints.Endpoint, error) {
	p.Endpoint = aws.String(r.u.String())
	ep, err := s3control.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, p)
	if err != nil {
		return ep, err
	}
	u := r.u
	ep.URI = u
	return ep, nil
}
