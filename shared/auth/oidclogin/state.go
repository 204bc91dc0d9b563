package oidclogin

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vecron/vecron/shared/secret"
)

// state is what one sign-in carries from Start to Finish, sealed in a cookie. Encrypted, not
// only signed: the verifier must stay secret until the token request, and the nonce until the
// ID token comes back.
type state struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Return   string `json:"r"`
	// Expires is in Unix seconds; checked by the server's clock, since a cookie's Max-Age is
	// only the browser's promise.
	Expires int64 `json:"e"`
}

// stateAD binds a sealed state to its purpose and cookie name, so no other value sealed with
// the same keys (a derived key never seals anything else, but an explicit one might be
// reused) opens as a sign-in state.
func stateAD(name string) []byte { return []byte("vecron oidc-login state v1\x00" + name) }

var errBadCookie = errors.New("state cookie does not open: altered, or sealed by a key not configured")

func sealState(keys *secret.Keyring, name string, st state) (string, error) {
	plain, err := json.Marshal(st)
	if err != nil {
		return "", err
	}
	id, sealed, err := keys.Seal(plain, stateAD(name))
	if err != nil {
		return "", err
	}
	return id + "." + base64.RawURLEncoding.EncodeToString(sealed), nil
}

func openState(keys *secret.Keyring, name, value string) (state, error) {
	var st state
	id, enc, ok := strings.Cut(value, ".")
	if !ok {
		return st, errBadCookie
	}
	sealed, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return st, errBadCookie
	}
	plain, err := keys.Open(id, sealed, stateAD(name))
	if err != nil {
		return st, errBadCookie
	}
	if err := json.Unmarshal(plain, &st); err != nil || st.State == "" || st.Nonce == "" || st.Verifier == "" {
		return st, errBadCookie
	}
	return st, nil
}

// spentMax bounds the states remembered as used. Past it the oldest-expiring are forgotten
// first; a forgotten state's code is spent at the identity provider all the same.
const spentMax = 50_000

// spent remembers the states of finished sign-ins until their cookies expire, so a callback
// replayed with a copy of its cookie fails in this process. Another replica does not know
// them; there the identity provider's single-use codes refuse the replay.
type spent struct {
	mu    sync.Mutex
	until map[string]time.Time
}

// spend records id as used until until and reports whether it was unused.
func (s *spent) spend(id string, until, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.until == nil {
		s.until = map[string]time.Time{}
	}
	if u, ok := s.until[id]; ok && now.Before(u) {
		return false
	}
	if len(s.until) >= spentMax {
		s.prune(now)
	}
	s.until[id] = until
	return true
}

// prune drops the expired entries and, when too many are left, the half that expires first.
func (s *spent) prune(now time.Time) {
	for id, u := range s.until {
		if !now.Before(u) {
			delete(s.until, id)
		}
	}
	if len(s.until) < spentMax {
		return
	}
	// Sorting is cheap enough here: it runs at most once per spentMax/2 sign-ins.
	times := slices.SortedFunc(maps.Values(s.until), time.Time.Compare)
	cut := times[len(times)/2]
	for id, u := range s.until {
		if !u.After(cut) {
			delete(s.until, id)
		}
	}
}
