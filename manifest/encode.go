package manifest

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// ErrBadRow is returned (wrapped in a *RowError) for a manifest line that
// does not parse.
var ErrBadRow = errors.New("malformed manifest row")

// keepByte[c] is true for bytes written literally: RFC 3986 unreserved
// characters and '/'. Everything else — space, '+', '%', ',', quotes,
// control bytes, every non-ASCII byte — is written as %XX, so that a
// percent-decoder and a form-decoder (which reads '+' as a space) both give
// back the exact key.
var keepByte = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "-_.~/" {
		t[c] = true
	}
	return
}()

const upperHex = "0123456789ABCDEF"

// AppendEncoded appends s percent-encoded as manifest keys are: every byte
// but [A-Za-z0-9-_.~/] becomes %XX (upper-case hex). It never allocates
// when dst has room.
func AppendEncoded(dst, s []byte) []byte {
	// Copy runs of kept bytes whole: most keys are one run, which
	// keptPrefix finds 32 bytes at a time where the CPU allows
	// (keep_amd64.s).
	i := keptPrefix(s)
	for {
		dst = append(dst, s[:i]...)
		if i == len(s) {
			return dst
		}
		// Escape the byte that ended the run, and those right after it:
		// a non-ASCII character is two to four escaped bytes in a row.
		for {
			c := s[i]
			dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
			i++
			if i == len(s) || keepByte[s[i]] {
				break
			}
		}
		s = s[i:]
		// Bytes to escape come in clusters (words of non-ASCII text,
		// words between spaces), so the run after one is most often
		// short: look at its first bytes one at a time, which costs less
		// than a call to the vector code, and hand that only what is
		// left of a longer run.
		i = 0
		for i < len(s) && i < shortRun && keepByte[s[i]] {
			i++
		}
		if i == shortRun {
			i += keptPrefix(s[i:])
		}
	}
}

// shortRun is how many bytes AppendEncoded looks at one by one after an
// escaped byte before it calls keptPrefix for the rest of the run. With
// keptPrefix called right after each escape, a key of non-ASCII words was
// some 20% slower than with the table loop alone (BenchmarkAppendEncoded/
// unicode): its runs of one or two bytes each paid for a call. 8 and 16
// measured alike.
const shortRun = 16

// keptPrefixGeneric returns the length of the run of kept bytes (keepByte)
// that s starts with. It is keptPrefix where there is no assembly for the
// CPU, and for strings too short for the assembly to pay off.
func keptPrefixGeneric(s []byte) int {
	i := 0
	for i < len(s) && keepByte[s[i]] {
		i++
	}
	return i
}

// AppendRow appends one manifest line: bucket, encoded key and, when
// withVersion is set, the version id ("null" when versionID is empty, as
// Batch Operations requires for null-version objects), then "\n".
func AppendRow(dst, bucket, key, versionID []byte, withVersion bool) []byte {
	dst = AppendEncoded(dst, bucket)
	dst = append(dst, ',')
	dst = AppendEncoded(dst, key)
	if withVersion {
		dst = append(dst, ',')
		if len(versionID) == 0 {
			dst = append(dst, "null"...)
		} else {
			dst = AppendEncoded(dst, versionID)
		}
	}
	return append(dst, '\n')
}

// Row is one parsed manifest line.
type Row struct {
	Bucket     string
	Key        string
	VersionID  string // "" when the line has no version column; "null" kept as is
	HasVersion bool
}

// RowError names a manifest line that does not parse.
type RowError struct {
	File string
	Line int64
	Msg  string
}

func (e *RowError) Error() string {
	return fmt.Sprintf("%s:%d: %v: %s", e.File, e.Line, ErrBadRow, e.Msg)
}

func (e *RowError) Unwrap() error { return ErrBadRow }

// ParseRow parses one manifest line (without its newline): two or three
// comma-separated fields, each percent-decoded ('+' stays '+'). Quoted
// fields are accepted for lines written by other tools.
func ParseRow(line []byte) (Row, error) {
	var fields [3][]byte
	n := 0
	for start, i := 0, 0; ; i++ {
		if i == len(line) || line[i] == ',' {
			if n == 3 {
				return Row{}, fmt.Errorf("more than 3 fields")
			}
			fields[n] = line[start:i]
			n++
			start = i + 1
			if i == len(line) {
				break
			}
		}
	}
	if n < 2 {
		return Row{}, fmt.Errorf("expected bucket,key[,version_id], got %d field", n)
	}
	var r Row
	var err error
	if r.Bucket, err = decodeField(fields[0]); err != nil {
		return Row{}, fmt.Errorf("bucket: %w", err)
	}
	if r.Key, err = decodeField(fields[1]); err != nil {
		return Row{}, fmt.Errorf("key: %w", err)
	}
	if r.Bucket == "" || r.Key == "" {
		return Row{}, fmt.Errorf("empty bucket or key")
	}
	if n == 3 {
		r.HasVersion = true
		if r.VersionID, err = decodeField(fields[2]); err != nil {
			return Row{}, fmt.Errorf("version id: %w", err)
		}
	}
	return r, nil
}

func decodeField(f []byte) (string, error) {
	if len(f) >= 2 && f[0] == '"' && f[len(f)-1] == '"' {
		f = f[1 : len(f)-1]
	}
	return decodePercent(f)
}

// DecodeKey decodes a key as ParseRow decodes the key field of a manifest
// line, without the CSV unquoting: every %XX becomes its byte, '+' stays
// '+', and the result must be valid UTF-8. It is the decoder for keys that
// Batch Operations hands on as the manifest wrote them, such as the s3Key
// of a Lambda event (formats.md §7.6).
func DecodeKey(s string) (string, error) {
	return decodePercent([]byte(s))
}

func decodePercent(f []byte) (string, error) {
	out := make([]byte, 0, len(f))
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' {
			out = append(out, c)
			continue
		}
		if i+2 >= len(f) {
			return "", fmt.Errorf("truncated %%-escape at byte %d", i)
		}
		h, ok1 := unhex(f[i+1])
		l, ok2 := unhex(f[i+2])
		if !ok1 || !ok2 {
			return "", fmt.Errorf("bad %%-escape %q at byte %d", f[i:i+3], i)
		}
		out = append(out, h<<4|l)
		i += 2
	}
	if !utf8.Valid(out) {
		return "", fmt.Errorf("not valid UTF-8")
	}
	return string(out), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
