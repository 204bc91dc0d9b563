package audit

import (
	"bytes"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// tampering changes a copy of a sealed log as someone without the key could, and returns the
// seq of the first row it touched: the verifier must stop there.
type tampering func(t *rapid.T, log []*Record) (tampered []*Record, first int64)

// TestTamperingIsDetected seals random logs, checks that they verify, then tampers with each in
// one random way and checks that verification stops exactly at the first row touched.
func TestTamperingIsDetected(t *testing.T) {
	t.Parallel()
	k := testKeys(t, "property", "k1")
	forger := testKeys(t, "attacker", "k1")
	stranger := testKeys(t, "attacker", "mallory")

	forge := func(t *rapid.T, with *Keys, prev *Record) *Record {
		r := drawRecord(t)
		with.Seal(r, prev)
		return r
	}
	before := func(log []*Record, i int) *Record {
		if i == 0 {
			return nil
		}
		return log[i-1]
	}
	row := func(t *rapid.T, log []*Record) int { return rapid.IntRange(0, len(log)-1).Draw(t, "row") }

	tamperings := map[string]tampering{
		"AlterField": func(t *rapid.T, log []*Record) ([]*Record, int64) {
			i := row(t, log)
			field := rapid.SampledFrom(recordFields()).Draw(t, "field")
			extra := rapid.SliceOfN(rapid.Byte(), 1, 8).Draw(t, "extra")
			delta := rapid.Int64Range(-1e6, 1e6).Filter(func(d int64) bool { return d != 0 }).Draw(t, "delta")
			tamperField(t, log[i], field, extra, delta)
			return log, int64(i + 1)
		},
		"ShiftBytesBetweenFields": func(t *rapid.T, log []*Record) ([]*Record, int64) {
			i := row(t, log)
			joined := log[i].ActorID + log[i].ActorName
			if joined == "" {
				log[i].ActorID = "x"
				return log, int64(i + 1)
			}
			cut := rapid.IntRange(0, len(joined)).Filter(func(c int) bool { return c != len(log[i].ActorID) }).Draw(t, "cut")
			log[i].ActorID, log[i].ActorName = joined[:cut], joined[cut:]
			return log, int64(i + 1)
		},
		"DeleteRow": func(t *rapid.T, log []*Record) ([]*Record, int64) {
			i := row(t, log)
			return slices.Delete(log, i, i+1), int64(i + 1)
		},
		"DeleteRowAndRechain": func(t *rapid.T, log []*Record) ([]*Record, int64) {
			i := row(t, log)
			log = slices.Delete(log, i, i+1)
			for j := i; j < len(log); j++ {
				log[j].Seq, log[j].PrevMAC = int64(j+1), nil
				if j > 0 {
					log[j].PrevMAC = bytes.Clone(log[j-1].MAC)
				}
			}
			return log, int64(i + 1)
		},
		"SwapRows": func(t *rapid.T, log []*Record) ([]*Record, int64) {
			i := rapid.IntRange(0, len(log)-2).Draw(t, "first")
			j := rapid.IntRange(i+1, len(log)-1).Draw(t, "second")
			if rapid.Bool().Draw(t, "keep_seq") {
				log[i].Seq, log[j].Seq = log[j].Seq, log[i].Seq
			}
			log[i], log[j] = log[j], log[i]
			return log, int64(i + 1)
		},
		"InsertForgedRow": func(t *rapid.T, log []*Record) ([]*Record, int64) {
			at := rapid.IntRange(0, len(log)).Draw(t, "at")
			with := rapid.SampledFrom([]*Keys{forger, stranger}).Draw(t, "key")
			return slices.Insert(log, at, forge(t, with, before(log, at))), int64(at + 1)
		},
		"ReplaceWithForgedRow": func(t *rapid.T, log []*Record) ([]*Record, int64) {
			i := row(t, log)
			with := rapid.SampledFrom([]*Keys{forger, stranger}).Draw(t, "key")
			log[i] = forge(t, with, before(log, i))
			if i+1 < len(log) {
				log[i+1].PrevMAC = bytes.Clone(log[i].MAC)
			}
			return log, int64(i + 1)
		},
		"CutTail": func(t *rapid.T, log []*Record) ([]*Record, int64) {
			keep := rapid.IntRange(0, len(log)-1).Draw(t, "keep")
			return log[:keep], int64(keep + 1)
		},
	}
	kinds := make([]string, 0, len(tamperings))
	for name := range tamperings {
		kinds = append(kinds, name)
	}
	slices.Sort(kinds)

	rapid.Check(t, func(t *rapid.T) {
		log := make([]*Record, rapid.IntRange(1, 30).Draw(t, "rows"))
		for i := range log {
			log[i] = drawRecord(t)
		}
		sealChain(k, nil, log...)
		anchor := head(log)

		rep, err := verify(k.Verifier(&anchor), log)
		require.NoError(t, err, "an untouched log verifies")
		require.Equal(t, Report{Rows: int64(len(log)), Head: anchor}, rep)

		candidates := kinds
		if len(log) < 2 {
			candidates = slices.DeleteFunc(slices.Clone(kinds), func(k string) bool { return k == "SwapRows" })
		}
		kind := rapid.SampledFrom(candidates).Draw(t, "tampering")
		tampered, first := tamperings[kind](t, cloneRows(log))
		_, err = verify(k.Verifier(&anchor), tampered)
		var b *Broken
		require.ErrorAs(t, err, &b, "%s went unnoticed", kind)
		require.Equal(t, first, b.Seq, "%s: %s", kind, b.Reason)
	})
}
