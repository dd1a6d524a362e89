package jobs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3control/types"
)

// OperationNames lists the operations ParseOperation accepts, as the
// members of JobOperation (docs/formats.md#operations).
var OperationNames = []string{
	"LambdaInvoke", "S3PutObjectCopy", "S3PutObjectAcl", "S3PutObjectTagging", "S3DeleteObjectTagging",
	"S3InitiateRestoreObject", "S3PutObjectLegalHold", "S3PutObjectRetention", "S3ReplicateObject",
	"S3ComputeObjectChecksum", "S3UpdateObjectEncryption",
}

// ParseOperation parses an operation in the JSON shape of the AWS CLI's
// `s3control create-job --operation`, such as
//
//	{"S3PutObjectCopy": {"TargetResource": "arn:aws:s3:::dst", "StorageClass": "STANDARD_IA"}}
//
// and validates it: exactly one operation, known fields only, required
// fields present, enumerations and ranges respected. Timestamps are RFC
// 3339. It returns the operation and its name; errors wrap ErrOperation.
func ParseOperation(data []byte) (types.JobOperation, string, error) {
	var op types.JobOperation
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return op, "", fmt.Errorf("%w: not a JSON object: %v", ErrOperation, err)
	}
	if len(probe) != 1 {
		keys := make([]string, 0, len(probe))
		for k := range probe {
			keys = append(keys, k)
		}
		return op, "", fmt.Errorf("%w: expected exactly one operation (one of %s), got %d: %v", ErrOperation, strings.Join(OperationNames, ", "), len(probe), keys)
	}
	var name string
	for k := range probe {
		name = k
	}
	known := false
	for _, n := range OperationNames {
		if n == name {
			known = true
		}
	}
	if !known {
		return op, "", fmt.Errorf("%w: unknown operation %q, expected one of %s", ErrOperation, name, strings.Join(OperationNames, ", "))
	}
	if bytes.Equal(bytes.TrimSpace(probe[name]), []byte("null")) {
		return op, "", fmt.Errorf("%w: %s: expected an object ({} when it has no parameters)", ErrOperation, name)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&op); err != nil {
		return op, "", fmt.Errorf("%w: %s: %v", ErrOperation, name, err)
	}
	if err := ValidateOperation(op); err != nil {
		return op, "", err
	}
	return op, name, nil
}

var (
	bucketARN = regexp.MustCompile(`^arn:[^:]+:s3:::[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$|^arn:[^:]+:s3express:[^:]+:\d{12}:bucket/\S+$`)
	lambdaARN = regexp.MustCompile(`^arn:[^:]+:lambda:[^:]+:\d{12}:function:[^:]+(:[^:]+)?$`)
	kmsKeyARN = regexp.MustCompile(`^arn:[^:]+:kms:`)
)

func opErr(name, field, format string, a ...any) error {
	return fmt.Errorf("%w: %s.%s: %s", ErrOperation, name, field, fmt.Sprintf(format, a...))
}

func inEnum[T ~string](v T, vals []T) bool {
	if v == "" {
		return true
	}
	for _, x := range vals {
		if x == v {
			return true
		}
	}
	return false
}

func enumErr[T ~string](name, field string, v T, vals []T) error {
	if inEnum(v, vals) {
		return nil
	}
	s := make([]string, len(vals))
	for i, x := range vals {
		s[i] = string(x)
	}
	return opErr(name, field, "%q is not one of %s", v, strings.Join(s, ", "))
}

func checkTags(name, field string, tags []types.S3Tag) error {
	for i, t := range tags {
		if t.Key == nil || len(*t.Key) == 0 || len(*t.Key) > 128 {
			return opErr(name, fmt.Sprintf("%s[%d].Key", field, i), "required, 1-128 characters")
		}
		if t.Value != nil && len(*t.Value) > 256 {
			return opErr(name, fmt.Sprintf("%s[%d].Value", field, i), "at most 256 characters")
		}
	}
	return nil
}

