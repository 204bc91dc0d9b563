package main

import (
	"path"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/deploy/crds/provenance"
)

// scalerSrc is shaped like a KEDA scaler file: a metadata struct with keda tags, a nested
// struct, fields KEDA sets itself (no tag), and a struct that is not the one asked for.
const scalerSrc = `package scalers

type natsJetStreamMetadata struct {
	Account      string ` + "`keda:\"name=account, order=authParams;triggerMetadata, optional\"`" + `
	Stream       string ` + "`keda:\"name=stream, order=triggerMetadata\"`" + `
	LagThreshold int64  ` + "`keda:\"name=lagThreshold, order=triggerMetadata, default=10\"`" + `
	Mode         string ` + "`keda:\"name=mode;modus, order=triggerMetadata;resolvedEnv, enum=a;b, optional=false\"`" + `
	Old          string ` + "`keda:\"name=old, order=triggerMetadata, deprecated=use mode instead\"`" + `
	Empty        string ` + "`keda:\"name=empty, order=triggerMetadata, default=\"`" + `
	TLS          *tlsMeta ` + "`keda:\"optional\"`" + `
	triggerIndex int
	json         string ` + "`json:\"x\"`" + `
}

type tlsMeta struct {
	CA string ` + "`keda:\"name=ca, order=authParams\"`" + `
}

type other struct {
	X string ` + "`keda:\"name=x, order=triggerMetadata\"`" + `
}
`

func TestScalerParams(t *testing.T) {
	t.Parallel()
	got, err := scalerParams([]byte(scalerSrc), "natsJetStreamMetadata")
	require.NoError(t, err)
	tm, ap, re := provenance.OrderTriggerMetadata, provenance.OrderAuthParams, provenance.OrderResolvedEnv
	require.Equal(t, []provenance.Param{
		{Names: []string{"account"}, Order: []string{ap, tm}, Optional: true},
		{Names: []string{"stream"}, Order: []string{tm}},
		{Names: []string{"lagThreshold"}, Order: []string{tm}, Default: "10", HasDefault: true},
		{Names: []string{"mode", "modus"}, Order: []string{tm, re}},
		{Names: []string{"old"}, Order: []string{tm}, Deprecated: "use mode instead"},
		{Names: []string{"empty"}, Order: []string{tm}},
		{Names: []string{"ca"}, Order: []string{ap}, Optional: true},
	}, got, "nested struct fields inherit optional; an empty default is none, as in KEDA")
}

func TestScalerParamsRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, src, structName, want string
	}{
		{"MissingStruct", scalerSrc, "natsMetadata", "struct natsMetadata not found"},
		{"UnknownOption", "package s\ntype m struct {\n\tA string `keda:\"name=a, order=triggerMetadata, requried\"`\n}\n", "m", `unknown tag option "requried"`},
		{"UnknownOrder", "package s\ntype m struct {\n\tA string `keda:\"name=a, order=metadata\"`\n}\n", "m", `unknown order "metadata"`},
		{"NoOrder", "package s\ntype m struct {\n\tA string `keda:\"name=a\"`\n}\n", "m", "m.A: no order"},
		{"NoTags", "package s\ntype m struct {\n\tA string\n}\n", "m", "no field has a keda tag"},
		{"NotGo", "not go", "m", "expected 'package'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := scalerParams([]byte(tc.src), tc.structName)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestTableNamesEachFileOnce(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, src := range sources() {
		for _, f := range src.files {
			require.False(t, seen[path.Base(f)], "two files would be copied to %s", path.Base(f))
			seen[path.Base(f)] = true
		}
	}
	for _, f := range handWritten() {
		require.False(t, seen[f], f)
	}
}
