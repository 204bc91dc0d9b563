package main

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/vecron/vecron/shared/config"
	"github.com/vecron/vecron/shared/secret"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/variables"
)

// rotateSettings configure `vecron variables rotate`.
type rotateSettings struct {
	Database store.Config  `koanf:"database"`
	Secrets  secret.Config `koanf:"secrets"`
}

func variablesCommand(_ env) *cobra.Command {
	cmd := &cobra.Command{Use: "variables", Short: "Manage variables and secrets"}
	cmd.AddCommand(rotateCommand())
	return cmd
}

func rotateCommand() *cobra.Command {
	s := rotateSettings{Database: store.Config{MaxConns: 2}}
	var file string
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Re-encrypt every secret variable with the newest key",
		Long: `Re-encrypts every secret variable not sealed by the newest key (the first of secrets.keys)
with it. Rotate a key by putting a new one first in secrets.keys, keeping the old ones after it,
restarting the functions, and running this; then the old keys can be removed.`,
		Example: `  VECRON_SECRETS__KEYS="2026:$NEW_KEY,2025:$OLD_KEY" DATABASE_URL=postgres://… vecron variables rotate`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := config.Load(&s, config.Options{File: file, Environ: os.Environ(), Prefix: config.EnvPrefix,
				Flags: cmd.Flags(), Aliases: map[string]string{"DATABASE_URL": "database.url"}}); err != nil {
				return usageError{err}
			}
			keys, err := s.Secrets.Keyring()
			if err != nil {
				return usageError{err}
			}
			if keys.Empty() {
				return usageError{fmt.Errorf("secrets.keys: no key is configured to re-encrypt with")}
			}
			ctx := cmd.Context()
			st, err := store.Open(ctx, s.Database)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.Migrate(ctx, slog.New(slog.DiscardHandler)); err != nil {
				return err
			}
			n, err := variables.New(st, keys, time.Now).Rotate(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "re-encrypted %d secrets with key %s\n", n, keys.Current())
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "config", "", "settings file (YAML or JSON)")
	config.BindFlags(cmd.Flags(), &s)
	return cmd
}
