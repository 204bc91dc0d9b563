package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// The argon2id parameters of new hashes: OWASP's recommended minimum (19 MiB, two passes, one
// lane). One lane because a login runs on a request goroutine: the server's parallelism serves
// concurrent logins, not one hash.
const (
	hashMemory  = 19 * 1024 // KiB
	hashTime    = 2
	hashThreads = 1
	hashSaltLen = 16
	hashKeyLen  = 32
)

// Bounds on the parameters of a hash to verify. A hash is read from the database, where
// whoever can write a row could plant one costing minutes and gigabytes per login; these caps
// keep a planted hash's cost bounded while accepting every sane configuration.
const (
	maxMemory     = 1 << 21 // KiB (2 GiB)
	maxTime       = 10
	maxThreads    = 16
	minSaltLen    = 8 // RFC 9106's minimum
	maxSaltLen    = 64
	minKeyLen     = 16
	maxKeyLen     = 64
	maxBcryptCost = 14 // about a second per check; bcrypt's own limit, 31, is days
)

// Password length limits. The upper one bounds the work of hashing what a client sends; it is
// in bytes because that is what the work depends on.
const (
	minPasswordRunes = 12
	maxPasswordBytes = 256
)

const argon2idPrefix = "$argon2id$"

// errMalformedHash is wrapped by every error about a hash that cannot be read. The wrapping
// messages say what is wrong, never what the hash holds.
var errMalformedHash = errors.New("malformed password hash")

// phcBase64 is the encoding of the PHC string format: standard alphabet, no padding.
var phcBase64 = base64.RawStdEncoding.Strict()

// argon2Params are the cost and sizes of an argon2id hash.
type argon2Params struct {
	memory  uint32 // KiB
	time    uint32
	threads uint8
	saltLen int
	keyLen  int
}

// currentParams returns the parameters HashPassword uses.
func currentParams() argon2Params {
	return argon2Params{memory: hashMemory, time: hashTime, threads: hashThreads, saltLen: hashSaltLen, keyLen: hashKeyLen}
}

// HashPassword returns an argon2id hash of password in the PHC string format
// ($argon2id$v=19$m=…,t=…,p=…$salt$hash), salted with 16 random bytes. It returns an error only
// when the system's random source fails.
func HashPassword(password string) (string, error) {
	p := currentParams()
	salt := make([]byte, p.saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return hashArgon2id(p, salt, password), nil
}

// hashArgon2id hashes password with p and salt and encodes the result.
func hashArgon2id(p argon2Params, salt []byte, password string) string {
	key := idKey(password, salt, p)
	return encodeArgon2id(p, salt, key)
}

// encodeArgon2id writes a PHC string; p's lengths are taken from salt and key.
func encodeArgon2id(p argon2Params, salt, key []byte) string {
	return fmt.Sprintf("%sv=%d$m=%d,t=%d,p=%d$%s$%s", argon2idPrefix, argon2.Version,
		p.memory, p.time, p.threads, phcBase64.EncodeToString(salt), phcBase64.EncodeToString(key))
}

// decodeArgon2id reads a PHC string as encodeArgon2id writes it, and nothing else: parameters
// in the order m, t, p, numbers without leading zeros, canonical base64. Being strict keeps one
// hash from having several spellings, and makes decode(encode(x)) = x provable.
func decodeArgon2id(encoded string) (argon2Params, []byte, []byte, error) {
	var p argon2Params
	rest, ok := strings.CutPrefix(encoded, argon2idPrefix)
	if !ok {
		return p, nil, nil, fmt.Errorf("%w: not argon2id", errMalformedHash)
	}
	parts := strings.Split(rest, "$")
	if len(parts) != 4 {
		return p, nil, nil, fmt.Errorf("%w: argon2id needs a version, parameters, a salt and a hash", errMalformedHash)
	}
	if parts[0] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, fmt.Errorf("%w: argon2id version is not %d", errMalformedHash, argon2.Version)
	}
	costs := strings.Split(parts[1], ",")
	if len(costs) != 3 {
		return p, nil, nil, fmt.Errorf("%w: argon2id parameters are not m=…,t=…,p=…", errMalformedHash)
	}
	m, okM := parseCost(costs[0], "m=", maxMemory)
	t, okT := parseCost(costs[1], "t=", maxTime)
	threads, okP := parseCost(costs[2], "p=", maxThreads)
	switch {
	case !okM || !okT || !okP:
		return p, nil, nil, fmt.Errorf("%w: argon2id parameters are not m=…,t=…,p=… within bounds (m ≤ %d, t ≤ %d, p ≤ %d)",
			errMalformedHash, maxMemory, maxTime, maxThreads)
	case m < 8*threads:
		// argon2 needs 8 KiB per lane and silently raises a lower value; refusing it keeps
		// the string the truth about the cost.
		return p, nil, nil, fmt.Errorf("%w: argon2id memory is below 8 KiB per lane", errMalformedHash)
	}
	salt, okS := decodePHCBase64(parts[2])
	if !okS || len(salt) < minSaltLen || len(salt) > maxSaltLen {
		return p, nil, nil, fmt.Errorf("%w: argon2id salt is not %d to %d bytes of base64", errMalformedHash, minSaltLen, maxSaltLen)
	}
	key, okK := decodePHCBase64(parts[3])
	if !okK || len(key) < minKeyLen || len(key) > maxKeyLen {
		return p, nil, nil, fmt.Errorf("%w: argon2id hash is not %d to %d bytes of base64", errMalformedHash, minKeyLen, maxKeyLen)
	}
	p = argon2Params{memory: uint32(m), time: uint32(t), threads: uint8(threads), saltLen: len(salt), keyLen: len(key)}
	return p, salt, key, nil
}

