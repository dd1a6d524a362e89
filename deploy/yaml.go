package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// A YAML writer for JSON documents: Kubernetes reads YAML, and the
// objects here are Go structs with JSON tags, so they are encoded to
// JSON (field order kept) and that JSON is written out in block style.
// Every string value is written double-quoted with JSON's escapes, which
// YAML's double-quoted style shares, so no string is ever read back as a
// number, a boolean or null, and any byte sequence JSON can hold
// survives; keys are quoted unless they are plain names.

// appendYAML writes v (anything encoding/json encodes to an object) as
// one block-style YAML document.
func appendYAML(b *bytes.Buffer, v any) error {
	var js bytes.Buffer
	enc := json.NewEncoder(&js)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	dec := json.NewDecoder(&js)
	dec.UseNumber()
	n, err := readNode(dec)
	if err != nil {
		return err
	}
	if n.kind != '{' {
		return fmt.Errorf("yaml: a document must be an object, got %c", n.kind)
	}
	writeMap(b, n, 0, false)
	return nil
}

// node is a decoded JSON value with its object keys in order.
type node struct {
	kind   byte   // '{', '[' or 's' (a scalar)
	scalar string // a scalar as YAML text
	keys   []string
	vals   []node
}

func readNode(dec *json.Decoder) (node, error) {
	t, err := dec.Token()
	if err != nil {
		return node{}, err
	}
	switch t := t.(type) {
	case json.Delim:
		n := node{kind: byte(t)}
		for dec.More() {
			if n.kind == '{' {
				k, err := dec.Token()
				if err != nil {
					return node{}, err
				}
				n.keys = append(n.keys, k.(string))
			}
			v, err := readNode(dec)
			if err != nil {
				return node{}, err
			}
			n.vals = append(n.vals, v)
		}
		if _, err := dec.Token(); err != nil && err != io.EOF {
			return node{}, err
		}
		return n, nil
	case string:
		return node{kind: 's', scalar: quote(t)}, nil
	case json.Number:
		return node{kind: 's', scalar: t.String()}, nil
	case bool:
		return node{kind: 's', scalar: fmt.Sprint(t)}, nil
	case nil:
		return node{kind: 's', scalar: "null"}, nil
	}
	return node{}, fmt.Errorf("yaml: unexpected JSON token %v", t)
}

// inline is the text of a value that fits after "key: " or "- ".
func (n node) inline() (string, bool) {
	switch {
	case n.kind == 's':
		return n.scalar, true
	case len(n.vals) == 0 && n.kind == '{':
		return "{}", true
	case len(n.vals) == 0:
		return "[]", true
	}
	return "", false
}

// writeMap writes an object's pairs at indent; with firstInline the
// first pair follows a "- " already written.
func writeMap(b *bytes.Buffer, n node, indent int, firstInline bool) {
	for i, k := range n.keys {
		if i > 0 || !firstInline {
			b.WriteString(strings.Repeat(" ", indent))
		}
		b.WriteString(yamlKey(k))
		b.WriteByte(':')
		writeValue(b, n.vals[i], indent)
	}
}

// writeValue writes the value of a pair whose key (at indent) is
// written.
func writeValue(b *bytes.Buffer, v node, indent int) {
	if s, ok := v.inline(); ok {
		b.WriteString(" " + s + "\n")
		return
	}
	b.WriteByte('\n')
	if v.kind == '{' {
		writeMap(b, v, indent+2, false)
		return
	}
	writeList(b, v, indent+2)
}

func writeList(b *bytes.Buffer, n node, indent int) {
	for _, v := range n.vals {
		b.WriteString(strings.Repeat(" ", indent) + "-")
		if s, ok := v.inline(); ok {
			b.WriteString(" " + s + "\n")
			continue
		}
		if v.kind == '{' {
			b.WriteByte(' ')
			writeMap(b, v, indent+2, true)
			continue
		}
		b.WriteByte('\n')
		writeList(b, v, indent+2)
	}
}

// quote writes s as a double-quoted scalar: JSON's quoting (which turns
// invalid UTF-8 into U+FFFD and escapes control characters), plus \u
// escapes for the characters YAML does not allow unescaped (DEL, the C1
// controls, U+FEFF, U+FFFE and U+FFFF) or reads as a line break, folded
// into a space (NEL, U+0085), which JSON leaves as they are.
func quote(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	q := strings.TrimSuffix(b.String(), "\n")
	if strings.IndexFunc(q, yamlUnprintable) < 0 {
		return q
	}
	var out strings.Builder
	for _, r := range q {
		if yamlUnprintable(r) {
			fmt.Fprintf(&out, "\\u%04X", r)
			continue
		}
		out.WriteRune(r)
	}
	return out.String()
}

// yamlUnprintable reports the runes above U+001F (JSON escapes those)
// that YAML's printable set leaves out, and NEL, a line break in YAML
// 1.1 (JSON escapes the other ones, U+2028 and U+2029).
func yamlUnprintable(r rune) bool {
	return r == 0x7F || (r >= 0x80 && r <= 0x9F) || r == 0xFEFF || r == 0xFFFE || r == 0xFFFF
}

var plainKeyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_./-]*$`)

// yamlKey writes a key plain when no YAML reader (1.1 or 1.2) could take
// it for anything but that string.
func yamlKey(k string) string {
	switch strings.ToLower(k) {
	case "y", "yes", "n", "no", "true", "false", "on", "off", "null":
		return quote(k)
	}
	if plainKeyRE.MatchString(k) {
		return k
	}
	return quote(k)
}
