package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/s3batchkit/s3batchkit/internal/csvscan"
	"github.com/s3batchkit/s3batchkit/internal/objio"
)

// Class says what to do about a failed task.
type Class uint8

const (
	// Unknown: no rule matched; look before re-running.
	Unknown Class = iota
	// Retryable: transient (throttling, 5xx, timeouts, Lambda
	// TemporaryFailure); running the same task again should succeed.
	Retryable
	// Permanent: running it again fails the same way until something is
	// fixed (permissions, a missing object or version, a bad request).
	Permanent
	// Success: reported as failed but means the work is done, such as
	// RestoreAlreadyInProgress for a restore. Counted as succeeded.
	Success
	numClasses
)

// FailureClasses are the classes a failure can end in, in the order
// summaries and rerun folders use.
var FailureClasses = []Class{Retryable, Permanent, Unknown}

var classNames = [numClasses]string{"unknown", "retryable", "permanent", "success"}

func (c Class) String() string {
	if c < numClasses {
		return classNames[c]
	}
	return fmt.Sprintf("Class(%d)", uint8(c))
}

// ParseClass parses a class name.
func ParseClass(s string) (Class, error) {
	for i, n := range classNames {
		if strings.EqualFold(strings.TrimSpace(s), n) {
			return Class(i), nil
		}
	}
	return Unknown, fmt.Errorf("class %q: want retryable, permanent, unknown or success", s)
}

// MarshalText writes the class name.
func (c Class) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText reads a class name, so that summary.json decodes.
func (c *Class) UnmarshalText(b []byte) error {
	cl, err := ParseClass(string(b))
	if err != nil {
		return err
	}
	*c = cl
	return nil
}

// DefaultClasses is the built-in table, by error code; the sources of
// each group are in docs/formats.md#failure-classes. An error code decides
// first, whatever the HTTP status (AWS's advice: act on the S3 error code,
// not on the status; a real replication row reads
// "failed,500,SrcObjectNotFound,..." and is permanent). A failure whose
// code is not in the table is classed by its HTTP status
// (DefaultStatusClasses); a failed task with a 2xx status and no code of
// its own is a response cut short, retryable; otherwise Unknown.
var DefaultClasses = map[string]Class{
	// S3 errors to retry (S3 error best practices: retry InternalError,
	// back off on SlowDown; the S3 error code list).
	"InternalError":      Retryable, // 500
	"ServiceUnavailable": Retryable, // 503
	"SlowDown":           Retryable, // 503
	"RequestTimeout":     Retryable, // 400, the socket was idle too long
	"OperationAborted":   Retryable, // 409, a conflicting operation is in progress: try again
	// The AWS SDKs' retryable and throttling codes (Go SDK v2,
	// aws/retry/standard.go); RequestTimeTooSkewed is retried after the
	// clock-skew correction (aws/retry/middleware.go).
	"RequestTimeoutException":                Retryable,
	"Throttling":                             Retryable,
	"ThrottlingException":                    Retryable,
	"ThrottledException":                     Retryable,
	"RequestThrottledException":              Retryable,
	"TooManyRequestsException":               Retryable, // also Lambda throttled
	"ProvisionedThroughputExceededException": Retryable,
	"TransactionInProgressException":         Retryable,
	"RequestLimitExceeded":                   Retryable,
	"BandwidthLimitExceeded":                 Retryable,
	"LimitExceededException":                 Retryable,
	"RequestThrottled":                       Retryable,
	"PriorRequestNotComplete":                Retryable,
	"EC2ThrottledException":                  Retryable,
	"RequestTimeTooSkewed":                   Retryable,
	"InternalFailure":                        Retryable,
	"ServiceException":                       Retryable, // Lambda service error
	// Lambda result codes (Batch Operations' Lambda contract).
	"TemporaryFailure": Retryable, // after the final redrive
	"PermanentFailure": Permanent,
	// S3 errors that repeat until something is fixed (the S3 error code
	// list; Batch Operations troubleshooting).
	"AccessDenied":               Permanent, // 403
	"AllAccessDisabled":          Permanent, // 403
	"AccountProblem":             Permanent, // 403
	"InvalidAccessKeyId":         Permanent, // 403
	"SignatureDoesNotMatch":      Permanent, // 403
	"InvalidObjectState":         Permanent, // 403: archived, not restored
	"ObjectNotInActiveTierError": Permanent, // 403
	"InvalidPayer":               Permanent, // 403
	"NoSuchBucket":               Permanent, // 404
	"NoSuchKey":                  Permanent, // 404: gone since the inventory
	"NoSuchVersion":              Permanent, // 404
	"MethodNotAllowed":           Permanent, // 405
	"PreconditionFailed":         Permanent, // 412
	"InvalidRequest":             Permanent, // 400: missing VersionId, copy source over 5 GB
	"InvalidArgument":            Permanent, // 400
	"InvalidBucketName":          Permanent, // 400
	"InvalidStorageClass":        Permanent, // 400
	"InvalidTag":                 Permanent, // 400
	"EntityTooLarge":             Permanent, // 400
	"KeyTooLongError":            Permanent, // 400
	"MetadataTooLarge":           Permanent, // 400
	"MalformedXML":               Permanent, // 400
	"NotImplemented":             Permanent, // 501: the header or operation is not implemented
	// S3 Replication failure reasons, as Batch Replication completion
	// reports give them (replication failure reasons); every one names a
	// permission, configuration, key or object to fix.
	"AssumeRoleNotPermitted":             Permanent,
	"DstBucketInvalidRegion":             Permanent,
	"DstBucketNotFound":                  Permanent,
	"DstBucketObjectLockConfigMissing":   Permanent,
	"DstBucketUnversioned":               Permanent,
	"DstDelObjNotPermitted":              Permanent,
	"DstKmsKeyInvalidState":              Permanent,
	"DstKmsKeyNotFound":                  Permanent,
	"DstMultipartCompleteNotPermitted":   Permanent,
	"DstMultipartInitNotPermitted":       Permanent,
	"DstMultipartPartUploadNotPermitted": Permanent,
	"DstObjectHardDeleted":               Permanent,
	"DstPutAclNotPermitted":              Permanent,
	"DstPutLegalHoldNotPermitted":        Permanent,
	"DstPutObjectNotPermitted":           Permanent,
	"DstPutTaggingNotPermitted":          Permanent,
	"DstVersionNotFound":                 Permanent,
	"InitiateReplicationNotPermitted":    Permanent,
	"SrcBucketInvalidRegion":             Permanent,
	"SrcBucketNotFound":                  Permanent,
	"SrcBucketReplicationConfigMissing":  Permanent,
	"SrcGetAclNotPermitted":              Permanent,
	"SrcGetObjectNotPermitted":           Permanent,
	"SrcGetTaggingNotPermitted":          Permanent,
	"SrcHeadObjectNotPermitted":          Permanent,
	"SrcKmsKeyInvalidState":              Permanent,
	"SrcObjectNotEligible":               Permanent,
	"SrcVersionNotFound":                 Permanent,
	"SrcObjectNotFound":                  Permanent, // seen in a real report (HTTP 500), not in the documented list
	// Done after all.
	"RestoreAlreadyInProgress": Success, // 409 on a restore: the restore is running
}

