// Package s3fault is a fault-injecting reverse proxy for tests: it sits
// in front of an S3 endpoint (the versitygw of the integration tests) and,
// for a configurable share of the requests, answers as a struggling S3
// does — 503 SlowDown, 500 InternalError, a connection reset, a slow
// answer, or a body cut short — and forwards every other request
// unchanged.
//
// Requests are forwarded byte for byte: method, path and query as the
// client sent them (S3 keys are signed in their encoded form), every
// end-to-end header, the Host header the client signed (the client
// addresses the proxy, so SigV4 was computed for the proxy's host, and
// the server checks the signature against the Host it receives), and the
// body streamed as it comes — Content-Length, chunked and aws-chunked
// (streaming SigV4) bodies alike. Responses come back unchanged (no
// transparent decompression).
//
// The proxy listens on 127.0.0.1 only. It is safe for concurrent use.
package s3fault

import (
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Kind is a kind of fault.
type Kind uint8

const (
	// SlowDown answers 503 with S3's SlowDown error (throttling); the
	// request is not forwarded.
	SlowDown Kind = iota
	// InternalError answers 500 with S3's InternalError error; the
	// request is not forwarded.
	InternalError
	// Reset resets the connection (TCP RST) before any answer; the
	// request is not forwarded.
	Reset
	// Slow waits Options.Delay before forwarding: the answer is right,
	// only late.
	Slow
	// Truncate forwards the request and cuts the answer short: its
	// headers (with the full Content-Length) and the first half of the
	// body are sent, then the connection is closed. An answer without a
	// body (HEAD, an empty PUT answer) is lost instead: the server has
	// acted, and the connection is reset before the status line.
	Truncate

	numKinds
)

var kindNames = [numKinds]string{"SlowDown", "InternalError", "Reset", "Slow", "Truncate"}

func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// All is every kind of fault.
var All = []Kind{SlowDown, InternalError, Reset, Slow, Truncate}

// Failing are the kinds that make a request fail (all but Slow): at a
// rate of 1 with these, no request succeeds.
var Failing = []Kind{SlowDown, InternalError, Reset, Truncate}

// Options configure a Proxy.
type Options struct {
	// Rate is the share of requests that get a fault: 0 (none) to 1
	// (every one). SetFaults changes it later.
	Rate float64
	// Kinds are the faults drawn from, with equal chances. Empty: All.
	Kinds []Kind
	// Seed seeds the draws: the same seed gives the same sequence of
	// decisions. (Which request gets which decision follows their order
	// of arrival, which concurrent clients do not fix.)
	Seed uint64
	// Delay is how long a Slow answer is held before it is forwarded.
	// Zero: 20 ms.
	Delay time.Duration
	// Match, when set, picks the requests that may get a fault (it is
	// called once per request, from the proxy's goroutines); the others
	// are forwarded and take no draw. Nil: every request.
	Match func(*http.Request) bool
	// TLS serves HTTPS (with a certificate that Client trusts) instead
	// of HTTP; the server behind is still called as upstream says. The
	// SDK sends unseekable bodies (aws-chunked with a trailing checksum)
	// over TLS only.
	TLS bool
	// NoListBucket answers as S3 answers a role that has s3:GetObject but
	// not s3:ListBucket: every bucket-level GET or HEAD (ListObjectsV2,
	// HeadBucket …) gets 403 AccessDenied, and a GET or HEAD of a key
	// that does not exist gets 403 AccessDenied instead of the server's
	// 404 (docs/objio.md#least-privilege-reading-with-s3getobject-only). It applies before faults are drawn (a refused
	// request takes no draw). Clients address the proxy path-style.
	NoListBucket bool
}

// Counts are the requests a Proxy received and the faults it injected.
type Counts struct {
	Requests int64 // requests received
	Denied   int64 // refused with 403 by Options.NoListBucket
	// Faults injected, by kind (indexed by Kind).
	Faults [numKinds]int64
}

// Failing returns the number of faults that failed a request (all but
// Slow).
func (c Counts) Failing() int64 {
	return c.Faults[SlowDown] + c.Faults[InternalError] + c.Faults[Reset] + c.Faults[Truncate]
}

// Sub returns the counts since an earlier snapshot d.
func (c Counts) Sub(d Counts) Counts {
	c.Requests -= d.Requests
	c.Denied -= d.Denied
	for k := range c.Faults {
		c.Faults[k] -= d.Faults[k]
	}
	return c
}

func (c Counts) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d requests, %d faults:", c.Requests, c.Failing()+c.Faults[Slow])
	for k, n := range c.Faults {
		fmt.Fprintf(&b, " %s %d", Kind(k), n)
	}
	return b.String()
}

