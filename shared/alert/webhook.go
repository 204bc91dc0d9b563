package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/vecron/vecron/shared/domain"
)

// webhook posts a templated body to a URL.
type webhook struct {
	name, url, contentType, host string
	headers                      map[string]string
	body                         *tmpl
	client                       *http.Client
	// asJSON: the body is JSON, and each one rendered is checked to be (see jsonShape).
	asJSON    bool
	publicURL string
}

func newWebhook(c Channel, client *http.Client, publicURL string) (*webhook, error) {
	t, err := parseTemplate(c.Name, c.Body)
	if err != nil {
		return nil, fmt.Errorf("alert channel %s: body: %w", c.Name, err)
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return nil, fmt.Errorf("alert channel %s: url is not a URL", c.Name)
	}
	return &webhook{name: c.Name, url: c.URL, contentType: c.ContentType, host: u.Host, headers: c.Headers, body: t, client: client,
		asJSON: strings.HasPrefix(c.ContentType, "application/json"), publicURL: publicURL}, nil
}

func (w *webhook) Name() string { return w.name }

// Send posts the notice; a 2xx answer delivers it. The error names the host and the status,
// never the URL, whose path may be the channel's secret.
func (w *webhook) Send(ctx context.Context, a *domain.Alert, d Data) error {
	body, err := render(w.body, d)
	if err != nil {
		return fmt.Errorf("render the body: %w", err)
	}
	if w.asJSON {
		if err := w.checkJSON(a, body); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("post to %s: bad request", w.host)
	}
	req.Header.Set("Content-Type", w.contentType)
	req.Header.Set("User-Agent", "vecron-alerts")
	for k, v := range w.headers {
		req.Header.Set(k, v)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		// A *url.Error quotes the URL: keep only what went wrong.
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err
		}
		return fmt.Errorf("post to %s: %w", w.host, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("post to %s: answered %s", w.host, resp.Status)
	}
	return nil
}

// checkJSON returns an error when body, rendered for a, is not JSON of the shape the same
// template gives with a's free text (the job's name, the last error) replaced by plain words:
// a template that writes a string without {{json …}} in a branch the samples tried at start
// did not take would otherwise let a job name or an error text add or override a field.
func (w *webhook) checkJSON(a *domain.Alert, body []byte) error {
	plain := *a
	plain.JobName = "job"
	if plain.LastError != "" {
		plain.LastError = "error"
	}
	want, err := render(w.body, DataOf(&plain, w.publicURL))
	if err != nil {
		return fmt.Errorf("render the body: %w", err)
	}
	got, gotErr := jsonShape(body)
	ref, refErr := jsonShape(want)
	if gotErr != nil || refErr != nil || got != ref {
		return errors.New("render the body: not valid JSON of the template's shape for this alert; write strings with {{json .Field}}")
	}
	return nil
}

// jsonShape returns the structure of the JSON document b — its keys in order, duplicates kept,
// and the kind of each value, not the values — or an error when b is not one JSON document.
func jsonShape(b []byte) (string, error) {
	if !json.Valid(b) {
		return "", errors.New("not JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out strings.Builder
	// Each open container; for an object, whether its next string is a key.
	type frame struct{ object, key bool }
	var stack []frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return out.String(), nil
		}
		if err != nil {
			return "", err
		}
		top := len(stack) - 1
		switch v := tok.(type) {
		case json.Delim:
			out.WriteString(v.String())
			switch v {
			case '{':
				stack = append(stack, frame{object: true, key: true})
				continue
			case '[':
				stack = append(stack, frame{})
				continue
			}
			stack = stack[:top]
		case string:
			if top >= 0 && stack[top].object && stack[top].key {
				out.WriteString(strconv.Quote(v) + ":")
				stack[top].key = false
				continue
			}
			out.WriteByte('s')
		case json.Number:
			out.WriteByte('n')
		case bool:
			out.WriteByte('b')
		case nil:
			out.WriteByte('z')
		}
		out.WriteByte(',')
		if t := len(stack) - 1; t >= 0 && stack[t].object {
			stack[t].key = true
		}
	}
}
