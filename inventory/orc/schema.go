package orc

import (
	"fmt"
	"strings"
)

// Kind is the kind of an ORC type, numbered as in orc_proto.proto.
type Kind int

// Type kinds.
const (
	Boolean          Kind = 0
	Byte             Kind = 1
	Short            Kind = 2
	Int              Kind = 3
	Long             Kind = 4
	Float            Kind = 5
	Double           Kind = 6
	String           Kind = 7
	Binary           Kind = 8
	Timestamp        Kind = 9
	List             Kind = 10
	Map              Kind = 11
	Struct           Kind = 12
	Union            Kind = 13
	Decimal          Kind = 14
	Date             Kind = 15
	Varchar          Kind = 16
	Char             Kind = 17
	TimestampInstant Kind = 18
)

var kindNames = [...]string{
	"boolean", "tinyint", "smallint", "int", "bigint", "float", "double",
	"string", "binary", "timestamp", "array", "map", "struct", "uniontype",
	"decimal", "date", "varchar", "char", "timestamp with local time zone",
}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Type is one node of a file's schema. Types form a tree; ID is the column
// id (the pre-order position in the footer's type list, 0 for the root).
// A Type returned by File.Schema is shared and must not be modified.
type Type struct {
	ID         int
	Kind       Kind
	Children   []*Type  // struct fields, list element, map key and value, union variants
	FieldNames []string // struct field names, same length as Children
	MaxLength  int      // varchar and char
	Precision  int      // decimal
	Scale      int      // decimal
}

// String renders the type in Hive's notation, for example
// struct<key:string,size:bigint>.
func (t *Type) String() string {
	var b strings.Builder
	t.format(&b)
	return b.String()
}

func (t *Type) format(b *strings.Builder) {
	switch t.Kind {
	case Struct:
		b.WriteString("struct<")
		for i, c := range t.Children {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(t.FieldNames[i])
			b.WriteByte(':')
			c.format(b)
		}
		b.WriteByte('>')
	case List, Map, Union:
		b.WriteString(t.Kind.String())
		b.WriteByte('<')
		for i, c := range t.Children {
			if i > 0 {
				b.WriteByte(',')
			}
			c.format(b)
		}
		b.WriteByte('>')
	case Decimal:
		fmt.Fprintf(b, "decimal(%d,%d)", t.Precision, t.Scale)
	case Varchar, Char:
		fmt.Fprintf(b, "%s(%d)", t.Kind, t.MaxLength)
	default:
		b.WriteString(t.Kind.String())
	}
}

// Field returns the child of a struct type with the given name, or nil.
func (t *Type) Field(name string) *Type {
	for i, n := range t.FieldNames {
		if n == name && i < len(t.Children) {
			return t.Children[i]
		}
	}
	return nil
}

// maxTypeDepth bounds the nesting of a schema.
const maxTypeDepth = 200

// buildTypes turns the footer's flat type list into a tree, checking that
// it is one: every subtype id refers forward, to an existing type, and is
// used by exactly one parent.
func buildTypes(protos []typeProto) ([]*Type, error) {
	if len(protos) == 0 {
		return nil, corruptf(-1, "footer has no types")
	}
	types := make([]*Type, len(protos))
	for i, p := range protos {
		if p.kind > uint64(TimestampInstant) {
			return nil, unsupportedf(ErrUnsupportedType, "column %d has unknown type kind %d", i, p.kind)
		}
		types[i] = &Type{ID: i, Kind: Kind(p.kind), MaxLength: int(min(p.maxLength, 1<<31)), Precision: int(min(p.precision, 1<<31)), Scale: int(min(p.scale, 1<<31))}
	}
	used := make([]bool, len(protos))
	depth := make([]int, len(protos))
	for i, p := range protos {
		t := types[i]
		want := -1
		switch t.Kind {
		case List:
			want = 1
		case Map:
			want = 2
		case Struct, Union:
		default:
			want = 0
		}
		if want >= 0 && len(p.subtypes) != want {
			return nil, corruptf(-1, "column %d (%v) has %d subtypes, want %d", i, t.Kind, len(p.subtypes), want)
		}
		if t.Kind == Struct && len(p.fieldNames) != len(p.subtypes) {
			return nil, corruptf(-1, "struct column %d has %d field names for %d fields", i, len(p.fieldNames), len(p.subtypes))
		}
		for _, s := range p.subtypes {
			if int(s) <= i || int(s) >= len(types) || used[s] {
				return nil, corruptf(-1, "column %d has bad subtype id %d", i, s)
			}
			used[s] = true
			depth[s] = depth[i] + 1
			if depth[s] > maxTypeDepth {
				return nil, unsupportedf(ErrUnsupportedType, "schema nested deeper than %d", maxTypeDepth)
			}
			t.Children = append(t.Children, types[s])
		}
		if t.Kind == Struct {
			t.FieldNames = p.fieldNames
		}
	}
	for i := 1; i < len(used); i++ {
		if !used[i] {
			return nil, corruptf(-1, "column %d is not part of the schema tree", i)
		}
	}
	return types, nil
}
