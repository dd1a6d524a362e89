package local

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// The HTTP front verifies AWS Signature Version 4 on every request, as S3
// and S3-compatible servers do (docs/serve.md): it rebuilds the canonical
// request from the headers the client says it signed, signs it again with
// the secret of the access key, and compares in constant time. Only the
// Authorization header form is accepted (no presigned URLs), and the
// payload must be signed: serve speaks plain HTTP, where nothing else
// protects the body.

// MaxClockSkew is how far a request's date may be from the endpoint's
// clock, either way (S3's window).
const MaxClockSkew = 15 * time.Minute

const (
	sigV4Algorithm  = "AWS4-HMAC-SHA256"
	sigV4Terminator = "aws4_request"
	sigV4Service    = "s3" // S3 Control is signed as s3 (docs/formats.md#requests-on-the-wire)
	amzDateLayout   = "20060102T150405Z"
	unsignedPayload = "UNSIGNED-PAYLOAD"
)

// emptySHA256 is the hex SHA-256 of an empty body.
var emptySHA256 = hex.EncodeToString(sha256.New().Sum(nil))

// Credential is an access key whose signatures the endpoint accepts.
type Credential struct {
	AccessKeyID     string
	SecretAccessKey string
	// SessionToken, when set, must come with every request signed with
	// the key (X-Amz-Security-Token), as with temporary AWS credentials.
	SessionToken string
}

// Credentials finds the credential of an access key id.
type Credentials interface {
	// Lookup returns the credential of id; ok is false when the endpoint
	// does not accept id. err is for a source that cannot answer (the
	// credential chain failing to refresh).
	Lookup(ctx context.Context, id string) (c Credential, ok bool, err error)
}

type staticCredentials map[string]Credential

// StaticCredentials accepts exactly the keys given.
func StaticCredentials(cs ...Credential) Credentials {
	m := staticCredentials{}
	for _, c := range cs {
		m[c.AccessKeyID] = c
	}
	return m
}

func (m staticCredentials) Lookup(_ context.Context, id string) (Credential, bool, error) {
	c, ok := m[id]
	return c, ok, nil
}

type providerCredentials struct{ p aws.CredentialsProvider }

// ProviderCredentials accepts the key p currently gives: the credentials
// the process itself runs with (the AWS credential chain). p is asked on
// every request, so a key that rotates (an assumed role, SSO) is followed;
// wrap p in an aws.CredentialsCache to keep that cheap.
func ProviderCredentials(p aws.CredentialsProvider) Credentials { return providerCredentials{p} }

func (c providerCredentials) Lookup(ctx context.Context, id string) (Credential, bool, error) {
	v, err := c.p.Retrieve(ctx)
	if err != nil {
		return Credential{}, false, err
	}
	if v.AccessKeyID != id {
		return Credential{}, false, nil
	}
	return Credential{AccessKeyID: v.AccessKeyID, SecretAccessKey: v.SecretAccessKey, SessionToken: v.SessionToken}, true, nil
}

// sigV4 is a parsed, not yet verified, Authorization header.
type sigV4 struct {
	r             *http.Request
	keyID         string
	scopeDate     string // YYYYMMDD
	region        string
	signedHeaders []string // as listed: lower case, sorted
	signature     []byte
	amzDate       string // the request time as the string to sign has it
}