// DefaultStatusClasses classes failures by HTTP status when their error
// code is empty or not in the code table. Status 0 means no HTTP answer
// came (a connection refused, reset or timed out): retryable, as the SDKs
// retry it.
var DefaultStatusClasses = map[int]Class{
	0:   Retryable,
	429: Retryable, 500: Retryable, 502: Retryable, 503: Retryable, 504: Retryable,
	403: Permanent, 404: Permanent, 405: Permanent, 501: Permanent,
}

// Classifier maps a failure's error code and HTTP status to a Class. The
// zero value is not usable; start from NewClassifier. Safe for concurrent
// Classify calls once built.
type Classifier struct {
	codes  map[string]Class
	status map[int]Class
}

// NewClassifier returns a classifier holding the built-in tables.
func NewClassifier() *Classifier {
	c := &Classifier{codes: map[string]Class{}, status: map[int]Class{}}
	for k, v := range DefaultClasses {
		c.codes[k] = v
	}
	for k, v := range DefaultStatusClasses {
		c.status[k] = v
	}
	return c
}

// Set adds or replaces a rule. A rule whose name is a 3-digit number
// applies to that HTTP status, any other to that error code.
func (c *Classifier) Set(name string, class Class) {
	if n, err := strconv.Atoi(name); err == nil && len(name) == 3 {
		c.status[n] = class
		return
	}
	c.codes[name] = class
}

// Classify returns the class of a failed task. It does not allocate.
func (c *Classifier) Classify(httpStatus int, code []byte) Class {
	if len(code) > 0 {
		if cl, ok := c.codes[string(code)]; ok {
			return cl
		}
	}
	if cl, ok := c.status[httpStatus]; ok {
		return cl
	}
	if cutShort(httpStatus, code) {
		return Retryable
	}
	return Unknown
}

