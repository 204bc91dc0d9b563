package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// serverDefault is the API `vecron dev` serves.
const serverDefault = "http://127.0.0.1:8080"

// credentials are what `vecron login` keeps for later commands.
type credentials struct {
	Server       string    `json:"server"`
	Username     string    `json:"username"`
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token"`
	ExpiresAt    time.Time `json:"expires_at"`
}

// credentialsPath is where they are kept: the user's configuration folder, readable by the
// user alone.
func (e env) credentialsPath() (string, error) {
	dir, err := e.configDir()
	if err != nil {
		return "", fmt.Errorf("find the configuration folder: %w", err)
	}
	return filepath.Join(dir, "vecron", "credentials.json"), nil
}

// readCredentials returns what `vecron login` kept; an error wrapping os.ErrNotExist when it
// kept nothing.
func (e env) readCredentials() (credentials, error) {
	var c credentials
	path, err := e.credentialsPath()
	if err != nil {
		return c, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

func (e env) saveCredentials(c credentials) (string, error) {
	path, err := e.credentialsPath()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return "", err
	}
	// Written beside and renamed, so a reader never sees half a file; 0600 from the start.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".credentials-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return "", err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	return path, os.Rename(tmp.Name(), path)
}

// serverFlag registers --server, defaulting to VECRON_SERVER or the local API.
func serverFlag(cmd *cobra.Command, e env) *string {
	def := e.getenv("VECRON_SERVER")
	if def == "" {
		def = serverDefault
	}
	return cmd.Flags().String("server", def, "URL of the vecron API (also VECRON_SERVER)")
}

func loginCommand(e env) *cobra.Command {
	var username string
	var stdin, printToken bool
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Sign in to a vecron API and keep the tokens for later commands",
		Long: `Signs in with a username and password (database mode) and keeps the tokens in the
user's configuration folder (credentials.json, readable by the user alone). The password is
asked for on the terminal, or read from standard input with --password-stdin; it is never a
flag, so it stays out of the shell history and the process list.`,
		Example: `  export VECRON_TOKEN=$(vecron login --username admin --password-stdin --print-token <<< "$PASSWORD")
  curl -H "Authorization: Bearer $VECRON_TOKEN" localhost:8080/api/v1/jobs`,
		Args: cobra.NoArgs,
	}
	server := serverFlag(cmd, e)
	cmd.Flags().StringVar(&username, "username", "", "user to sign in as")
	cmd.Flags().BoolVar(&stdin, "password-stdin", false, "read the password from standard input")
	cmd.Flags().BoolVar(&printToken, "print-token", false, "print the access token on standard output")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if username == "" {
			return usageError{errors.New("--username is required")}
		}
		password, err := readPassword(cmd, stdin)
		if err != nil {
			return err
		}
		var tokens struct {
			AccessToken  string `json:"access_token"`
			ExpiresIn    int    `json:"expires_in"`
			RefreshToken string `json:"refresh_token"`
		}
		if err := call(cmd.Context(), http.MethodPost, *server, "/api/v1/auth/login", "",
			map[string]string{"username": username, "password": password}, &tokens); err != nil {
			return err
		}
		path, err := e.saveCredentials(credentials{Server: *server, Username: username, AccessToken: tokens.AccessToken,
			RefreshToken: tokens.RefreshToken, ExpiresAt: time.Now().Add(time.Duration(tokens.ExpiresIn) * time.Second).UTC()})
		if err != nil {
			return fmt.Errorf("keep the tokens: %w", err)
		}
		if printToken {
			fmt.Fprintln(cmd.OutOrStdout(), tokens.AccessToken)
			return nil
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "signed in to %s as %s; tokens kept in %s\n", *server, username, path)
		return nil
	}
	return cmd
}

func readPassword(cmd *cobra.Command, stdin bool) (string, error) {
	if stdin {
		line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read the password: %w", err)
		}
		if p := strings.TrimRight(line, "\r\n"); p != "" {
			return p, nil
		}
		return "", usageError{errors.New("no password on standard input")}
	}
	f, ok := cmd.InOrStdin().(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", usageError{errors.New("no terminal to ask the password on; use --password-stdin")}
	}
	fmt.Fprint(cmd.ErrOrStderr(), "Password: ")
	b, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(cmd.ErrOrStderr())
	return string(b), err
}

func logoutCommand(e env) *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "End the session `vecron login` started and forget its tokens",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := e.credentialsPath()
			if err != nil {
				return err
			}
			b, err := os.ReadFile(path)
			if errors.Is(err, os.ErrNotExist) {
				fmt.Fprintln(cmd.ErrOrStderr(), "not signed in")
				return nil
			}
			if err != nil {
				return err
			}
			var c credentials
			if err := json.Unmarshal(b, &c); err == nil && c.RefreshToken != "" {
				if err := call(cmd.Context(), http.MethodPost, c.Server, "/api/v1/auth/logout", "",
					map[string]string{"refresh_token": c.RefreshToken}, nil); err != nil {
					fmt.Fprintln(cmd.ErrOrStderr(), "the server did not confirm the logout:", err)
				}
			}
			if err := os.Remove(path); err != nil {
				return err
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "signed out")
			return nil
		},
	}
}

// bearerToken returns the credential to call server with: VECRON_TOKEN when set (an access
// token or an API token), else the tokens `vecron login` kept, refreshed when about to expire.
func (e env) bearerToken(ctx context.Context, server string) (string, error) {
	if t := e.getenv("VECRON_TOKEN"); t != "" {
		return t, nil
	}
	path, err := e.credentialsPath()
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", authError{errors.New("not signed in: run vecron login, or set VECRON_TOKEN")}
	}
	if err != nil {
		return "", err
	}
	var c credentials
	if err := json.Unmarshal(b, &c); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if strings.TrimRight(c.Server, "/") != strings.TrimRight(server, "/") {
		return "", authError{fmt.Errorf("signed in to %s, not %s: run vecron login --server %s", c.Server, server, server)}
	}
	if time.Until(c.ExpiresAt) > 30*time.Second {
		return c.AccessToken, nil
	}
	unlock, err := lockFile(path + ".lock")
	if err != nil {
		return "", fmt.Errorf("lock %s: %w", path, err)
	}
	defer unlock()
	// Another command may have refreshed while this one waited for the lock.
	if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &c) == nil && time.Until(c.ExpiresAt) > 30*time.Second {
		return c.AccessToken, nil
	}
	var tokens struct {
		AccessToken  string `json:"access_token"`
		ExpiresIn    int    `json:"expires_in"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := call(ctx, http.MethodPost, server, "/api/v1/auth/refresh", "", map[string]string{"refresh_token": c.RefreshToken}, &tokens); err != nil {
		return "", authError{fmt.Errorf("the session ended (%w): run vecron login", err)}
	}
	c.AccessToken, c.RefreshToken = tokens.AccessToken, tokens.RefreshToken
	c.ExpiresAt = time.Now().Add(time.Duration(tokens.ExpiresIn) * time.Second).UTC()
	if _, err := e.saveCredentials(c); err != nil {
		return "", err
	}
	return c.AccessToken, nil
}
