package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/vecron/vecron/shared/domain"
)

func variablesCommand(e env) *cobra.Command {
	cmd := &cobra.Command{Use: "variables", Short: "Manage variables and secrets",
		Long: `Variables are global, or a job's own with --job. A secret's value is never shown: the API
masks it, and set reads it from standard input (or asks for it on the terminal), never from an
argument, so it stays out of the shell history and the process list.`}
	cmd.AddCommand(variablesListCommand(e), variablesSetCommand(e), variablesDeleteCommand(e), rotateCommand("rotate", "Re-seal every sealed value with the newest key (as `vecron secrets rotate`)"))
	return cmd
}

// variablesPath is the path of the variables of --job (with its --namespace), or the global ones.
func variablesPath(cmd *cobra.Command, c *client, job, namespace string) (string, error) {
	if job == "" {
		return "/api/v1/variables", nil
	}
	path, err := jobPath(cmd, c, job, namespace)
	return path + "/variables", err
}

func variablesListCommand(e env) *cobra.Command {
	var job, namespace string
	var format *string
	cmd := e.apiCommand("list", "List variables, secrets masked", cobra.NoArgs, func(cmd *cobra.Command, c *client, _ []string) error {
		if err := checkFormat(*format); err != nil {
			return err
		}
		path, err := variablesPath(cmd, c, job, namespace)
		if err != nil {
			return err
		}
		resp, err := c.do(cmd.Context(), request{method: http.MethodGet, path: path})
		if err != nil {
			return err
		}
		return showOne(cmd.OutOrStdout(), *format, resp.body, func(p struct {
			Items []domain.Variable `json:"items"`
		}) {
			rows := make([][]string, len(p.Items))
			for i, v := range p.Items {
				value, secret := v.Value, "no"
				if v.IsSecret {
					value, secret = v.Masked, "yes"
				}
				rows[i] = []string{v.Name, v.Scope, secret, clip(value, 40), strings.Join(v.Namespaces, ","), strings.Join(v.AllowedHosts, ","),
					clock(&v.UpdatedAt, e.local, "-")}
			}
			table(cmd.OutOrStdout(), "NAME\tSCOPE\tSECRET\tVALUE\tNAMESPACES\tALLOWED HOSTS\tUPDATED", rows)
		})
	})
	cmd.Flags().StringVar(&job, "job", "", "the variables of this job (id or name); default: the global ones")
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "", "namespace of the job named by --job")
	format = outputFlag(cmd)
	return cmd
}

func variablesSetCommand(e env) *cobra.Command {
	var job, namespace string
	var secret bool
	var hosts, namespaces []string
	var format *string
	cmd := e.apiCommand("set NAME [VALUE]", "Create or replace a variable; without VALUE it is read from standard input", cobra.RangeArgs(1, 2),
		func(cmd *cobra.Command, c *client, args []string) error {
			if err := checkFormat(*format); err != nil {
				return err
			}
			in := map[string]any{}
			if cmd.Flags().Changed("secret") {
				in["is_secret"] = secret
			}
			if cmd.Flags().Changed("allowed-host") {
				in["allowed_hosts"] = append([]string{}, hosts...)
			}
			if cmd.Flags().Changed("namespaces") {
				in["namespaces"] = append([]string{}, namespaces...)
			}
			switch {
			case len(args) == 2 && secret:
				return usageError{errors.New("a secret's value is read from standard input or the terminal, never from an argument")}
			case len(args) == 2:
				in["value"] = args[1]
			default:
				v, err := readValue(cmd)
				if err != nil {
					return err
				}
				in["value"] = v
			}
			path, err := variablesPath(cmd, c, job, namespace)
			if err != nil {
				return err
			}
			resp, err := c.do(cmd.Context(), request{method: http.MethodPut, path: path + "/" + url.PathEscape(args[0]), body: in})
			if err != nil {
				return err
			}
			return showOne(cmd.OutOrStdout(), *format, resp.body, func(v domain.Variable) {
				done := "replaced"
				if resp.status == http.StatusCreated {
					done = "created"
				}
				kind := "variable"
				if v.IsSecret {
					kind = "secret"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s %s (%s)\n", done, kind, v.Name, v.Scope)
			})
		})
	cmd.Example = `  vecron variables set REPORT_URL https://reports.example.com
  vecron variables set DB_PASSWORD --secret --allowed-host db.example.com < password.txt
  vecron variables set API_KEY --secret --job nightly        # asks for the value`
	cmd.Flags().StringVar(&job, "job", "", "a variable of this job (id or name); default: a global one")
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "", "namespace of the job named by --job")
	cmd.Flags().BoolVar(&secret, "secret", false, "keep the value encrypted and never show it")
	cmd.Flags().StringSliceVar(&hosts, "allowed-host", nil, "a host pattern a secret may be sent to (repeat; empty lifts the binding)")
	cmd.Flags().StringSliceVar(&namespaces, "namespaces", nil, "namespaces whose jobs see a global variable (default: every one)")
	format = outputFlag(cmd)
	return cmd
}

// readValue reads a variable's value: from the terminal without echo, or all of standard input
// less one final line break.
func readValue(cmd *cobra.Command) (string, error) {
	if f, ok := cmd.InOrStdin().(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(cmd.ErrOrStderr(), "Value: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(cmd.ErrOrStderr())
		return string(b), err
	}
	b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), 1<<20))
	if err != nil {
		return "", fmt.Errorf("read the value: %w", err)
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	return s, nil
}

func variablesDeleteCommand(e env) *cobra.Command {
	var job, namespace string
	cmd := e.apiCommand("delete NAME", "Delete a variable", cobra.ExactArgs(1), func(cmd *cobra.Command, c *client, args []string) error {
		path, err := variablesPath(cmd, c, job, namespace)
		if err != nil {
			return err
		}
		if _, err := c.do(cmd.Context(), request{method: http.MethodDelete, path: path + "/" + url.PathEscape(args[0])}); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "deleted variable %s\n", args[0])
		return nil
	})
	cmd.Flags().StringVar(&job, "job", "", "a variable of this job (id or name); default: a global one")
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "", "namespace of the job named by --job")
	return cmd
}
