// Package jobstest is an in-process S3 Control (Batch Operations job
// API) server for tests: REST-XML over httptest, as the Go SDK's
// s3control client speaks it (formats.md §6.1, testing.md). It keeps jobs
// in memory, makes CreateJob idempotent by ClientRequestToken, records
// every request, and can inject errors (throttling, 5xx). It does not run
// jobs: tests move them along with SetProgress. The local engine (issue 7)
// can grow from it.
package jobstest

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Namespace of every S3 Control XML body.
const Namespace = "http://awss3control.amazonaws.com/doc/2018-08-20/"

// CreateJobRequest is the part of a CreateJob body the fake understands.
type CreateJobRequest struct {
	XMLName              xml.Name `xml:"CreateJobRequest"`
	ClientRequestToken   string
	ConfirmationRequired *bool
	Description          string
	Priority             int32
	RoleArn              string
	Manifest             struct {
		Spec struct {
			Format string
			Fields []string `xml:"Fields>member"`
		}
		Location struct {
			ObjectArn       string
			ObjectVersionId string
			ETag            string
		}
	}
	Operation struct {
		Inner []byte `xml:",innerxml"`
	}
	Report struct {
		Bucket      string
		Enabled     bool
		Format      string
		Prefix      string
		ReportScope string
	}
	Tags []struct {
		Key   string
		Value string
	} `xml:"Tags>member"`
}

// OperationName returns the name of the operation's only child element
// (S3PutObjectCopy, LambdaInvoke …), or "" when there is none.
func (r *CreateJobRequest) OperationName() string {
	d := xml.NewDecoder(strings.NewReader(string(r.Operation.Inner)))
	for {
		t, err := d.Token()
		if err != nil {
			return ""
		}
		if se, ok := t.(xml.StartElement); ok {
			return se.Name.Local
		}
	}
}

// Tag returns the value of tag key, or "".
func (r *CreateJobRequest) Tag(key string) string {
	for _, t := range r.Tags {
		if t.Key == key {
			return t.Value
		}
	}
	return ""
}

// Job is a job held by the server.
type Job struct {
	ID        string
	AccountID string
	Request   CreateJobRequest
	Status    string
	Priority  int32
	Total     int64
	Succeeded int64
	Failed    int64
	Elapsed   int64 // seconds active
	Reasons   []string
	Created   time.Time
}

// Fault is an error answer.
type Fault struct {
	Status int    // HTTP status
	Code   string // error code, e.g. TooManyRequestsException
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	jobs     map[string]*Job
	order    []string
	byToken  map[string]string
	calls    map[string]int // by operation
	creates  map[string]int // CreateJob calls by token (all, also failed ones)
	faults   map[string][]Fault
	onCreate func(j *Job, n int)
	next     int
}

// New starts a server; Close it when done.
func New() *Server {
	s := &Server{jobs: map[string]*Job{}, byToken: map[string]string{}, calls: map[string]int{}, creates: map[string]int{}, faults: map[string][]Fault{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Fail makes the next len(faults) calls of op (CreateJob, DescribeJob,
// UpdateJobStatus, UpdateJobPriority, ListJobs) fail, in order.
func (s *Server) Fail(op string, faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[op] = append(s.faults[op], faults...)
}

// OnCreate sets a hook called (without the lock) after each new job is
// created, with the number of jobs so far; tests use it to cut a submit
// short.
func (s *Server) OnCreate(f func(j *Job, n int)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onCreate = f
}

// Calls returns the number of requests of op received.
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// CreateCalls returns the CreateJob requests received per token.
func (s *Server) CreateCalls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.creates))
	for k, v := range s.creates {
		out[k] = v
	}
	return out
}

// Jobs returns copies of the jobs in creation order.
func (s *Server) Jobs() []Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Job, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, *s.jobs[id])
	}
	return out
}

// SetProgress sets a job's status and counters.
func (s *Server) SetProgress(id, status string, total, succeeded, failed, elapsed int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if j := s.jobs[id]; j != nil {
		j.Status, j.Total, j.Succeeded, j.Failed, j.Elapsed = status, total, succeeded, failed, elapsed
	}
}

