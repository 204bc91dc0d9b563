package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/vecron/vecron/shared/secret"
)

// KeySize is the length of an audit key: 32 bytes, the output size of SHA-256.
const KeySize = 32

// Keys holds the keys that seal and verify the audit log: the first configured key seals new
// rows, and every key verifies the rows that name its id. A Keys is safe for concurrent use.
type Keys struct {
	current string
	keys    map[string][]byte
}

// NewKeys returns the keys, newest first, as secret.ReadKeyList reads them from configuration.
// It returns an error when there is none, when one is not KeySize bytes, or when an id is empty
// or appears twice; errors name the key id, never the key.
func NewKeys(keys []secret.RawKey) (*Keys, error) {
	if len(keys) == 0 {
		return nil, errors.New("audit.keys: no key configured")
	}
	k := &Keys{current: keys[0].ID, keys: make(map[string][]byte, len(keys))}
	for i, key := range keys {
		switch {
		case key.ID == "":
			return nil, fmt.Errorf("audit.keys: key %d has no id", i+1)
		case len(key.Raw) != KeySize:
			return nil, fmt.Errorf("audit.keys: key %q is not %d bytes", key.ID, KeySize)
		}
		if _, dup := k.keys[key.ID]; dup {
			return nil, fmt.Errorf("audit.keys: key id %q appears twice", key.ID)
		}
		// A copy, so a caller reusing its buffer cannot change the key under us.
		k.keys[key.ID] = bytes.Clone(key.Raw)
	}
	return k, nil
}

// Current returns the id of the key that seals new rows.
func (k *Keys) Current() string { return k.current }

// Seal makes r the row after prev (the first row when prev is nil): it sets r.Seq, r.PrevMAC,
// r.KeyID and r.MAC, and truncates r.Time to the microsecond in UTC. prev must be the row
// actually last in the log: appends are serialized by the store (two rows sealed after the same
// prev fork the chain, and the second insert must fail on the unique seq).
func (k *Keys) Seal(r *Record, prev *Record) {
	r.Seq, r.PrevMAC = 1, nil
	if prev != nil {
		r.Seq, r.PrevMAC = prev.Seq+1, bytes.Clone(prev.MAC)
	}
	r.Time = r.Time.UTC().Truncate(time.Microsecond)
	r.KeyID = k.current
	// A field too long for the encoding (past 4 GiB, more than a database column holds) still
	// gets a MAC, and Check refuses the row: it is never accepted on an ambiguous encoding.
	enc, _ := canonical(r)
	r.MAC = sum(k.keys[k.current], enc)
}

// Check verifies r as the row after prev, which the caller has already checked (nil when r must
// be the first row). It returns a *Broken naming why r does not belong there, nil when it does.
// Check does not look past r: a log cut after r needs an Anchor, see Verifier.
func (k *Keys) Check(r *Record, prev *Record) error {
	var b *Broken
	if prev == nil {
		b = k.check(r, 0, nil)
	} else {
		b = k.check(r, prev.Seq, prev.MAC)
	}
	if b != nil {
		return b
	}
	return nil
}

// check verifies r as the row after the one with seq prevSeq and MAC prevMAC (0 and empty when r
// must start the chain). The structure is checked before the MAC, so the reason names the
// simplest explanation: a gap says a row is missing rather than that the next one is forged.
func (k *Keys) check(r *Record, prevSeq int64, prevMAC []byte) *Broken {
	want := prevSeq + 1
	broken := func(format string, args ...any) *Broken {
		return &Broken{Seq: want, Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case r.Seq == want:
	case prevSeq == 0:
		return broken("the first row does not start the chain (its seq is %d)", r.Seq)
	case r.Seq == want+1:
		return broken("a row is missing (the sequence jumps from %d to %d)", prevSeq, r.Seq)
	case r.Seq > want:
		return broken("%d rows are missing (the sequence jumps from %d to %d)", r.Seq-want, prevSeq, r.Seq)
	default:
		return broken("out of order (seq %d follows seq %d)", r.Seq, prevSeq)
	}
	if !hmac.Equal(r.PrevMAC, prevMAC) {
		if prevSeq == 0 {
			return broken("the first row does not start the chain (it names a predecessor)")
		}
		return broken("not chained to its predecessor")
	}
	key, ok := k.keys[r.KeyID]
	if !ok {
		return broken("sealed with unknown key id %q", r.KeyID)
	}
	enc, ok := canonical(r)
	if !ok {
		return broken("a field is too long to have been sealed")
	}
	if !hmac.Equal(r.MAC, sum(key, enc)) {
		return broken("altered or forged: the MAC does not match")
	}
	return nil
}

func sum(key, enc []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(enc)
	return h.Sum(nil)
}

// Broken reports where the chain breaks and why.
type Broken struct {
	// Seq is where the chain breaks: every row before it verified, and the row that should have
	// had this seq is missing, altered, forged or out of place. For an anchored row that was
	// replaced it is the anchor's seq: the history up to there was rewritten with the key (a
	// restore from an old backup, written to since), and the anchor cannot tell from where.
	Seq int64
	// Reason says what is wrong, in words for the auditor.
	Reason string
}

func (b *Broken) Error() string {
	return fmt.Sprintf("audit chain broken at seq %d: %s", b.Seq, b.Reason)
}
