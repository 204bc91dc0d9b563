package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

const rowsInLog = 5

// TestAlteredFieldIsDetected edits each field of each row in turn, as an UPDATE by a database
// superuser would, and expects the verifier to stop at that row.
func TestAlteredFieldIsDetected(t *testing.T) {
	t.Parallel()
	k := testKeys(t, "alter", "k1")
	log := sampleChain(k, rowsInLog)
	anchor := head(log)
	for _, field := range recordFields() {
		t.Run(field, func(t *testing.T) {
			t.Parallel()
			for i := range log {
				tampered := cloneRows(log)
				tamperField(t, tampered[i], field, []byte("x"), 1)
				_, err := verify(k.Verifier(&anchor), tampered)
				var b *Broken
				require.ErrorAs(t, err, &b, "row %d", i+1)
				require.Equal(t, int64(i+1), b.Seq, "row %d: %s", i+1, b.Reason)
			}
		})
	}
}

// TestAttacks goes through what someone who can write the table but does not hold the key may
// try. Each attack works on a copy of a sealed log of five rows whose head was anchored.
func TestAttacks(t *testing.T) {
	t.Parallel()
	k := testKeys(t, "attacks", "k1")
	// The attacker's own key, under the same id and under its own.
	forger := testKeys(t, "attacker", "k1")
	stranger := testKeys(t, "attacker", "mallory")

	tests := []struct {
		name   string
		attack func(log []*Record) []*Record
		seq    int64
		reason string
	}{
		{
			name:   "DeleteMiddleRow",
			attack: func(log []*Record) []*Record { return append(log[:2], log[3:]...) },
			seq:    3,
			reason: "a row is missing (the sequence jumps from 2 to 4)",
		},
		{
			name:   "DeleteFirstRow",
			attack: func(log []*Record) []*Record { return log[1:] },
			seq:    1,
			reason: "the first row does not start the chain (its seq is 2)",
		},
		{
			name:   "DeleteTwoRows",
			attack: func(log []*Record) []*Record { return append(log[:1], log[3:]...) },
			seq:    2,
			reason: "2 rows are missing (the sequence jumps from 1 to 4)",
		},
		{
			name: "SwapTwoRows",
			attack: func(log []*Record) []*Record {
				log[1], log[2] = log[2], log[1]
				return log
			},
			seq:    2,
			reason: "a row is missing (the sequence jumps from 1 to 3)",
		},
		{
			// Swapping what two rows say while keeping their places in the sequence.
			name: "SwapTwoRowsKeepingSeq",
			attack: func(log []*Record) []*Record {
				log[1].Seq, log[2].Seq = log[2].Seq, log[1].Seq
				log[1], log[2] = log[2], log[1]
				return log
			},
			seq:    2,
			reason: "not chained to its predecessor",
		},
		{
			name: "RepeatRow",
			attack: func(log []*Record) []*Record {
				return append(log[:3], log[2:]...)
			},
			seq:    4,
			reason: "out of order (seq 3 follows seq 3)",
		},
		{
			// A forged row after row 2, chained to it, with the following rows left as they are.
			name: "InsertForgedRow",
			attack: func(log []*Record) []*Record {
				forged := sampleRecord(99)
				forger.Seal(forged, log[1])
				return append(log[:2], append([]*Record{forged}, log[2:]...)...)
			},
			seq:    3,
			reason: "altered or forged: the MAC does not match",
		},
		{
			// A forged row in place of row 3, chained to row 2, row 4 pointed at it.
			name: "ReplaceRowWithForgedOne",
			attack: func(log []*Record) []*Record {
				forged := sampleRecord(99)
				forger.Seal(forged, log[1])
				log[2], log[3].PrevMAC = forged, forged.MAC
				return log
			},
			seq:    3,
			reason: "altered or forged: the MAC does not match",
		},
		{
			name: "ReplaceRowWithOneOfAnUnknownKey",
			attack: func(log []*Record) []*Record {
				forged := sampleRecord(99)
				stranger.Seal(forged, log[1])
				log[2] = forged
				return log
			},
			seq:    3,
			reason: `sealed with unknown key id "mallory"`,
		},
		{
			name: "AppendForgedRow",
			attack: func(log []*Record) []*Record {
				forged := sampleRecord(99)
				forger.Seal(forged, log[4])
				return append(log, forged)
			},
			seq:    6,
			reason: "altered or forged: the MAC does not match",
		},
		{
			// Without the key the attacker can renumber the rows after the deleted one and point
			// each at its new predecessor, but not recompute their MACs.
			name: "DeleteRowAndRechain",
			attack: func(log []*Record) []*Record {
				log = append(log[:2], log[3:]...)
				for i := 2; i < len(log); i++ {
					log[i].Seq, log[i].PrevMAC = int64(i+1), bytes.Clone(log[i-1].MAC)
				}
				return log
			},
			seq:    3,
			reason: "altered or forged: the MAC does not match",
		},
		{
			// A row copied from another log sealed by the same key (staging, say): its MAC is
			// genuine, but it was not sealed after this row 2.
			name: "ReplaceRowWithGenuineRowOfAnotherLog",
			attack: func(log []*Record) []*Record {
				other := sealChain(k, nil, sampleRecord(0), sampleRecord(7), sampleRecord(2))
				log[2] = other[2]
				return log
			},
			seq:    3,
			reason: "not chained to its predecessor",
		},
		{
			name:   "CutTail",
			attack: func(log []*Record) []*Record { return log[:3] },
			seq:    4,
			reason: "the log was cut: rows after seq 3 are missing (anchor at 5)",
		},
		{
			name:   "DeleteEveryRow",
			attack: func([]*Record) []*Record { return nil },
			seq:    1,
			reason: "the log was cut: rows after seq 0 are missing (anchor at 5)",
		},
		{
			// The table restored from an old backup, then written to by vecron itself: every row
			// is sealed with the key, yet the history up to the anchor is not the anchored one.
			name: "RollbackThenNewRows",
			attack: func(log []*Record) []*Record {
				log = log[:3]
				return append(log, sealChain(k, log[2], sampleRecord(10), sampleRecord(11), sampleRecord(12))...)
			},
			seq:    5,
			reason: "the anchored row was replaced: its MAC differs from the anchor's",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			log := sampleChain(k, rowsInLog)
			anchor := head(log)
			_, err := verify(k.Verifier(&anchor), tt.attack(cloneRows(log)))
			var b *Broken
			require.ErrorAs(t, err, &b)
			require.Equal(t, &Broken{Seq: tt.seq, Reason: tt.reason}, b)
		})
	}
}

