package dashboard

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/vecron/vecron/shared/auth/oidclogin"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/identity"
	"github.com/vecron/vecron/shared/rbac"
)

// refreshClaim is how long one request holds the refresh of a session, on any replica: longer
// than the token request may take (10 s), so that two requests of one page never both spend a
// refresh token that the provider lets be used once.
const refreshClaim = 30 * time.Second

// identityExpiry returns until when a sign-in through the identity provider whose ID token
// expires at exp is trusted: exp, but at least dashboard.oidc_identity_min from now.
func (s *Sessions) identityExpiry(exp time.Time) time.Time {
	least := s.now().UTC().Add(s.cfg.OIDCIdentityMin).Truncate(time.Microsecond)
	if exp.After(least) {
		return exp.UTC().Truncate(time.Microsecond)
	}
	return least
}

// refresh renews the identity of the identity provider's session ds, stale at now: its refresh
// token is traded for a new ID token, whose username and groups the session keeps until that
// expires. It returns the session as renewed, or errNoSession, having ended the session, when
// there is no refresh token or the provider will not renew it (the user disabled, logged out or
// removed there; the provider not answering). One request at a time refreshes a session; the
// others, meanwhile, act on the identity it had, for at most refreshClaim.
func (s *Sessions) refresh(r *http.Request, ds *domain.DashboardSession, now time.Time) (*domain.DashboardSession, error) {
	// A browser that gives up on its request must not end its session halfway through a
	// refresh, nor spend the refresh token for nothing.
	ctx := context.WithoutCancel(r.Context())
	keyID, sealed, mine, err := s.store.ClaimSessionRefresh(ctx, ds.TokenHash, now, now.Add(refreshClaim))
	if err != nil {
		return nil, err
	}
	if !mine {
		// Another request refreshes it, or just has: read what it left.
		again, err := s.store.DashboardSession(ctx, ds.TokenHash, now)
		switch {
		case errors.Is(err, domain.ErrNotFound):
			return nil, errNoSession
		case err != nil:
			return nil, err
		}
		return again, nil
	}
	reason := ""
	var g *oidclogin.Grant
	switch {
	case sealed == nil:
		reason = "the identity provider's sign-in expired and gave no refresh token"
	case s.refresher == nil:
		reason = "the identity provider's sign-in expired and it cannot be asked again here"
	default:
		g, err = s.refresher.Refresh(ctx, ds.OIDCSubject, oidclogin.Sealed{KeyID: keyID, Data: sealed})
		var failed *oidclogin.Error
		switch {
		case errors.As(err, &failed):
			// Error() names the cause and never a token.
			s.log.Warn("dashboard session: the identity provider did not renew it", "session", ds.ID, "error", err)
			reason = refreshFailure(failed.Reason)
		case err != nil:
			// Not the provider's answer but ours (sealing the new refresh token): the
			// session ends all the same, or its claim would lapse and every request after
			// it would act on the stale groups, and fail again. The error quotes no token.
			s.log.Error("dashboard session: its renewal failed here; ending it", "session", ds.ID, "error", err)
			reason = "the renewal of the identity provider's sign-in failed here"
		}
	}
	if reason != "" {
		// Recorded as the session's user's: the request is theirs, though they did not ask.
		actor := rbac.NewIdentity("oidc:"+ds.OIDCSubject, ds.OIDCUsername, rbac.KindUser, identity.ModeOIDC, "", nil)
		if err := s.store.ExpireDashboardSession(withActor(r.WithContext(ctx), s.ident, actor), ds.TokenHash, now, reason); err != nil {
			return nil, err
		}
		return nil, errNoSession
	}
	ref := domain.SessionRefresh{Username: g.Identity.Username, Groups: g.Identity.Roles, IdentityExpiresAt: s.identityExpiry(g.Identity.ExpiresAt)}
	if g.Refresh != nil {
		ref.RefreshKeyID, ref.RefreshSealed = g.Refresh.KeyID, g.Refresh.Data
	}
	switch err := s.store.RefreshSession(ctx, ds.TokenHash, ref); {
	case errors.Is(err, domain.ErrNotFound):
		return nil, errNoSession // ended meanwhile, by an admin or a sign-out
	case err != nil:
		// The renewal is not stored: end the session rather than let the stale groups
		// serve until the claim lapses. If the database refuses that too, the claim
		// lapses after refreshClaim and the next request tries again.
		actor := rbac.NewIdentity("oidc:"+ds.OIDCSubject, ds.OIDCUsername, rbac.KindUser, identity.ModeOIDC, "", nil)
		if xerr := s.store.ExpireDashboardSession(withActor(r.WithContext(ctx), s.ident, actor), ds.TokenHash, now,
			"the renewal of the identity provider's sign-in could not be stored"); xerr != nil {
			return nil, errors.Join(err, xerr)
		}
		s.log.Error("dashboard session: its renewal could not be stored; ended it", "session", ds.ID, "error", err)
		return nil, errNoSession
	}
	ds.OIDCUsername, ds.OIDCGroups, ds.IdentityExpiresAt = ref.Username, ref.Groups, ref.IdentityExpiresAt
	ds.RefreshKeyID, ds.RefreshSealed = ref.RefreshKeyID, ref.RefreshSealed
	return ds, nil
}

// refreshFailure is the audit log's reason of a refresh that failed for reason.
func refreshFailure(reason oidclogin.Reason) string {
	switch reason {
	case oidclogin.ReasonRefused:
		return "the identity provider refused to renew the sign-in"
	case oidclogin.ReasonUnavailable:
		return "the identity provider did not answer the renewal of the sign-in"
	case oidclogin.ReasonMismatch:
		return "the sealed refresh token does not open (a key no longer configured?)"
	default:
		return "the identity provider's renewal of the sign-in could not be verified"
	}
}