// ValidateOperation checks an operation as ParseOperation does.
func ValidateOperation(op types.JobOperation) error {
	n := 0
	for _, set := range []bool{op.LambdaInvoke != nil, op.S3PutObjectCopy != nil, op.S3PutObjectAcl != nil,
		op.S3PutObjectTagging != nil, op.S3DeleteObjectTagging != nil, op.S3InitiateRestoreObject != nil,
		op.S3PutObjectLegalHold != nil, op.S3PutObjectRetention != nil, op.S3ReplicateObject != nil,
		op.S3ComputeObjectChecksum != nil, op.S3UpdateObjectEncryption != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("%w: expected exactly one operation, got %d", ErrOperation, n)
	}
	switch {
	case op.LambdaInvoke != nil:
		const name = "LambdaInvoke"
		l := op.LambdaInvoke
		if l.FunctionArn == nil || !lambdaARN.MatchString(*l.FunctionArn) {
			return opErr(name, "FunctionArn", "required: a Lambda function ARN such as arn:aws:lambda:us-east-1:123456789012:function:name[:alias]")
		}
		v := "1.0"
		if l.InvocationSchemaVersion != nil {
			v = *l.InvocationSchemaVersion
		}
		if v != "1.0" && v != "2.0" {
			return opErr(name, "InvocationSchemaVersion", "%q is not 1.0 or 2.0", v)
		}
		if l.UserArguments != nil {
			if v != "2.0" {
				return opErr(name, "UserArguments", "needs InvocationSchemaVersion 2.0")
			}
			if len(l.UserArguments) < 1 || len(l.UserArguments) > 10 {
				return opErr(name, "UserArguments", "1 to 10 entries, got %d", len(l.UserArguments))
			}
			for k, val := range l.UserArguments {
				if len(k) < 1 || len(k) > 64 || len(val) > 1024 {
					return opErr(name, "UserArguments", "keys 1-64 and values up to 1024 characters (key %q)", k)
				}
			}
		}
	case op.S3PutObjectCopy != nil:
		const name = "S3PutObjectCopy"
		c := op.S3PutObjectCopy
		if c.TargetResource == nil || !bucketARN.MatchString(*c.TargetResource) {
			return opErr(name, "TargetResource", "required: the destination bucket ARN, such as arn:aws:s3:::amzn-s3-demo-destination")
		}
		if c.TargetKeyPrefix != nil && len(*c.TargetKeyPrefix) > 1024 {
			return opErr(name, "TargetKeyPrefix", "at most 1024 characters")
		}
		for _, err := range []error{
			enumErr(name, "StorageClass", c.StorageClass, c.StorageClass.Values()),
			enumErr(name, "MetadataDirective", c.MetadataDirective, c.MetadataDirective.Values()),
			enumErr(name, "CannedAccessControlList", c.CannedAccessControlList, c.CannedAccessControlList.Values()),
			enumErr(name, "ChecksumAlgorithm", c.ChecksumAlgorithm, c.ChecksumAlgorithm.Values()),
			enumErr(name, "ObjectLockMode", c.ObjectLockMode, c.ObjectLockMode.Values()),
			enumErr(name, "ObjectLockLegalHoldStatus", c.ObjectLockLegalHoldStatus, c.ObjectLockLegalHoldStatus.Values()),
			checkTags(name, "NewObjectTagging", c.NewObjectTagging),
		} {
			if err != nil {
				return err
			}
		}
		if c.SSEAwsKmsKeyId != nil && !kmsKeyARN.MatchString(*c.SSEAwsKmsKeyId) {
			return opErr(name, "SSEAwsKmsKeyId", "a KMS key ARN (arn:aws:kms:…)")
		}
		if (c.ObjectLockMode == "") != (c.ObjectLockRetainUntilDate == nil) {
			return opErr(name, "ObjectLockMode", "ObjectLockMode and ObjectLockRetainUntilDate go together")
		}
	case op.S3PutObjectAcl != nil:
		const name = "S3PutObjectAcl"
		p := op.S3PutObjectAcl.AccessControlPolicy
		if p == nil || (p.AccessControlList == nil && p.CannedAccessControlList == "") {
			return opErr(name, "AccessControlPolicy", "required, with AccessControlList or CannedAccessControlList")
		}
		if p.AccessControlList != nil && p.CannedAccessControlList != "" {
			return opErr(name, "AccessControlPolicy", "AccessControlList and CannedAccessControlList exclude each other")
		}
		if err := enumErr(name, "AccessControlPolicy.CannedAccessControlList", p.CannedAccessControlList, p.CannedAccessControlList.Values()); err != nil {
			return err
		}
		if acl := p.AccessControlList; acl != nil && (acl.Owner == nil || acl.Owner.ID == nil) {
			return opErr(name, "AccessControlPolicy.AccessControlList.Owner.ID", "required")
		}
	case op.S3PutObjectTagging != nil:
		const name = "S3PutObjectTagging"
		if op.S3PutObjectTagging.TagSet == nil {
			return opErr(name, "TagSet", `required (use "TagSet": [] to remove every tag, or S3DeleteObjectTagging)`)
		}
		if len(op.S3PutObjectTagging.TagSet) > 10 {
			return opErr(name, "TagSet", "at most 10 tags per object, got %d", len(op.S3PutObjectTagging.TagSet))
		}
		if err := checkTags(name, "TagSet", op.S3PutObjectTagging.TagSet); err != nil {
			return err
		}
	case op.S3InitiateRestoreObject != nil:
		const name = "S3InitiateRestoreObject"
		r := op.S3InitiateRestoreObject
		if r.ExpirationInDays != nil && *r.ExpirationInDays < 1 {
			return opErr(name, "ExpirationInDays", "at least 1 (omit it for Intelligent-Tiering archive tiers), got %d", *r.ExpirationInDays)
		}
		if err := enumErr(name, "GlacierJobTier", r.GlacierJobTier, r.GlacierJobTier.Values()); err != nil {
			return err
		}
	case op.S3PutObjectLegalHold != nil:
		const name = "S3PutObjectLegalHold"
		lh := op.S3PutObjectLegalHold.LegalHold
		if lh == nil || lh.Status == "" {
			return opErr(name, "LegalHold.Status", "required: ON or OFF")
		}
		if err := enumErr(name, "LegalHold.Status", lh.Status, lh.Status.Values()); err != nil {
			return err
		}
	case op.S3PutObjectRetention != nil:
		const name = "S3PutObjectRetention"
		r := op.S3PutObjectRetention.Retention
		if r == nil {
			return opErr(name, "Retention", "required (an empty Retention {} removes retention)")
		}
		if (r.Mode == "") != (r.RetainUntilDate == nil) {
			return opErr(name, "Retention", "Mode and RetainUntilDate go together (give both, or neither to remove retention)")
		}
		if err := enumErr(name, "Retention.Mode", r.Mode, r.Mode.Values()); err != nil {
			return err
		}
	case op.S3ComputeObjectChecksum != nil:
		const name = "S3ComputeObjectChecksum"
		c := op.S3ComputeObjectChecksum
		if c.ChecksumAlgorithm == "" {
			return opErr(name, "ChecksumAlgorithm", "required")
		}
		if err := enumErr(name, "ChecksumAlgorithm", c.ChecksumAlgorithm, c.ChecksumAlgorithm.Values()); err != nil {
			return err
		}
		if err := enumErr(name, "ChecksumType", c.ChecksumType, c.ChecksumType.Values()); err != nil {
			return err
		}
	case op.S3UpdateObjectEncryption != nil:
		const name = "S3UpdateObjectEncryption"
		e := op.S3UpdateObjectEncryption.ObjectEncryption
		if e == nil || e.SSEKMS == nil || e.SSEKMS.KMSKeyArn == nil || !kmsKeyARN.MatchString(*e.SSEKMS.KMSKeyArn) {
			return opErr(name, "ObjectEncryption.SSEKMS.KMSKeyArn", "required: a KMS key ARN")
		}
	}
	return nil
}

