package local

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"
)

// Namespace of every S3 Control XML body.
const Namespace = "http://awss3control.amazonaws.com/doc/2018-08-20/"

var jobPath = regexp.MustCompile(`^/v20180820/jobs/([a-zA-Z0-9\-_]{5,36})(/status|/priority|/tagging)?$`)

// DefaultMaxBodyBytes is the largest request body the HTTP front takes
// (a CreateJob request is a few KiB).
const DefaultMaxBodyBytes = 1 << 20

// APIOptions configures the HTTP front of the engine (Engine.Handler).
type APIOptions struct {
	// Credentials are the access keys whose signatures are accepted
	// (required): ProviderCredentials of the process's own credentials,
	// or StaticCredentials, e.g. from ReadCredentialsFile.
	Credentials Credentials
	// Listen is the address the server listens on (HOST:PORT). Its host
	// is a name the Host header may carry, besides localhost and the
	// loopback addresses; an unspecified address (0.0.0.0, [::]) lets
	// any IP address through.
	Listen string
	// Hosts are more names (DNS names or IP addresses, without port) the
	// Host header may carry, such as the name of a proxy in front.
	Hosts []string
	// MaxBodyBytes bounds a request body; a larger one is refused with
	// MaxMessageLengthExceeded. Zero: DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Now is the clock request dates are checked against. Nil: time.Now.
	Now func() time.Time
	// Logf receives one line per refused request (the access key id at
	// most, never a secret). Nil: the engine's Logf.
	Logf func(format string, a ...any)
}

// Handler returns the HTTP handler of the job API (docs/formats.md#requests-on-the-wire):
//
//	POST   /v20180820/jobs                        CreateJob
//	GET    /v20180820/jobs?jobStatuses=&…         ListJobs
//	GET    /v20180820/jobs/{id}                   DescribeJob
//	POST   /v20180820/jobs/{id}/status?…          UpdateJobStatus
//	POST   /v20180820/jobs/{id}/priority?…        UpdateJobPriority
//	GET    /v20180820/jobs/{id}/tagging           GetJobTagging
//	PUT    /v20180820/jobs/{id}/tagging           PutJobTagging
//	DELETE /v20180820/jobs/{id}/tagging           DeleteJobTagging
//
// Before anything is done, every request must name this endpoint in its
// Host header (with or without the SDKs' account label), carry a body of
// at most o.MaxBodyBytes, and be signed with AWS Signature Version 4 by a
// key of o.Credentials (sigv4.go); otherwise it is answered 403 or 400
// with S3's error code and nothing changes. The account is the signed
// X-Amz-Account-Id header. Errors use the S3 Control envelope
// <ErrorResponse><Error><Code/><Message/></Error><RequestId/></ErrorResponse>,
// which the SDKs turn into their typed exceptions.
func (e *Engine) Handler(o APIOptions) (http.Handler, error) {
	if o.Credentials == nil {
		return nil, errors.New("local: the HTTP front needs the credentials whose signatures it accepts")
	}
	hp, err := newHostPolicy(o.Listen, o.Hosts)
	if err != nil {
		return nil, err
	}
	hp.optName = e.o.OptionName
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logf == nil {
		o.Logf = e.o.Logf
	}
	return &front{e: e, o: o, hosts: hp}, nil
}

// front is the HTTP front: Host, size and signature checks, then the API.
type front struct {
	e     *Engine
	o     APIOptions
	hosts hostPolicy
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := f.admit(r)
	if err != nil {
		f.o.Logf("refused %s %s from %s (Host %q): %v", r.Method, r.URL.Path, r.RemoteAddr, r.Host, err)
		writeError(w, err)
		return
	}
	f.e.route(w, r, body)
}

// admit checks the Host, the size and the signature of r, and returns its
// body.
func (f *front) admit(r *http.Request) ([]byte, error) {
	if err := f.hosts.check(r.Host); err != nil {
		return nil, err
	}
	if r.ContentLength > f.o.MaxBodyBytes {
		return nil, tooLarge(f.o.MaxBodyBytes, r.ContentLength)
	}
	sig, err := parseSigV4(r, f.o.Now())
	if err != nil {
		return nil, err
	}
	var body []byte
	read := false
	hash := r.Header.Get("X-Amz-Content-Sha256")
	if hash == "" {
		// Not sent (the generic SigV4 form): the signature covers the
		// body's hash, computed here.
		if body, err = readBody(r, f.o.MaxBodyBytes); err != nil {
			return nil, err
		}
		read = true
		sum := sha256.Sum256(body)
		hash = hex.EncodeToString(sum[:])
	} else if err := checkPayloadHash(hash); err != nil {
		return nil, err
	}
	// Verified before the body is read: a request that is not signed by
	// a known key is not read further.
	if err := sig.verify(r.Context(), f.o.Credentials, hash); err != nil {
		return nil, err
	}
	if !read {
		if body, err = readBody(r, f.o.MaxBodyBytes); err != nil {
			return nil, err
		}
		if err := checkBody(hash, body); err != nil {
			return nil, err
		}
	}
	return body, nil
}

