package config

import (
	"fmt"
	"reflect"

	"github.com/spf13/pflag"
)

// BindFlags registers on fs one flag per setting of dst, a settings struct or a pointer to one:
// the key "tick.batch_size" becomes the flag --tick.batch-size, typed like the setting, with dst's
// current value as its default and the field's `usage` tag as its help. Call it before fs.Parse,
// and pass fs to Load as Options.Flags; BindFlags does not write to dst.
//
// BindFlags panics, as pflag does on a redefined flag, if a flag of the same name exists or dst is
// not a valid settings struct (see Load); both are programming errors.
func BindFlags(fs *pflag.FlagSet, dst any) {
	set := mustSchema(dst)
	for _, st := range set.list {
		name, usage, cur := flagName(st.key), st.usage, set.current(st)
		switch st.kind {
		case kindString:
			fs.String(name, cur.String(), usage)
		case kindBool:
			fs.Bool(name, cur.Bool(), usage)
		case kindInt:
			fs.Int(name, int(cur.Int()), usage)
		case kindInt64:
			fs.Int64(name, cur.Int(), usage)
		case kindFloat64:
			fs.Float64(name, cur.Float(), usage)
		case kindDuration:
			fs.Duration(name, durationOf(cur), usage)
		case kindStrings:
			fs.StringSlice(name, stringsOf(cur), usage)
		}
		if isSecret(st.key) {
			// Keep a default credential out of --help.
			if f := fs.Lookup(name); f.DefValue != "" && f.DefValue != "[]" {
				f.DefValue = hidden
			}
		}
	}
}

// mustSchema returns the schema of dst, a struct or a pointer to one, or panics.
func mustSchema(dst any) *schema {
	rv := reflect.ValueOf(dst)
	if rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		panic(fmt.Sprintf("config: settings struct: want a struct or a pointer to one, got %T", dst))
	}
	set, err := newSchema(rv)
	if err != nil {
		panic("config: " + err.Error())
	}
	return set
}
