// Package pctenc is the one %XX decoder of the readers: keys in S3
// Inventory CSV data files (form-encoded: '+' is a space, see
// docs/formats.md#keys), and keys and version ids in Batch Operations
// manifests and completion reports (percent-encoded: '+' is itself, see
// docs/formats.md#version-ids). Writers live with their formats
// (manifest/encode.go); splitting a line into fields is internal/csvscan.
//
// The functions do not check that the result is UTF-8: callers whose
// values must be (S3 keys) check it, and say which field failed.
package pctenc

import "bytes"

// Unhex returns the value of the hexadecimal digit c (either case).
func Unhex(c byte) (byte, bool) {
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

// Append appends the decoding of src to dst: "%XX" becomes the byte 0xXX
// and, when plusIsSpace, '+' becomes ' ' (the rule of
// net/url.QueryUnescape); every other byte is itself. On a malformed
// escape (a '%' without two hexadecimal digits after it) it returns dst as
// it was, the offset in src of that '%', and false. It does not allocate
// when dst has room.
func Append(dst, src []byte, plusIsSpace bool) ([]byte, int, bool) {
	i := first(src, plusIsSpace)
	if i < 0 {
		return append(dst, src...), 0, true
	}
	n := len(dst)
	dst = append(dst, src[:i]...)
	for i < len(src) {
		if c := src[i]; c == '%' {
			if i+2 >= len(src) {
				return dst[:n], i, false
			}
			h, ok1 := Unhex(src[i+1])
			l, ok2 := Unhex(src[i+2])
			if !ok1 || !ok2 {
				return dst[:n], i, false
			}
			dst = append(dst, h<<4|l)
			i += 3
		} else if c == '+' && plusIsSpace {
			dst = append(dst, ' ')
			i++
		}
		// The run up to the next escape, appended at once.
		j := i
		for j < len(src) && src[j] != '%' && (src[j] != '+' || !plusIsSpace) {
			j++
		}
		dst = append(dst, src[i:j]...)
		i = j
	}
	return dst, 0, true
}

// InPlace is Append into v itself (a decoded value is never longer than
// its encoding): it returns the decoded length, or the offset of a
// malformed escape and false, with v then partly overwritten.
func InPlace(v []byte, plusIsSpace bool) (int, int, bool) {
	i := first(v, plusIsSpace)
	if i < 0 {
		return len(v), 0, true
	}
	w := i
	for i < len(v) {
		c := v[i]
		if c == '%' {
			if i+2 >= len(v) {
				return 0, i, false
			}
			h, ok1 := Unhex(v[i+1])
			l, ok2 := Unhex(v[i+2])
			if !ok1 || !ok2 {
				return 0, i, false
			}
			c = h<<4 | l
			i += 3
		} else { // '+', a space in form encoding
			c = ' '
			i++
		}
		v[w] = c
		w++
		// The run up to the next escape, moved down at once.
		j := i
		for j < len(v) && v[j] != '%' && (v[j] != '+' || !plusIsSpace) {
			j++
		}
		w += copy(v[w:], v[i:j])
		i = j
	}
	return w, 0, true
}

// Truncated reports whether the malformed escape at offset at of src is
// cut short by the end of src (rather than holding a non-hex digit).
func Truncated(src []byte, at int) bool { return at+2 >= len(src) }

// first is the offset of the first byte of v that decoding changes, or -1.
func first(v []byte, plusIsSpace bool) int {
	i := bytes.IndexByte(v, '%')
	if !plusIsSpace {
		return i
	}
	before := v // a '+' counts only before the first '%': linear in all
	if i >= 0 {
		before = v[:i]
	}
	if j := bytes.IndexByte(before, '+'); j >= 0 {
		return j
	}
	return i
}