// parseSigV4 reads the signature of r and checks what needs no secret:
// the form of the Authorization header, the date (against now, within
// MaxClockSkew), and that every x-amz-* header is signed.
func parseSigV4(r *http.Request, now time.Time) (*sigV4, error) {
	q := r.URL.Query()
	if q.Has("X-Amz-Signature") || q.Has("X-Amz-Algorithm") || q.Has("X-Amz-Credential") {
		return nil, apiErr(ErrAccessDenied, "presigned URLs are not accepted: sign the request with an Authorization header (AWS Signature Version 4)")
	}
	auths := r.Header.Values("Authorization")
	if len(auths) == 0 {
		return nil, apiErr(ErrAccessDenied, "anonymous requests are not accepted: sign the request with AWS Signature Version 4 (any AWS SDK or the AWS CLI does, with credentials this endpoint accepts)")
	}
	if len(auths) > 1 {
		return nil, apiErr(ErrAuthorizationHeaderMalformed, "more than one Authorization header")
	}
	s, err := parseAuthorization(auths[0])
	if err != nil {
		return nil, err
	}
	s.r = r
	signed := map[string]bool{}
	for _, h := range s.signedHeaders {
		signed[h] = true
	}
	if !signed["host"] {
		return nil, apiErr(ErrAccessDenied, "the Host header must be signed (SignedHeaders %s)", strings.Join(s.signedHeaders, ";"))
	}
	for name := range r.Header {
		if l := strings.ToLower(name); strings.HasPrefix(l, "x-amz-") && !signed[l] {
			return nil, apiErr(ErrAccessDenied, "header %s is present in the request but not signed", l)
		}
	}

	var t time.Time
	if v := r.Header.Get("X-Amz-Date"); v != "" {
		t, err = time.Parse(amzDateLayout, v)
		if err != nil {
			return nil, apiErr(ErrAccessDenied, "X-Amz-Date %q is not a date of the form 20060102T150405Z", v)
		}
		s.amzDate = v
	} else if v := r.Header.Get("Date"); v != "" {
		if !signed["date"] {
			return nil, apiErr(ErrAccessDenied, "the Date header must be signed")
		}
		t, err = http.ParseTime(v)
		if err != nil {
			return nil, apiErr(ErrAccessDenied, "Date %q is not an HTTP date", v)
		}
		s.amzDate = t.UTC().Format(amzDateLayout)
	} else {
		return nil, apiErr(ErrAccessDenied, "the request has no date: X-Amz-Date (or Date) is required")
	}
	if d := now.Sub(t); d > MaxClockSkew || d < -MaxClockSkew {
		return nil, apiErr(ErrRequestTimeTooSkewed, "the difference between the request time (%s) and the server's time (%s) is over %v",
			t.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), MaxClockSkew)
	}
	if day := t.UTC().Format("20060102"); day != s.scopeDate {
		return nil, apiErr(ErrAuthorizationHeaderMalformed, "the credential scope's date %s is not the request's date %s", s.scopeDate, day)
	}
	return s, nil
}

// parseAuthorization parses
//
//	AWS4-HMAC-SHA256 Credential=ID/YYYYMMDD/REGION/s3/aws4_request, SignedHeaders=a;b;c, Signature=HEX
//
// Its errors quote no part of the header but the access key id.
func parseAuthorization(h string) (*sigV4, error) {
	bad := func(format string, a ...any) error {
		return apiErr(ErrAuthorizationHeaderMalformed, "Authorization header: "+format, a...)
	}
	alg, rest, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || alg != sigV4Algorithm {
		return nil, bad("the algorithm must be %s (Signature Version 4)", sigV4Algorithm)
	}
	parts := map[string]string{}
	for _, p := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || (k != "Credential" && k != "SignedHeaders" && k != "Signature") {
			return nil, bad("expected Credential=, SignedHeaders= and Signature=, separated by commas")
		}
		if _, dup := parts[k]; dup {
			return nil, bad("%s given twice", k)
		}
		parts[k] = v
	}
	for _, k := range []string{"Credential", "SignedHeaders", "Signature"} {
		if parts[k] == "" {
			return nil, bad("%s is missing", k)
		}
	}
	s := &sigV4{}
	scope := strings.Split(parts["Credential"], "/")
	if len(scope) != 5 || scope[0] == "" {
		return nil, bad("Credential must be ACCESS_KEY_ID/YYYYMMDD/REGION/SERVICE/aws4_request")
	}
	s.keyID, s.scopeDate, s.region = scope[0], scope[1], scope[2]
	if _, err := time.Parse("20060102", s.scopeDate); err != nil || len(s.scopeDate) != 8 {
		return nil, bad("the credential scope's date %q is not YYYYMMDD", s.scopeDate)
	}
	if s.region == "" {
		return nil, bad("the credential scope has no region")
	}
	if scope[3] != sigV4Service {
		return nil, bad("the credential scope's service must be %q (S3 Control is signed as s3), got %q", sigV4Service, scope[3])
	}
	if scope[4] != sigV4Terminator {
		return nil, bad("the credential scope must end in %s", sigV4Terminator)
	}
	s.signedHeaders = strings.Split(parts["SignedHeaders"], ";")
	for i, n := range s.signedHeaders {
		if n == "" || n != strings.ToLower(n) || strings.ContainsAny(n, " \t:") || (i > 0 && n <= s.signedHeaders[i-1]) {
			return nil, bad("SignedHeaders must be distinct lower-case header names in sorted order")
		}
	}
	sig := parts["Signature"]
	if len(sig) != 64 || strings.ToLower(sig) != sig {
		return nil, bad("Signature must be 64 lower-case hex digits")
	}
	b, err := hex.DecodeString(sig)
	if err != nil {
		return nil, bad("Signature must be 64 lower-case hex digits")
	}
	s.signature = b
	return s, nil
}

