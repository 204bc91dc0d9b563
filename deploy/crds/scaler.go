package crds

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/vecron/vecron/deploy/crds/provenance"
)

// fromEnvSuffix is KEDA's: a metadata key <name>FromEnv names an env variable of the scale
// target that holds the value of <name>, for parameters read from resolvedEnv.
const fromEnvSuffix = "FromEnv"

// checkTriggers checks each trigger of a ScaledObject's spec whose type has its keys in
// SOURCES: every metadata key must be one the scaler reads, deprecated keys are refused, and a
// key the scaler requires must be given somewhere it looks for it.
func (s *Set) checkTriggers(inst any) []FieldError {
	obj, _ := inst.(map[string]any)
	spec, _ := obj["spec"].(map[string]any)
	triggers, _ := spec["triggers"].([]any)
	var out []FieldError
	for i, t := range triggers {
		trig, _ := t.(map[string]any)
		typ, _ := trig["type"].(string)
		sc, ok := s.scalers[typ]
		if !ok {
			continue
		}
		md, _ := trig["metadata"].(map[string]any)
		_, hasAuth := trig["authenticationRef"]
		at := fmt.Sprintf("spec.triggers[%d].metadata", i)
		out = append(out, checkMetadata(sc, md, hasAuth, at)...)
	}
	return out
}

func checkMetadata(sc provenance.Scaler, md map[string]any, hasAuth bool, at string) []FieldError {
	var out []FieldError
	known := map[string]provenance.Param{}
	for _, p := range sc.Params {
		for _, n := range p.Names {
			known[n] = p
		}
	}
	for _, k := range slices.Sorted(maps.Keys(md)) {
		p, ok := known[k]
		if !ok {
			if base, env := strings.CutSuffix(k, fromEnvSuffix); env {
				if bp, ok := known[base]; ok && slices.Contains(bp.Order, provenance.OrderResolvedEnv) {
					continue
				}
			}
			out = append(out, FieldError{Path: join(at, k), Reason: fmt.Sprintf(
				"unknown key for the %s scaler (KEDA %s reads: %s)", sc.Type, sc.Version, strings.Join(keys(sc), ", "))})
			continue
		}
		if !slices.Contains(p.Order, provenance.OrderTriggerMetadata) {
			out = append(out, FieldError{Path: join(at, k), Reason: fmt.Sprintf(
				"the %s scaler reads this key from %s only, not from the trigger's metadata", sc.Type, strings.Join(p.Order, " and "))})
			continue
		}
		if p.Deprecated != "" {
			out = append(out, FieldError{Path: join(at, k), Reason: "deprecated: " + p.Deprecated})
		}
	}
	for _, p := range sc.Params {
		if p.Required() && !given(p, md, hasAuth) {
			out = append(out, FieldError{Path: join(at, p.Names[0]), Reason: fmt.Sprintf(
				"required by the %s scaler (in the metadata%s)", sc.Type, elsewhere(p))})
		}
	}
	return out
}

// given reports whether p is set in a place KEDA looks: the metadata itself, a <name>FromEnv key
// for resolvedEnv, or a TriggerAuthentication (which the check cannot see, so any
// authenticationRef counts) for authParams.
func given(p provenance.Param, md map[string]any, hasAuth bool) bool {
	for _, n := range p.Names {
		if v, ok := md[n].(string); ok && strings.TrimSpace(v) != "" && slices.Contains(p.Order, provenance.OrderTriggerMetadata) {
			return true
		}
		if _, ok := md[n+fromEnvSuffix]; ok && slices.Contains(p.Order, provenance.OrderResolvedEnv) {
			return true
		}
	}
	return hasAuth && slices.Contains(p.Order, provenance.OrderAuthParams)
}

func elsewhere(p provenance.Param) string {
	var alt []string
	if slices.Contains(p.Order, provenance.OrderResolvedEnv) {
		alt = append(alt, p.Names[0]+fromEnvSuffix)
	}
	if slices.Contains(p.Order, provenance.OrderAuthParams) {
		alt = append(alt, "a TriggerAuthentication")
	}
	if len(alt) == 0 {
		return ""
	}
	return ", or " + strings.Join(alt, " or ")
}

func keys(sc provenance.Scaler) []string {
	var out []string
	for _, p := range sc.Params {
		if slices.Contains(p.Order, provenance.OrderTriggerMetadata) {
			out = append(out, p.Names...)
		}
	}
	slices.Sort(out)
	return out
}
