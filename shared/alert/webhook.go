package alert

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"text/template"

	"github.com/vecron/vecron/shared/domain"
)

// webhook posts a templated body to a URL.
type webhook struct {
	name, url, contentType, host string
	headers                      map[string]string
	body                         *template.Template
	client                       *http.Client
}

func newWebhook(c Channel, client *http.Client) (*webhook, error) {
	t, err := parseTemplate(c.Name, c.Body)
	if err != nil {
		return nil, fmt.Errorf("alert channel %s: body: %w", c.Name, err)
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return nil, fmt.Errorf("alert channel %s: url is not a URL", c.Name)
	}
	return &webhook{name: c.Name, url: c.URL, contentType: c.ContentType, host: u.Host, headers: c.Headers, body: t, client: client}, nil
}

func (w *webhook) Name() string { return w.name }

// Send posts the notice; a 2xx answer delivers it. The error names the host and the status,
// never the URL, whose path may be the channel's secret.
func (w *webhook) Send(ctx context.Context, _ *domain.Alert, d Data) error {
	body, err := render(w.body, d)
	if err != nil {
		return fmt.Errorf("render the body: %w", err)
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
