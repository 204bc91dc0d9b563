// Package webhook holds the pure logic of signed webhooks (docs/webhooks.md): minting a URL
// token and a signing secret, and checking a call's signature over its timestamp and body
// within the replay window. It does no I/O; the jobs service and the API use it.
package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Header names of a call (docs/webhooks.md).
const (
	// HeaderTimestamp carries the call's time in Unix seconds.
	HeaderTimestamp = "X-Vecron-Timestamp"
	// HeaderSignature carries "sha256=<hex>" — the HMAC-SHA256, under the secret, of
	// "<timestamp>.<body>"; several, comma-separated, while a sender rotates.
	HeaderSignature = "X-Vecron-Signature"
)

// ReplayWindow is how far a call's timestamp may be from the clock, either way.
const ReplayWindow = 5 * time.Minute

// Prefixes of what Mint returns: a reader of a log or a config file can tell what a string is.
const (
	TokenPrefix  = "vwh_"
	SecretPrefix = "whsec_"
	// hintLen is how much of a token is told back: the prefix and 4 characters.
	hintLen = len(TokenPrefix) + 4
	// randomBytes is the entropy of a token and of a secret.
	randomBytes = 32
	// maxSignatures bounds the signatures of one header.
	maxSignatures = 4
)

// Credentials are a webhook's token (in its URL) and signing secret, shown once.
type Credentials struct {
	Token, Secret string
}

// Mint returns fresh credentials. It fails only when the system's random source does.
func Mint() (Credentials, error) {
	tok, err := random(TokenPrefix)
	if err != nil {
		return Credentials{}, err
	}
	sec, err := random(SecretPrefix)
	if err != nil {
		return Credentials{}, err
	}
	return Credentials{Token: tok, Secret: sec}, nil
}

func random(prefix string) (string, error) {
	b := make([]byte, randomBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("mint webhook credentials: %w", err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// HashToken is what the database keeps of a token: its SHA-256. A lookup by hash compares no
// secret byte by byte in Go, so it leaks no timing worth exploiting.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Hint is the start of token, safe to show.
func Hint(token string) string {
	if len(token) <= hintLen {
		return token
	}
	return token[:hintLen]
}

// WellFormedToken reports whether s could be a token Mint made; anything else is not looked up.
func WellFormedToken(s string) bool {
	rest, ok := strings.CutPrefix(s, TokenPrefix)
	if !ok || len(rest) != base64.RawURLEncoding.EncodedLen(randomBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(rest)
	return err == nil
}

// Sign returns the signature header value of body sent at ts under secret.
func Sign(secret string, ts time.Time, body []byte) string {
	return "sha256=" + hex.EncodeToString(mac(secret, strconv.FormatInt(ts.Unix(), 10), body))
}

func mac(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Error is a call refused for its signature: Field names the header, Reason why. It never holds
// the secret or the expected signature.
type Error struct {
	Field, Reason string
}

func (e *Error) Error() string { return e.Field + ": " + e.Reason }

// ErrStale is wrapped by the *Error of a timestamp outside the replay window.
var ErrStale = errors.New("outside the replay window")

// ParseSignatures reads a signature header: one to 4 "sha256=<64 hex digits>", comma-separated,
// spaces around them allowed. It returns the digests, or an *Error naming the header.
func ParseSignatures(h string) ([][]byte, error) {
	bad := func(why string) error { return &Error{Field: HeaderSignature, Reason: why} }
	if strings.TrimSpace(h) == "" {
		return nil, bad("is missing")
	}
	parts := strings.Split(h, ",")
	if len(parts) > maxSignatures {
		return nil, bad(fmt.Sprintf("holds more than %d signatures", maxSignatures))
	}
	out := make([][]byte, 0, len(parts))
	for _, p := range parts {
		hexPart, ok := strings.CutPrefix(strings.TrimSpace(p), "sha256=")
		if !ok {
			return nil, bad(`must be "sha256=" and the hex HMAC-SHA256 of "<timestamp>.<body>"`)
		}
		if len(hexPart) != 2*sha256.Size {
			return nil, bad(fmt.Sprintf("a sha256 signature is %d hex digits", 2*sha256.Size))
		}
		d, err := hex.DecodeString(hexPart)
		if err != nil {
			return nil, bad("a sha256 signature is hex digits")
		}
		out = append(out, d)
	}
	return out, nil
}

// ParseTimestamp reads a timestamp header: Unix seconds, without sign or spaces.
func ParseTimestamp(h string) (time.Time, error) {
	if h == "" {
		return time.Time{}, &Error{Field: HeaderTimestamp, Reason: "is missing"}
	}
	if len(h) > 12 || strings.TrimLeft(h, "0123456789") != "" {
		return time.Time{}, &Error{Field: HeaderTimestamp, Reason: "must be the time of the call in Unix seconds"}
	}
	n, err := strconv.ParseInt(h, 10, 64)
	if err != nil {
		return time.Time{}, &Error{Field: HeaderTimestamp, Reason: "must be the time of the call in Unix seconds"}
	}
	return time.Unix(n, 0).UTC(), nil
}

// Verify checks a call: its timestamp header within ReplayWindow of now, and one of its
// signatures the HMAC-SHA256 under secret of "<timestamp>.<body>", compared in constant time.
// It returns the hex of the matching signature — the call's identity, for its idempotency key —
// or an *Error naming the header (wrapping ErrStale for a timestamp out of the window).
func Verify(secret, tsHeader, sigHeader string, body []byte, now time.Time) (string, error) {
	ts, err := ParseTimestamp(tsHeader)
	if err != nil {
		return "", err
	}
	if d := now.Sub(ts); d > ReplayWindow || d < -ReplayWindow {
		return "", fmt.Errorf("%w: %w", &Error{Field: HeaderTimestamp, Reason: fmt.Sprintf(
			"is more than %s from the server's time; sign each call when it is sent", ReplayWindow)}, ErrStale)
	}
	sigs, err := ParseSignatures(sigHeader)
	if err != nil {
		return "", err
	}
	want := mac(secret, tsHeader, body)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return hex.EncodeToString(s), nil
		}
	}
	return "", &Error{Field: HeaderSignature, Reason: "does not match the body and timestamp under the webhook's secret"}
}
