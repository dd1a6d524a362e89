package report

import (
	"bytes"
	"strings"
)

// maxNormalized bounds a normalised message; longer ones are cut.
const maxNormalized = 240

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

// idLabels end the text after which a token is a request or host id,
// whatever it is made of (compared, case aside, with the message before
// the token, its white space trimmed).
var idLabels = [][]byte{
	[]byte("request id:"), []byte("requestid:"), []byte("request-id:"), []byte("x-amz-request-id:"),
	[]byte("host id:"), []byte("hostid:"), []byte("host-id:"), []byte("x-amz-id-2:"), []byte("extended request id:"),
}

// AppendNormalized appends msg with its variable parts folded, so that
// messages that differ only by ids, hosts, hashes, timestamps or numbers
// count as one. Token by token (runs of non-space bytes; runs of white
// space become one space):
//   - the token after "Request ID:", "RequestID:", "HostID:",
//     "x-amz-id-2:" and the like becomes "<id>", whatever its bytes
//     (base64 host ids hold '+', '/' and '=');
//   - a URL (holding "://") becomes "<url>", and an address — host:port,
//     an IPv4 address with or without a port, [IPv6]:port, or a->b of
//     these, as Go's network errors write them — becomes "<addr>", quotes
//     and punctuation around them kept;
//   - in any other token, a word (letters, digits, '-', '_') made only of
//     digits becomes "<n>", a word holding 3 digits or more, or of 8
//     bytes or more holding a digit (ids, version ids, hex digests, UUIDs,
//     dates) becomes "<id>" (short words such as "S3" or "v2" stay).
//
// The result is at most 240 bytes. It does not allocate when dst has room.
func AppendNormalized(dst, msg []byte) []byte {
	start := len(dst)
	space := false
	for i := 0; i < len(msg) && len(dst)-start < maxNormalized; {
		if isSpace(msg[i]) {
			space = true
			i++
			continue
		}
		if space && len(dst) > start {
			dst = append(dst, ' ')
		}
		space = false
		j := i
		for j < len(msg) && !isSpace(msg[j]) {
			j++
		}
		dst = appendToken(dst, afterIDLabel(msg[:i]), msg[i:j])
		i = j
	}
	if len(dst)-start > maxNormalized {
		dst = dst[:start+maxNormalized]
	}
	return dst
}

// appendToken appends one white-space-free token, folded; isID says that
// it follows an id label.
func appendToken(dst []byte, isID bool, tok []byte) []byte {
	// The token's core, without the quotes and punctuation around it.
	lo, hi := 0, len(tok)
	for lo < hi && strings.IndexByte(`"'(<`, tok[lo]) >= 0 {
		lo++
	}
	for hi > lo && strings.IndexByte(`"'),;:.>`, tok[hi-1]) >= 0 {
		hi--
	}
	core := tok[lo:hi]
	var with string
	switch {
	case len(core) == 0:
	case isID:
		with = "<id>"
	case bytes.Contains(core, []byte("://")):
		with = "<url>"
	case isAddrs(core):
		with = "<addr>"
	}
	if with == "" {
		if isIDLabel(tok) {
			return append(dst, tok...) // "x-amz-id-2:" is no id itself
		}
		return appendWords(dst, tok)
	}
	dst = append(dst, tok[:lo]...)
	dst = append(dst, with...)
	return append(dst, tok[hi:]...)
}

// afterIDLabel tells whether before (the message up to a token) ends with
// one of idLabels and white space.
func afterIDLabel(before []byte) bool {
	n := len(before)
	for n > 0 && isSpace(before[n-1]) {
		n--
	}
	if n == len(before) {
		return false
	}
	before = before[:n]
	for _, l := range idLabels {
		if len(before) >= len(l) && bytes.EqualFold(before[len(before)-len(l):], l) {
			return true
		}
	}
	return false
}

// isIDLabel tells whether tok is a one-word id label, such as "HostID:".
func isIDLabel(tok []byte) bool {
	for _, l := range idLabels {
		if bytes.EqualFold(tok, l) {
			return true
		}
	}
	return false
}

// isAddrs tells whether s is an address or several joined by "->".
func isAddrs(s []byte) bool {
	if len(s) == 0 {
		return false
	}
	for {
		i := bytes.Index(s, []byte("->"))
		if i < 0 {
			return isAddr(s)
		}
		if !isAddr(s[:i]) {
			return false
		}
		s = s[i+2:]
	}
}

// isAddr tells whether s is host:port (a dotted or plain name), an IPv4
// address with or without a port, or [IPv6] with or without a port.
func isAddr(s []byte) bool {
	if len(s) > 0 && s[0] == '[' {
		e := bytes.IndexByte(s, ']')
		if e < 2 {
			return false
		}
		for _, c := range s[1:e] {
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == ':' || c == '.') {
				return false
			}
		}
		return e == len(s)-1 || s[e+1] == ':' && allDigits(s[e+2:])
	}
	host, port := s, []byte(nil)
	if i := bytes.LastIndexByte(s, ':'); i >= 0 {
		host, port = s[:i], s[i+1:]
		if !allDigits(port) {
			return false
		}
	}
	if len(host) == 0 {
		return false
	}
	dots, digitsOnly := 0, true
	for _, c := range host {
		switch {
		case c == '.':
			dots++
		case c >= '0' && c <= '9':
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-':
			digitsOnly = false
		default:
			return false
		}
	}
	if port == nil {
		return digitsOnly && dots == 3 // an IPv4 address alone
	}
	return true
}

func allDigits(s []byte) bool {
	if len(s) == 0 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// appendWords appends tok with its numbers and ids folded, word by word.
func appendWords(dst, tok []byte) []byte {
	for i := 0; i < len(tok); {
		c := tok[i]
		if !isWordByte(c) {
			dst = append(dst, c)
			i++
			continue
		}
		j, digits, alldigits := i, 0, true
		for j < len(tok) && isWordByte(tok[j]) {
			if tok[j] >= '0' && tok[j] <= '9' {
				digits++
			} else {
				alldigits = false
			}
			j++
		}
		switch {
		case alldigits:
			dst = append(dst, "<n>"...)
		case digits >= 3 || digits > 0 && j-i >= 8:
			dst = append(dst, "<id>"...)
		default:
			dst = append(dst, tok[i:j]...)
		}
		i = j
	}
	return dst
}