// OperationName returns the name of the one operation set in op.
func OperationName(op types.JobOperation) string {
	switch {
	case op.LambdaInvoke != nil:
		return "LambdaInvoke"
	case op.S3PutObjectCopy != nil:
		return "S3PutObjectCopy"
	case op.S3PutObjectAcl != nil:
		return "S3PutObjectAcl"
	case op.S3PutObjectTagging != nil:
		return "S3PutObjectTagging"
	case op.S3DeleteObjectTagging != nil:
		return "S3DeleteObjectTagging"
	case op.S3InitiateRestoreObject != nil:
		return "S3InitiateRestoreObject"
	case op.S3PutObjectLegalHold != nil:
		return "S3PutObjectLegalHold"
	case op.S3PutObjectRetention != nil:
		return "S3PutObjectRetention"
	case op.S3ReplicateObject != nil:
		return "S3ReplicateObject"
	case op.S3ComputeObjectChecksum != nil:
		return "S3ComputeObjectChecksum"
	case op.S3UpdateObjectEncryption != nil:
		return "S3UpdateObjectEncryption"
	}
	return ""
}

// The routes of a plan (partition.Route*; this package does not import
// partition), for ServesRoute.
const (
	RouteCopy           = "copy"
	RouteLarge          = "large"
	RouteRestore        = "restore"
	RouteRestoreTiering = "restore-tiering"
	RouteAll            = "all"
	RouteDelete         = "delete"
)

