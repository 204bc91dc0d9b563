package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/vecron/vecron/shared/domain"
)

// The pieces every resource command is built from: reading a page or an object, and writing
// it as -o asks. A new resource is its table and a few lines naming its routes.

// listFlags are the flags of a list: its paging and its format.
type listFlags struct {
	limit  int
	all    bool
	format *string
}

func addListFlags(cmd *cobra.Command) *listFlags {
	f := &listFlags{format: outputFlag(cmd)}
	cmd.Flags().IntVar(&f.limit, "limit", 50, "show at most this many, following the API's pages")
	cmd.Flags().BoolVar(&f.all, "all", false, "show every one, following the API's pages to the end")
	return f
}

// show lists path with q and writes the page: as the API's JSON or YAML (items, and next_cursor
// when it stopped before the end), or the table rows makes of the items.
func (f *listFlags) show(cmd *cobra.Command, c *client, path string, q url.Values, rows func(items []json.RawMessage) error) error {
	if err := checkFormat(*f.format); err != nil {
		return err
	}
	p, err := c.list(cmd.Context(), path, q, f.limit, f.all)
	if err != nil {
		return err
	}
	if *f.format != formatTable {
		raw, err := json.Marshal(p)
		if err != nil {
			return err
		}
		_, err = printRaw(cmd.OutOrStdout(), *f.format, raw)
		return err
	}
	if err := rows(p.Items); err != nil {
		return err
	}
	if p.NextCursor != "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "showing the first %d; --limit shows more, --all every one\n", len(p.Items))
	}
	return nil
}

// showOne writes the API's answer raw as -o json or yaml asks, or calls table with it.
func showOne[T any](w io.Writer, format string, raw []byte, tbl func(v T)) error {
	if err := checkFormat(format); err != nil {
		return err
	}
	if done, err := printRaw(w, format, raw); done {
		return err
	}
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return fmt.Errorf("the API answered with something unexpected: %w", err)
	}
	tbl(v)
	return nil
}

// decodeItems decodes the raw items of a page.
func decodeItems[T any](items []json.RawMessage) ([]T, error) {
	out := make([]T, len(items))
	for i, it := range items {
		if err := json.Unmarshal(it, &out[i]); err != nil {
			return nil, fmt.Errorf("the API answered with something unexpected: %w", err)
		}
	}
	return out, nil
}

// jobID resolves a job named by id, or by name: in namespace, or in the one namespace that has
// a job of that name. A name no job has is a 404.
func (c *client) jobID(ctx context.Context, ref, namespace string) (string, error) {
	if uuid.Validate(ref) == nil {
		return ref, nil
	}
	q := url.Values{}
	if namespace != "" {
		q.Set("namespace", namespace)
	}
	var found []*domain.Job
	for {
		q.Set("limit", fmt.Sprint(pageMax))
		var p struct {
			Items      []*domain.Job `json:"items"`
			NextCursor string        `json:"next_cursor"`
		}
		if err := c.getJSON(ctx, "/api/v1/jobs", q, &p); err != nil {
			return "", err
		}
		for _, j := range p.Items {
			if j.Name == ref {
				found = append(found, j)
			}
		}
		if p.NextCursor == "" {
			break
		}
		q.Set("cursor", p.NextCursor)
	}
	switch len(found) {
	case 0:
		where := "any namespace you may read"
		if namespace != "" {
			where = "namespace " + namespace
		}
		return "", &apiError{Status: http.StatusNotFound, Title: http.StatusText(http.StatusNotFound),
			Detail: fmt.Sprintf("no job named %q in %s", ref, where)}
	case 1:
		return found[0].ID, nil
	}
	ns := make([]string, len(found))
	for i, j := range found {
		ns[i] = j.Namespace
	}
	slices.Sort(ns)
	return "", usageError{fmt.Errorf("jobs named %q are in namespaces %s: pass --namespace", ref, strings.Join(ns, ", "))}
}

// jobNames looks up the jobs of executions once each, for tables that name them; a job deleted
// since (or not readable) is left out, and its executions show its id.
type jobNames struct {
	c    *client
	jobs map[string]*domain.Job
}

func newJobNames(c *client) *jobNames { return &jobNames{c: c, jobs: map[string]*domain.Job{}} }

func (n *jobNames) get(ctx context.Context, id string) *domain.Job {
	if j, ok := n.jobs[id]; ok {
		return j
	}
	var j *domain.Job
	if err := n.c.getJSON(ctx, "/api/v1/jobs/"+url.PathEscape(id), nil, &j); err != nil {
		j = nil
	}
	n.jobs[id] = j
	return j
}

// label is the job's namespace/name, or id when the job is gone.
func (n *jobNames) label(ctx context.Context, id string) string {
	if j := n.get(ctx, id); j != nil {
		return j.Namespace + "/" + j.Name
	}
	return id
}

// zone is the job's time zone, or fallback when the job is gone.
func (n *jobNames) zone(ctx context.Context, id string, fallback *time.Location) *time.Location {
	if j := n.get(ctx, id); j != nil {
		return zoneOf(j.Timezone, fallback)
	}
	return fallback
}

// short formats a duration as people write it: 90s, 15m, 1h30m.
func short(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
