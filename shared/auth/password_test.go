package auth

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
	"pgregory.net/rapid"
)

func TestHashPasswordRoundTrip(t *testing.T) {
	t.Parallel()
	hash, err := HashPassword("correct horse battery staple")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$"), hash)
	require.NotContains(t, hash, "correct horse")

	ok, err := VerifyPassword(hash, "correct horse battery staple")
	require.NoError(t, err)
	require.True(t, ok)
	require.False(t, NeedsRehash(hash))

	again, err := HashPassword("correct horse battery staple")
	require.NoError(t, err)
	require.NotEqual(t, hash, again, "two hashes of one password share a salt")
}

func TestVerifyPasswordRejectsAWrongPassword(t *testing.T) {
	t.Parallel()
	hash, err := HashPassword("correct horse battery staple")
	require.NoError(t, err)
	for _, wrong := range []string{"", "correct horse battery stapl", "Correct horse battery staple", "correct horse battery staple "} {
		ok, err := VerifyPassword(hash, wrong)
		require.NoError(t, err, "a wrong password is not an error")
		require.False(t, ok, "%q accepted", wrong)
	}
}

func TestVerifyPasswordReadsBcrypt(t *testing.T) {
	t.Parallel()
	for _, variant := range []string{"2a", "2b", "2y"} {
		t.Run("Variant"+strings.ToUpper(variant), func(t *testing.T) {
			t.Parallel()
			b, err := bcrypt.GenerateFromPassword([]byte("legacy password 1"), bcrypt.MinCost)
			require.NoError(t, err)
			hash := "$" + variant + string(b[3:])

			ok, err := VerifyPassword(hash, "legacy password 1")
			require.NoError(t, err)
			require.True(t, ok)

			ok, err = VerifyPassword(hash, "legacy password 2")
			require.NoError(t, err)
			require.False(t, ok)

			require.True(t, NeedsRehash(hash), "bcrypt hashes move to argon2id")
		})
	}
}

func TestVerifyPasswordRejectsMalformedHashes(t *testing.T) {
	t.Parallel()
	valid := hashArgon2id(lowCost(), bytes.Repeat([]byte{7}, 16), "password")
	_, _, key, err := decodeArgon2id(valid)
	require.NoError(t, err)
	salt16 := phcBase64.EncodeToString(bytes.Repeat([]byte{7}, 16))
	key32 := phcBase64.EncodeToString(key)
	b, err := bcrypt.GenerateFromPassword([]byte("password"), bcrypt.MinCost)
	require.NoError(t, err)
	bc := string(b)

	for name, hash := range map[string]string{
		"Empty":            "",
		"Plain":            "password",
		"OtherScheme":      "$argon2i$v=19$m=8,t=1,p=1$" + salt16 + "$" + key32,
		"ScryptLike":       "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
		"NoVersion":        "$argon2id$m=8,t=1,p=1$" + salt16 + "$" + key32,
		"OldVersion":       "$argon2id$v=16$m=8,t=1,p=1$" + salt16 + "$" + key32,
		"ParamsReordered":  "$argon2id$v=19$t=1,m=8,p=1$" + salt16 + "$" + key32,
		"ParamsMissing":    "$argon2id$v=19$m=8,t=1$" + salt16 + "$" + key32,
		"ParamExtra":       "$argon2id$v=19$m=8,t=1,p=1,k=1$" + salt16 + "$" + key32,
		"LeadingZero":      "$argon2id$v=19$m=08,t=1,p=1$" + salt16 + "$" + key32,
		"Signed":           "$argon2id$v=19$m=+8,t=1,p=1$" + salt16 + "$" + key32,
		"ZeroTime":         "$argon2id$v=19$m=8,t=0,p=1$" + salt16 + "$" + key32,
		"ZeroThreads":      "$argon2id$v=19$m=8,t=1,p=0$" + salt16 + "$" + key32,
		"MemoryHuge":       "$argon2id$v=19$m=2097153,t=1,p=1$" + salt16 + "$" + key32,
		"MemoryOverflow":   "$argon2id$v=19$m=99999999999,t=1,p=1$" + salt16 + "$" + key32,
		"TimeHuge":         "$argon2id$v=19$m=8,t=11,p=1$" + salt16 + "$" + key32,
		"ThreadsHuge":      "$argon2id$v=19$m=256,t=1,p=17$" + salt16 + "$" + key32,
		"MemoryBelowLanes": "$argon2id$v=19$m=15,t=1,p=2$" + salt16 + "$" + key32,
		"SaltShort":        "$argon2id$v=19$m=8,t=1,p=1$" + phcBase64.EncodeToString([]byte("1234567")) + "$" + key32,
		"SaltPadded":       "$argon2id$v=19$m=8,t=1,p=1$" + salt16 + "==$" + key32,
		"SaltLineBreak":    "$argon2id$v=19$m=8,t=1,p=1$" + salt16[:4] + "\n" + salt16[4:] + "$" + key32,
		"SaltNotBase64":    "$argon2id$v=19$m=8,t=1,p=1$!!!!$" + key32,
		"KeyShort":         "$argon2id$v=19$m=8,t=1,p=1$" + salt16 + "$" + phcBase64.EncodeToString(key[:15]),
		"KeyMissing":       "$argon2id$v=19$m=8,t=1,p=1$" + salt16,
		"TrailingField":    valid + "$x",
		"BcryptTruncated":  bc[:59],
		"BcryptTrailing":   bc + "x",
		"BcryptVariantX":   "$2x$" + bc[4:],
		"BcryptOld":        "$2$04$" + bc[7:] + "x",
		"BcryptCostHuge":   bc[:4] + "31" + bc[6:],
		"BcryptCostLow":    bc[:4] + "03" + bc[6:],
		"BcryptAlphabet":   bc[:10] + "!" + bc[11:],
		"BcryptCostLetter": bc[:4] + "1a" + bc[6:],
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ok, err := VerifyPassword(hash, "hunter2 but longer")
			require.ErrorIs(t, err, errMalformedHash)
			require.False(t, ok)
			if len(hash) > 8 {
				require.NotContains(t, err.Error(), hash[len(hash)-8:], "the error quotes the hash")
			}
			require.NotContains(t, err.Error(), "hunter2")
			require.True(t, NeedsRehash(hash))
		})
	}
}