// checkPayloadHash checks the form of x-amz-content-sha256: the hex
// SHA-256 of the body, or UNSIGNED-PAYLOAD (accepted for an empty body
// only). Streaming (chunk-signed) payloads are refused.
func checkPayloadHash(v string) error {
	if v == unsignedPayload {
		return nil
	}
	if strings.HasPrefix(v, "STREAMING-") {
		return apiErr(ErrContentSHA256Mismatch, "x-amz-content-sha256 %s: chunk-signed (streaming) payloads are not accepted; sign the whole body", v)
	}
	if len(v) != 64 || strings.ToLower(v) != v {
		return apiErr(ErrContentSHA256Mismatch, "x-amz-content-sha256 must be the hex SHA-256 of the body")
	}
	if _, err := hex.DecodeString(v); err != nil {
		return apiErr(ErrContentSHA256Mismatch, "x-amz-content-sha256 must be the hex SHA-256 of the body")
	}
	return nil
}

// checkBody checks the body against the payload hash the signature covers.
// UNSIGNED-PAYLOAD is accepted only with an empty body: plain HTTP gives a
// body no other protection, and an unsigned one could be swapped in
// transit.
func checkBody(payloadHash string, body []byte) error {
	if payloadHash == unsignedPayload {
		if len(body) > 0 {
			return apiErr(ErrContentSHA256Mismatch, "x-amz-content-sha256 is UNSIGNED-PAYLOAD but the request has a body: this endpoint speaks plain HTTP and needs the body signed")
		}
		return nil
	}
	sum := sha256.Sum256(body)
	if hex.EncodeToString(sum[:]) != payloadHash {
		return apiErr(ErrContentSHA256Mismatch, "the body's SHA-256 is not the x-amz-content-sha256 the request was signed with")
	}
	return nil
}

// verify looks the access key up in creds and checks the session token
// and the signature of the request, whose body has the hex SHA-256 (or
// UNSIGNED-PAYLOAD) payloadHash.
func (s *sigV4) verify(ctx context.Context, creds Credentials, payloadHash string) error {
	c, ok, err := creds.Lookup(ctx, s.keyID)
	if err != nil {
		// The chain's messages name profiles and files, not secrets.
		return apiErr(ErrInternal, "looking up the credentials this endpoint accepts: %v", err)
	}
	if !ok {
		return apiErr(ErrInvalidAccessKeyID, "the access key id %s is not one this endpoint accepts", s.keyID)
	}
	tok := s.r.Header.Get("X-Amz-Security-Token")
	if subtle.ConstantTimeCompare([]byte(tok), []byte(c.SessionToken)) != 1 {
		if c.SessionToken == "" {
			return apiErr(ErrInvalidToken, "the request carries a session token, but the access key %s has none", s.keyID)
		}
		return apiErr(ErrInvalidToken, "the session token is not the one of the access key %s", s.keyID)
	}
	key := signingKey(c.SecretAccessKey, s.scopeDate, s.region)
	for _, uri := range canonicalURIs(s.r.URL) {
		if hmac.Equal(s.sign(key, uri, payloadHash), s.signature) {
			return nil
		}
	}
	return apiErr(ErrSignatureDoesNotMatch, "the request signature we calculated does not match the signature you provided: check the secret key and the signing method")
}