func tooLarge(max, got int64) error {
	if got < 0 {
		return apiErr(ErrMaxMessageLengthExceeded, "the request body is over %d bytes, the most this endpoint takes", max)
	}
	return apiErr(ErrMaxMessageLengthExceeded, "the request body is %d bytes, over %d, the most this endpoint takes", got, max)
}

// readBody reads the whole body of r, at most max bytes.
func readBody(r *http.Request, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		return nil, apiErr(ErrBadRequest, "reading the request body: %v", err)
	}
	if int64(len(b)) > max {
		return nil, tooLarge(max, -1)
	}
	return b, nil
}

// route runs the operation of an admitted request whose body is body.
func (e *Engine) route(w http.ResponseWriter, r *http.Request, body []byte) {
	acct := r.Header.Get("X-Amz-Account-Id")
	q := r.URL.Query()
	switch {
	case r.URL.Path == "/v20180820/jobs" && r.Method == http.MethodPost:
		var in s3control.CreateJobInput
		if err := decodeRequest(body, "CreateJobRequest", &in); err != nil {
			writeError(w, apiErr(ErrBadRequest, "malformed CreateJobRequest: %v", err))
			return
		}
		in.AccountId = aws.String(acct)
		id, err := e.CreateJob(r.Context(), acct, &in)
		if err != nil {
			writeError(w, err)
			return
		}
		writeXML(w, "CreateJobResult", func(enc *xml.Encoder) error {
			return encodeXML(enc, "JobId", reflect.ValueOf(id))
		})
	case r.URL.Path == "/v20180820/jobs" && r.Method == http.MethodGet:
		var statuses []types.JobStatus
		for _, s := range q["jobStatuses"] {
			statuses = append(statuses, types.JobStatus(s))
		}
		max := 0
		if v := q.Get("maxResults"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 1000 {
				writeError(w, apiErr(ErrBadRequest, "maxResults must be 0 to 1000"))
				return
			}
			max = n
		}
		list, next, err := e.ListJobs(acct, statuses, q.Get("nextToken"), max)
		if err != nil {
			writeError(w, err)
			return
		}
		writeXML(w, "ListJobsResult", func(enc *xml.Encoder) error {
			if next != "" {
				if err := encodeXML(enc, "NextToken", reflect.ValueOf(next)); err != nil {
					return err
				}
			}
			if list == nil {
				list = []types.JobListDescriptor{}
			}
			return encodeXML(enc, "Jobs", reflect.ValueOf(list))
		})
	default:
		m := jobPath.FindStringSubmatch(r.URL.Path)
		if m == nil {
			writeError(w, apiErr(ErrNotFound, "no such operation: %s %s", r.Method, r.URL.Path))
			return
		}
		id := m[1]
		switch {
		case m[2] == "" && r.Method == http.MethodGet:
			d, err := e.DescribeJob(acct, id)
			if err != nil {
				writeError(w, err)
				return
			}
			writeXML(w, "DescribeJobResult", func(enc *xml.Encoder) error {
				return encodeXML(enc, "Job", reflect.ValueOf(d))
			})
		case m[2] == "/status" && r.Method == http.MethodPost:
			st, err := e.UpdateJobStatus(acct, id, types.JobStatus(q.Get("requestedJobStatus")), q.Get("statusUpdateReason"))
			if err != nil {
				writeError(w, err)
				return
			}
			writeXML(w, "UpdateJobStatusResult", func(enc *xml.Encoder) error {
				out := s3control.UpdateJobStatusOutput{JobId: aws.String(id), Status: st}
				if rs := q.Get("statusUpdateReason"); rs != "" {
					out.StatusUpdateReason = aws.String(rs)
				}
				for _, f := range []struct {
					name string
					v    any
				}{{"JobId", out.JobId}, {"Status", out.Status}, {"StatusUpdateReason", out.StatusUpdateReason}} {
					if err := encodeXML(enc, f.name, reflect.ValueOf(f.v)); err != nil {
						return err
					}
				}
				return nil
			})
		case m[2] == "/priority" && r.Method == http.MethodPost:
			p, err := strconv.ParseInt(q.Get("priority"), 10, 32)
			if err != nil || p < 0 {
				writeError(w, apiErr(ErrBadRequest, "priority must be 0 to 2147483647, got %q", q.Get("priority")))
				return
			}
			if err := e.UpdateJobPriority(acct, id, int32(p)); err != nil {
				writeError(w, err)
				return
			}
			writeXML(w, "UpdateJobPriorityResult", func(enc *xml.Encoder) error {
				if err := encodeXML(enc, "JobId", reflect.ValueOf(id)); err != nil {
					return err
				}
				return encodeValue(enc, "Priority", reflect.ValueOf(int32(p)))
			})
		case m[2] == "/tagging" && r.Method == http.MethodGet:
			tags, err := e.GetJobTagging(acct, id)
			if err != nil {
				writeError(w, err)
				return
			}
			if tags == nil {
				tags = []types.S3Tag{}
			}
			writeXML(w, "GetJobTaggingResult", func(enc *xml.Encoder) error {
				return encodeXML(enc, "Tags", reflect.ValueOf(tags))
			})
		case m[2] == "/tagging" && r.Method == http.MethodPut:
			var in s3control.PutJobTaggingInput
			if err := decodeRequest(body, "PutJobTaggingRequest", &in); err != nil {
				writeError(w, apiErr(ErrBadRequest, "malformed PutJobTaggingRequest: %v", err))
				return
			}
			if in.Tags == nil {
				writeError(w, apiErr(ErrBadRequest, "PutJobTaggingRequest: Tags is required (an empty Tags removes every tag)"))
				return
			}
			if err := e.PutJobTagging(acct, id, in.Tags); err != nil {
				writeError(w, err)
				return
			}
			writeEmpty(w)
		case m[2] == "/tagging" && r.Method == http.MethodDelete:
			if err := e.DeleteJobTagging(acct, id); err != nil {
				writeError(w, err)
				return
			}
			writeEmpty(w)
		default:
			writeError(w, apiErr(ErrBadRequest, "method %s not allowed on %s", r.Method, r.URL.Path))
		}
	}
}