func TestNeedsRehash(t *testing.T) {
	t.Parallel()
	salt := bytes.Repeat([]byte{1}, hashSaltLen)
	key := bytes.Repeat([]byte{2}, hashKeyLen)
	current := currentParams()
	require.False(t, NeedsRehash(encodeArgon2id(current, salt, key)))
	for name, change := range map[string]func(*argon2Params, *[]byte, *[]byte){
		"Memory":  func(p *argon2Params, _, _ *[]byte) { p.memory = 64 * 1024 },
		"Time":    func(p *argon2Params, _, _ *[]byte) { p.time = 3 },
		"Threads": func(p *argon2Params, _, _ *[]byte) { p.threads = 2 },
		"SaltLen": func(_ *argon2Params, s, _ *[]byte) { *s = (*s)[:8] },
		"KeyLen":  func(_ *argon2Params, _, k *[]byte) { *k = append(*k, 3) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, s, k := current, bytes.Clone(salt), bytes.Clone(key)
			change(&p, &s, &k)
			require.True(t, NeedsRehash(encodeArgon2id(p, s, k)))
		})
	}
}

func TestDummyVerifyRuns(t *testing.T) {
	t.Parallel()
	before := DummyVerifications()
	DummyVerify("any password at all")
	DummyVerify("")
	// Other tests may call it meanwhile: the count only grows.
	require.GreaterOrEqual(t, DummyVerifications(), before+2)

	p, _, _, err := decodeArgon2id(dummyHash())
	require.NoError(t, err)
	require.Equal(t, currentParams(), p, "the dummy costs what a real hash costs")
}

func TestValidatePassword(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		password string
		want     string
	}{
		{"Empty", "", "must be at least 12 characters"},
		{"ElevenCharacters", "abcdefghijk", "must be at least 12 characters"},
		{"TwelveCharacters", "abcdefghijkl", ""},
		// Twelve runes, 36 bytes: characters count, not bytes.
		{"TwelveRunes", strings.Repeat("€", 12), ""},
		{"ElevenRunesManyBytes", strings.Repeat("€", 11), "must be at least 12 characters"},
		{"MaxBytes", strings.Repeat("a", 256), ""},
		{"TooLong", strings.Repeat("a", 257), "must be at most 256 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := ValidatePassword(tc.password)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tc.want)
		})
	}
}

