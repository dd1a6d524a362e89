package inventory

import (
	"bytes"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
)

// WhereRow is the environment a --where expression sees: one inventory
// row, each column under its snake_case name. A null value reads as the
// zero value: "" for text, 0 for size, false for flags, and the zero
// time.Time (before any date) for timestamps. Enum columns (storage_class,
// replication_status, ...) hold upper-case text, as the readers normalise
// them, and the text constants they are compared with (==, !=, in,
// startsWith, endsWith, contains) are upper-cased when the expression is
// compiled: the comparisons are case-insensitive, as --storage-class is. Besides expr-lang's builtins (date, now, duration, upper, ...)
// the expression can call bytes("1MiB"), which is ParseSize.
type WhereRow struct {
	Bucket                       string    `expr:"bucket"`
	Key                          string    `expr:"key"`
	VersionID                    string    `expr:"version_id"`
	IsLatest                     bool      `expr:"is_latest"`
	IsDeleteMarker               bool      `expr:"is_delete_marker"`
	Size                         int64     `expr:"size"`
	LastModifiedDate             time.Time `expr:"last_modified_date"`
	ETag                         string    `expr:"e_tag"`
	StorageClass                 string    `expr:"storage_class"`
	IsMultipartUploaded          bool      `expr:"is_multipart_uploaded"`
	ReplicationStatus            string    `expr:"replication_status"`
	EncryptionStatus             string    `expr:"encryption_status"`
	ObjectLockRetainUntilDate    time.Time `expr:"object_lock_retain_until_date"`
	ObjectLockMode               string    `expr:"object_lock_mode"`
	ObjectLockLegalHoldStatus    string    `expr:"object_lock_legal_hold_status"`
	IntelligentTieringAccessTier string    `expr:"intelligent_tiering_access_tier"`
	BucketKeyStatus              string    `expr:"bucket_key_status"`
	ChecksumAlgorithm            string    `expr:"checksum_algorithm"`
	ObjectAccessControlList      string    `expr:"object_access_control_list"`
	ObjectOwner                  string    `expr:"object_owner"`
	LifecycleExpirationDate      time.Time `expr:"lifecycle_expiration_date"`
}

// nullTimeMS is how a null timestamp compares on the columnar path: the
// zero time.Time, as the expression VM sees it.
var nullTimeMS = time.Time{}.UnixMilli()

func whereOptions() []expr.Option {
	return []expr.Option{
		expr.Env(WhereRow{}),
		expr.Timezone("UTC"),
		expr.Function("bytes", func(params ...any) (any, error) {
			s, _ := params[0].(string)
			n, err := ParseSize(s)
			return int(n), err
		}, new(func(string) int)),
	}
}

// Where is a compiled --where expression. The parts of the
// expression that are comparisons of a column with constants, string
// tests (startsWith, endsWith, contains, matches, in) and and/or/not of
// those run as typed loops over whole columns; any other part runs in the
// expr VM, row by row, over the rows still selected.
type Where struct {
	src   string
	needs FieldSet
	root  cpred
	prog  *vm.Program // the whole expression, for the VM-only path
	pool  *sync.Pool  // of *whereVM
	vmAll bool        // run everything in the VM (benchmarks, tests)
}

// cpred narrows sel (ascending row indices) to the rows where the
// expression holds; it may reuse sel's storage.
type cpred func(b Batch, sel []int32) []int32

type whereVM struct {
	vm  vm.VM
	env WhereRow
}

// CompileWhere compiles a --where expression. It fails with a
// *FilterError (option "where") when the expression does not parse, does
// not type-check as a boolean, or names an unknown column (the message
// then names the closest column and lists them all).
func CompileWhere(src string) (*Where, error) {
	opts := append(whereOptions(), expr.AsBool(), expr.Patch(enumUpper{}))
	prog, err := expr.Compile(src, opts...)
	if err != nil {
		return nil, filterErr("where", "%s", unknownNameHint(err))
	}
	tree, err := parser.Parse(src)
	if err != nil {
		return nil, filterErr("where", "%v", err)
	}
	ast.Walk(&tree.Node, enumUpper{})
	w := &Where{src: src, prog: prog, pool: &sync.Pool{New: func() any { return new(whereVM) }}}
	w.needs = identFields(tree.Node)
	root, err := w.compile(tree.Node)
	if err != nil {
		return nil, err
	}
	w.root = root
	return w, nil
}

// Needs returns the columns the expression reads.
func (w *Where) Needs() FieldSet { return w.needs }

