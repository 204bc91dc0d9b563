package audit

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/secret"
)

// testKeys returns keys derived from seed and each id, so a failing case replays with the same
// MACs; two seeds give two different keys under the same id, as an attacker's would be.
func testKeys(t testing.TB, seed string, ids ...string) *Keys {
	t.Helper()
	raw := make([]secret.RawKey, 0, len(ids))
	for _, id := range ids {
		k := sha256.Sum256([]byte(seed + "/" + id))
		raw = append(raw, secret.RawKey{ID: id, Raw: k[:]})
	}
	k, err := NewKeys(raw)
	require.NoError(t, err)
	return k
}

// sampleRecord returns a row whose fields are all set and differ from row to row.
func sampleRecord(i int) *Record {
	return &Record{
		Time:       time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC).Add(time.Duration(i) * 1500 * time.Microsecond),
		ActorID:    fmt.Sprintf("user-%d", i),
		ActorName:  "Alice Martin",
		ActorKind:  "user",
		AuthMode:   "oidc",
		Action:     "job.update",
		ObjectKind: "job",
		ObjectID:   fmt.Sprintf("job-%d", i),
		Namespace:  "payments",
		Before:     []byte(fmt.Sprintf(`{"enabled":true,"n":%d}`, i)),
		After:      []byte(fmt.Sprintf(`{"enabled":false,"n":%d}`, i)),
		SourceIP:   "203.0.113.7",
		UserAgent:  "curl/8.7.1",
		RequestID:  fmt.Sprintf("req-%d", i),
	}
}

// sealChain seals rows after prev (nil to start the log) and returns them.
func sealChain(k *Keys, prev *Record, rows ...*Record) []*Record {
	for _, r := range rows {
		k.Seal(r, prev)
		prev = r
	}
	return rows
}

// sampleChain returns a sealed log of n sample rows.
func sampleChain(k *Keys, n int) []*Record {
	rows := make([]*Record, n)
	for i := range rows {
		rows[i] = sampleRecord(i)
	}
	return sealChain(k, nil, rows...)
}

// verify feeds every row to a verifier and returns what Finish reports.
func verify(v *Verifier, rows []*Record) (Report, error) {
	for _, r := range rows {
		if err := v.Next(r); err != nil {
			break
		}
	}
	return v.Finish()
}

// head returns the anchor of the log's last row.
func head(rows []*Record) Anchor {
	if len(rows) == 0 {
		return Anchor{}
	}
	last := rows[len(rows)-1]
	return Anchor{Seq: last.Seq, MAC: bytes.Clone(last.MAC)}
}

// cloneRows deep-copies a log, so an attack on the copy leaves the original intact.
func cloneRows(rows []*Record) []*Record {
	out := make([]*Record, len(rows))
	for i, r := range rows {
		c := *r
		c.Before, c.After = bytes.Clone(r.Before), bytes.Clone(r.After)
		c.PrevMAC, c.MAC = bytes.Clone(r.PrevMAC), bytes.Clone(r.MAC)
		out[i] = &c
	}
	return out
}

// recordFields names every field of Record, read from the type so that a field added later is
// tampered with by the tests without anyone listing it.
func recordFields() []string {
	t := reflect.TypeFor[Record]()
	names := make([]string, t.NumField())
	for i := range names {
		names[i] = t.Field(i).Name
	}
	return names
}

// tamperField changes one field of r to a value it did not have, as an UPDATE would; extra is
// appended to text and bytes (at least one byte), and delta moves an integer or a time.
func tamperField(t require.TestingT, r *Record, field string, extra []byte, delta int64) {
	require.NotEmpty(t, extra)
	require.NotZero(t, delta)
	f := reflect.ValueOf(r).Elem().FieldByName(field)
	require.True(t, f.IsValid(), "no field %s", field)
	switch v := f.Addr().Interface().(type) {
	case *int64:
		*v += delta
	case *string:
		*v += string(extra)
	case *[]byte:
		*v = append(bytes.Clone(*v), extra...)
	case *time.Time:
		*v = v.Add(time.Duration(delta) * time.Microsecond)
	default:
		// json.RawMessage and any new type: a []byte underneath, or a test to extend.
		isBytes := f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.Uint8
		require.True(t, isBytes, "tamperField does not know field %s of type %s", field, f.Type())
		f.SetBytes(append(bytes.Clone(f.Bytes()), extra...))
	}
}
