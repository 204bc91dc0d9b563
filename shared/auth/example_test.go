package auth_test

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/vecron/vecron/shared/auth"
	"github.com/vecron/vecron/shared/secret"
)

func ExampleValidatePassword() {
	if err := auth.ValidatePassword("hunter2"); err != nil {
		fmt.Println("password", err)
	}
	// Output: password must be at least 12 characters
}

func ExampleSigner() {
	// In a deployment the keys come from secret.ReadKeyList("auth.signing_keys", …).
	keys := []secret.RawKey{{ID: "2026-03", Raw: make([]byte, ed25519.SeedSize)}}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	signer, err := auth.NewSigner(keys, auth.SignerConfig{}, func() time.Time { return now })
	if err != nil {
		fmt.Println(err)
		return
	}
	token, expires, err := signer.Issue("user-42")
	if err != nil {
		fmt.Println(err)
		return
	}
	claims, err := signer.Verify(token)
	fmt.Println(claims.Subject, expires.Format(time.RFC3339), err)

	now = expires.Add(time.Minute)
	_, err = signer.Verify(token)
	fmt.Println(errors.Is(err, auth.ErrInvalidToken), err)
	// Output:
	// user-42 2026-03-01T12:15:00Z <nil>
	// true invalid token: expired
}

func ExampleParseOpaqueToken() {
	token, stored, err := auth.NewOpaqueToken(auth.APITokenPrefix)
	if err != nil {
		fmt.Println(err)
		return
	}
	hash, ok := auth.ParseOpaqueToken(auth.APITokenPrefix, token)
	fmt.Println(ok, string(hash) == string(stored))

	// A token that lost a character when it was copied.
	_, ok = auth.ParseOpaqueToken(auth.APITokenPrefix, token[:len(token)-1])
	fmt.Println(ok)
	// Output:
	// true true
	// false
}
