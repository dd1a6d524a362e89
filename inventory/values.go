package inventory

import (
	"encoding/binary"
	"time"
	"unicode/utf8"

	"github.com/s3batchkit/s3batchkit/internal/pctenc"
)

// AppendDecodedKey appends the form-decoded inventory key src to dst: "+"
// is a space and "%XX" is the byte 0xXX, as S3 Inventory CSV writes keys
// (the same rule as net/url.QueryUnescape). It fails with ErrBadEscape on a
// malformed escape and ErrBadKey when the result is not valid UTF-8.
// It does not allocate when dst has room.
func AppendDecodedKey(dst, src []byte) ([]byte, error) {
	// Most keys are ASCII without '%' or '+', which decode to themselves.
	if plainKey(src) {
		return append(dst, src...), nil
	}
	start := len(dst)
	dst, _, ok := pctenc.Append(dst, src, true)
	if !ok {
		return dst, ErrBadEscape
	}
	if !utf8.Valid(dst[start:]) {
		return dst[:start], ErrBadKey
	}
	return dst, nil
}

// plainKey reports whether key holds only ASCII bytes other than '%' and
// '+', eight bytes at a time (see byteLanes).
func plainKey(key []byte) bool {
	const hi = 0x8080808080808080
	n := len(key)
	var w uint64
	if n < 8 {
		var tail [8]byte
		copy(tail[:], key)
		w = binary.LittleEndian.Uint64(tail[:])
	} else {
		for i := 0; i+8 < n; i += 8 {
			x := binary.LittleEndian.Uint64(key[i:])
			if (x&hi)|byteLanes(x, '%')|byteLanes(x, '+') != 0 {
				return false
			}
		}
		w = binary.LittleEndian.Uint64(key[n-8:]) // the last 8, overlapping
	}
	return (w&hi)|byteLanes(w, '%')|byteLanes(w, '+') == 0
}

// ParseBool reads an inventory boolean loosely: true/false in any case,
// and t/f, 1/0, yes/no.
func ParseBool(v []byte) (bool, bool) {
	switch len(v) {
	case 1:
		switch v[0] {
		case 't', 'T', '1', 'y', 'Y':
			return true, true
		case 'f', 'F', '0', 'n', 'N':
			return false, true
		}
	case 2:
		if eqFold(v, "no") {
			return false, true
		}
	case 3:
		if eqFold(v, "yes") {
			return true, true
		}
	case 4:
		if eqFold(v, "true") {
			return true, true
		}
	case 5:
		if eqFold(v, "false") {
			return false, true
		}
	}
	return false, false
}

func eqFold(v []byte, lower string) bool {
	for i := 0; i < len(v); i++ {
		if v[i]|0x20 != lower[i] {
			return false
		}
	}
	return true
}

// ParseInt parses a non-negative decimal integer without allocating.
func ParseInt(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 19 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if n < 0 {
		return 0, false
	}
	return n, true
}

// ParseTimestamp parses an inventory timestamp and returns milliseconds
// since the epoch, UTC. The common shape 2024-08-21T15:28:26.000Z is
// parsed without allocating; anything else RFC 3339 goes through time.Parse
// (offsets are honoured), and a bare date 2024-08-21 is midnight UTC.
func ParseTimestamp(v []byte) (int64, bool) {
	if len(v) == 24 && v[4] == '-' && v[7] == '-' && v[10] == 'T' && v[13] == ':' && v[16] == ':' && v[19] == '.' && v[23] == 'Z' {
		y, ok1 := digits(v[0:4])
		mo, ok2 := digits(v[5:7])
		d, ok3 := digits(v[8:10])
		h, ok4 := digits(v[11:13])
		mi, ok5 := digits(v[14:16])
		s, ok6 := digits(v[17:19])
		ms, ok7 := digits(v[20:23])
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && mo >= 1 && mo <= 12 && d >= 1 && d <= daysIn(y, mo) && h < 24 && mi < 60 && s < 60 {
			days := daysFromCivil(y, mo, d)
			return ((days*24+h)*60+mi)*60000 + s*1000 + ms, true
		}
		return 0, false
	}
	if t, err := time.Parse(time.RFC3339Nano, string(v)); err == nil {
		return t.UnixMilli(), true
	}
	if t, err := time.Parse(time.DateOnly, string(v)); err == nil {
		return t.UnixMilli(), true
	}
	return 0, false
}

func digits(v []byte) (int64, bool) {
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func daysIn(y, m int64) int64 {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil converts a proleptic Gregorian date to days since
// 1970-01-01 (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// AppendUpperASCII appends v with ASCII letters upper-cased, the canonical
// form of enum fields (storage class, statuses, lock mode).
func AppendUpperASCII(dst, v []byte) []byte {
	start := len(dst)
	dst = append(dst, v...)
	for i := start; i < len(dst); i++ {
		if c := dst[i]; 'a' <= c && c <= 'z' {
			dst[i] = c - 32
		}
	}
	return dst
}

// byteLanes returns a word with the high bit of each byte lane of w set
// exactly when that byte is b (no false positives from borrows).
func byteLanes(w uint64, b byte) uint64 {
	const lo7 = 0x7f7f7f7f7f7f7f7f
	x := w ^ (0x0101010101010101 * uint64(b))
	t := (x & lo7) + lo7
	return ^(t | x | lo7)
}