// RouteError says why an operation cannot serve the objects of a plan
// route. It wraps ErrInvalid: asking for it is a usage error.
type RouteError struct {
	Operation, Route, Reason string
}

func (e *RouteError) Error() string {
	return fmt.Sprintf("%v: %s cannot serve route %s: %s", ErrInvalid, e.Operation, e.Route, e.Reason)
}

func (e *RouteError) Unwrap() error { return ErrInvalid }

// ServesRoute returns nil when op can do its work on the objects a plan
// puts in route, and a *RouteError saying why not otherwise
// (docs/formats.md#operations):
//
//   - S3PutObjectCopy serves copy and all: objects over 5 GB (large) fail
//     with 400 InvalidRequest, archived ones (restore, restore-tiering)
//     with 403 InvalidObjectState until restored, and delete holds
//     objects to delete.
//   - S3InitiateRestoreObject serves restore (GLACIER, DEEP_ARCHIVE;
//     ExpirationInDays of at least 1 required), restore-tiering
//     (Intelligent-Tiering archive tiers; ExpirationInDays must be
//     omitted) and all (either); other objects are not archived (403
//     InvalidObjectState).
//   - LambdaInvoke and the operations on tags, ACLs, locks, replication,
//     checksums and encryption serve every route (compute checksum works
//     in every storage class, at any size).
//
// A route this package does not know (a hand-made plan) is served.
func ServesRoute(op types.JobOperation, route string) error {
	name := OperationName(op)
	no := func(why string) error { return &RouteError{Operation: name, Route: route, Reason: why} }
	switch {
	case op.S3PutObjectCopy != nil:
		switch route {
		case RouteLarge:
			return no("its objects are over 5 GB, which a copy job fails (400 InvalidRequest); copy them with LambdaInvoke (a multipart copy)")
		case RouteRestore, RouteRestoreTiering:
			return no("its objects are archived: a copy fails (403 InvalidObjectState) until S3InitiateRestoreObject has restored them")
		case RouteDelete:
			return no("its objects are to be deleted, not copied")
		}
	case op.S3InitiateRestoreObject != nil:
		days := op.S3InitiateRestoreObject.ExpirationInDays
		switch route {
		case RouteCopy, RouteLarge, RouteDelete:
			return no("its objects are not archived: a restore fails (403 InvalidObjectState)")
		case RouteRestore:
			if days == nil {
				return no("GLACIER and DEEP_ARCHIVE restores need ExpirationInDays (at least 1 day)")
			}
		case RouteRestoreTiering:
			if days != nil {
				return no("restores from the Intelligent-Tiering archive tiers must omit ExpirationInDays")
			}
		}
	}
	return nil
}

// OrdersVersions reports whether the order in which op meets the versions
// of a key matters: a copy (or a Lambda function, which may copy, or a
// replication) of a noncurrent version after the current one would make
// the old version current at the destination. For these, Submit creates
// the current-version jobs of a route only once its noncurrent-version
// jobs are Complete; other operations (tags, ACLs, restores, locks,
// checksums) run on every version at once.
func OrdersVersions(op types.JobOperation) bool {
	return op.S3PutObjectCopy != nil || op.LambdaInvoke != nil || op.S3ReplicateObject != nil
}
