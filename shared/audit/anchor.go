package audit

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// anchorPrefix starts the text form of an anchor, so a pasted anchor says what it is.
const anchorPrefix = "vecron-audit:"

// Anchor is the head of the log at some point: the seq and MAC of its last row. Kept where the
// database cannot reach it, it lets a verifier detect rows removed from the end; as the start
// of VerifierFrom it is the checkpoint that verification trusts. The zero Anchor is the head of
// an empty log.
type Anchor struct {
	Seq int64
	MAC []byte
}

// String returns the anchor as "vecron-audit:<seq>:<mac>", the MAC in unpadded base64url.
func (a Anchor) String() string {
	return anchorPrefix + strconv.FormatInt(a.Seq, 10) + ":" + base64.RawURLEncoding.EncodeToString(a.MAC)
}

// ParseAnchor reads what Anchor.String writes, strictly: the seq in plain decimal, the MAC 32
// bytes of unpadded base64url (empty only at seq 0), and nothing around them. The error names
// the part that is wrong.
func ParseAnchor(s string) (Anchor, error) {
	rest, ok := strings.CutPrefix(s, anchorPrefix)
	if !ok {
		return Anchor{}, fmt.Errorf("audit anchor: does not start with %q", anchorPrefix)
	}
	seqText, macText, ok := strings.Cut(rest, ":")
	if !ok {
		return Anchor{}, errors.New("audit anchor: no \":\" between the seq and the MAC")
	}
	seq, err := parseSeq(seqText)
	if err != nil {
		return Anchor{}, err
	}
	// The decoder skips line breaks, which would give an anchor a second spelling.
	mac, err := base64.RawURLEncoding.Strict().DecodeString(macText)
	if err != nil || strings.ContainsAny(macText, "\r\n") {
		return Anchor{}, errors.New("audit anchor: the MAC is not unpadded base64url")
	}
	switch {
	case seq == 0 && len(mac) != 0:
		return Anchor{}, errors.New("audit anchor: seq 0 (an empty log) has no MAC")
	case seq > 0 && len(mac) != sha256.Size:
		return Anchor{}, fmt.Errorf("audit anchor: the MAC is %d bytes, not %d", len(mac), sha256.Size)
	}
	if len(mac) == 0 {
		mac = nil
	}
	return Anchor{Seq: seq, MAC: mac}, nil
}

// parseSeq accepts only what strconv.FormatInt writes for a seq, so one anchor has one spelling:
// no sign, no leading zeros.
func parseSeq(s string) (int64, error) {
	bad := fmt.Errorf("audit anchor: seq %.24q is not a decimal number without sign or leading zeros", s)
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return 0, bad
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, bad
		}
	}
	seq, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("audit anchor: seq %.24q is out of range", s)
	}
	return seq, nil
}
