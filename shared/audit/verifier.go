package audit

import (
	"bytes"
	"crypto/hmac"
	"fmt"
)

// Verifier checks a whole log, fed row by row in seq order, without holding it in memory.
type Verifier struct {
	keys    *Keys
	anchor  *Anchor
	prevSeq int64
	prevMAC []byte
	rows    int64
	err     *Broken
}

// Report is what a verification found.
type Report struct {
	// Rows counts the rows that verified.
	Rows int64
	// Head is the last row that verified (the start when none did): the anchor to keep for the
	// next verification.
	Head Anchor
}

// Verifier returns a verifier for a log from its first row. anchor, when not nil, is a head kept
// outside the database: the log must reach it, with the same MAC at its seq.
func (k *Keys) Verifier(anchor *Anchor) *Verifier {
	return k.VerifierFrom(Anchor{}, anchor)
}

// VerifierFrom returns a verifier for a log whose rows up to start.Seq were removed (by a
// retention policy): start is trusted, and the first row fed must be start.Seq+1, chained to
// start.MAC. anchor is as for Verifier; one older than start is already past and not checked.
func (k *Keys) VerifierFrom(start Anchor, anchor *Anchor) *Verifier {
	v := &Verifier{keys: k, prevSeq: start.Seq, prevMAC: bytes.Clone(start.MAC)}
	if anchor != nil {
		v.anchor = &Anchor{Seq: anchor.Seq, MAC: bytes.Clone(anchor.MAC)}
	}
	v.err = v.reached()
	return v
}

// Next checks r as the next row. It returns the first *Broken found, and that same error for
// every row after it: once the chain breaks, nothing after the break can be vouched for.
func (v *Verifier) Next(r *Record) error {
	if v.err != nil {
		return v.err
	}
	if b := v.keys.check(r, v.prevSeq, v.prevMAC); b != nil {
		v.err = b
		return b
	}
	v.prevSeq, v.prevMAC = r.Seq, bytes.Clone(r.MAC)
	v.rows++
	if b := v.reached(); b != nil {
		v.err = b
		return b
	}
	return nil
}

// reached compares the head verified so far with the anchor when it is the anchored row.
func (v *Verifier) reached() *Broken {
	if v.anchor == nil || v.anchor.Seq != v.prevSeq || hmac.Equal(v.anchor.MAC, v.prevMAC) {
		return nil
	}
	return &Broken{Seq: v.prevSeq, Reason: "the anchored row was replaced: its MAC differs from the anchor's"}
}

// Finish ends the verification after the last row. It returns the *Broken that Next found or,
// with an anchor, one saying the log was cut when it ends before the anchor's seq. The Report
// counts the rows that verified even when the chain is broken.
func (v *Verifier) Finish() (Report, error) {
	if v.err == nil && v.anchor != nil && v.prevSeq < v.anchor.Seq {
		v.err = &Broken{
			Seq:    v.prevSeq + 1,
			Reason: fmt.Sprintf("the log was cut: rows after seq %d are missing (anchor at %d)", v.prevSeq, v.anchor.Seq),
		}
	}
	rep := Report{Rows: v.rows, Head: Anchor{Seq: v.prevSeq, MAC: bytes.Clone(v.prevMAC)}}
	if v.err != nil {
		return rep, v.err
	}
	return rep, nil
}
