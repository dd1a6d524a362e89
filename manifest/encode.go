package manifest

import (
	"fmt"
	"unicode/utf8"
)

// The manifest field codec: how bucket names, keys and version ids are
// written into a S3BatchOperations_CSV_20180820 manifest (AppendRow,
// AppendEncoded, AppendVersionID) and read back (AppendDecoded, Reader,
// ParseRow). Writer and reader are one pair: for every value v,
// AppendDecoded(AppendEncoded(v)) and AppendDecoded(AppendVersionID(v))
// give v back (FuzzFieldRoundTrip). See docs/formats.md#manifest-fields
// for why keys and version ids are written differently.

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

// keepVersionByte[c] is true for the bytes AppendVersionID writes
// literally: those keepByte keeps, and '+' and '='. A version id made of
// them (every id S3 mints: letters, digits, '.', '_', and in AWS's
// documented example '+', '/' and '=') reads the same whether Batch
// Operations percent-decodes the VersionId column or takes it literally,
// which no source settles (docs/formats.md#version-ids, UNCONFIRMED).
// Only a form-decoder would misread '+', and nothing suggests one reads
// version ids.
var keepVersionByte = func() (t [256]bool) {
	t = keepByte
	t['+'], t['='] = true, true
	return
}()

// AppendVersionID appends a version id as manifests carry it: bytes of
// keepVersionByte as they are, every other byte (which no S3-minted id
// holds) as %XX. It never allocates when dst has room.
func AppendVersionID(dst, v []byte) []byte {
	for _, c := range v {
		if keepVersionByte[c] {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return dst
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
			dst = AppendVersionID(dst, versionID)
		}
	}
	return append(dst, '\n')
}

// AppendDecoded appends the value of one manifest field (as read, quotes
// already removed) to dst: every %XX becomes its byte; '+' stays '+'. It
// is the inverse of AppendEncoded and AppendVersionID. The error, if any,
// is ErrBadEscape (wrapped, with the byte offset); dst is then returned
// as it was. It does not check UTF-8 (see DecodeField).
func AppendDecoded(dst, f []byte) ([]byte, error) {
	out, at, ok := appendDecoded(dst, f)
	if !ok {
		return dst, fmt.Errorf("%w: %q at byte %d", ErrBadEscape, f[at:min(at+3, len(f))], at)
	}
	return out, nil
}

// DecodeField is AppendDecoded into a new slice, with the result checked
// to be UTF-8 (ErrBadUTF8): S3 keys and version ids are UTF-8.
func DecodeField(f []byte) ([]byte, error) {
	out, err := AppendDecoded(make([]byte, 0, len(f)), f)
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(out) {
		return nil, ErrBadUTF8
	}
	return out, nil
}

// AbsentVersion is how completion reports written by S3 spell a version
// id that the manifest did not give (docs/formats.md#rows): "\N". It is never a
// version id, and must never be written into a manifest.
const AbsentVersion = `\N`

// IsAbsentVersion tells whether a decoded version id is AbsentVersion.
func IsAbsentVersion(v []byte) bool { return string(v) == AbsentVersion }

// Row is one parsed manifest line, decoded.
type Row struct {
	Bucket     string
	Key        string
	VersionID  string // "" when the line has no version column; "null" kept as is
	HasVersion bool
}

// ParseRow parses one manifest line (without its line end) laid out as
// Bucket,Key or Bucket,Key,VersionId (the field count decides), with the
// rules of Reader: RFC 4180 quoting on one line, fields percent-decoded
// ('+' stays '+'), UTF-8, no NUL, no empty bucket or key. Errors are
// *RowError with line 0.
func ParseRow(line []byte) (Row, error) {
	var p lineParser
	n, err := p.split(line, DefaultFields(true))
	if err != nil {
		return Row{}, err
	}
	if n < 2 || n > 3 {
		return Row{}, &RowError{Err: ErrFieldCount, Value: fmt.Sprintf("%d fields", n), Msg: "bucket,key[,version_id]"}
	}
	f := DefaultFields(n == 3)
	if err := p.decode(f); err != nil {
		return Row{}, err
	}
	return p.row(f), nil
}

// DecodeKey decodes a key as ParseRow decodes the key field of a manifest
// line, without the CSV unquoting: every %XX becomes its byte, '+' stays
// '+', and the result must be valid UTF-8. It is the decoder for keys that
// Batch Operations hands on as the manifest wrote them, such as the s3Key
// of a Lambda event (docs/formats.md#lambda-contract).
func DecodeKey(s string) (string, error) {
	b, err := DecodeField([]byte(s))
	return string(b), err
}
