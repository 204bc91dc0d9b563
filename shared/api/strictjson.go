package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"
)

// duplicateKey returns the path of the first object key that appears twice in the JSON
// document b ("" when none, or when b is not JSON: the decoder reports that). Go's decoder
// keeps the last of two, so {"url": "a", "url": "b"} would pass a review that reads the first.
func duplicateKey(b []byte) string {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	path, _ := dupIn(dec, "")
	return path
}

// dupIn reads one value from dec; it returns the path of a duplicate key inside it.
func dupIn(dec *json.Decoder, at string) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return "", nil
	}
	switch d {
	case '{':
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return "", err
			}
			k, _ := kt.(string)
			field := join(at, k)
			if seen[k] {
				return field, nil
			}
			seen[k] = true
			if p, err := dupIn(dec, field); p != "" || err != nil {
				return p, err
			}
		}
	case '[':
		for i := 0; dec.More(); i++ {
			if p, err := dupIn(dec, at+"["+strconv.Itoa(i)+"]"); p != "" || err != nil {
				return p, err
			}
		}
	}
	_, err = dec.Token() // the closing delimiter
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return "", err
}

func join(at, k string) string {
	if at == "" {
		return k
	}
	return at + "." + k
}

// nulField returns the JSON path of the first string in v that holds a NUL byte ("" when
// none): PostgreSQL's text cannot store one, so it is refused before it gets there.
func nulField(v any) string {
	return nulIn(reflect.ValueOf(v), "")
}

func nulIn(v reflect.Value, at string) string {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return ""
		}
		return nulIn(v.Elem(), at)
	case reflect.String:
		if strings.IndexByte(v.String(), 0) >= 0 {
			return at
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			field := at
			if !f.Anonymous || name != "" {
				field = join(at, cmpOr(name, f.Name))
			}
			if p := nulIn(v.Field(i), field); p != "" {
				return p
			}
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			k := iter.Key()
			key := ""
			if k.Kind() == reflect.String {
				key = k.String()
				if strings.IndexByte(key, 0) >= 0 {
					return at
				}
			}
			if p := nulIn(iter.Value(), join(at, key)); p != "" {
				return p
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			return ""
		}
		for i := range v.Len() {
			if p := nulIn(v.Index(i), at+"["+strconv.Itoa(i)+"]"); p != "" {
				return p
			}
		}
	}
	return ""
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
