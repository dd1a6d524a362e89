package largecopy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/s3batchkit/s3batchkit/jobs"
)

// ArgumentKeys are the UserArguments keys the function reads: the
// parameters of S3PutObjectCopy (docs/formats.md#operations), by the same
// names. With invocation schema 1.0, which has no UserArguments, the
// function reads them from environment variables of the same names.
var ArgumentKeys = func() []string {
	t := reflect.TypeFor[types.S3CopyObjectOperation]()
	var keys []string
	for i := range t.NumField() {
		if f := t.Field(i); f.IsExported() {
			keys = append(keys, f.Name)
		}
	}
	slices.Sort(keys)
	return keys
}()

// jsonArguments are the keys whose values are JSON, in the shape of the
// AWS CLI's --operation: NewObjectMetadata an object, NewObjectTagging
// and AccessControlGrants arrays. boolArguments are "true" or "false".
// Timestamps are RFC 3339; everything else is a plain string.
var (
	jsonArguments = []string{"AccessControlGrants", "NewObjectMetadata", "NewObjectTagging"}
	boolArguments = []string{"BucketKeyEnabled", "RequesterPays"}
	timeArguments = []string{"ModifiedSinceConstraint", "ObjectLockRetainUntilDate", "UnModifiedSinceConstraint"}
)

// ArgumentsFromEnv collects the ArgumentKeys that lookup (os.LookupEnv)
// finds: the arguments of schema 1.0 events.
func ArgumentsFromEnv(lookup func(string) (string, bool)) map[string]string {
	m := map[string]string{}
	for _, k := range ArgumentKeys {
		if v, ok := lookup(k); ok {
			m[k] = v
		}
	}
	return m
}

// Args is a checked set of arguments: where to copy and how.
type Args struct {
	// Op holds the arguments as the S3PutObjectCopy operation they name.
	Op types.S3CopyObjectOperation
	// Bucket is the destination bucket (from TargetResource); Prefix the
	// folder keys are copied into: "" or ending in "/".
	Bucket, Prefix string

	canonical string // the arguments, sorted, for the resume identity
}

var targetARN = regexp.MustCompile(`^arn:[^:]+:s3:::(.+)$|^arn:[^:]+:s3express:[^:]+:\d{12}:bucket/(.+)$`)

// ParseArguments checks UserArguments (or the environment's arguments)
// and returns what they ask for. TargetResource is required; every key
// must be one of ArgumentKeys, and the values are checked as submit checks
// an S3PutObjectCopy operation (jobs.ValidateOperation), plus the rules of
// a copy made of parts: NewObjectMetadata only with MetadataDirective
// REPLACE; AccessControlGrants not with CannedAccessControlList, and no
// WRITE grants (objects have none). Errors are *ArgumentError.
func ParseArguments(m map[string]string) (*Args, error) {
	if _, ok := m["TargetResource"]; !ok {
		return nil, &ArgumentError{Key: "TargetResource", Msg: "required: the destination bucket ARN, such as arn:aws:s3:::amzn-s3-demo-destination"}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		if _, found := slices.BinarySearch(ArgumentKeys, k); !found {
			return nil, &ArgumentError{Key: k, Msg: "unknown key; the function takes " + strings.Join(ArgumentKeys, ", ")}
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	// Build the operation's JSON and decode it with the SDK's own types,
	// so that names, enumerations and timestamps read as in --operation.
	var doc bytes.Buffer
	var canon strings.Builder
	doc.WriteByte('{')
	for i, k := range keys {
		v := m[k]
		fmt.Fprintf(&canon, "%s=%q\n", k, v)
		if i > 0 {
			doc.WriteByte(',')
		}
		kj, _ := json.Marshal(k)
		doc.Write(kj)
		doc.WriteByte(':')
		switch {
		case slices.Contains(jsonArguments, k):
			if !json.Valid([]byte(v)) {
				return nil, &ArgumentError{Key: k, Msg: "not valid JSON: " + strconv.Quote(v)}
			}
			doc.WriteString(v)
		case slices.Contains(boolArguments, k):
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, &ArgumentError{Key: k, Msg: "expected true or false, got " + strconv.Quote(v)}
			}
			doc.WriteString(strconv.FormatBool(b))
		case slices.Contains(timeArguments, k):
			if _, err := time.Parse(time.RFC3339, v); err != nil {
				return nil, &ArgumentError{Key: k, Msg: "expected an RFC 3339 time such as 2030-01-02T15:04:05Z, got " + strconv.Quote(v)}
			}
			vj, _ := json.Marshal(v)
			doc.Write(vj)
		default:
			vj, _ := json.Marshal(v)
			doc.Write(vj)
		}
	}
	doc.WriteByte('}')
	a := &Args{canonical: canon.String()}
	dec := json.NewDecoder(&doc)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a.Op); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, &ArgumentError{Key: strings.SplitN(te.Field, ".", 2)[0], Msg: fmt.Sprintf("expected %s, got a JSON %s", te.Type, te.Value)}
		}
		var pe *time.ParseError
		if errors.As(err, &pe) {
			return nil, &ArgumentError{Key: "NewObjectMetadata", Msg: "HttpExpiresDate is not an RFC 3339 time: " + err.Error()}
		}
		return nil, &ArgumentError{Msg: err.Error()}
	}
	if err := jobs.ValidateOperation(types.JobOperation{S3PutObjectCopy: &a.Op}); err != nil {
		msg := strings.TrimPrefix(err.Error(), jobs.ErrOperation.Error()+": S3PutObjectCopy.")
		key := ""
		if i := strings.Index(msg, ": "); i > 0 {
			// "NewObjectTagging[0].Key: …" names the argument NewObjectTagging.
			field := msg[:i]
			base := field[:strings.IndexFunc(field+".", func(r rune) bool { return r == '[' || r == '.' })]
			if slices.Contains(ArgumentKeys, base) {
				key = base
				if sub := field[len(base):]; sub != "" {
					msg = sub + ": " + msg[i+2:]
				} else {
					msg = msg[i+2:]
				}
			}
		}
		return nil, &ArgumentError{Key: key, Msg: msg}
	}
	op := &a.Op
	if op.NewObjectMetadata != nil && op.MetadataDirective != types.S3MetadataDirectiveReplace {
		return nil, &ArgumentError{Key: "NewObjectMetadata", Msg: "applies with MetadataDirective REPLACE only; add it, or drop NewObjectMetadata to copy the source's metadata"}
	}
	if len(op.NewObjectTagging) > 10 {
		return nil, &ArgumentError{Key: "NewObjectTagging", Msg: fmt.Sprintf("at most 10 tags per object, got %d", len(op.NewObjectTagging))}
	}
	if len(op.AccessControlGrants) > 0 {
		if op.CannedAccessControlList != "" {
			return nil, &ArgumentError{Key: "AccessControlGrants", Msg: "AccessControlGrants and CannedAccessControlList exclude each other"}
		}
		if _, err := grantHeaders(op.AccessControlGrants); err != nil {
			return nil, &ArgumentError{Key: "AccessControlGrants", Msg: err.Error()}
		}
	}
	t := targetARN.FindStringSubmatch(aws.ToString(op.TargetResource))
	a.Bucket = t[1] + t[2]
	a.Prefix = TargetPrefix(aws.ToString(op.TargetKeyPrefix))
	return a, nil
}

