package inventory

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ErrBadSize is returned by ParseSize for text that is not a size.
var ErrBadSize = errors.New("bad size")

// ErrBadTime is returned by ParseTimeArg for text that is neither an
// RFC 3339 timestamp nor a date.
var ErrBadTime = errors.New("bad time")

var sizeUnits = map[string]float64{
	"": 1, "b": 1,
	"k": 1 << 10, "kib": 1 << 10, "kb": 1e3,
	"m": 1 << 20, "mib": 1 << 20, "mb": 1e6,
	"g": 1 << 30, "gib": 1 << 30, "gb": 1e9,
	"t": 1 << 40, "tib": 1 << 40, "tb": 1e12,
	"p": 1 << 50, "pib": 1 << 50, "pb": 1e15,
}

// ParseSize reads a byte count written for humans: a number (fractions
// allowed) with an optional unit, case-insensitive, optionally separated by
// a space. Binary units KiB, MiB, GiB, TiB, PiB (and the bare K, M, G, T,
// P) are powers of 1024; KB, MB, GB, TB, PB are powers of 1000; B or no
// unit is bytes. "5GiB" is 5368709120, "1.5 MB" is 1500000, "0" is 0.
// Negative sizes and sizes over math.MaxInt64 are errors.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.' || t[i] == '_') {
		i++
	}
	num, unit := strings.ReplaceAll(t[:i], "_", ""), strings.ToLower(strings.TrimSpace(t[i:]))
	mult, ok := sizeUnits[unit]
	if num == "" || !ok {
		return 0, fmt.Errorf("%w %q: expected a number with an optional unit such as 512, 64KiB, 1.5GB or 5GiB", ErrBadSize, s)
	}
	if !strings.Contains(num, ".") {
		n, err := strconv.ParseInt(num, 10, 64)
		if err == nil && (mult == 1 || n <= math.MaxInt64/int64(mult)) {
			return n * int64(mult), nil
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("%w %q: %q is not a number", ErrBadSize, s, num)
	}
	v := math.Round(f * mult)
	if v >= math.MaxInt64 {
		return 0, fmt.Errorf("%w %q: larger than %d bytes", ErrBadSize, s, int64(math.MaxInt64))
	}
	return int64(v), nil
}

// FormatSize writes n bytes with a binary unit, the inverse of ParseSize
// up to rounding ("1.5 GiB").
func FormatSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// ParseTimeArg reads a point in time given on a command line: RFC 3339
// ("2024-08-21T15:28:26Z", "2024-08-21T17:28:26+02:00", fractions
// allowed) or a bare date ("2024-08-21", midnight UTC).
func ParseTimeArg(s string) (time.Time, error) {
	t := strings.TrimSpace(s)
	if v, err := time.Parse(time.RFC3339Nano, t); err == nil {
		return v.UTC(), nil
	}
	if v, err := time.Parse(time.DateOnly, t); err == nil {
		return v, nil
	}
	return time.Time{}, fmt.Errorf("%w %q: expected RFC 3339 (2024-08-21T15:28:26Z) or a date (2024-08-21)", ErrBadTime, s)
}