// Select narrows sel to the rows where the expression holds.
func (w *Where) Select(b Batch, sel []int32) []int32 {
	if w.vmAll {
		return w.vmSelect(w.prog, w.needs)(b, sel)
	}
	return w.root(b, sel)
}

var fieldByColumn = func() map[string]Field {
	m := map[string]Field{}
	for i := 0; i < NumFields; i++ {
		m[Field(i).ColumnName()] = Field(i)
	}
	return m
}()

type identVisitor struct{ s FieldSet }

func (v *identVisitor) Visit(n *ast.Node) {
	if id, ok := (*n).(*ast.IdentifierNode); ok {
		if f, ok := fieldByColumn[id.Value]; ok {
			v.s |= Fields(f)
		}
	}
}

func identFields(n ast.Node) FieldSet {
	v := &identVisitor{}
	ast.Walk(&n, v)
	return v.s
}

func (w *Where) compile(n ast.Node) (cpred, error) {
	switch n := n.(type) {
	case *ast.BinaryNode:
		switch n.Operator {
		case "and", "&&":
			l, err := w.compile(n.Left)
			if err != nil {
				return nil, err
			}
			r, err := w.compile(n.Right)
			if err != nil {
				return nil, err
			}
			return func(b Batch, sel []int32) []int32 { return r(b, l(b, sel)) }, nil
		case "or", "||":
			l, err := w.compile(n.Left)
			if err != nil {
				return nil, err
			}
			r, err := w.compile(n.Right)
			if err != nil {
				return nil, err
			}
			return func(b Batch, sel []int32) []int32 {
				a := l(b, append([]int32(nil), sel...))
				rest := r(b, minus(make([]int32, 0, len(sel)-len(a)), sel, a))
				return union(sel[:0], a, rest)
			}, nil
		}
		if p := w.compileCompare(n); p != nil {
			return p, nil
		}
	case *ast.UnaryNode:
		if n.Operator == "not" || n.Operator == "!" {
			in, err := w.compile(n.Node)
			if err != nil {
				return nil, err
			}
			return func(b Batch, sel []int32) []int32 {
				a := in(b, append([]int32(nil), sel...))
				return minus(sel[:0], sel, a)
			}, nil
		}
	case *ast.IdentifierNode:
		if f, ok := fieldByColumn[n.Value]; ok && f.Kind() == KindBool {
			return boolPred(f, true), nil
		}
	case *ast.BoolNode:
		v := n.Value
		return func(b Batch, sel []int32) []int32 {
			if v {
				return sel
			}
			return sel[:0]
		}, nil
	}
	// Anything else: the VM, on the selected rows.
	prog, err := expr.Compile(n.String(), append(whereOptions(), expr.AsBool())...)
	if err != nil {
		return nil, filterErr("where", "%v", err)
	}
	return w.vmSelect(prog, identFields(n)), nil
}

// minus writes the elements of a (ascending) not in sub (an ascending
// subset of a) to dst; dst may alias a.
func minus(dst, a, sub []int32) []int32 {
	j := 0
	for _, v := range a {
		if j < len(sub) && sub[j] == v {
			j++
			continue
		}
		dst = append(dst, v)
	}
	return dst
}

// union merges two disjoint ascending lists into dst.
func union(dst, a, b []int32) []int32 {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if a[i] < b[j] {
			dst = append(dst, a[i])
			i++
		} else {
			dst = append(dst, b[j])
			j++
		}
	}
	dst = append(dst, a[i:]...)
	return append(dst, b[j:]...)
}

var mirror = map[string]string{"==": "==", "!=": "!=", "<": ">", ">": "<", "<=": ">=", ">=": "<="}

