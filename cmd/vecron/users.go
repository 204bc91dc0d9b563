package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/vecron/vecron/shared/domain"
)

// userID resolves a user given by id or by username.
func (c *client) userID(ctx context.Context, who string) (string, error) {
	if uuid.Validate(who) == nil {
		return who, nil
	}
	cursor := ""
	for {
		var page struct {
			Items      []domain.User `json:"items"`
			NextCursor string        `json:"next_cursor"`
		}
		if err := c.getJSON(ctx, "/api/v1/users", url.Values{"limit": {"500"}, "cursor": {cursor}}, &page); err != nil {
			return "", err
		}
		for _, u := range page.Items {
			if strings.EqualFold(u.Username, who) {
				return u.ID, nil
			}
		}
		if page.NextCursor == "" {
			return "", usageError{fmt.Errorf("no user %q", who)}
		}
		cursor = page.NextCursor
	}
}

func usersCommand(e env) *cobra.Command {
	cmd := &cobra.Command{Use: "users", Short: "Manage users and their roles (needs user:admin for all namespaces)"}

	list := e.apiCommand("list", "List users", cobra.NoArgs, func(cmd *cobra.Command, c *client, _ []string) error {
		var page struct {
			Items []domain.User `json:"items"`
		}
		if err := c.call(cmd.Context(), http.MethodGet, "/api/v1/users?limit=500", nil, &page); err != nil {
			return err
		}
		var rows [][]string
		for _, u := range page.Items {
			state := "active"
			if u.Disabled {
				state = "disabled"
			}
			rows = append(rows, []string{u.ID, u.Username, u.Source, state, u.DisplayName})
		}
		table(cmd.OutOrStdout(), "ID\tUSERNAME\tSOURCE\tSTATE\tNAME", rows)
		return nil
	})

	var displayName, role, namespace string
	var stdin bool
	create := e.apiCommand("create USERNAME", "Create a user; the password is read from the terminal or standard input", cobra.ExactArgs(1),
		func(cmd *cobra.Command, c *client, args []string) error {
			password, err := readPassword(cmd, stdin)
			if err != nil {
				return err
			}
			var u domain.User
			if err := c.call(cmd.Context(), http.MethodPost, "/api/v1/users", map[string]any{"username": args[0], "display_name": displayName, "password": password}, &u); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created user %s (%s)\n", u.Username, u.ID)
			if role == "" {
				return nil
			}
			return c.bind(cmd.Context(), cmd.OutOrStdout(), u.ID, role, namespace)
		})
	create.Flags().StringVar(&displayName, "display-name", "", "the user's name as people read it")
	create.Flags().StringVar(&role, "role", "", "grant this role at once (viewer, operator, editor, admin or a custom role)")
	create.Flags().StringVar(&namespace, "namespace", domain.AllNamespaces, "namespace of --role (* for all)")
	create.Flags().BoolVar(&stdin, "password-stdin", false, "read the password from standard input")

	var grantNS string
	grant := e.apiCommand("grant USER ROLE", "Grant a role to a user in a namespace", cobra.ExactArgs(2),
		func(cmd *cobra.Command, c *client, args []string) error {
			id, err := c.userID(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return c.bind(cmd.Context(), cmd.OutOrStdout(), id, args[1], grantNS)
		})
	grant.Flags().StringVar(&grantNS, "namespace", domain.AllNamespaces, "namespace the role holds in (* for all)")

	patch := func(use, short string, body func(cmd *cobra.Command) (map[string]any, error), done string) *cobra.Command {
		return e.apiCommand(use, short, cobra.ExactArgs(1), func(cmd *cobra.Command, c *client, args []string) error {
			id, err := c.userID(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			in, err := body(cmd)
			if err != nil {
				return err
			}
			if err := c.call(cmd.Context(), http.MethodPatch, "/api/v1/users/"+id, in, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", done, args[0])
			return nil
		})
	}
	disable := patch("disable USER", "Disable a user: their sessions and tokens stop working", func(*cobra.Command) (map[string]any, error) {
		return map[string]any{"disabled": true}, nil
	}, "disabled")
	enable := patch("enable USER", "Enable a disabled user", func(*cobra.Command) (map[string]any, error) {
		return map[string]any{"disabled": false}, nil
	}, "enabled")
	var pwStdin bool
	setPassword := patch("set-password USER", "Set a user's password (their sessions end)", func(cmd *cobra.Command) (map[string]any, error) {
		p, err := readPassword(cmd, pwStdin)
		return map[string]any{"password": p}, err
	}, "set the password of")
	setPassword.Flags().BoolVar(&pwStdin, "password-stdin", false, "read the password from standard input")

	del := e.apiCommand("delete USER", "Delete a user with their roles and tokens", cobra.ExactArgs(1),
		func(cmd *cobra.Command, c *client, args []string) error {
			id, err := c.userID(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if err := c.call(cmd.Context(), http.MethodDelete, "/api/v1/users/"+id, nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", args[0])
			return nil
		})

	cmd.AddCommand(list, create, grant, disable, enable, setPassword, del)
	return cmd
}

func (c *client) bind(ctx context.Context, w io.Writer, userID, role, namespace string) error {
	var b domain.RoleBinding
	if err := c.call(ctx, http.MethodPost, "/api/v1/role-bindings", map[string]string{"role": role, "user_id": userID, "namespace": namespace}, &b); err != nil {
		return err
	}
	fmt.Fprintf(w, "granted %s in %s (binding %s)\n", role, namespace, b.ID)
	return nil
}

func tokensCommand(e env) *cobra.Command {
	cmd := &cobra.Command{Use: "tokens", Short: "Manage API tokens for machines (CI pipelines, other services)"}

	var name, namespace string
	var scopes []string
	var expiresIn time.Duration
	create := e.apiCommand("create", "Create an API token; it is printed once", cobra.NoArgs,
		func(cmd *cobra.Command, c *client, _ []string) error {
			in := map[string]any{"name": name, "scopes": scopes, "namespace": namespace}
			if expiresIn > 0 {
				in["expires_at"] = time.Now().Add(expiresIn).UTC().Format(time.RFC3339)
			}
			var out struct {
				ID    string `json:"id"`
				Token string `json:"token"`
			}
			if err := c.call(cmd.Context(), http.MethodPost, "/api/v1/tokens", in, &out); err != nil {
				return err
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "token "+out.ID+" created; it is shown this once:")
			fmt.Fprintln(cmd.OutOrStdout(), out.Token)
			return nil
		})
	create.Flags().StringVar(&name, "name", "", "what the token is for (e.g. ci-deploy)")
	create.Flags().StringSliceVar(&scopes, "scope", nil, "a permission the token carries (repeat, or comma-separated): job:read, job:execute, …")
	create.Flags().StringVar(&namespace, "namespace", domain.AllNamespaces, "namespace the token acts in (* for every namespace you hold the scopes in)")
	create.Flags().DurationVar(&expiresIn, "expires-in", 0, "lifetime of the token, e.g. 720h (default: until revoked)")

	var user string
	list := e.apiCommand("list", "List your API tokens (or a user's, or everyone's with --user '*', as a user admin)", cobra.NoArgs,
		func(cmd *cobra.Command, c *client, _ []string) error {
			path := "/api/v1/tokens"
			if user != "" {
				id := user
				if user != "*" {
					var err error
					if id, err = c.userID(cmd.Context(), user); err != nil {
						return err
					}
				}
				path += "?user_id=" + url.QueryEscape(id)
			}
			var page struct {
				Items []domain.APIToken `json:"items"`
			}
			if err := c.call(cmd.Context(), http.MethodGet, path, nil, &page); err != nil {
				return err
			}
			var rows [][]string
			for _, t := range page.Items {
				scopes := make([]string, len(t.Scopes))
				for i, s := range t.Scopes {
					scopes[i] = string(s)
				}
				rows = append(rows, []string{t.ID, t.Name, t.Namespace, strings.Join(scopes, ","), when(t.ExpiresAt, "never"),
					when(t.LastUsedAt, "never"), when(t.RevokedAt, "-")})
			}
			table(cmd.OutOrStdout(), "ID\tNAME\tNAMESPACE\tSCOPES\tEXPIRES\tLAST USED\tREVOKED", rows)
			return nil
		})
	list.Flags().StringVar(&user, "user", "", "list this user's tokens (id or username), or * for everyone's")

	revoke := e.apiCommand("revoke ID", "Revoke an API token", cobra.ExactArgs(1), func(cmd *cobra.Command, c *client, args []string) error {
		if err := c.call(cmd.Context(), http.MethodDelete, "/api/v1/tokens/"+args[0], nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "revoked %s\n", args[0])
		return nil
	})
	cmd.AddCommand(create, list, revoke)
	return cmd
}
