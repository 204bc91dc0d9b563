package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/vecron/vecron/shared/audit"
	"github.com/vecron/vecron/shared/auth/oidclogin"
	"github.com/vecron/vecron/shared/config"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/secret"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/variables"
)

// rotateSettings configure `vecron secrets rotate`: the keys the functions seal with, the
// audit keys its batches are recorded with, and the sign-in's state keys when they are not
// derived from secrets.keys (refresh tokens are sealed with keys derived from those).
type rotateSettings struct {
	Database store.Config  `koanf:"database"`
	Secrets  secret.Config `koanf:"secrets"`
	Audit    audit.Config  `koanf:"audit"`
	Auth     rotateAuth    `koanf:"auth"`
}

// rotateAuth is the part of the auth settings a rotation reads.
type rotateAuth struct {
	OIDCLogin oidclogin.Config `koanf:"oidc_login"`
}

// rotateActor is who the audit rows of a rotation name: it runs against the database, not
// through the API, so there is no signed-in user.
var rotateActor = domain.Actor{ID: "vecron-secrets-rotate", Name: "vecron secrets rotate", Kind: "system"}

func secretsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "secrets", Short: "Manage the keys that seal secrets"}
	cmd.AddCommand(rotateCommand("rotate", "Re-seal every sealed value with the newest key"))
	return cmd
}

func rotateCommand(use, short string) *cobra.Command {
	s := rotateSettings{Database: store.Config{MaxConns: 2}}
	var file string
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Long: `Re-seals, with the newest key (the first of secrets.keys), every value sealed by an older one:
secret variables, webhook signing secrets, and the identity provider's refresh tokens that
dashboard sessions keep. Rotate a key by putting a new one first in secrets.keys, keeping the old
ones after it, restarting the functions, and running this; when it reports nothing left, the old
keys can be removed.

It works in batches, one transaction each, and writes one audit row (secrets.rotate) per batch,
so it needs audit.keys. Stopped half-way, it is run again and carries on. A value that no
configured key opens is left as it was and listed, and the command ends with status 1 — except
a session's refresh token, which is listed only: its session ends at its next identity check, as
it would have anyway. Give the command the same auth.oidc_login.state_keys as the api when it has
them (refresh tokens are sealed with keys derived from those, else from secrets.keys).`,
		Example: `  VECRON_SECRETS__KEYS="2026:$NEW_KEY,2025:$OLD_KEY" VECRON_AUDIT__KEYS=… DATABASE_URL=postgres://… vecron secrets rotate`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := loadDatabaseSettings(cmd, &s, file); err != nil {
				return err
			}
			keys, err := s.Secrets.Keyring()
			if err != nil {
				return usageError{err}
			}
			if keys.Empty() {
				return usageError{errors.New("secrets.keys: no key is configured to re-seal with")}
			}
			auditKeys, err := s.Audit.Load()
			if err != nil {
				return usageError{fmt.Errorf("%w (each batch of a rotation is audited)", err)}
			}
			refreshKeys, err := oidclogin.RefreshKeys(s.Auth.OIDCLogin, s.Secrets)
			if err != nil {
				return usageError{err}
			}
			return withMigratedStore(cmd, s.Database, func(st *store.Store) error {
				st.UseAudit(auditKeys)
				return rotateAll(domain.WithActor(cmd.Context(), rotateActor), cmd.OutOrStdout(), st, keys, refreshKeys)
			})
		},
	}
	cmd.Flags().StringVar(&file, "config", "", "settings file (YAML or JSON)")
	config.BindFlags(cmd.Flags(), &s)
	return cmd
}

// rotateAll re-seals variables, webhook secrets and refresh tokens in turn, printing a line for
// each, and fails when a value was left as it was.
func rotateAll(ctx context.Context, out io.Writer, st *store.Store, keys, refreshKeys *secret.Keyring) error {
	steps := []struct {
		what, key string
		// harmless says a value left behind does nothing worse than it would have done anyway.
		harmless string
		run      func() (domain.ResealReport, error)
	}{
		{"secret variables", keys.Current(), "", func() (domain.ResealReport, error) { return variables.New(st, keys, time.Now).Rotate(ctx) }},
		{"webhook secrets", keys.Current(), "", func() (domain.ResealReport, error) {
			return jobs.RotateWebhookSecrets(ctx, st, keys, variables.RotateBatch)
		}},
		{"session refresh tokens", refreshKeys.Current(), "its session ends at its next identity check, as it would have", func() (domain.ResealReport, error) {
			return st.ResealSessionRefresh(ctx, refreshKeys.Current(), variables.RotateBatch, func(subject string) domain.Resealer {
				return oidclogin.ResealRefresh(refreshKeys, subject)
			})
		}},
	}
	failed := 0
	for _, step := range steps {
		rep, err := step.run()
		if err != nil {
			return fmt.Errorf("%s: %w", step.what, err)
		}
		fmt.Fprintf(out, "re-sealed %d %s with key %s\n", rep.Resealed, step.what, step.key)
		for _, f := range rep.Failed {
			fmt.Fprintf(out, "  left %s (sealed by key %s): %v", f.ID, f.KeyID, f.Err)
			if step.harmless != "" {
				fmt.Fprintf(out, "; %s", step.harmless)
			}
			fmt.Fprintln(out)
		}
		if step.harmless == "" {
			failed += len(rep.Failed)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d values did not open and are still sealed by old keys: configure their keys and run again, or replace them (set the variable again, regenerate the webhook)", failed)
	}
	return nil
}
