package domain

import "time"

// DashboardSession is a browser's sign-in to the dashboard. Exactly one of UserID (a database
// user, with RefreshHash the refresh-token family its login opened) and OIDCSubject (a user of
// the identity provider, with what the provider said of them) is set.
type DashboardSession struct {
	ID          string
	TokenHash   []byte
	Mode        string
	UserID      string
	RefreshHash []byte

	OIDCSubject  string
	OIDCUsername string
	OIDCGroups   []string
	// IdentityExpiresAt is when what the identity provider said of an OIDC session's user
	// (username, groups) must be asked again; zero for a database user, and for a session made
	// before vecron kept it, which is then stale at once.
	IdentityExpiresAt time.Time
	// RefreshKeyID and RefreshSealed are the identity provider's refresh token, sealed; empty
	// when it gave none.
	RefreshKeyID  string
	RefreshSealed []byte

	CSRFSecret    []byte
	CreatedAt     time.Time
	LastSeenAt    time.Time
	IdleExpiresAt time.Time
	ExpiresAt     time.Time
}

// SessionRefresh is what the identity provider said of a session's user when asked again.
type SessionRefresh struct {
	Username          string
	Groups            []string
	IdentityExpiresAt time.Time
	// RefreshKeyID and RefreshSealed are the refresh token to keep, sealed: the provider's new
	// one, or the one it was asked with.
	RefreshKeyID  string
	RefreshSealed []byte
}

// SessionInfo is a dashboard session as the API shows it to an admin or its own user: who, how
// and when. It holds nothing that signs anyone in: no token or hash of one, no CSRF secret, no
// refresh token.
type SessionInfo struct {
	ID   string `json:"id"`
	Mode string `json:"mode"`
	// UserID is set for a database user, Subject for an identity provider's.
	UserID   string   `json:"user_id,omitempty"`
	Subject  string   `json:"subject,omitempty"`
	Username string   `json:"username"`
	Groups   []string `json:"groups,omitempty"`

	CreatedAt     time.Time `json:"created_at"`
	LastSeenAt    time.Time `json:"last_seen_at"`
	IdleExpiresAt time.Time `json:"idle_expires_at"`
	ExpiresAt     time.Time `json:"expires_at"`
	// IdentityExpiresAt is when an identity provider's session next asks the provider about
	// its user.
	IdentityExpiresAt *time.Time `json:"identity_expires_at,omitempty"`
	EndedAt           *time.Time `json:"ended_at,omitempty"`
}

// SessionFilter selects the sessions of one database user (UserID), one identity provider's
// subject (Subject), or everyone's (neither), active ones only, newest first, after the
// position (AfterCreated, AfterID) when set.
type SessionFilter struct {
	UserID, Subject string
	Mode            string
	AfterCreated    time.Time
	AfterID         string
	Limit           int
}