func signingKey(secret, date, region string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, sigV4Service)
	return hmacSHA256(k, sigV4Terminator)
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// sign returns the signature of the request with canonical URI uri.
func (s *sigV4) sign(key []byte, uri, payloadHash string) []byte {
	cr := s.canonicalRequest(uri, payloadHash)
	h := sha256.Sum256([]byte(cr))
	sts := sigV4Algorithm + "\n" + s.amzDate + "\n" + s.scopeDate + "/" + s.region + "/" + sigV4Service + "/" + sigV4Terminator + "\n" + hex.EncodeToString(h[:])
	return hmacSHA256(key, sts)
}

// canonicalRequest is SigV4's canonical request of s.r.
func (s *sigV4) canonicalRequest(uri, payloadHash string) string {
	var b strings.Builder
	b.WriteString(s.r.Method)
	b.WriteByte('\n')
	b.WriteString(uri)
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(s.r.URL.RawQuery))
	b.WriteByte('\n')
	for _, name := range s.signedHeaders {
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(canonicalHeaderValue(s.r, name))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(s.signedHeaders, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

// canonicalURIs are the canonical URIs a client may have signed: the
// path as sent (S3's rule, botocore's and the AWS CLI's) and, when it
// differs, the path escaped once more (the generic SigV4 rule, which the
// Go SDK applies to S3 Control).
func canonicalURIs(u *url.URL) []string {
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	if twice := awsEscape(p, false); twice != p {
		return []string{p, twice}
	}
	return []string{p}
}

// canonicalQuery sorts the query's parameters by name, then value, each
// escaped as SigV4 wants (unreserved characters kept, the rest %XX).
func canonicalQuery(raw string) string {
	if raw == "" {
		return ""
	}
	type kv struct{ k, v string }
	var ps []kv
	for _, p := range strings.Split(raw, "&") {
		if p == "" {
			continue
		}
		k, v, _ := strings.Cut(p, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if dv, err := url.QueryUnescape(v); err == nil {
			v = dv
		}
		ps = append(ps, kv{awsEscape(k, true), awsEscape(v, true)})
	}
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].k != ps[j].k {
			return ps[i].k < ps[j].k
		}
		return ps[i].v < ps[j].v
	})
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

// awsEscape percent-encodes every byte of s but the unreserved
// A-Z a-z 0-9 - _ . ~ (and '/' unless slash).
func awsEscape(s string, slash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' || (c == '/' && !slash) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// canonicalHeaderValue is the value of a signed header: its values
// trimmed, runs of spaces folded, joined by commas. Go's server moves
// Host out of the header map; Content-Length may be there or only in
// ContentLength.
func canonicalHeaderValue(r *http.Request, name string) string {
	var vals []string
	switch name {
	case "host":
		vals = []string{r.Host}
	default:
		vals = append(vals, r.Header.Values(name)...)
		if len(vals) == 0 && name == "content-length" && r.ContentLength >= 0 {
			vals = []string{strconv.FormatInt(r.ContentLength, 10)}
		}
	}
	for i, v := range vals {
		vals[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(vals, ",")
}

// String describes the signature without the signature itself.
func (s *sigV4) String() string {
	return fmt.Sprintf("key %s, scope %s/%s", s.keyID, s.scopeDate, s.region)
}