// Without an anchor a cut log is still a valid chain: the anchor is what detects it.
func TestCutTailNeedsAnAnchor(t *testing.T) {
	t.Parallel()
	k := testKeys(t, "cut", "k1")
	log := sampleChain(k, rowsInLog)
	rep, err := verify(k.Verifier(nil), log[:3])
	require.NoError(t, err)
	require.Equal(t, Report{Rows: 3, Head: head(log[:3])}, rep)
}

func TestVerifier(t *testing.T) {
	t.Parallel()
	k := testKeys(t, "verifier", "k1")
	log := sampleChain(k, rowsInLog)

	t.Run("Intact", func(t *testing.T) {
		t.Parallel()
		anchor := head(log[:3])
		rep, err := verify(k.Verifier(&anchor), log)
		require.NoError(t, err, "an anchor older than the head is reached on the way")
		require.Equal(t, Report{Rows: rowsInLog, Head: head(log)}, rep)
	})
	t.Run("Empty", func(t *testing.T) {
		t.Parallel()
		rep, err := k.Verifier(nil).Finish()
		require.NoError(t, err)
		require.Equal(t, Report{}, rep)
		require.Equal(t, "vecron-audit:0:", rep.Head.String())
		empty, err := ParseAnchor(rep.Head.String())
		require.NoError(t, err)
		_, err = verify(k.Verifier(&empty), nil)
		require.NoError(t, err)
	})
	t.Run("KeepsReturningTheFirstBreak", func(t *testing.T) {
		t.Parallel()
		tampered := cloneRows(log)
		tampered[1].Action = "job.delete"
		v := k.Verifier(nil)
		require.NoError(t, v.Next(tampered[0]))
		first := v.Next(tampered[1])
		require.Error(t, first)
		for _, r := range tampered[2:] {
			require.Same(t, first, v.Next(r))
		}
		rep, err := v.Finish()
		require.Same(t, first, err)
		require.Equal(t, Report{Rows: 1, Head: head(log[:1])}, rep, "the report counts what verified before the break")
	})
	t.Run("AnchorIsCopied", func(t *testing.T) {
		t.Parallel()
		anchor := head(log)
		v := k.Verifier(&anchor)
		anchor.Seq, anchor.MAC[0] = 2, anchor.MAC[0]^1
		_, err := verify(v, log)
		require.NoError(t, err)
	})
	t.Run("NoTypedNil", func(t *testing.T) {
		t.Parallel()
		v := k.Verifier(nil)
		err := v.Next(log[0])
		require.True(t, err == nil, "a nil *Broken must not reach the caller as a non-nil error")
		_, err = v.Finish()
		require.True(t, err == nil)
		require.True(t, k.Check(log[0], nil) == nil)
	})
}

