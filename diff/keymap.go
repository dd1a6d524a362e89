package diff

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// DropUnmapped is the counters.dropped reason of a row that passed the
// filters but lies under none of the key mappings' prefixes (source rows
// under no source prefix, target rows under no target prefix).
const DropUnmapped = "unmapped"

// Mapping says that source keys under Source correspond to target keys
// under Target: source key Source+rest is target key Target+rest.
type Mapping struct {
	Source string `json:"source_prefix"`
	Target string `json:"target_prefix"`
}

// ParseMapping parses "SRC_PREFIX=DST_PREFIX", split at the first '='
// (so a source prefix cannot hold '='; a target prefix can). Either side
// may be empty: "=new/" puts the whole source bucket under new/.
func ParseMapping(s string) (Mapping, error) {
	src, dst, ok := strings.Cut(s, "=")
	if !ok {
		return Mapping{}, fmt.Errorf("%w: %q: expected SRC_PREFIX=DST_PREFIX", ErrMap, s)
	}
	return Mapping{Source: src, Target: dst}, nil
}

// KeyMap is a set of mappings that is unambiguous: no source prefix is a
// prefix of another (or equal to it), and no target prefix is a prefix of
// another. Then:
//
//   - a source key is under at most one source prefix Sᵢ, so
//     ToTarget(k) = Tᵢ + k[len(Sᵢ):] is well defined;
//   - a target key is under at most one target prefix Tⱼ, so
//     ToSource(k) = Sⱼ + k[len(Tⱼ):] is well defined;
//   - they are inverse bijections between the keys under some Sᵢ and the
//     keys under some Tᵢ: ToTarget(k) starts with Tᵢ, and with no other Tⱼ
//     (two prefixes of one key are prefixes of each other), so ToSource
//     takes rule i back, and the converse holds likewise.
//
// The diff compares in source keys: target keys are rewritten with
// ToSource before the target is sorted, so both streams are in source key
// order and a source key matches exactly the target key ToTarget gives
// it. Keys under no prefix have no counterpart and are dropped (counted as
// DropUnmapped) on either side. A nil *KeyMap maps every key to itself.
type KeyMap struct {
	rules []Mapping
}

// NewKeyMap checks the mappings: UTF-8 prefixes (as S3 keys are), and no
// ambiguity. Every error wraps ErrMap and names the rules at fault.
func NewKeyMap(ms []Mapping) (*KeyMap, error) {
	if len(ms) == 0 {
		return nil, nil
	}
	for i, a := range ms {
		if !utf8.ValidString(a.Source) || !utf8.ValidString(a.Target) {
			return nil, fmt.Errorf("%w: %q: S3 keys are UTF-8, and a prefix that is not can match no key", ErrMap, a.String())
		}
		for _, b := range ms[i+1:] {
			if strings.HasPrefix(a.Source, b.Source) || strings.HasPrefix(b.Source, a.Source) {
				return nil, fmt.Errorf("%w: source prefixes of %s and %s overlap: a key under both could map two ways; list each source prefix once, none inside another", ErrMap, a, b)
			}
			if strings.HasPrefix(a.Target, b.Target) || strings.HasPrefix(b.Target, a.Target) {
				return nil, fmt.Errorf("%w: target prefixes of %s and %s overlap: a target key under both could come from two source keys", ErrMap, a, b)
			}
		}
	}
	return &KeyMap{rules: append([]Mapping(nil), ms...)}, nil
}

func (m Mapping) String() string { return m.Source + "=" + m.Target }

// Rules returns the mappings.
func (m *KeyMap) Rules() []Mapping {
	if m == nil {
		return nil
	}
	return m.rules
}

// CoversSource reports whether a source key is under a source prefix.
func (m *KeyMap) CoversSource(key []byte) bool {
	if m == nil {
		return true
	}
	for i := range m.rules {
		if hasPrefix(key, m.rules[i].Source) {
			return true
		}
	}
	return false
}

// ToSource appends the source key of target key to dst; false (and dst
// unchanged) when the key is under no target prefix.
func (m *KeyMap) ToSource(dst, key []byte) ([]byte, bool) {
	if m == nil {
		return append(dst, key...), true
	}
	for i := range m.rules {
		r := &m.rules[i]
		if hasPrefix(key, r.Target) {
			dst = append(dst, r.Source...)
			return append(dst, key[len(r.Target):]...), true
		}
	}
	return dst, false
}

// ToTarget appends the target key of source key to dst; false (and dst
// unchanged) when the key is under no source prefix.
func (m *KeyMap) ToTarget(dst, key []byte) ([]byte, bool) {
	if m == nil {
		return append(dst, key...), true
	}
	for i := range m.rules {
		r := &m.rules[i]
		if hasPrefix(key, r.Source) {
			dst = append(dst, r.Target...)
			return append(dst, key[len(r.Source):]...), true
		}
	}
	return dst, false
}

func hasPrefix(b []byte, p string) bool {
	return len(b) >= len(p) && string(b[:len(p)]) == p
}