// cutShort tells whether a failed task's status and code say that its
// response broke off after a 2xx status line: no code, or the status's
// reason phrase as code (the local engine once recorded a copy whose body
// was cut by a connection reset as "failed,200,OK,...").
func cutShort(httpStatus int, code []byte) bool {
	if httpStatus < 200 || httpStatus > 299 {
		return false
	}
	return len(code) == 0 || string(code) == http.StatusText(httpStatus)
}

// Rules returns the table as "name → class", sorted, for the summary.
func (c *Classifier) Rules() map[string]string {
	out := make(map[string]string, len(c.codes)+len(c.status))
	for k, v := range c.codes {
		out[k] = v.String()
	}
	for k, v := range c.status {
		out[strconv.Itoa(k)] = v.String()
	}
	return out
}

// LoadClasses reads a classes file and adds its rules to c. The file is
// either a JSON object {"CodeOrStatus": "class", ...} or CSV lines
// "CodeOrStatus,class" (blank lines and lines starting with '#' skipped,
// an optional "code,class" header). Names that are 3-digit numbers are
// HTTP statuses. Errors wrap ErrClasses.
func (c *Classifier) LoadClasses(ctx context.Context, oc *objio.Client, loc string) error {
	raw, err := oc.ReadAll(ctx, loc)
	if err != nil {
		return fmt.Errorf("reading classes %s: %w", loc, err)
	}
	rules, err := parseClasses(raw, loc)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(rules))
	for n := range rules {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c.Set(n, rules[n])
	}
	return nil
}

// blanksBeforeQuotes drops the spaces and tabs between the start of a
// field and its opening quote (`SlowDown, "permanent"`), which a person
// writing a classes file by hand expects to be allowed (encoding/csv's
// TrimLeadingSpace allowed it before the file was split with csvscan).
// A line without such blanks is returned as it is.
func blanksBeforeQuotes(line []byte) []byte {
	var out []byte
	quoted, start := false, true
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quoted:
			quoted = c != '"'
		case c == '"':
			quoted, start = true, false
		case start && (c == ' ' || c == '\t'):
			j := i
			for j < len(line) && (line[j] == ' ' || line[j] == '\t') {
				j++
			}
			if j < len(line) && line[j] == '"' {
				if out == nil {
					out = append(make([]byte, 0, len(line)), line[:i]...)
				}
				i = j - 1
				continue
			}
			start = false
		case c == ',':
			start = true
		default:
			start = false
		}
		if out != nil {
			out = append(out, c)
		}
	}
	if out == nil {
		return line
	}
	return out
}

func parseClasses(raw []byte, name string) (map[string]Class, error) {
	out := map[string]Class{}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var m map[string]string
		if err := json.Unmarshal(trimmed, &m); err != nil {
			return nil, &DataError{File: name, Value: shorten([]byte(err.Error())), Expected: `a JSON object {"ErrorCode": "retryable", ...}`, Err: ErrClasses}
		}
		for k, v := range m {
			cl, err := ParseClass(v)
			if err != nil || k == "" {
				return nil, &DataError{File: name, Field: k, Value: v, Expected: "retryable, permanent, unknown or success", Err: ErrClasses}
			}
			out[k] = cl
		}
		return out, nil
	}
	var sp csvscan.Splitter
	var n int64
	for line := range bytes.Lines(raw) {
		n++
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if len(bytes.TrimSpace(line)) == 0 || line[0] == '#' {
			continue
		}
		line = blanksBeforeQuotes(bytes.TrimRight(line, " \t"))
		rec, err := sp.SplitLine(line)
		if err != nil {
			exp := "code,class"
			var se *csvscan.SyntaxError
			if errors.As(err, &se) {
				exp = fmt.Sprintf("code,class in CSV (%v at byte %d: %s)", se.Err, se.Offset, se.Expected)
			}
			return nil, &DataError{File: name, Line: n, Value: shorten(line), Expected: exp, Err: ErrClasses}
		}
		var f [2]string
		for i, fl := range rec.Fields[:min(rec.N, 2)] {
			f[i] = strings.TrimSpace(string(fl.AppendValue(nil, line)))
		}
		if rec.N != 2 {
			var all []string
			for _, fl := range rec.Fields {
				all = append(all, string(fl.AppendValue(nil, line)))
			}
			return nil, &DataError{File: name, Line: n, Value: strings.Join(all, ","), Expected: "two fields: code,class", Err: ErrClasses}
		}
		k, v := f[0], f[1]
		if strings.EqualFold(k, "code") && strings.EqualFold(v, "class") {
			continue
		}
		cl, err := ParseClass(v)
		if err != nil || k == "" {
			return nil, &DataError{File: name, Line: n, Field: k, Value: v, Expected: "retryable, permanent, unknown or success", Err: ErrClasses}
		}
		out[k] = cl
	}
	return out, nil
}