// After a retention policy removed the oldest rows, verification starts from the checkpoint kept
// when they were removed.
func TestVerifierFrom(t *testing.T) {
	t.Parallel()
	k := testKeys(t, "from", "k1")
	log := sampleChain(k, 10)
	checkpoint := head(log[:4])
	anchor := head(log[:8])

	t.Run("Intact", func(t *testing.T) {
		t.Parallel()
		rep, err := verify(k.VerifierFrom(checkpoint, &anchor), log[4:])
		require.NoError(t, err)
		require.Equal(t, Report{Rows: 6, Head: head(log)}, rep)
	})
	t.Run("AnchorBeforeCheckpoint", func(t *testing.T) {
		t.Parallel()
		old := head(log[:2])
		_, err := verify(k.VerifierFrom(checkpoint, &old), log[4:])
		require.NoError(t, err, "an anchor already behind the checkpoint was checked when the rows were removed")
	})
	t.Run("RowAfterCheckpointRemoved", func(t *testing.T) {
		t.Parallel()
		_, err := verify(k.VerifierFrom(checkpoint, &anchor), log[5:])
		require.EqualError(t, err, "audit chain broken at seq 5: a row is missing (the sequence jumps from 4 to 6)")
	})
	t.Run("WrongCheckpoint", func(t *testing.T) {
		t.Parallel()
		wrong := Anchor{Seq: 4, MAC: log[2].MAC}
		_, err := verify(k.VerifierFrom(wrong, nil), log[4:])
		require.EqualError(t, err, "audit chain broken at seq 5: not chained to its predecessor")
	})
	t.Run("CheckpointDisagreesWithAnchor", func(t *testing.T) {
		t.Parallel()
		other := Anchor{Seq: 4, MAC: log[2].MAC}
		_, err := verify(k.VerifierFrom(checkpoint, &other), log[4:])
		var b *Broken
		require.ErrorAs(t, err, &b)
		require.Equal(t, int64(4), b.Seq)
	})
	t.Run("CutTail", func(t *testing.T) {
		t.Parallel()
		_, err := verify(k.VerifierFrom(checkpoint, &anchor), log[4:6])
		require.EqualError(t, err, "audit chain broken at seq 7: the log was cut: rows after seq 6 are missing (anchor at 8)")
	})
}

// Rows exported as NDJSON and read back verify, so an auditor can check an export offline. The
// JSON columns hold what json.Marshal writes, HTML escapes included.
func TestNDJSONRoundTrip(t *testing.T) {
	t.Parallel()
	k := testKeys(t, "ndjson", "k1")
	before, err := json.Marshal(map[string]any{"url": "https://x.test/?a=1&b=<2>", "name": "Zoë", "n": 1.5})
	require.NoError(t, err)
	rows := []*Record{sampleRecord(0), sampleRecord(1), sampleRecord(2)}
	rows[0].Before = before
	rows[1].Before, rows[1].After = nil, []byte(`null`)
	rows[2].Before, rows[2].After = []byte{}, []byte(`[]`)
	sealChain(k, nil, rows...)

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, r := range rows {
		require.NoError(t, enc.Encode(r))
	}
	require.Contains(t, buf.String(), `"before":{`, "the JSON columns are exported as JSON, not base64")

	dec := json.NewDecoder(&buf)
	v := k.Verifier(nil)
	for {
		var r Record
		if err := dec.Decode(&r); err != nil {
			require.True(t, errors.Is(err, io.EOF), "%v", err)
			break
		}
		require.NoError(t, v.Next(&r))
	}
	rep, err := v.Finish()
	require.NoError(t, err)
	require.Equal(t, Report{Rows: 3, Head: head(rows)}, rep)
}

// The export compacts JSON, so bytes sealed with other whitespace do not verify once exported:
// the reason Record asks for json.Marshal's spelling.
func TestNDJSONCompactsOtherSpellings(t *testing.T) {
	t.Parallel()
	k := testKeys(t, "ndjson", "k1")
	r := sampleRecord(0)
	r.Before = []byte(`{"enabled": true}`)
	k.Seal(r, nil)
	line, err := json.Marshal(r)
	require.NoError(t, err)
	var back Record
	require.NoError(t, json.Unmarshal(line, &back))
	require.Equal(t, `{"enabled":true}`, string(back.Before))
	require.Error(t, k.Check(&back, nil))
}
