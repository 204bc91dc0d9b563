package oidclogin

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/oauth2"

	"github.com/vecron/vecron/shared/auth"
	"github.com/vecron/vecron/shared/secret"
)

// refreshPurpose labels the keys, derived from the state cookie's key list, that seal refresh
// tokens: they never equal the state cookie's keys nor the secret variables'.
const refreshPurpose = "oidc-login refresh token"

// Grant is what the identity provider vouches for after a sign-in or a refresh: who the user is,
// until when (Identity.ExpiresAt, the ID token's exp), and the means to ask again.
type Grant struct {
	Identity *auth.OIDCIdentity
	// Refresh is the provider's refresh token sealed for Identity.Subject; nil when the provider
	// gave none. It opens only in Refresh, for the same subject, with a key still configured.
	Refresh *Sealed
}

// Sealed is a refresh token encrypted with AES-256-GCM: the id of the key that sealed it, and
// nonce‖ciphertext‖tag. It is safe to store; it is a credential once opened, which only this
// package does.
type Sealed struct {
	KeyID string
	Data  []byte
}

// refreshAD binds a sealed refresh token to its purpose and to the subject it was issued for,
// so that one copied onto another user's session does not open.
func refreshAD(subject string) []byte { return []byte("vecron oidc-login refresh v1\x00" + subject) }

// grant returns the Grant of verified identity id with the provider's refresh token, sealed.
func (l *Login) grant(id *auth.OIDCIdentity, refresh string) (*Grant, error) {
	g := &Grant{Identity: id}
	if refresh == "" {
		return g, nil
	}
	keyID, data, err := l.refreshKeys.Seal([]byte(refresh), refreshAD(id.Subject))
	if err != nil {
		// Not the provider's failure and no secret in it: the keys are missing or broken.
		return nil, fmt.Errorf("oidc sign-in: seal the refresh token: %w", err)
	}
	g.Refresh = &Sealed{KeyID: keyID, Data: data}
	return g, nil
}

// Refresh asks the identity provider again about the user subject with the refresh token
// sealed: it trades it at the token endpoint for a new ID token, verifies that (signature, iss,
// aud, exp, and the same subject) and returns the new Grant, with the provider's new refresh
// token or, when it gave none, the one it was given, sealed again. The user's groups are read
// from the new ID token, so a user the provider removed from a group loses what the group gave.
//
// It fails with an *Error: ReasonRefused when the provider refused the refresh token (expired,
// revoked, the user disabled or logged out there), ReasonUnavailable when it did not answer,
// ReasonInvalidToken when its answer holds no ID token or one that does not verify, and
// ReasonMismatch when sealed does not open (altered, of another subject, or sealed by a key no
// longer configured). No error quotes a token.
func (l *Login) Refresh(ctx context.Context, subject string, sealed Sealed) (*Grant, error) {
	plain, err := l.refreshKeys.Open(sealed.KeyID, sealed.Data, refreshAD(subject))
	if err != nil {
		if errors.Is(err, secret.ErrUnknownKey) {
			err = errors.New("the refresh token was sealed by a key no longer configured")
		}
		return nil, &Error{Reason: ReasonMismatch, err: err}
	}
	refresh := string(plain)
	ctx, cancel := context.WithTimeout(ctx, exchangeTimeout)
	defer cancel()
	// x/oauth2 takes its HTTP client from the context: that is its API for it.
	ctx = context.WithValue(ctx, oauth2.HTTPClient, l.oidc.Client())
	// A token without an access token is not valid, so the source goes to the token endpoint.
	tok, err := l.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: refresh}).Token()
	if err != nil {
		return nil, l.exchangeError(err, refresh, "")
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, &Error{Reason: ReasonInvalidToken, err: errors.New("the refresh's token response holds no id_token")}
	}
	id, err := l.oidc.VerifyRefreshedIDToken(ctx, raw, l.clientID, subject)
	if err != nil {
		return nil, &Error{Reason: ReasonInvalidToken, err: err}
	}
	// x/oauth2 keeps the refresh token it was given when the provider sends no new one.
	return l.grant(id, tok.RefreshToken)
}

// RefreshKeys returns the keyring that seals the refresh tokens sessions keep, derived as New
// derives it from cfg's state keys or, when none are set, from secrets; a key rotation re-seals
// with it. It fails, naming the setting, when neither holds a usable key.
func RefreshKeys(cfg Config, secrets secret.Config) (*secret.Keyring, error) {
	_, base, err := stateKeys(cfg, secrets)
	if err != nil {
		return nil, err
	}
	return derivedKeyring("auth.oidc_login.state_keys", base, refreshPurpose)
}

// ResealRefresh returns a function that opens a refresh token of subject sealed by key id with
// keys and seals it again with their current key, for a key rotation. It fails as
// secret.Keyring's Open and Seal do.
func ResealRefresh(keys *secret.Keyring, subject string) func(id string, sealed []byte) ([]byte, error) {
	return secret.Reseal(keys, refreshAD(subject))
}
