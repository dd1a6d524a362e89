package inventory

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow-go/v18/arrow/array"
)

// KeyList is a set of object keys read from a file, for FilterOptions'
// IncludeKeys and ExcludeKeys. It is read-only once loaded and safe for
// concurrent use.
type KeyList struct {
	Source string
	keys   map[string]struct{}
}

// Len returns the number of distinct keys in the list.
func (l *KeyList) Len() int { return len(l.keys) }

// NewKeyList makes a list from keys in memory.
func NewKeyList(source string, keys []string) *KeyList {
	l := &KeyList{Source: source, keys: make(map[string]struct{}, len(keys))}
	for _, k := range keys {
		l.keys[k] = struct{}{}
	}
	return l
}

// LoadKeyList reads a key list: one key per line, as the key's real bytes
// (not URL-encoded); a trailing "\r" is dropped and empty lines are
// skipped. A key cannot hold a newline in this format.
func LoadKeyList(path string) (*KeyList, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadKeyList(path, f)
}

// ReadKeyList reads a key list (see LoadKeyList) from r; name is used in
// errors.
func ReadKeyList(name string, r io.Reader) (*KeyList, error) {
	l := &KeyList{Source: name, keys: map[string]struct{}{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if len(line) == 0 {
			continue
		}
		l.keys[string(line)] = struct{}{}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading key list %s: %w", name, err)
	}
	return l, nil
}

// keep keeps the rows whose key is in the list (in=true) or not in it.
func (l *KeyList) keep(sel []int32, keys *array.String, in bool) []int32 {
	out := sel[:0]
	for _, i := range sel {
		_, ok := l.keys[string(StringBytes(keys, int(i)))]
		if ok == in {
			out = append(out, i)
		}
	}
	return out
}