// lowCost returns the cheapest parameters argon2id accepts, so that properties can hash many
// times.
func lowCost() argon2Params {
	return argon2Params{memory: 8, time: 1, threads: 1, saltLen: 16, keyLen: 32}
}

func TestArgon2idEncodingRoundTrip(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		threads := rapid.IntRange(1, maxThreads).Draw(t, "threads")
		p := argon2Params{
			memory:  uint32(rapid.IntRange(8*threads, maxMemory).Draw(t, "memory")),
			time:    uint32(rapid.IntRange(1, maxTime).Draw(t, "time")),
			threads: uint8(threads),
		}
		salt := rapid.SliceOfN(rapid.Byte(), minSaltLen, maxSaltLen).Draw(t, "salt")
		key := rapid.SliceOfN(rapid.Byte(), minKeyLen, maxKeyLen).Draw(t, "key")
		p.saltLen, p.keyLen = len(salt), len(key)

		encoded := encodeArgon2id(p, salt, key)
		gotP, gotSalt, gotKey, err := decodeArgon2id(encoded)
		require.NoError(t, err)
		require.Equal(t, p, gotP)
		require.Equal(t, salt, gotSalt)
		require.Equal(t, key, gotKey)
	})
}

func TestArgon2idDecodingIsCanonical(t *testing.T) {
	t.Parallel()
	valid := encodeArgon2id(lowCost(), bytes.Repeat([]byte{9}, 16), bytes.Repeat([]byte{5}, 32))
	rapid.Check(t, func(t *rapid.T) {
		// Mutate a valid string: whatever still decodes must be written exactly so.
		b := []byte(valid)
		for range rapid.IntRange(1, 3).Draw(t, "edits") {
			i := rapid.IntRange(0, len(b)-1).Draw(t, "at")
			b[i] = rapid.SampledFrom([]byte("$=,0123456789mtpvABZaz+/\n")).Draw(t, "byte")
		}
		p, salt, key, err := decodeArgon2id(string(b))
		if err != nil {
			require.ErrorIs(t, err, errMalformedHash)
			return
		}
		require.Equal(t, string(b), encodeArgon2id(p, salt, key))
	})
}

func TestPasswordRoundTripProperty(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		password := rapid.String().Draw(t, "password")
		other := rapid.String().Filter(func(s string) bool { return s != password }).Draw(t, "other")
		salt := rapid.SliceOfN(rapid.Byte(), hashSaltLen, hashSaltLen).Draw(t, "salt")
		hash := hashArgon2id(lowCost(), salt, password)

		ok, err := VerifyPassword(hash, password)
		require.NoError(t, err)
		require.True(t, ok)
		ok, err = VerifyPassword(hash, other)
		require.NoError(t, err)
		require.False(t, ok)
		require.True(t, NeedsRehash(hash), "low-cost hashes are not today's parameters")
	})
}

func FuzzVerifyPassword(f *testing.F) {
	f.Add(hashArgon2id(lowCost(), bytes.Repeat([]byte{1}, 16), "password"), "password")
	f.Add(encodeArgon2id(currentParams(), bytes.Repeat([]byte{1}, 16), bytes.Repeat([]byte{2}, 32)), "password")
	f.Add("$argon2id$v=19$m=8,t=1,p=1$$", "")
	f.Add("$2b$04$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01", "password")
	f.Add("$2a$04$......................................................", "x")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, encoded, password string) {
		// Hashes the fuzzer makes expensive would only slow it down; their parsing is what
		// is under test, and it runs before any hashing.
		if p, _, _, err := decodeArgon2id(encoded); err == nil && uint64(p.memory)*uint64(p.time) > 4096 {
			return
		}
		if strings.HasPrefix(encoded, "$2") && len(encoded) > 6 && encoded[4:6] > "06" {
			return
		}
		ok, err := VerifyPassword(encoded, password)
		if err != nil {
			require.False(t, ok)
			require.ErrorIs(t, err, errMalformedHash)
			// The message is about the hash alone: another password gets the same one.
			_, again := VerifyPassword(encoded, password+"x")
			require.EqualError(t, again, err.Error())
		}
		if ok {
			require.True(t, strings.HasPrefix(encoded, argon2idPrefix) || strings.HasPrefix(encoded, "$2"))
		}
	})
}