// Proxy is a running fault-injecting proxy. Close stops it.
type Proxy struct {
	// URL is the proxy's endpoint, http://127.0.0.1:PORT (https with
	// Options.TLS): give it to the S3 client instead of the server's.
	URL string

	srv    *httptest.Server
	rp     *httputil.ReverseProxy
	tr     *http.Transport
	delay  time.Duration
	match  func(*http.Request) bool
	noList bool

	mu    sync.Mutex // guards rng, rate, kinds
	rng   *rand.Rand
	rate  float64
	kinds []Kind

	requests atomic.Int64
	denied   atomic.Int64
	faults   [numKinds]atomic.Int64
}

// New starts a proxy on 127.0.0.1 (a free port) in front of the S3
// endpoint upstream (http://host:port, no path).
func New(upstream string, o Options) (*Proxy, error) {
	up, err := url.Parse(upstream)
	if err != nil || (up.Scheme != "http" && up.Scheme != "https") || up.Host == "" || strings.Trim(up.Path, "/") != "" {
		return nil, fmt.Errorf("s3fault: upstream %q: expected http(s)://host:port", upstream)
	}
	if o.Rate < 0 || o.Rate > 1 {
		return nil, fmt.Errorf("s3fault: rate %v is not within 0 to 1", o.Rate)
	}
	kinds := o.Kinds
	if len(kinds) == 0 {
		kinds = All
	}
	for _, k := range kinds {
		if k >= numKinds {
			return nil, fmt.Errorf("s3fault: unknown fault %v", k)
		}
	}
	if o.Delay <= 0 {
		o.Delay = 20 * time.Millisecond
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 256, 256
	// The client's Accept-Encoding (or its absence) goes to the server
	// as it is, and the answer comes back as the server encoded it.
	tr.DisableCompression = true
	p := &Proxy{
		tr:     tr,
		delay:  o.Delay,
		match:  o.Match,
		noList: o.NoListBucket,
		rng:    rand.New(rand.NewPCG(o.Seed, o.Seed^0x5eed)),
		rate:   o.Rate,
		kinds:  append([]Kind(nil), kinds...),
	}
	quiet := log.New(io.Discard, "", 0)
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			// Only where the request goes changes: the path, its
			// encoding, the query and the signed Host stay as sent.
			pr.Out.URL.Scheme, pr.Out.URL.Host = up.Scheme, up.Host
			pr.Out.Host = pr.In.Host
		},
		Transport: tr,
		ErrorLog:  quiet,
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("s3fault: %w", err)
	}
	p.srv = httptest.NewUnstartedServer(p)
	p.srv.Listener.Close()
	p.srv.Listener = ln
	p.srv.Config.ReadHeaderTimeout = 10 * time.Second
	p.srv.Config.ErrorLog = quiet
	if o.TLS {
		p.srv.StartTLS()
	} else {
		p.srv.Start()
	}
	p.URL = p.srv.URL
	return p, nil
}

// Client returns an HTTP client for the proxy: with Options.TLS, one
// that trusts its certificate. Give it to the S3 client (its
// HTTPClient option).
func (p *Proxy) Client() *http.Client { return p.srv.Client() }

// SetFaults changes the share of requests that get a fault (0 to 1)
// and, unless none are given, the kinds drawn from.
func (p *Proxy) SetFaults(rate float64, kinds ...Kind) {
	for _, k := range kinds {
		if k >= numKinds {
			panic(fmt.Sprintf("s3fault: unknown fault %v", k))
		}
	}
	p.mu.Lock()
	p.rate = min(max(rate, 0), 1)
	if len(kinds) > 0 {
		p.kinds = append([]Kind(nil), kinds...)
	}
	p.mu.Unlock()
}

// Counts returns the requests received and the faults injected so far.
func (p *Proxy) Counts() Counts {
	c := Counts{Requests: p.requests.Load(), Denied: p.denied.Load()}
	for k := range c.Faults {
		c.Faults[k] = p.faults[k].Load()
	}
	return c
}

// Close stops the proxy and closes its connections.
func (p *Proxy) Close() {
	p.srv.Close()
	p.tr.CloseIdleConnections()
}

// draw decides the fate of one request.
func (p *Proxy) draw() (Kind, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rng.Float64() >= p.rate {
		return 0, false
	}
	return p.kinds[p.rng.IntN(len(p.kinds))], true
}

