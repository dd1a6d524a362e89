package local

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strings"

	"github.com/s3batchkit/s3batchkit/internal/optname"
)

// A page in a browser can reach a loopback listener through DNS
// rebinding: its own name, re-resolved to 127.0.0.1, with its own name in
// the Host header. The HTTP front answers only for the names it is known
// by; an IP address in Host cannot come from rebinding.

// accountPrefixRE is the account label AWS SDKs put in front of the
// endpoint's host (docs/formats.md#host-prefix).
var accountPrefixRE = regexp.MustCompile(`^[0-9]{12}\.`)

// hostPolicy is the set of Host names the front answers for.
type hostPolicy struct {
	names map[string]bool
	anyIP bool // the listener takes every address: any IP literal is ours
	// optName names APIOptions.Hosts in refusals (Options.OptionName).
	optName func(string) string
}

// newHostPolicy accepts localhost, the loopback addresses, the host of
// listen (HOST:PORT; an unspecified address accepts every IP literal) and
// the names of extra, each also with a 12-digit account label in front.
func newHostPolicy(listen string, extra []string) (hostPolicy, error) {
	p := hostPolicy{names: map[string]bool{"localhost": true}}
	if listen != "" {
		h, _, err := net.SplitHostPort(listen)
		if err != nil {
			return p, fmt.Errorf("listen address %q: %v", listen, err)
		}
		if a, err := netip.ParseAddr(h); h == "" || (err == nil && a.IsUnspecified()) {
			p.anyIP = true
		} else {
			p.names[normalizeHostName(h)] = true
		}
	}
	for _, n := range extra {
		n = normalizeHostName(n)
		if n == "" || strings.ContainsAny(n, "/: \t") && !isIP(n) {
			return p, fmt.Errorf("host name %q: expected a DNS name or an IP address, without port", n)
		}
		p.names[n] = true
	}
	return p, nil
}

func isIP(s string) bool { _, err := netip.ParseAddr(s); return err == nil }

// normalizeHostName lower-cases a name, drops a final dot and the
// brackets of an IPv6 literal, and writes IP literals canonically.
func normalizeHostName(h string) string {
	h = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Unmap().String()
	}
	return h
}

// check returns nil when Host header value host names this endpoint.
func (p hostPolicy) check(host string) error {
	name, ok := splitHost(host)
	if !ok {
		return apiErr(ErrAccessDenied, "the Host header %q is not HOST or HOST:PORT", host)
	}
	if rest := accountPrefixRE.ReplaceAllString(name, ""); rest != "" {
		name = rest
	}
	name = normalizeHostName(name)
	if p.names[name] {
		return nil
	}
	if a, err := netip.ParseAddr(name); err == nil && (p.anyIP || a.IsLoopback()) {
		return nil
	}
	return apiErr(ErrAccessDenied, "this endpoint does not answer for the host %q (a DNS-rebinding guard): use localhost or the listen address, or let the name in (%s %s)", host, optname.Name(p.optName, "Hosts"), name)
}

// splitHost takes the port off a Host header value: name, name:port,
// [v6], [v6]:port, and SDK forms such as 123456789012.[::1]:port.
func splitHost(h string) (string, bool) {
	if h == "" {
		return "", false
	}
	if i := strings.LastIndexByte(h, ']'); i >= 0 {
		j := strings.IndexByte(h, '[')
		if j < 0 || j > i || !validPort(h[i+1:]) {
			return "", false
		}
		return h[:j] + h[j+1:i], true // the account label, if any, stays in front
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		if strings.IndexByte(h[:i], ':') >= 0 || !validPort(h[i:]) {
			return "", false
		}
		h = h[:i]
	}
	return h, h != ""
}

// validPort accepts "" or ":" followed by 1-5 digits.
func validPort(s string) bool {
	if s == "" {
		return true
	}
	if s[0] != ':' || len(s) < 2 || len(s) > 6 {
		return false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
