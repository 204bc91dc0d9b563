// Package secret encrypts secret values at rest with AES-256-GCM. Every ciphertext is stored
// with the id of the key that sealed it, so keys can be rotated: a new key seals, old keys still
// open what they sealed, and a re-encryption pass moves everything to the newest key. The
// associated data binds a ciphertext to the row it belongs to, so a ciphertext copied onto
// another variable does not open. Keys come from configuration, never from the database.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
)

// KeySize is the length of a key: AES-256.
const KeySize = 32

// ErrNoKey is returned when no key is configured but one is needed.
var ErrNoKey = errors.New("no encryption key is configured")

// ErrUnknownKey is returned for a ciphertext sealed by a key the keyring does not hold.
var ErrUnknownKey = errors.New("the key that sealed this value is not configured")

// ErrTampered is returned when a ciphertext does not open: altered, truncated, or moved to
// another row.
var ErrTampered = errors.New("the value does not decrypt: altered, or sealed for another row")

var keyID = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// Keyring holds the encryption keys; the first is the current one, which seals.
type Keyring struct {
	current string
	aeads   map[string]cipher.AEAD
	order   []string
}

// ParseKeys reads keys written as "id:base64key", separated by commas, spaces or newlines, newest
// first. Errors name the position, never the key material.
func ParseKeys(spec string) (*Keyring, error) {
	raw, err := ParseKeyList("secrets.keys", spec, KeySize)
	if err != nil {
		return nil, err
	}
	return newKeyring(raw)
}

// NewKeyring returns a keyring of raw, newest first, each an AES-256 key (KeySize bytes); it
// fails for a key of another size. No keys give an empty keyring.
func NewKeyring(raw []RawKey) (*Keyring, error) {
	for _, k := range raw {
		if len(k.Raw) != KeySize {
			return nil, fmt.Errorf("key %q: %d bytes, want %d", k.ID, len(k.Raw), KeySize)
		}
	}
	return newKeyring(raw)
}

func newKeyring(raw []RawKey) (*Keyring, error) {
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	for _, key := range raw {
		if err := k.add(key.ID, key.Raw); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// NewKey returns a fresh random key in the "id:base64key" form ParseKeys reads.
func NewKey(id string) (string, error) { return NewKeyOfSize(id, KeySize) }

// NewKeyOfSize returns a fresh random key of size bytes in the "id:base64key" form.
func NewKeyOfSize(id string, size int) (string, error) {
	if !keyID.MatchString(id) {
		return "", fmt.Errorf("key id %q: letters, digits, . _ - only", id)
	}
	raw := make([]byte, size)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	return id + ":" + base64.StdEncoding.EncodeToString(raw), nil
}

func (k *Keyring) add(id string, raw []byte) error {
	block, err := aes.NewCipher(raw)
	if err != nil {
		return fmt.Errorf("secrets.keys: key %q: %w", id, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return fmt.Errorf("secrets.keys: key %q: %w", id, err)
	}
	if k.current == "" {
		k.current = id
	}
	k.aeads[id] = aead
	k.order = append(k.order, id)
	return nil
}

// Empty reports whether no key is configured.
func (k *Keyring) Empty() bool { return k == nil || k.current == "" }

// Current returns the id of the key that seals.
func (k *Keyring) Current() string {
	if k == nil {
		return ""
	}
	return k.current
}

// Seal encrypts plaintext with the current key for the row ad names; it returns the key id and
// nonce‖ciphertext‖tag.
func (k *Keyring) Seal(plaintext, ad []byte) (string, []byte, error) {
	if k.Empty() {
		return "", nil, ErrNoKey
	}
	aead := k.aeads[k.current]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", nil, err
	}
	return k.current, aead.Seal(nonce, nonce, plaintext, ad), nil
}

// Open decrypts what Seal returned for the same ad. It returns ErrUnknownKey or ErrTampered.
func (k *Keyring) Open(id string, sealed, ad []byte) ([]byte, error) {
	if k.Empty() {
		return nil, ErrNoKey
	}
	aead, ok := k.aeads[id]
	if !ok {
		return nil, fmt.Errorf("key %q: %w", id, ErrUnknownKey)
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrTampered
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], ad)
	if err != nil {
		return nil, ErrTampered
	}
	return plain, nil
}

// Reseal returns a function that opens a value sealed by key id for the row ad names and seals
// it again with k's current key, for a key rotation. It fails as Open and Seal do.
func Reseal(k *Keyring, ad []byte) func(id string, sealed []byte) ([]byte, error) {
	return func(id string, sealed []byte) ([]byte, error) {
		plain, err := k.Open(id, sealed, ad)
		if err != nil {
			return nil, err
		}
		_, out, err := k.Seal(plain, ad)
		clear(plain)
		return out, err
	}
}