var (
	accountRE = regexp.MustCompile(`^\d{12}$`)
	jobPath   = regexp.MustCompile(`^/v20180820/jobs/([a-zA-Z0-9\-_]+)(/status|/priority)?$`)
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	op := ""
	var id, sub string
	switch {
	case r.URL.Path == "/v20180820/jobs" && r.Method == http.MethodPost:
		op = "CreateJob"
	case r.URL.Path == "/v20180820/jobs" && r.Method == http.MethodGet:
		op = "ListJobs"
	default:
		m := jobPath.FindStringSubmatch(r.URL.Path)
		if m == nil {
			writeError(w, Fault{http.StatusNotFound, "NotFoundException"}, "no such route "+r.Method+" "+r.URL.Path)
			return
		}
		id, sub = m[1], m[2]
		switch {
		case sub == "" && r.Method == http.MethodGet:
			op = "DescribeJob"
		case sub == "/status" && r.Method == http.MethodPost:
			op = "UpdateJobStatus"
		case sub == "/priority" && r.Method == http.MethodPost:
			op = "UpdateJobPriority"
		default:
			writeError(w, Fault{http.StatusMethodNotAllowed, "BadRequestException"}, "method not allowed")
			return
		}
	}
	acct := r.Header.Get("X-Amz-Account-Id")
	auth := r.Header.Get("Authorization")
	if !accountRE.MatchString(acct) {
		writeError(w, Fault{http.StatusBadRequest, "BadRequestException"}, "x-amz-account-id must be 12 digits")
		return
	}
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") || !strings.Contains(auth, "/s3/aws4_request") {
		writeError(w, Fault{http.StatusForbidden, "AccessDenied"}, "request not signed with SigV4 for service s3")
		return
	}
	body, _ := io.ReadAll(r.Body)

	s.mu.Lock()
	s.calls[op]++
	var req CreateJobRequest
	if op == "CreateJob" {
		if err := xml.Unmarshal(body, &req); err != nil {
			s.mu.Unlock()
			writeError(w, Fault{http.StatusBadRequest, "BadRequestException"}, "malformed CreateJobRequest: "+err.Error())
			return
		}
		s.creates[req.ClientRequestToken]++
	}
	if f := s.faults[op]; len(f) > 0 {
		s.faults[op] = f[1:]
		s.mu.Unlock()
		writeError(w, f[0], "injected fault")
		return
	}
	switch op {
	case "CreateJob":
		if msg := validateCreate(&req); msg != "" {
			s.mu.Unlock()
			writeError(w, Fault{http.StatusBadRequest, "BadRequestException"}, msg)
			return
		}
		if jid, ok := s.byToken[req.ClientRequestToken]; ok {
			s.mu.Unlock()
			writeXML(w, "CreateJobResult", struct{ JobId string }{jid})
			return
		}
		s.next++
		j := &Job{ID: fmt.Sprintf("fake-job-%06d", s.next), AccountID: acct, Request: req, Status: "New", Priority: req.Priority, Created: time.Now().UTC()}
		if req.ConfirmationRequired != nil && *req.ConfirmationRequired {
			j.Status = "Suspended"
		}
		s.jobs[j.ID] = j
		s.order = append(s.order, j.ID)
		s.byToken[req.ClientRequestToken] = j.ID
		hook, n := s.onCreate, len(s.order)
		jc := *j
		s.mu.Unlock()
		writeXML(w, "CreateJobResult", struct{ JobId string }{j.ID})
		if hook != nil {
			hook(&jc, n)
		}
		return
	case "ListJobs":
		var list []listMember
		for _, jid := range s.order {
			j := s.jobs[jid]
			if j.AccountID != acct {
				continue
			}
			list = append(list, listMember{JobId: j.ID, Description: j.Request.Description, Status: j.Status, Priority: j.Priority, CreationTime: j.Created.Format(time.RFC3339)})
		}
		s.mu.Unlock()
		writeXML(w, "ListJobsResult", struct {
			Jobs []listMember `xml:"Jobs>member"`
		}{list})
		return
	}
	j := s.jobs[id]
	if j == nil || j.AccountID != acct {
		s.mu.Unlock()
		writeError(w, Fault{http.StatusNotFound, "NotFoundException"}, "no job "+id)
		return
	}
	switch op {
	case "DescribeJob":
		d := describe(j)
		s.mu.Unlock()
		writeXML(w, "DescribeJobResult", struct{ Job jobDescriptor }{d})
	case "UpdateJobStatus":
		want := r.URL.Query().Get("requestedJobStatus")
		ok := (want == "Ready" && j.Status == "Suspended") || (want == "Cancelled" && !terminal(j.Status))
		if !ok {
			s.mu.Unlock()
			writeError(w, Fault{http.StatusBadRequest, "JobStatusException"}, "cannot go from "+j.Status+" to "+want)
			return
		}
		j.Status = want
		st := j.Status
		s.mu.Unlock()
		writeXML(w, "UpdateJobStatusResult", struct{ JobId, Status string }{id, st})
	case "UpdateJobPriority":
		p, err := strconv.ParseInt(r.URL.Query().Get("priority"), 10, 32)
		if err != nil || p < 0 {
			s.mu.Unlock()
			writeError(w, Fault{http.StatusBadRequest, "BadRequestException"}, "bad priority")
			return
		}
		j.Priority = int32(p)
		s.mu.Unlock()
		writeXML(w, "UpdateJobPriorityResult", struct {
			JobId    string
			Priority int32
		}{id, int32(p)})
	}
}

