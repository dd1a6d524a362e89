package local

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3control"
)

// Headers as the Go SDK, botocore and the AWS CLI send them.
var authSeeds = []string{
	"AWS4-HMAC-SHA256 Credential=AKIDLOCAL/20260101/us-east-1/s3/aws4_request, SignedHeaders=accept-encoding;amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;x-amz-account-id;x-amz-content-sha256;x-amz-date, Signature=0b7a9c5d2e1f8a3b4c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b",
	"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
	"AWS4-HMAC-SHA256 Credential=ASIATEMP/20260101/eu-west-3/s3/aws4_request, SignedHeaders=host;x-amz-account-id;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	"AWS AKIDLOCAL:c2lnbmF0dXJl",
	"AWS4-HMAC-SHA256 Credential=/////, SignedHeaders=;, Signature=",
}

// FuzzParseAuthorization: no input panics; a header that parses is
// written back in the canonical form and parses to the same.
func FuzzParseAuthorization(f *testing.F) {
	for _, s := range authSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		s, err := parseAuthorization(h)
		if err != nil {
			if _, ok := err.(*APIError); !ok {
				t.Fatalf("%q: error of type %T", h, err)
			}
			return
		}
		again := fmt.Sprintf("%s Credential=%s/%s/%s/%s/%s, SignedHeaders=%s, Signature=%x", sigV4Algorithm,
			s.keyID, s.scopeDate, s.region, sigV4Service, sigV4Terminator, strings.Join(s.signedHeaders, ";"), s.signature)
		s2, err := parseAuthorization(again)
		if err != nil || s2.keyID != s.keyID || s2.region != s.region || s2.scopeDate != s.scopeDate ||
			strings.Join(s2.signedHeaders, ";") != strings.Join(s.signedHeaders, ";") || string(s2.signature) != string(s.signature) {
			t.Fatalf("%q parsed to %+v, written back as %q: %+v %v", h, s, again, s2, err)
		}
	})
}

// FuzzDecodeRequest: no body panics the request decoder; a body that
// decodes stops decoding once anything but white space follows it.
func FuzzDecodeRequest(f *testing.F) {
	f.Add(`<CreateJobRequest xmlns="http://awss3control.amazonaws.com/doc/2018-08-20/"><ClientRequestToken>t</ClientRequestToken><Priority>10</Priority><Tags><member><Key>k</Key><Value>v</Value></member></Tags></CreateJobRequest>`)
	f.Add(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<CreateJobRequest><Operation><S3PutObjectCopy><TargetResource>arn:aws:s3:::d</TargetResource><NewObjectMetadata><UserMetadata><entry><key>a</key><value>b</value></entry></UserMetadata></NewObjectMetadata></S3PutObjectCopy></Operation><Manifest><Spec><Format>S3BatchOperations_CSV_20180820</Format><Fields><member>Bucket</member><member>Key</member></Fields></Spec></Manifest></CreateJobRequest>` + "\n")
	f.Add(`<CreateJobRequest><ConfirmationRequired>maybe</ConfirmationRequired></CreateJobRequest>`)
	f.Add(`<CreateJobRequest></CreateJobRequest><CreateJobRequest/>`)
	f.Add(`<!DOCTYPE a><CreateJobRequest/>`)
	f.Fuzz(func(t *testing.T, body string) {
		var in s3control.CreateJobInput
		if err := decodeRequest([]byte(body), "CreateJobRequest", &in); err != nil {
			return
		}
		var again s3control.CreateJobInput
		for _, tail := range []string{"<x/>", "text", "<CreateJobRequest/>"} {
			if err := decodeRequest([]byte(body+tail), "CreateJobRequest", &again); err == nil {
				t.Fatalf("%q followed by %q decoded", body, tail)
			}
		}
	})
}

// FuzzParseCredentials: no file panics the parser; the keys of a file
// that parses are written back one per line and parse to the same.
func FuzzParseCredentials(f *testing.F) {
	f.Add("AKIDLOCAL secret\n")
	f.Add("# keys of serve\n\nAKIAIOSFODNN7EXAMPLE\twJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\r\nci0123 0123456789abcdef\n")
	f.Add("a b c\n")
	f.Add("dup x\ndup y\n")
	f.Fuzz(func(t *testing.T, data string) {
		cs, err := ParseCredentials("keys", []byte(data))
		if err != nil {
			if _, ok := err.(*CredentialsFileError); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		var b strings.Builder
		for _, c := range cs {
			if !accessKeyRE.MatchString(c.AccessKeyID) || c.SecretAccessKey == "" || strings.ContainsAny(c.SecretAccessKey, " \t\r\n") {
				t.Fatalf("%q: parsed %q", data, c.AccessKeyID)
			}
			fmt.Fprintf(&b, "%s %s\n", c.AccessKeyID, c.SecretAccessKey)
		}
		again, err := ParseCredentials("keys", []byte(b.String()))
		if err != nil || len(again) != len(cs) {
			t.Fatalf("written back: %v", err)
		}
		for i := range cs {
			if again[i] != cs[i] {
				t.Fatalf("key %d differs once written back", i)
			}
		}
	})
}

// FuzzHostCheck: no Host value panics the check, and one it accepts
// names localhost, a loopback address or a configured name (with or
// without an account label), never another name.
func FuzzHostCheck(f *testing.F) {
	for _, s := range []string{"localhost:9180", "123456789012.localhost:9180", "[::1]:9180", "123456789012.[::1]:9180", "evil.example",
		"127.0.0.1.nip.io", "LOCALHOST.", "[::ffff:127.0.0.1]:1", "batch.example:1", "123456789012.123456789012.localhost"} {
		f.Add(s)
	}
	p, err := newHostPolicy("127.0.0.1:9180", []string{"batch.example"})
	if err != nil {
		f.Fatal(err)
	}
	label := regexp.MustCompile(`^[0-9]{12}\.`)
	f.Fuzz(func(t *testing.T, host string) {
		if p.check(host) != nil {
			return
		}
		name, ok := splitHost(host)
		if !ok {
			t.Fatalf("%q accepted but not HOST[:PORT]", host)
		}
		if rest := label.ReplaceAllString(name, ""); rest != "" {
			name = rest
		}
		name = normalizeHostName(name)
		if a, err := netip.ParseAddr(name); err == nil {
			if !a.IsLoopback() {
				t.Fatalf("%q accepted: %s is not loopback", host, a)
			}
			return
		}
		if name != "localhost" && name != "batch.example" {
			t.Fatalf("%q accepted as %q", host, name)
		}
	})
}