// TargetPrefix is the destination folder of TargetKeyPrefix: AWS
// documents it as a folder ("to copy objects into a folder named Folder1,
// set TargetKeyPrefix to Folder1"), so a missing trailing "/" is added —
// UNCONFIRMED against a live job; the local engine's S3PutObjectCopy
// reads it the same way. A prefix given with its "/" is kept.
func TargetPrefix(p string) string {
	if p == "" || strings.HasSuffix(p, "/") {
		return p
	}
	return p + "/"
}

// grants holds the x-amz-grant-* header values of AccessControlGrants.
type grants struct{ fullControl, read, readACP, writeACP *string }

// grantHeaders renders grants as S3's grant headers: per permission a
// comma-separated list of id="…", emailAddress="…" or uri="…".
func grantHeaders(gs []types.S3Grant) (grants, error) {
	var g grants
	lists := map[types.S3Permission][]string{}
	for i, x := range gs {
		if x.Grantee == nil || aws.ToString(x.Grantee.Identifier) == "" {
			return g, fmt.Errorf("[%d].Grantee.Identifier: required", i)
		}
		typ := x.Grantee.TypeIdentifier
		if !slices.Contains(typ.Values(), typ) {
			return g, fmt.Errorf("[%d].Grantee.TypeIdentifier: %q is not one of id, emailAddress, uri", i, typ)
		}
		switch x.Permission {
		case types.S3PermissionFullControl, types.S3PermissionRead, types.S3PermissionReadAcp, types.S3PermissionWriteAcp:
		default:
			return g, fmt.Errorf("[%d].Permission: %q is not one of FULL_CONTROL, READ, READ_ACP, WRITE_ACP (objects take no WRITE grant)", i, x.Permission)
		}
		lists[x.Permission] = append(lists[x.Permission], string(typ)+"="+strconv.Quote(aws.ToString(x.Grantee.Identifier)))
	}
	join := func(p types.S3Permission) *string {
		if l := lists[p]; len(l) > 0 {
			return aws.String(strings.Join(l, ", "))
		}
		return nil
	}
	g.fullControl, g.read, g.readACP, g.writeACP = join(types.S3PermissionFullControl), join(types.S3PermissionRead),
		join(types.S3PermissionReadAcp), join(types.S3PermissionWriteAcp)
	return g, nil
}

// taggingHeader renders tags as the x-amz-tagging header, a query string;
// spaces are written %20 (not '+'), which reads the same under percent-
// and form-decoding.
func taggingHeader(tags []types.S3Tag) string {
	q := make([]string, 0, len(tags))
	for _, t := range tags {
		q = append(q, queryEscape(aws.ToString(t.Key))+"="+queryEscape(aws.ToString(t.Value)))
	}
	return strings.Join(q, "&")
}

func queryEscape(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