func terminal(s string) bool { return s == "Complete" || s == "Cancelled" || s == "Failed" }

func validateCreate(r *CreateJobRequest) string {
	switch {
	case r.ClientRequestToken == "" || len(r.ClientRequestToken) > 64:
		return "ClientRequestToken must be 1-64 characters"
	case !strings.HasPrefix(r.RoleArn, "arn:"):
		return "RoleArn is required"
	case r.Manifest.Location.ObjectArn == "" || r.Manifest.Location.ETag == "":
		return "Manifest.Location.ObjectArn and ETag are required"
	case r.OperationName() == "":
		return "Operation is required"
	}
	return ""
}

type listMember struct {
	JobId, Description, Status string
	Priority                   int32
	CreationTime               string
}

type jobDescriptor struct {
	JobId                string
	JobArn               string
	Status               string
	Description          string
	ConfirmationRequired bool
	Priority             int32
	RoleArn              string
	CreationTime         string
	ProgressSummary      struct {
		TotalNumberOfTasks     int64
		NumberOfTasksSucceeded int64
		NumberOfTasksFailed    int64
		Timers                 struct{ ElapsedTimeInActiveSeconds int64 }
	}
	FailureReasons []failureReason `xml:"FailureReasons>member"`
}

type failureReason struct{ FailureCode, FailureReason string }

func describe(j *Job) jobDescriptor {
	d := jobDescriptor{JobId: j.ID, JobArn: "arn:aws:s3:us-east-1:" + j.AccountID + ":job/" + j.ID, Status: j.Status,
		Description: j.Request.Description, Priority: j.Priority, RoleArn: j.Request.RoleArn, CreationTime: j.Created.Format(time.RFC3339)}
	if j.Request.ConfirmationRequired != nil {
		d.ConfirmationRequired = *j.Request.ConfirmationRequired
	}
	d.ProgressSummary.TotalNumberOfTasks = j.Total
	d.ProgressSummary.NumberOfTasksSucceeded = j.Succeeded
	d.ProgressSummary.NumberOfTasksFailed = j.Failed
	d.ProgressSummary.Timers.ElapsedTimeInActiveSeconds = j.Elapsed
	reasons := append([]string(nil), j.Reasons...)
	sort.Strings(reasons)
	for _, r := range reasons {
		d.FailureReasons = append(d.FailureReasons, failureReason{"Failed", r})
	}
	return d
}

// SetFailureReasons sets the FailureReasons DescribeJob returns for a job.
func (s *Server) SetFailureReasons(id string, reasons ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if j := s.jobs[id]; j != nil {
		j.Reasons = reasons
	}
}

func writeXML(w http.ResponseWriter, root string, v any) {
	var b strings.Builder
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	if err := enc.EncodeElement(v, xml.StartElement{Name: xml.Name{Local: root}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: Namespace}}}); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("X-Amz-Request-Id", "fake-request")
	io.WriteString(w, b.String())
}

func writeError(w http.ResponseWriter, f Fault, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(f.Status)
	var esc strings.Builder
	xml.EscapeText(&esc, []byte(msg))
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><ErrorResponse><Error><Code>%s</Code><Message>%s</Message></Error><RequestId>fake-request</RequestId></ErrorResponse>`, f.Code, esc.String())
}