// parseCost reads name followed by a decimal in [1, limit] written without sign or leading zero.
func parseCost(field, name string, limit uint64) (uint64, bool) {
	digits, ok := strings.CutPrefix(field, name)
	if !ok || digits == "" || len(digits) > 10 || digits[0] == '0' {
		return 0, false
	}
	for _, c := range []byte(digits) {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || v > limit {
		return 0, false
	}
	return v, true
}

// decodePHCBase64 decodes canonical unpadded base64. The decoder alone skips line breaks,
// which would give one hash several spellings.
func decodePHCBase64(s string) ([]byte, bool) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, false
	}
	b, err := phcBase64.DecodeString(s)
	return b, err == nil
}

// VerifyPassword reports whether password matches encoded, an argon2id PHC string (any
// parameters within bounds that cap a planted hash's cost) or a bcrypt hash ($2a$, $2b$, $2y$,
// cost up to 14). It returns false and a nil error for a wrong password, and false and an error
// when encoded is not a hash it can check; the error names neither the password nor the hash.
func VerifyPassword(encoded, password string) (bool, error) {
	switch {
	case strings.HasPrefix(encoded, argon2idPrefix):
		p, salt, key, err := decodeArgon2id(encoded)
		if err != nil {
			return false, err
		}
		got := idKey(password, salt, p)
		return subtle.ConstantTimeCompare(got, key) == 1, nil
	case strings.HasPrefix(encoded, "$2"):
		return verifyBcrypt(encoded, password)
	}
	return false, fmt.Errorf("%w: neither argon2id nor bcrypt", errMalformedHash)
}

// verifyBcrypt checks the shape of a bcrypt hash before bcrypt reads it: the library ignores
// whatever follows the 60th byte and accepts costs up to 31.
func verifyBcrypt(encoded, password string) (bool, error) {
	const size = 60 // $2b$NN$ + 22 characters of salt + 31 of hash
	if len(encoded) != size || encoded[3] != '$' || encoded[6] != '$' {
		return false, fmt.Errorf("%w: bcrypt hash is not $2x$NN$ and 53 characters", errMalformedHash)
	}
	switch encoded[2] {
	case 'a', 'b', 'y':
	default:
		return false, fmt.Errorf("%w: bcrypt variant is not 2a, 2b or 2y", errMalformedHash)
	}
	cost, ok := parseBcryptCost(encoded[4:6])
	if !ok || cost < bcrypt.MinCost || cost > maxBcryptCost {
		return false, fmt.Errorf("%w: bcrypt cost is not %d to %d", errMalformedHash, bcrypt.MinCost, maxBcryptCost)
	}
	for _, c := range []byte(encoded[7:]) {
		if !isBcryptBase64(c) {
			return false, fmt.Errorf("%w: bcrypt hash holds a character outside its alphabet", errMalformedHash)
		}
	}
	err := bcrypt.CompareHashAndPassword([]byte(encoded), []byte(password))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	}
	// bcrypt's own errors may quote bytes of the hash.
	return false, fmt.Errorf("%w: bcrypt cannot read it", errMalformedHash)
}

func parseBcryptCost(s string) (int, bool) {
	if s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' {
		return 0, false
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), true
}

func isBcryptBase64(c byte) bool {
	return c == '.' || c == '/' || ('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z') || ('0' <= c && c <= '9')
}

// NeedsRehash reports whether encoded should be replaced by a fresh HashPassword at the next
// successful login: true for bcrypt, for argon2id with other parameters than HashPassword's, and
// for anything that is not a hash VerifyPassword can read.
func NeedsRehash(encoded string) bool {
	p, _, _, err := decodeArgon2id(encoded)
	return err != nil || p != currentParams()
}

// dummyHash is the hash DummyVerify checks against, made on first use so that a process that
// never serves a login does not pay for it.
var dummyHash = sync.OnceValue(func() string {
	salt := make([]byte, hashSaltLen)
	// crypto/rand.Read does not return errors since Go 1.24: it crashes the program instead.
	_, _ = rand.Read(salt)
	return hashArgon2id(currentParams(), salt, rand.Text())
})

// dummyVerifications counts DummyVerify calls, so tests can tell the dummy hash ran without
// measuring time.
var dummyVerifications atomic.Int64

// DummyVerify checks password against a hash made with HashPassword's parameters and drops the
// result. A login for an unknown user calls it where a known user's hash would be checked, so
// that both cost the same and the response time does not tell which usernames exist.
func DummyVerify(password string) {
	_, _ = VerifyPassword(dummyHash(), password)
	dummyVerifications.Add(1)
}

// DummyVerifications returns how many times DummyVerify has run in this process.
func DummyVerifications() int64 { return dummyVerifications.Load() }

// ValidatePassword checks a new password against the length policy: at least 12 characters
// and at most 256 bytes. The error's message is the reason, worded to follow a field name
// ("password must be at least 12 characters"); it never quotes the password.
func ValidatePassword(password string) error {
	switch {
	case len(password) > maxPasswordBytes:
		return fmt.Errorf("must be at most %d bytes", maxPasswordBytes)
	case utf8.RuneCountInString(password) < minPasswordRunes:
		return fmt.Errorf("must be at least %d characters", minPasswordRunes)
	}
	return nil
}

// hashSlots bounds the argon2 hashes computed at once. Each takes its memory cost (19 MiB by
// default) for its whole run, so a burst of logins would otherwise take as much memory as it
// has requests; beyond the slots, logins wait their turn.
var hashSlots = make(chan struct{}, 2*runtime.GOMAXPROCS(0))

func idKey(password string, salt []byte, p argon2Params) []byte {
	hashSlots <- struct{}{}
	defer func() { <-hashSlots }()
	return argon2.IDKey([]byte(password), salt, p.time, p.memory, p.threads, uint32(p.keyLen))
}