// compileCompare compiles column-vs-constant tests, or returns nil.
func (w *Where) compileCompare(n *ast.BinaryNode) cpred {
	op := n.Operator
	id, ok := n.Left.(*ast.IdentifierNode)
	other := n.Right
	if !ok {
		if _, isMirror := mirror[op]; !isMirror {
			return nil
		}
		if id, ok = n.Right.(*ast.IdentifierNode); !ok {
			return nil
		}
		other = n.Left
		op = mirror[op]
	}
	f, ok := fieldByColumn[id.Value]
	if !ok || identFields(other) != 0 {
		return nil
	}
	c, ok := constValue(other)
	if !ok {
		return nil
	}
	switch f.Kind() {
	case KindString, KindEnum:
		switch op {
		case "in":
			list, ok := c.([]any)
			if !ok {
				return nil
			}
			var vals [][]byte
			for _, v := range list {
				s, ok := v.(string)
				if !ok {
					return nil
				}
				vals = append(vals, []byte(s))
			}
			return strPred(f, func(v []byte) bool {
				for _, x := range vals {
					if bytes.Equal(v, x) {
						return true
					}
				}
				return false
			})
		case "matches":
			s, ok := c.(string)
			if !ok {
				return nil
			}
			re, err := regexp.Compile(s)
			if err != nil {
				return nil
			}
			return strPred(f, re.Match)
		}
		s, ok := c.(string)
		if !ok {
			return nil
		}
		k := []byte(s)
		switch op {
		case "startsWith":
			return strPred(f, func(v []byte) bool { return bytes.HasPrefix(v, k) })
		case "endsWith":
			return strPred(f, func(v []byte) bool { return bytes.HasSuffix(v, k) })
		case "contains":
			return strPred(f, func(v []byte) bool { return bytes.Contains(v, k) })
		}
		if cmp := cmpOp(op); cmp != nil {
			return strPred(f, func(v []byte) bool { return cmp(bytes.Compare(v, k)) })
		}
	case KindInt64, KindTimestamp:
		cmp := cmpOp(op)
		if cmp == nil {
			return nil
		}
		null := int64(0)
		if f.Kind() == KindTimestamp {
			null = nullTimeMS
			t, ok := c.(time.Time)
			if !ok {
				return nil
			}
			return intPred(f, null, t.UnixMilli(), cmp)
		}
		switch v := c.(type) {
		case int:
			return intPred(f, null, int64(v), cmp)
		case int64:
			return intPred(f, null, v, cmp)
		}
		return nil
	case KindBool:
		v, ok := c.(bool)
		if !ok || (op != "==" && op != "!=") {
			return nil
		}
		return boolPred(f, v == (op == "=="))
	}
	return nil
}

func cmpOp(op string) func(int) bool {
	switch op {
	case "==":
		return func(c int) bool { return c == 0 }
	case "!=":
		return func(c int) bool { return c != 0 }
	case "<":
		return func(c int) bool { return c < 0 }
	case "<=":
		return func(c int) bool { return c <= 0 }
	case ">":
		return func(c int) bool { return c > 0 }
	case ">=":
		return func(c int) bool { return c >= 0 }
	}
	return nil
}

// constValue evaluates an expression that names no column.
func constValue(n ast.Node) (any, bool) {
	switch n := n.(type) {
	case *ast.StringNode:
		return n.Value, true
	case *ast.IntegerNode:
		return n.Value, true
	case *ast.BoolNode:
		return n.Value, true
	}
	prog, err := expr.Compile(n.String(), whereOptions()...)
	if err != nil {
		return nil, false
	}
	v, err := expr.Run(prog, WhereRow{})
	if err != nil {
		return nil, false
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice {
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = rv.Index(i).Interface()
		}
		return out, true
	}
	return v, true
}

func strPred(f Field, match func([]byte) bool) cpred {
	return func(b Batch, sel []int32) []int32 {
		col := b.Strings(f)
		out := sel[:0]
		if col == nil {
			if match(nil) {
				return sel
			}
			return out
		}
		offs := col.ValueOffsets()
		data := col.ValueBytes()
		base := offs[0]
		for _, i := range sel {
			// A null's offsets are equal: it reads as "".
			if match(data[offs[i]-base : offs[i+1]-base]) {
				out = append(out, i)
			}
		}
		return out
	}
}

