package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// convert turns v, as read from a file, a variable or a flag, into the Go value of s: a string,
// bool, int, int64, float64, time.Duration or []string. Strings are parsed; other values must
// already have the right type, except that whole numbers may set a float and a float with no
// fraction may set an int (JSON has only one number type). The error quotes v only when that
// is safe (see show).
func (s *setting) convert(v any) (any, error) {
	if n, ok := v.(json.Number); ok {
		v = number(n)
	}
	str, isString := v.(string)
	if isString && s.kind != kindString {
		str = strings.TrimSpace(str)
	}
	switch s.kind {
	case kindString:
		if isString {
			return str, nil
		}
		return nil, fmt.Errorf("want a string, got %s (quote it)", s.got(v))
	case kindBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
		if isString {
			if b, err := strconv.ParseBool(str); err == nil {
				return b, nil
			}
			return nil, fmt.Errorf("invalid bool %s (use true or false)", s.show(str))
		}
	case kindInt, kindInt64:
		if isString {
			n, err := strconv.ParseInt(str, 10, 64)
			if err == nil && !s.fits(n) {
				err = strconv.ErrRange
			}
			if errors.Is(err, strconv.ErrRange) {
				return nil, fmt.Errorf("invalid %s %s (out of range)", s.kind, s.show(str))
			} else if err != nil {
				return nil, fmt.Errorf("invalid %s %s", s.kind, s.show(str))
			}
			return s.intValue(n), nil
		}
		if n, ok := wholeNumber(v); ok {
			if !s.fits(n) {
				return nil, fmt.Errorf("invalid %s %s (out of range)", s.kind, s.got(v))
			}
			return s.intValue(n), nil
		}
	case kindFloat64:
		if isString {
			f, err := strconv.ParseFloat(str, 64)
			if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				return nil, fmt.Errorf("invalid float64 %s", s.show(str))
			}
			return f, nil
		}
		if f, ok := v.(float64); ok {
			return f, nil
		}
		if n, ok := wholeNumber(v); ok {
			return float64(n), nil
		}
	case kindDuration:
		if d, ok := v.(time.Duration); ok {
			return d, nil
		}
		if isString {
			d, err := time.ParseDuration(str)
			if err != nil {
				return nil, fmt.Errorf("invalid duration %s (use a duration like 30s)", s.show(str))
			}
			return d, nil
		}
		// A bare number in a file would otherwise be nanoseconds, which is never what was meant.
		if n, ok := wholeNumber(v); ok && n == 0 {
			return time.Duration(0), nil
		}
		if isNumber(v) {
			return nil, fmt.Errorf("want a duration like 30s, got %s", s.got(v))
		}
	case kindStrings:
		switch v := v.(type) {
		case string:
			return splitList(strings.Split(v, ",")), nil
		case []string:
			return splitList(v), nil
		case []any:
			list := make([]string, 0, len(v))
			for i, e := range v {
				es, ok := e.(string)
				if !ok {
					return nil, fmt.Errorf("item %d: want a string, got %s (quote it)", i, s.got(e))
				}
				list = append(list, es)
			}
			return splitList(list), nil
		}
	}
	return nil, fmt.Errorf("want %s, got %s", s.kind, s.got(v))
}

// fits reports whether n fits the Go type of s.
func (s *setting) fits(n int64) bool {
	return s.kind != kindInt || int64(int(n)) == n
}

// intValue returns n as the Go type of s.
func (s *setting) intValue(n int64) any {
	if s.kind == kindInt {
		return int(n)
	}
	return n
}

// splitList trims the items of a list and drops the empty ones, so "a, b," is [a b].
func splitList(items []string) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		if it = strings.TrimSpace(it); it != "" {
			out = append(out, it)
		}
	}
	return out
}

// number converts a JSON number to an int64, or a float64 if it is not a whole number.
func number(n json.Number) any {
	if i, err := n.Int64(); err == nil {
		return i
	}
	if f, err := n.Float64(); err == nil {
		return f
	}
	return n.String()
}

// wholeNumber returns v as an int64 if it is an integer, or a float with no fraction, that fits.
func wholeNumber(v any) (int64, bool) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if _, isDuration := v.(time.Duration); isDuration {
			return 0, false
		}
		return rv.Int(), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if rv.Uint() > math.MaxInt64 {
			return 0, false
		}
		return int64(rv.Uint()), true
	case reflect.Float32, reflect.Float64:
		f := rv.Float()
		if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
			return 0, false
		}
		return int64(f), true
	}
	return 0, false
}

// isNumber reports whether v is of a numeric kind.
func isNumber(v any) bool {
	switch reflect.ValueOf(v).Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// got names the type of v for an error, with the value itself when s.show allows it:
// `the number 30`, `a list`.
func (s *setting) got(v any) string {
	switch v := v.(type) {
	case string:
		return "the string " + s.show(v)
	case bool:
		return "a bool"
	case []any, []string:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	if isNumber(v) {
		if isSecret(s.key) {
			return "a number"
		}
		return "the number " + fmt.Sprint(v)
	}
	return fmt.Sprintf("a %T", v)
}

// typeOf names the type of a value found where a section was expected.
func typeOf(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a bool"
	case []any:
		return "a list"
	}
	if isNumber(v) {
		return "a number"
	}
	return fmt.Sprintf("a %T", v)
}

// hidden stands for a value that must not be shown.
const hidden = "(value hidden)"

// maxShown bounds how much of a bad value an error quotes.
const maxShown = 40

// show quotes v for an error message about s: nothing of it when the key looks secret or the
// value looks like a connection string with a password, the URL with its password masked, and
// otherwise at most maxShown characters.
func (s *setting) show(v string) string {
	if isSecret(s.key) {
		return hidden
	}
	if r := redact(v); r != hidden {
		return strconv.Quote(truncate(r))
	}
	return hidden
}

// redact masks the password of a URL and hides key=value connection strings with a password.
func redact(v string) string {
	if strings.Contains(v, "@") {
		u, err := url.Parse(v)
		if err != nil {
			return hidden // an unparsable URL may still hold a password
		}
		if u.User != nil {
			return u.Redacted()
		}
	}
	if strings.Contains(strings.ToLower(v), "password") {
		return hidden
	}
	return v
}

// truncate shortens v to maxShown runes.
func truncate(v string) string {
	if utf8.RuneCountInString(v) <= maxShown {
		return v
	}
	return string([]rune(v)[:maxShown]) + "…"
}
