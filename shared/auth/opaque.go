package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
)

// Prefixes of vecron's opaque tokens. They tell a reader (and a secret scanner) what a leaked
// token is, and keep a refresh token from being accepted where an API token is expected.
const (
	APITokenPrefix     = "vcr_"
	RefreshTokenPrefix = "vcrr_"
)

// An opaque token is prefix ‖ body ‖ checksum, where body is 32 random bytes and checksum the
// first 4 bytes of SHA-256(prefix ‖ body), both in unpadded base64url.
const (
	opaqueRandomBytes   = 32
	opaqueBodyLen       = (opaqueRandomBytes*8 + 5) / 6 // base64 characters
	opaqueChecksumBytes = 4
	opaqueChecksumLen   = (opaqueChecksumBytes*8 + 5) / 6
	maxOpaquePrefixLen  = 16
)

var opaqueBase64 = base64.RawURLEncoding.Strict()

// NewOpaqueToken returns a new random token starting with prefix, and the hash to store in its
// place (HashOpaqueToken of it). prefix is lowercase letters and digits ending in "_", such as
// APITokenPrefix; another prefix, or a failing random source, gives an error.
func NewOpaqueToken(prefix string) (token string, hash []byte, err error) {
	if !validOpaquePrefix(prefix) {
		return "", nil, fmt.Errorf("opaque token prefix %q: want up to %d lowercase letters and digits ending in _", prefix, maxOpaquePrefixLen)
	}
	var body [opaqueRandomBytes]byte
	if _, err := rand.Read(body[:]); err != nil {
		return "", nil, fmt.Errorf("new opaque token: %w", err)
	}
	unsummed := prefix + base64.RawURLEncoding.EncodeToString(body[:])
	token = unsummed + opaqueChecksum(unsummed)
	return token, HashOpaqueToken(token), nil
}

// ParseOpaqueToken checks that token is well formed for prefix — the prefix, the length, the
// alphabet and the checksum — and returns its hash to look up. It returns false for anything
// else, so a mistyped or made-up token never reaches the database.
func ParseOpaqueToken(prefix, token string) (hash []byte, ok bool) {
	if !validOpaquePrefix(prefix) || len(token) != len(prefix)+opaqueBodyLen+opaqueChecksumLen || token[:len(prefix)] != prefix {
		return nil, false
	}
	unsummed, sum := token[:len(token)-opaqueChecksumLen], token[len(token)-opaqueChecksumLen:]
	// Strict decoding rejects a last character with stray low bits, so that a token has one
	// spelling only.
	if _, err := opaqueBase64.DecodeString(unsummed[len(prefix):]); err != nil {
		return nil, false
	}
	if _, err := opaqueBase64.DecodeString(sum); err != nil {
		return nil, false
	}
	// The checksum is public (anyone can compute it), so a plain comparison is fine.
	if sum != opaqueChecksum(unsummed) {
		return nil, false
	}
	return HashOpaqueToken(token), true
}

// HashOpaqueToken returns the SHA-256 of token, which is what is stored and looked up. A fast
// hash is right here, unlike for passwords: a token carries 256 random bits, so nobody can
// guess it by trying hashes, however fast they are, and a fast hash lets every API call check
// its token with one indexed lookup.
func HashOpaqueToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// opaqueChecksum returns the checksum characters of prefix ‖ body.
func opaqueChecksum(unsummed string) string {
	sum := sha256.Sum256([]byte(unsummed))
	return base64.RawURLEncoding.EncodeToString(sum[:opaqueChecksumBytes])
}

func validOpaquePrefix(prefix string) bool {
	if len(prefix) < 2 || len(prefix) > maxOpaquePrefixLen || prefix[len(prefix)-1] != '_' {
		return false
	}
	for _, c := range []byte(prefix[:len(prefix)-1]) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
