package audit

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"time"
)

// Record is one row of the audit log. The json tags name the columns of an NDJSON export, which
// verifies again as long as the bytes come back as they were sealed.
type Record struct {
	// Seq numbers the rows 1, 2, 3… with no gaps; Seal sets it.
	Seq int64 `json:"seq"`
	// Time is sealed to the microsecond, which is all the database keeps; Seal truncates it and
	// moves it to UTC so the row stored is the row sealed.
	Time       time.Time `json:"time"`
	ActorID    string    `json:"actor_id"`
	ActorName  string    `json:"actor_name"`
	ActorKind  string    `json:"actor_kind"`
	AuthMode   string    `json:"auth_mode"`
	Action     string    `json:"action"`
	ObjectKind string    `json:"object_kind"`
	ObjectID   string    `json:"object_id"`
	Namespace  string    `json:"namespace"`
	// Before and After are the object's JSON before and after the action, byte for byte as
	// stored; nil and empty are the same value. The MAC covers the exact bytes, so keep them in a
	// column that returns what was written (json, text, bytea; not jsonb, which reformats them).
	// encoding/json compacts and HTML-escapes a RawMessage it writes: bytes produced by
	// json.Marshal come back unchanged from an export, other spellings of the same JSON do not.
	Before    json.RawMessage `json:"before,omitempty"`
	After     json.RawMessage `json:"after,omitempty"`
	SourceIP  string          `json:"source_ip"`
	UserAgent string          `json:"user_agent"`
	RequestID string          `json:"request_id"`
	// KeyID names the key that sealed the row; Seal sets it.
	KeyID string `json:"key_id"`
	// PrevMAC is the MAC of the row before, empty for the first row; Seal sets it.
	PrevMAC []byte `json:"prev_mac"`
	// MAC is HMAC-SHA256 over the canonical encoding of every other field; Seal sets it.
	MAC []byte `json:"mac"`
}

// version starts every canonical encoding, so a future encoding never collides with this one.
const version = "vecron-audit-v1"

// canonical returns the bytes the MAC covers: the version, then every field but MAC as a
// big-endian uint32 length followed by that many bytes (integers and times as 8-byte big-endian
// int64). Every field is there in a fixed order and the lengths say where each ends, so two
// records that differ in any field never encode alike — hence no moving bytes from one field to
// the next. ok is false when a field is too long for its length to be written; Check refuses
// such a record rather than trust an encoding that could be ambiguous.
func canonical(r *Record) (enc []byte, ok bool) {
	ok = true
	b := make([]byte, 0, 512+len(r.Before)+len(r.After))
	field := func(n int) {
		if uint64(n) > math.MaxUint32 {
			ok = false
		}
		b = binary.BigEndian.AppendUint32(b, uint32(n))
	}
	integer := func(v int64) {
		field(8)
		b = binary.BigEndian.AppendUint64(b, uint64(v))
	}
	text := func(s string) {
		field(len(s))
		b = append(b, s...)
	}
	raw := func(v []byte) {
		field(len(v))
		b = append(b, v...)
	}

	text(version)
	integer(r.Seq)
	integer(r.Time.UnixMicro())
	text(r.ActorID)
	text(r.ActorName)
	text(r.ActorKind)
	text(r.AuthMode)
	text(r.Action)
	text(r.ObjectKind)
	text(r.ObjectID)
	text(r.Namespace)
	raw(r.Before)
	raw(r.After)
	text(r.SourceIP)
	text(r.UserAgent)
	text(r.RequestID)
	text(r.KeyID)
	raw(r.PrevMAC)
	return b, ok
}
