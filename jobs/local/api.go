package local

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"
)

// Namespace of every S3 Control XML body.
const Namespace = "http://awss3control.amazonaws.com/doc/2018-08-20/"

var jobPath = regexp.MustCompile(`^/v20180820/jobs/([a-zA-Z0-9\-_]{5,36})(/status|/priority)?$`)

// Handler returns the HTTP handler of the job API (formats.md §6.1):
//
//	POST /v20180820/jobs                        CreateJob
//	GET  /v20180820/jobs?jobStatuses=&…         ListJobs
//	GET  /v20180820/jobs/{id}                   DescribeJob
//	POST /v20180820/jobs/{id}/status?…          UpdateJobStatus
//	POST /v20180820/jobs/{id}/priority?…        UpdateJobPriority
//
// The account is the X-Amz-Account-Id header. Signatures are not checked
// (see the package documentation). Errors use the S3 Control envelope
// <ErrorResponse><Error><Code/><Message/></Error><RequestId/></ErrorResponse>,
// which the SDK turns into its typed exceptions.
func (e *Engine) Handler() http.Handler {
	return http.HandlerFunc(e.serveHTTP)
}

func (e *Engine) serveHTTP(w http.ResponseWriter, r *http.Request) {
	acct := r.Header.Get("X-Amz-Account-Id")
	q := r.URL.Query()
	switch {
	case r.URL.Path == "/v20180820/jobs" && r.Method == http.MethodPost:
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			writeError(w, apiErr(ErrBadRequest, "reading the request: %v", err))
			return
		}
		in, err := decodeCreateJob(body)
		if err != nil {
			writeError(w, apiErr(ErrBadRequest, "malformed CreateJobRequest: %v", err))
			return
		}
		in.AccountId = aws.String(acct)
		id, err := e.CreateJob(r.Context(), acct, in)
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
		default:
			writeError(w, apiErr(ErrBadRequest, "method %s not allowed on %s", r.Method, r.URL.Path))
		}
	}
}

// decodeCreateJob decodes a CreateJobRequest body into the SDK's input.
func decodeCreateJob(body []byte) (*s3control.CreateJobInput, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Local != "CreateJobRequest" {
				return nil, fmt.Errorf("root element %s, expected CreateJobRequest", se.Name.Local)
			}
			var in s3control.CreateJobInput
			if err := decodeXML(d, se, reflect.ValueOf(&in).Elem()); err != nil {
				return nil, err
			}
			return &in, nil
		}
	}
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