func intPred(f Field, null, k int64, cmp func(int) bool) cpred {
	return func(b Batch, sel []int32) []int32 {
		vals, arr := b.Int64s(f)
		out := sel[:0]
		if arr == nil {
			if cmp(compareInt(null, k)) {
				return sel
			}
			return out
		}
		nulls := arr.NullN() > 0
		for _, i := range sel {
			v := vals[i]
			if nulls && arr.IsNull(int(i)) {
				v = null
			}
			if cmp(compareInt(v, k)) {
				out = append(out, i)
			}
		}
		return out
	}
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func boolPred(f Field, want bool) cpred {
	return func(b Batch, sel []int32) []int32 {
		col := b.Bools(f)
		if col == nil {
			if !want {
				return sel
			}
			return sel[:0]
		}
		return keepBoolStrict(sel, col, want)
	}
}

// vmSelect runs prog row by row on the selected rows.
func (w *Where) vmSelect(prog *vm.Program, needs FieldSet) cpred {
	fields := needs.List()
	return func(b Batch, sel []int32) []int32 {
		m := w.pool.Get().(*whereVM)
		defer w.pool.Put(m)
		m.env = WhereRow{}
		setters := make([]func(i int), 0, len(fields))
		for _, f := range fields {
			if s := rowSetter(&m.env, b, f); s != nil {
				setters = append(setters, s)
			}
		}
		out := sel[:0]
		for _, i := range sel {
			for _, set := range setters {
				set(int(i))
			}
			v, err := m.vm.Run(prog, &m.env)
			if err == nil && v == true {
				out = append(out, i)
			}
		}
		return out
	}
}

// rowSetter returns a function copying row i's value of f into env, or
// nil when the batch lacks f (the env keeps the zero value).
func rowSetter(env *WhereRow, b Batch, f Field) func(i int) {
	rv := reflect.ValueOf(env).Elem()
	fv := rv.Field(int(f)) // WhereRow's fields follow the canonical order
	switch f.Kind() {
	case KindString, KindEnum:
		col := b.Strings(f)
		if col == nil {
			return nil
		}
		p := fv.Addr().Interface().(*string)
		return func(i int) { *p = col.Value(i) }
	case KindBool:
		col := b.Bools(f)
		if col == nil {
			return nil
		}
		p := fv.Addr().Interface().(*bool)
		return func(i int) { *p = col.IsValid(i) && col.Value(i) }
	case KindInt64:
		vals, arr := b.Int64s(f)
		if arr == nil {
			return nil
		}
		p := fv.Addr().Interface().(*int64)
		return func(i int) {
			if arr.IsNull(i) {
				*p = 0
			} else {
				*p = vals[i]
			}
		}
	case KindTimestamp:
		vals, arr := b.Int64s(f)
		if arr == nil {
			return nil
		}
		p := fv.Addr().Interface().(*time.Time)
		return func(i int) {
			if arr.IsNull(i) {
				*p = time.Time{}
			} else {
				*p = time.UnixMilli(vals[i]).UTC()
			}
		}
	}
	return nil
}

// String returns the expression's source.
func (w *Where) String() string { return w.src }

// enumUpper upper-cases the text constants an enum column is compared
// with, in place: enum values are upper-case (the readers normalise
// them), so "glacier" finds GLACIER as --storage-class glacier does.
type enumUpper struct{}

func (enumUpper) Visit(node *ast.Node) {
	b, ok := (*node).(*ast.BinaryNode)
	if !ok {
		return
	}
	switch b.Operator {
	case "==", "!=", "in", "startsWith", "endsWith", "contains":
	default:
		return
	}
	isEnum := func(n ast.Node) bool {
		id, ok := n.(*ast.IdentifierNode)
		if !ok {
			return false
		}
		f, ok := fieldByColumn[id.Value]
		return ok && f.Kind() == KindEnum
	}
	switch {
	case isEnum(b.Left):
		upperStrings(b.Right)
	case isEnum(b.Right) && (b.Operator == "==" || b.Operator == "!="):
		upperStrings(b.Left)
	}
}

func upperStrings(n ast.Node) {
	switch n := n.(type) {
	case *ast.StringNode:
		n.Value = strings.ToUpper(n.Value)
	case *ast.ArrayNode:
		for _, e := range n.Nodes {
			upperStrings(e)
		}
	}
}

var unknownNameRE = regexp.MustCompile(`unknown name ([A-Za-z_][A-Za-z0-9_]*)`)

// unknownNameHint adds to expr's "unknown name X" the column X most
// likely means (any spelling of a column, as LookupField reads it, else
// the nearest name) and the list of columns.
func unknownNameHint(err error) string {
	msg := err.Error()
	m := unknownNameRE.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	names := make([]string, NumFields)
	for i := range names {
		names[i] = Field(i).ColumnName()
	}
	suggest := ""
	if f, ok := LookupField(m[1]); ok {
		suggest = f.ColumnName()
	} else {
		best := len(m[1])/3 + 1
		for _, n := range names {
			if d := editDistance(strings.ToLower(m[1]), n); d < best {
				suggest, best = n, d
			}
		}
	}
	first, rest, _ := strings.Cut(msg, "\n")
	if suggest != "" {
		first += fmt.Sprintf(": did you mean %s?", suggest)
	}
	out := first
	if rest != "" {
		out += "\n" + rest
	}
	return out + "\n | the columns are: " + strings.Join(names, ", ")
}

// editDistance is the Levenshtein distance of two short strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
