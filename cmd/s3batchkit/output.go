package main

import (
	"encoding/json"
	"io"
	"reflect"
)

// Machine output: every command that produces a result prints it with
// --json as one JSON document (status --watch: one per refresh), with
// snake_case keys and [] for an empty list, never null. writeJSON is the
// one way they are written.

// writeJSON writes v as indented JSON (HTML characters not escaped) with
// a final newline, after replacing its nil slices and maps by empty ones.
// v is modified in place where it can be (pass a pointer).
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(fillEmpty(v))
}

// writeJSONLine is writeJSON on one line (status --watch).
func writeJSONLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(fillEmpty(v))
}

// fillEmpty returns v with every nil slice and map it holds, at any
// depth, replaced by an empty one, so that they encode as [] and {}.
// Values reached through pointers are changed in place; the rest is
// copied.
func fillEmpty(v any) any {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return v
	}
	cp := reflect.New(rv.Type()).Elem()
	cp.Set(rv)
	fill(cp, 0)
	return cp.Interface()
}

// fill makes the nil slices and maps under the settable value v empty.
func fill(v reflect.Value, depth int) {
	if depth > 64 {
		return // a cycle: nothing this package prints has one
	}
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			fill(v.Elem(), depth+1)
		}
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		e := v.Elem()
		cp := reflect.New(e.Type()).Elem()
		cp.Set(e)
		fill(cp, depth+1)
		if v.CanSet() {
			v.Set(cp)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if f := v.Field(i); f.CanSet() {
				fill(f, depth+1)
			}
		}
	case reflect.Slice:
		if v.IsNil() {
			if v.CanSet() && v.Type().Elem().Kind() != reflect.Uint8 { // []byte encodes as a string
				v.Set(reflect.MakeSlice(v.Type(), 0, 0))
			}
			return
		}
		for i := 0; i < v.Len(); i++ {
			fill(v.Index(i), depth+1)
		}
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			fill(v.Index(i), depth+1)
		}
	case reflect.Map:
		if v.IsNil() {
			if v.CanSet() {
				v.Set(reflect.MakeMap(v.Type()))
			}
			return
		}
		iter := v.MapRange()
		for iter.Next() {
			e := iter.Value()
			cp := reflect.New(e.Type()).Elem()
			cp.Set(e)
			fill(cp, depth+1)
			v.SetMapIndex(iter.Key(), cp)
		}
	}
}
