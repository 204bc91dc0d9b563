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

	CSRFSecret    []byte
	CreatedAt     time.Time
	LastSeenAt    time.Time
	IdleExpiresAt time.Time
	ExpiresAt     time.Time
}
