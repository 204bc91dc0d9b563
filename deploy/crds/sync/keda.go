package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"strconv"
	"strings"

	"github.com/vecron/vecron/deploy/crds/provenance"
)

// scalerParams reads the parameters of a KEDA scaler from the `keda:"…"` tags of its metadata
// struct, as KEDA's scalersconfig.paramsFromTag reads them at run time: name=a;b, order=…,
// optional[=bool], default=…, deprecated[=…]; the other options (enum, range …) constrain
// values, not keys, and are accepted. A field without a name is a nested struct of the same file
// whose parameters count too. It returns an error for a tag option KEDA would refuse, or a
// struct it cannot find.
func scalerParams(src []byte, structName string) ([]provenance.Param, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "scaler.go", src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	structs := map[string]*ast.StructType{}
	ast.Inspect(f, func(n ast.Node) bool {
		if ts, ok := n.(*ast.TypeSpec); ok {
			if st, ok := ts.Type.(*ast.StructType); ok {
				structs[ts.Name.Name] = st
			}
		}
		return true
	})
	params, err := structParams(structs, structName, false, map[string]bool{})
	if err != nil {
		return nil, err
	}
	if len(params) == 0 {
		return nil, fmt.Errorf("%s: no field has a keda tag", structName)
	}
	return params, nil
}

func structParams(structs map[string]*ast.StructType, name string, parentOptional bool, seen map[string]bool) ([]provenance.Param, error) {
	st, ok := structs[name]
	if !ok {
		return nil, fmt.Errorf("struct %s not found in the file", name)
	}
	if seen[name] {
		return nil, fmt.Errorf("struct %s nests itself", name)
	}
	seen[name] = true
	defer delete(seen, name)
	var out []provenance.Param
	for _, field := range st.Fields.List {
		if field.Tag == nil {
			continue
		}
		raw, err := strconv.Unquote(field.Tag.Value)
		if err != nil {
			return nil, err
		}
		tag, ok := reflect.StructTag(raw).Lookup("keda")
		if !ok {
			continue
		}
		p, err := parseTag(tag)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", name, fieldName(field), err)
		}
		p.Optional = p.Optional || parentOptional
		if len(p.Names) > 0 {
			if len(p.Order) == 0 {
				return nil, fmt.Errorf("%s.%s: no order (KEDA would not find it anywhere)", name, fieldName(field))
			}
			out = append(out, p)
			continue
		}
		nested, err := structParams(structs, typeName(field.Type), p.Optional, seen)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", name, fieldName(field), err)
		}
		out = append(out, nested...)
	}
	return out, nil
}

// parseTag follows KEDA's paramsFromTag: options split at ",", key and value at "=", lists
// at ";". The only difference is that an unknown option here fails the sync, as it fails KEDA.
func parseTag(tag string) (provenance.Param, error) {
	var p provenance.Param
	for _, opt := range strings.Split(tag, ",") {
		kv := strings.Split(opt, "=")
		key := strings.TrimSpace(kv[0])
		val := ""
		if len(kv) > 1 {
			val = strings.TrimSpace(kv[1])
		}
		switch key {
		case "":
		case "optional":
			p.Optional = true
			if len(kv) > 1 {
				b, err := strconv.ParseBool(val)
				if err != nil {
					return p, fmt.Errorf("optional=%q: %w", val, err)
				}
				p.Optional = b
			}
		case "order":
			for _, o := range strings.Split(kv[1], ";") {
				o = strings.TrimSpace(o)
				switch o {
				case provenance.OrderTriggerMetadata, provenance.OrderAuthParams, provenance.OrderResolvedEnv:
					p.Order = append(p.Order, o)
				default:
					return p, fmt.Errorf("unknown order %q", o)
				}
			}
		case "name":
			if val != "" {
				p.Names = strings.Split(val, ";")
			}
		case "default":
			// KEDA treats an empty default as none.
			p.Default, p.HasDefault = val, val != ""
		case "deprecated":
			p.Deprecated = "deprecated"
			if val != "" {
				p.Deprecated = val
			}
		case "deprecatedAnnounce", "enum", "exclusiveSet", "range", "separator":
		default:
			return p, fmt.Errorf("unknown tag option %q in %q", key, tag)
		}
	}
	return p, nil
}

func fieldName(f *ast.Field) string {
	if len(f.Names) > 0 {
		return f.Names[0].Name
	}
	return typeName(f.Type)
}

// typeName is the struct a field's type names, through pointers.
func typeName(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.Ident:
		return t.Name
	case *ast.StarExpr:
		return typeName(t.X)
	}
	return fmt.Sprintf("%T", e)
}
