package objio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3batchkit/s3batchkit/internal/optname"
)

// Identity describes the credentials a client uses, for messages: the
// profile, the access key id and where it came from. It never holds a
// secret.
type Identity struct {
	Profile  string // Config.Profile, else AWS_PROFILE; "" for the default chain
	KeyID    string // access key id of the credentials last retrieved; "" before the first
	Source   string // the provider that gave them: EnvConfigCredentials, SharedConfigCredentials: FILE, SSOProvider …
	Endpoint string // custom endpoint URL; "" for AWS

	optName func(string) string // Config.OptionName
}

// name is how the program's users set option (Config.OptionName).
func (i Identity) name(option string) string { return optname.Name(i.optName, option) }

// String names the credentials: `access key AKIA… (profile "prod", from
// SharedConfigCredentials)`.
func (i Identity) String() string {
	var b strings.Builder
	if i.KeyID != "" {
		fmt.Fprintf(&b, "access key %s", i.KeyID)
	} else {
		b.WriteString("the credentials")
	}
	var ctx []string
	if i.Profile != "" {
		ctx = append(ctx, fmt.Sprintf("profile %q", i.Profile))
	}
	if i.Source != "" {
		ctx = append(ctx, "from "+i.Source)
	}
	if len(ctx) > 0 {
		b.WriteString(" (" + strings.Join(ctx, ", ") + ")")
	}
	return b.String()
}

// chain names what the SDK looked in for credentials.
func (i Identity) chain() string {
	if i.Profile != "" {
		return fmt.Sprintf("profile %q (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE: ~/.aws/config, ~/.aws/credentials)", i.Profile)
	}
	return "the default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profile \"default\" of ~/.aws/config and ~/.aws/credentials, SSO, container and instance roles)"
}

// hint says what to do about a failed retrieval.
func (i Identity) hint(err error) string {
	msg := ""
	if err != nil {
		msg = strings.ToLower(err.Error())
	}
	switch {
	case strings.Contains(msg, "shared config profile"):
		return fmt.Sprintf("define profile %q (aws configure --profile %s, or aws configure sso) or name another with %s or AWS_PROFILE", i.Profile, i.Profile, i.name("Profile"))
	case strings.Contains(msg, "sso") || strings.Contains(msg, "token"):
		return fmt.Sprintf("the SSO session is missing or expired: run aws sso login%s", i.profileArg())
	}
	return "set " + i.name("Profile") + " or AWS_PROFILE to a profile with credentials, run aws sso login for an SSO profile, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" +
		"; for an S3-compatible server, also " + i.name("EndpointURL")
}

func (i Identity) profileArg() string {
	if i.Profile == "" {
		return ""
	}
	return " --profile " + i.Profile
}

// endpoint names the endpoint.
func (i Identity) endpoint() string {
	if i.Endpoint != "" {
		return i.Endpoint
	}
	return "S3"
}

type credID struct{ keyID, source string }

// identity describes the client's credentials as far as known.
func (c *Client) identity() Identity {
	id := Identity{Profile: c.cfg.Profile, Endpoint: c.cfg.EndpointURL, optName: c.cfg.OptionName}
	if id.Profile == "" {
		id.Profile = os.Getenv("AWS_PROFILE")
	}
	if id.Endpoint == "" {
		id.Endpoint = os.Getenv("AWS_ENDPOINT_URL_S3")
		if id.Endpoint == "" {
			id.Endpoint = os.Getenv("AWS_ENDPOINT_URL")
		}
	}
	if p := c.id.Load(); p != nil {
		id.KeyID, id.Source = p.keyID, p.source
	}
	return id
}

// Identity returns the profile and endpoint of the client and, once
// credentials were retrieved (CheckAccess, any request), their key id and
// source.
func (c *Client) Identity() Identity { return c.orZero().identity() }

// credsProvider passes on the chain's credentials, remembers which were
// used (for messages), and turns a failure to retrieve them into a
// *CredentialsError, which the retryer does not retry.
type credsProvider struct {
	inner aws.CredentialsProvider
	c     *Client
}

func (p *credsProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	cr, err := p.inner.Retrieve(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return cr, err
		}
		return cr, &CredentialsError{Identity: p.c.identity(), Err: err}
	}
	if cur := p.c.id.Load(); cur == nil || cur.keyID != cr.AccessKeyID || cur.source != cr.Source {
		p.c.id.Store(&credID{keyID: cr.AccessKeyID, source: cr.Source})
	}
	return cr, nil
}

// ProviderSources passes on the sources of the chain's provider (the SDK
// reports them in its user agent).
func (p *credsProvider) ProviderSources() []aws.CredentialSource {
	if s, ok := p.inner.(aws.CredentialProviderSource); ok {
		return s.ProviderSources()
	}
	return nil
}

// CheckAccess finds, before any work, what would otherwise fail every
// request of it: missing or rejected credentials and an endpoint that
// cannot be reached. For an s3:// location it retrieves the credentials
// and makes one signed request whose errors carry a code — a GET of the
// first byte of an object, or a list of one key under a prefix (a
// location ending in "/" or a bucket). It returns a *CredentialsError
// or an error wrapping ErrUnreachable; any other answer (the object is
// missing, the listing is refused, the range is empty) means the
// credentials were accepted, and is nil: the work itself reports it.
// Local paths need no check.
func (c *Client) CheckAccess(ctx context.Context, loc string) error {
	c = c.orZero()
	if !IsS3(loc) {
		return nil
	}
	bucket, key, err := ParseS3(loc)
	if err != nil {
		return err
	}
	if err := c.CheckCredentials(ctx); err != nil {
		var ce *CredentialsError
		if errors.As(err, &ce) {
			ce.Loc = loc
		}
		return err
	}
	cl, err := c.S3(ctx)
	if err != nil {
		return err
	}
	op := "GetObject"
	if key == "" || strings.HasSuffix(key, "/") {
		op = "ListObjectsV2"
		_, err = cl.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &key, MaxKeys: aws.Int32(1)})
	} else {
		var out *s3.GetObjectOutput
		out, err = cl.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key, Range: aws.String("bytes=0-0")})
		if err == nil {
			io.Copy(io.Discard, out.Body)
			out.Body.Close()
		}
	}
	err = c.classify("checking access to", op, loc, err)
	if errors.Is(err, ErrCredentials) || errors.Is(err, ErrUnreachable) || ctx.Err() != nil {
		return err
	}
	return nil
}

// CheckCredentials retrieves the client's credentials, without a request
// to S3: it returns a *CredentialsError naming what was tried when there
// are none (no profile, an expired SSO session, nothing in the chain).
// Whether S3 accepts them only a request tells: see CheckAccess.
func (c *Client) CheckCredentials(ctx context.Context) error {
	c = c.orZero()
	if _, err := c.S3(ctx); err != nil {
		return err
	}
	c.mu.Lock()
	creds := c.awsCfg.Credentials
	c.mu.Unlock()
	if creds == nil {
		return &CredentialsError{Identity: c.identity(), Err: errors.New("no credentials provider")}
	}
	if _, err := creds.Retrieve(ctx); err != nil {
		return c.classify("retrieving credentials", "", "", err)
	}
	return nil
}