// ServeHTTP implements http.Handler.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.requests.Add(1)
	if p.noList && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		if _, key, _ := strings.Cut(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/"); key == "" {
			p.denied.Add(1)
			writeError(w, r, http.StatusForbidden, "AccessDenied", "Access Denied")
			return
		}
		w = &denyMissing{ResponseWriter: w, r: r, p: p}
	}
	var k Kind
	fault := false
	if p.match == nil || p.match(r) {
		k, fault = p.draw()
	}
	if !fault {
		p.rp.ServeHTTP(w, r)
		return
	}
	p.faults[k].Add(1)
	switch k {
	case SlowDown:
		writeError(w, r, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
	case InternalError:
		writeError(w, r, http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
	case Reset:
		resetConn(w)
	case Slow:
		t := time.NewTimer(p.delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
		p.rp.ServeHTTP(w, r)
	case Truncate:
		p.rp.ServeHTTP(&cutWriter{ResponseWriter: w, head: r.Method == http.MethodHead}, r)
	}
}

// writeError answers with an S3 REST error (no body for HEAD, as S3).
func writeError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	id := strconv.FormatUint(rand.Uint64(), 36)
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("X-Amz-Request-Id", id)
	body := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		"<Error><Code>" + code + "</Code><Message>" + msg + "</Message><RequestId>" + id + "</RequestId><HostId>s3fault</HostId></Error>"
	if r.Method != http.MethodHead {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		io.WriteString(w, body)
	}
}

// resetConn closes the client's connection with a TCP RST, without an
// answer.
func resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // closes the connection
	}
	if tc, ok := conn.(interface{ NetConn() net.Conn }); ok {
		conn = tc.NetConn() // under TLS: the TCP connection, closed without a close_notify
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

// errCut is what a cutWriter answers once the connection is cut.
var errCut = errors.New("s3fault: answer cut short")

// cutWriter passes the answer's headers and the first half of its body
// to the client, then closes the connection; an answer without a body
// is lost (the connection is reset instead of sending the status line).
type cutWriter struct {
	http.ResponseWriter
	head bool
	left int64 // body bytes still to pass; -1: unknown length
	dead bool  // the connection is closed
}

func (c *cutWriter) WriteHeader(code int) {
	if c.dead {
		return
	}
	if code < 200 { // 100 Continue and other interim answers pass
		c.ResponseWriter.WriteHeader(code)
		return
	}
	n, err := strconv.ParseInt(c.Header().Get("Content-Length"), 10, 64)
	switch {
	case c.head || (err == nil && n == 0):
		c.dead = true
		resetConn(c.ResponseWriter)
		return
	case err != nil:
		c.left = -1
	default:
		c.left = n / 2
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *cutWriter) Write(b []byte) (int, error) {
	if c.dead {
		return 0, errCut
	}
	if c.left < 0 { // unknown length (chunked): pass half of the first write
		c.left = int64(len(b) / 2)
	}
	if int64(len(b)) < c.left {
		c.left -= int64(len(b))
		return c.ResponseWriter.Write(b)
	}
	c.ResponseWriter.Write(b[:c.left])
	http.NewResponseController(c.ResponseWriter).Flush()
	c.dead = true
	// Ends the handler; the server closes the connection, after the flush
	// above delivered the headers and the part of the body.
	panic(http.ErrAbortHandler)
}

// Flush implements http.Flusher.
func (c *cutWriter) Flush() {
	if !c.dead {
		http.NewResponseController(c.ResponseWriter).Flush()
	}
}

// Unwrap lets http.ResponseController reach the server's writer.
func (c *cutWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// denyMissing turns the server's 404 answer to a GET or HEAD of a key
// into S3's 403 AccessDenied for a caller without s3:ListBucket; other
// answers pass unchanged.
type denyMissing struct {
	http.ResponseWriter
	r      *http.Request
	p      *Proxy
	denied bool
}

func (d *denyMissing) WriteHeader(code int) {
	if code != http.StatusNotFound || d.denied {
		d.ResponseWriter.WriteHeader(code)
		return
	}
	d.denied = true
	d.p.denied.Add(1)
	h := d.Header()
	for k := range h {
		delete(h, k)
	}
	writeError(d.ResponseWriter, d.r, http.StatusForbidden, "AccessDenied", "Access Denied")
}

func (d *denyMissing) Write(b []byte) (int, error) {
	if d.denied {
		return len(b), nil // the server's NoSuchKey body is dropped
	}
	return d.ResponseWriter.Write(b)
}

// Flush implements http.Flusher.
func (d *denyMissing) Flush() {
	if !d.denied {
		http.NewResponseController(d.ResponseWriter).Flush()
	}
}

// Unwrap lets http.ResponseController reach the server's writer.
func (d *denyMissing) Unwrap() http.ResponseWriter { return d.ResponseWriter }