// decodeRequest decodes body, one XML document whose root element is
// root, into v (a pointer to the SDK's input type). Whitespace, comments
// and processing instructions may surround the root; anything else before
// or after it (text, a second element, a DOCTYPE) is an error naming its
// byte offset.
func decodeRequest(body []byte, root string, v any) error {
	d := xml.NewDecoder(bytes.NewReader(body))
	seen := false
	for {
		off := d.InputOffset()
		tok, err := d.Token()
		if err == io.EOF {
			if !seen {
				return fmt.Errorf("no %s element", root)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("at byte %d: %w", d.InputOffset(), err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if seen {
				return fmt.Errorf("element <%s> at byte %d after the end of %s: one document per request", t.Name.Local, off, root)
			}
			if t.Name.Local != root {
				return fmt.Errorf("root element %s, expected %s", t.Name.Local, root)
			}
			if err := decodeXML(d, t, reflect.ValueOf(v).Elem()); err != nil {
				return err
			}
			seen = true
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				where := "before"
				if seen {
					where = "after"
				}
				return fmt.Errorf("text at byte %d %s the %s element", off, where, root)
			}
		case xml.Directive:
			return fmt.Errorf("a <!%s …> declaration at byte %d: not accepted", firstWord(t), off)
		}
	}
}

func firstWord(b []byte) string {
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return ""
	}
	if len(f[0]) > 16 {
		return f[0][:16]
	}
	return f[0]
}

func writeEmpty(w http.ResponseWriter) {
	w.Header().Set("X-Amz-Request-Id", requestID())
	w.WriteHeader(http.StatusOK)
}

func writeXML(w http.ResponseWriter, root string, body func(*xml.Encoder) error) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	start := xml.StartElement{Name: xml.Name{Local: root}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: Namespace}}}
	err := enc.EncodeToken(start)
	if err == nil {
		err = body(enc)
	}
	if err == nil {
		err = enc.EncodeToken(start.End())
	}
	if err == nil {
		err = enc.Flush()
	}
	if err != nil {
		writeError(w, apiErr(ErrInternal, "encoding the response: %v", err))
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("X-Amz-Request-Id", requestID())
	w.Write(b.Bytes())
}

func writeError(w http.ResponseWriter, err error) {
	var ae *APIError
	if !errors.As(err, &ae) {
		ae = apiErr(ErrInternal, "%v", err)
	}
	rid := requestID()
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("X-Amz-Request-Id", rid)
	w.WriteHeader(ae.Status())
	var msg bytes.Buffer
	xml.EscapeText(&msg, []byte(ae.Message))
	fmt.Fprintf(w, `%s<ErrorResponse><Error><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`, xml.Header, ae.Code(), msg.String(), rid)
}
