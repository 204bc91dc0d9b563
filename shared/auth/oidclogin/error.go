package oidclogin

import (
	"strings"
	"unicode"
)

// Reason says which way a sign-in failed, for the dashboard to choose its message and status.
type Reason int

// Reasons of an *Error.
const (
	// ReasonExpired: no state cookie, an expired one, or one already used. The user took too
	// long, the browser refused the cookie, or the callback was replayed.
	ReasonExpired Reason = iota + 1
	// ReasonMismatch: the callback does not belong to the sign-in this browser started (its
	// state differs, or the cookie does not open): a forged or crossed callback.
	ReasonMismatch
	// ReasonRefused: the identity provider answered with an error (the user declined, the
	// client is not allowed, the code was refused); Code and Description say what it said.
	ReasonRefused
	// ReasonUnavailable: the identity provider's token endpoint did not answer in time or
	// failed on its side.
	ReasonUnavailable
	// ReasonInvalidToken: the identity provider's answer could not be verified (no ID token,
	// bad signature, wrong audience, expired, nonce not ours).
	ReasonInvalidToken
)

// Error is a sign-in that did not complete. Error() is for the log and names the cause;
// Message() is for the person signing in. Neither holds a code, token, verifier or secret.
type Error struct {
	Reason Reason
	// Code and Description are the identity provider's error and error_description for
	// ReasonRefused, cut to printable text; they are the provider's words, or the words of
	// whoever crafted the callback, so the dashboard shows them as text only.
	Code, Description string
	err               error
}

// Message returns a sentence to show the person signing in.
func (e *Error) Message() string {
	switch e.Reason {
	case ReasonExpired:
		return "The sign-in took too long or was already used. Please try again."
	case ReasonMismatch:
		return "The sign-in did not start in this browser. Please try again."
	case ReasonRefused:
		m := "The identity provider refused the sign-in"
		if e.Code != "" {
			m += ": " + e.Code
		}
		if e.Description != "" {
			m += " (" + e.Description + ")"
		}
		return m + "."
	case ReasonUnavailable:
		return "The identity provider did not answer. Please try again later."
	default:
		return "The identity provider's answer could not be verified. Please try again."
	}
}

func (e *Error) Error() string {
	m := "oidc sign-in: " + e.reasonText()
	if e.Code != "" {
		m += ": " + e.Code
	}
	if e.err != nil {
		m += ": " + e.err.Error()
	}
	return m
}

func (e *Error) reasonText() string {
	switch e.Reason {
	case ReasonExpired:
		return "state cookie missing, expired or already used"
	case ReasonMismatch:
		return "callback does not match this browser's state"
	case ReasonRefused:
		return "identity provider refused"
	case ReasonUnavailable:
		return "identity provider unavailable"
	default:
		return "identity provider's answer not valid"
	}
}

// Unwrap returns the cause, such as auth.ErrInvalidToken.
func (e *Error) Unwrap() error { return e.err }

// Is makes errors.Is(err, &Error{Reason: r}) match any *Error of that reason.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Reason == e.Reason && t.Code == "" && t.err == nil
}

// providerTextMax bounds the provider's words kept in an Error.
const providerTextMax = 200

// providerText keeps what can be shown of s, text from the identity provider or from a URL:
// printable characters only, at most providerTextMax runes, with every secret in hide taken
// out (some providers quote the code they refuse).
func providerText(s string, hide ...string) string {
	for _, h := range hide {
		if h != "" {
			s = strings.ReplaceAll(s, h, "…")
		}
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == providerTextMax {
			b.WriteString("…")
			break
		}
		if !unicode.IsPrint(r) {
			r = ' '
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}
