package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

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

// DefaultClasses is the built-in table, by error code (formats.md §7.4).
// An error code decides first; a failure whose code is not in the table
// is classed by its HTTP status (DefaultStatusClasses); otherwise it is
// Unknown.
var DefaultClasses = map[string]Class{
	// Transient: back off and run again.
	"SlowDown":                 Retryable, // 503
	"ServiceUnavailable":       Retryable, // 503
	"InternalError":            Retryable, // 500
	"InternalFailure":          Retryable,
	"RequestTimeout":           Retryable, // 400, retried by the SDKs
	"Throttling":               Retryable,
	"ThrottlingException":      Retryable,
	"ThrottledException":       Retryable,
	"TooManyRequests":          Retryable,
	"TooManyRequestsException": Retryable, // Lambda throttled
	"RequestLimitExceeded":     Retryable,
	"OperationAborted":         Retryable, // 409, a conflicting operation in progress
	"ServiceException":         Retryable, // Lambda service error
	"TemporaryFailure":         Retryable, // Lambda resultCode after the final redrive
	// Permanent: fix something first.
	"AccessDenied":               Permanent, // 403
	"AllAccessDisabled":          Permanent,
	"NoSuchKey":                  Permanent, // 404, gone since the inventory
	"NoSuchVersion":              Permanent, // 404
	"NoSuchBucket":               Permanent,
	"InvalidRequest":             Permanent, // 400: missing VersionId, copy source over 5 GB
	"InvalidArgument":            Permanent,
	"EntityTooLarge":             Permanent,
	"InvalidObjectState":         Permanent, // 403: archived, not restorable
	"ObjectNotInActiveTierError": Permanent,
	"InvalidStorageClass":        Permanent,
	"MethodNotAllowed":           Permanent,
	"PermanentFailure":           Permanent, // Lambda resultCode
	// Done after all.
	"RestoreAlreadyInProgress": Success, // 409 on a restore: the restore is running
}

// DefaultStatusClasses classes failures by HTTP status when their error
// code is empty or not in the code table.
var DefaultStatusClasses = map[int]Class{
	429: Retryable, 500: Retryable, 502: Retryable, 503: Retryable, 504: Retryable,
	403: Permanent, 404: Permanent, 405: Permanent,
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
	return Unknown
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
func (c *Classifier) LoadClasses(ctx context.Context, loc string) error {
	raw, err := objio.ReadAll(ctx, loc)
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
	r := csv.NewReader(bytes.NewReader(raw))
	r.Comment = '#'
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			return nil, &DataError{File: name, Line: int64(line), Value: shorten([]byte(err.Error())), Expected: "code,class", Err: ErrClasses}
		}
		if len(rec) != 2 {
			return nil, &DataError{File: name, Line: int64(line), Value: strings.Join(rec, ","), Expected: "two fields: code,class", Err: ErrClasses}
		}
		k, v := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		if strings.EqualFold(k, "code") && strings.EqualFold(v, "class") {
			continue
		}
		cl, err := ParseClass(v)
		if err != nil || k == "" {
			return nil, &DataError{File: name, Line: int64(line), Field: k, Value: v, Expected: "retryable, permanent, unknown or success", Err: ErrClasses}
		}
		out[k] = cl
	}
	return out, nil
}
