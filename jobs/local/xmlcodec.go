package local

import (
	"encoding/xml"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The S3 Control API speaks REST-XML (docs/formats.md#requests-on-the-wire): every
// member is an element named as the SDK's Go field, lists are <member>
// children, maps are <entry><key/><value/></entry> children, timestamps
// are ISO 8601, booleans true/false. Rather than re-declare every shape,
// the engine decodes requests into the SDK's own input types and encodes
// responses from the SDK's own output types, by reflection: what the SDK
// sends is what it reads back.

// xmlNames are the members whose element name differs from the Go field.
var xmlNames = map[string]string{"SSEKMS": "SSE-KMS", "SSES3": "SSE-S3"}

var timeType = reflect.TypeOf(time.Time{})

func elemName(f reflect.StructField) string {
	if n, ok := xmlNames[f.Name]; ok {
		return n
	}
	return f.Name
}

// decodeXML decodes the body of start (already read from d) into v, which
// must be addressable. Unknown elements are skipped; union (interface)
// members are refused.
func decodeXML(d *xml.Decoder, start xml.StartElement, v reflect.Value) error {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return decodeXML(d, start, v.Elem())
	case reflect.Interface:
		return fmt.Errorf("%s: not supported by the local engine", start.Name.Local)
	case reflect.Struct:
		if v.Type() == timeType {
			s, err := text(d)
			if err != nil {
				return err
			}
			t, err := parseTime(s)
			if err != nil {
				return fmt.Errorf("%s: %v", start.Name.Local, err)
			}
			v.Set(reflect.ValueOf(t))
			return nil
		}
		t := v.Type()
		for {
			tok, err := d.Token()
			if err != nil {
				return err
			}
			switch tok := tok.(type) {
			case xml.StartElement:
				found := false
				for i := 0; i < t.NumField(); i++ {
					f := t.Field(i)
					if f.IsExported() && elemName(f) == tok.Name.Local {
						if err := decodeXML(d, tok, v.Field(i)); err != nil {
							return fmt.Errorf("%s.%w", start.Name.Local, err)
						}
						found = true
						break
					}
				}
				if !found {
					if err := d.Skip(); err != nil {
						return err
					}
				}
			case xml.EndElement:
				return nil
			}
		}
	case reflect.Slice:
		if v.IsNil() {
			v.Set(reflect.MakeSlice(v.Type(), 0, 0)) // an empty list is not an absent one
		}
		for {
			tok, err := d.Token()
			if err != nil {
				return err
			}
			switch tok := tok.(type) {
			case xml.StartElement:
				if tok.Name.Local != "member" {
					if err := d.Skip(); err != nil {
						return err
					}
					continue
				}
				el := reflect.New(v.Type().Elem()).Elem()
				if err := decodeXML(d, tok, el); err != nil {
					return fmt.Errorf("%s[%d]: %w", start.Name.Local, v.Len(), err)
				}
				v.Set(reflect.Append(v, el))
			case xml.EndElement:
				return nil
			}
		}
	case reflect.Map:
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		for {
			tok, err := d.Token()
			if err != nil {
				return err
			}
			switch tok := tok.(type) {
			case xml.StartElement:
				if tok.Name.Local != "entry" {
					if err := d.Skip(); err != nil {
						return err
					}
					continue
				}
				k := reflect.New(v.Type().Key()).Elem()
				val := reflect.New(v.Type().Elem()).Elem()
				if err := decodeEntry(d, k, val); err != nil {
					return fmt.Errorf("%s: %w", start.Name.Local, err)
				}
				v.SetMapIndex(k, val)
			case xml.EndElement:
				return nil
			}
		}
	}
	s, err := text(d)
	if err != nil {
		return err
	}
	s = strings.TrimSpace(s)
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%s: %q is not true or false", start.Name.Local, s)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("%s: %q is not an integer of %d bits", start.Name.Local, s, v.Type().Bits())
		}
		v.SetInt(n)
	default:
		return fmt.Errorf("%s: unsupported kind %s", start.Name.Local, v.Kind())
	}
	return nil
}

func decodeEntry(d *xml.Decoder, k, val reflect.Value) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			switch tok.Name.Local {
			case "key":
				err = decodeXML(d, tok, k)
			case "value":
				err = decodeXML(d, tok, val)
			default:
				err = d.Skip()
			}
			if err != nil {
				return err
			}
		case xml.EndElement:
			return nil
		}
	}
}

// text reads character data up to the end of the current element.
func text(d *xml.Decoder) (string, error) {
	var b strings.Builder
	for {
		tok, err := d.Token()
		if err != nil {
			return "", err
		}
		switch tok := tok.(type) {
		case xml.CharData:
			b.Write(tok)
		case xml.StartElement:
			if err := d.Skip(); err != nil {
				return "", err
			}
		case xml.EndElement:
			return b.String(), nil
		}
	}
}

func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an ISO 8601 timestamp", s)
}

// formatTime is smithy's date-time format: ISO 8601 UTC with milliseconds.
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// encodeXML writes v as element name. Nil pointers, nil slices and maps,
// and zero non-pointer scalars (unset enums) are left out.
func encodeXML(e *xml.Encoder, name string, v reflect.Value) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return encodeValue(e, name, v.Elem()) // set: written even when zero
	case reflect.Slice, reflect.Map:
		if v.IsNil() {
			return nil
		}
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int32, reflect.Int64:
		// reached only for non-pointer fields: zero means unset
		if v.IsZero() {
			return nil
		}
	}
	return encodeValue(e, name, v)
}

func encodeValue(e *xml.Encoder, name string, v reflect.Value) error {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	start := xml.StartElement{Name: xml.Name{Local: name}}
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == timeType {
			if err := e.EncodeToken(xml.CharData(formatTime(v.Interface().(time.Time)))); err != nil {
				return err
			}
			break
		}
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			if err := encodeXML(e, elemName(f), v.Field(i)); err != nil {
				return err
			}
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			if err := encodeValue(e, "member", v.Index(i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(a, b int) bool { return fmt.Sprint(keys[a]) < fmt.Sprint(keys[b]) })
		for _, k := range keys {
			if err := e.EncodeToken(xml.StartElement{Name: xml.Name{Local: "entry"}}); err != nil {
				return err
			}
			if err := encodeValue(e, "key", k); err != nil {
				return err
			}
			if err := encodeValue(e, "value", v.MapIndex(k)); err != nil {
				return err
			}
			if err := e.EncodeToken(xml.EndElement{Name: xml.Name{Local: "entry"}}); err != nil {
				return err
			}
		}
	default:
		if err := e.EncodeToken(xml.CharData(fmt.Sprint(v.Interface()))); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}
