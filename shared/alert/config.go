package alert

import (
	"bytes"
	"cmp"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/metric"
)

// Defaults of Settings and Config.
const (
	IntervalDefault    = 2 * time.Second
	GiveUpAfterDefault = time.Hour
	TimeoutDefault     = 10 * time.Second
	MinBackoffDefault  = 5 * time.Second
	MaxBackoffDefault  = 5 * time.Minute
	BatchSizeDefault   = 50
	// RetentionDefault is how long a delivered notice is kept.
	RetentionDefault = 30 * 24 * time.Hour
	// SMTPPortDefault is the submission port, where STARTTLS is the norm.
	SMTPPortDefault = 587
)

// EventsChannel names the io.vecron.job.alert event on the events stream among an alert's
// deliveries; no configured channel may take the name.
const EventsChannel = "events"

// Settings are the alerts section of the api function's settings.
type Settings struct {
	ChannelsFile string        `koanf:"channels_file" usage:"YAML or JSON file listing the alert channels (webhook, smtp); secrets in it may be written as env references (docs/alerts.md)"`
	Interval     time.Duration `koanf:"interval" usage:"how often the api looks for alerts to deliver"`
	GiveUpAfter  time.Duration `koanf:"give_up_after" usage:"how long a channel that fails is retried before an alert is given up for it"`
}

// Channel is one configured channel, as the channels file writes it.
type Channel struct {
	Name string `yaml:"name"`
	// Type is "webhook" or "smtp".
	Type string `yaml:"type"`

	// Webhook: the URL posted to, extra headers, the body template and its content type; or a
	// preset (slack, teams, googlechat) that sets the body and content type.
	URL         string            `yaml:"url"`
	Headers     map[string]string `yaml:"headers"`
	Preset      string            `yaml:"preset"`
	Body        string            `yaml:"body"`
	ContentType string            `yaml:"content_type"`

	// SMTP: the submission server, the envelope and the message templates (Subject, Body).
	Host     string   `yaml:"host"`
	Port     int      `yaml:"port"`
	From     string   `yaml:"from"`
	To       []string `yaml:"to"`
	Username string   `yaml:"username"`
	Password string   `yaml:"password"`
	Subject  string   `yaml:"subject"`
	// CAFile holds the certificates that sign the server's, when not a public CA.
	CAFile string `yaml:"ca_file"`
	// InsecurePlain lets mail go without STARTTLS; only for a server on the loopback
	// interface (a local relay), never across a network.
	InsecurePlain bool `yaml:"insecure_plain"`
}

// channelsFile is the channels file's top level.
type channelsFile struct {
	Channels []Channel `yaml:"channels"`
}

// envRef is a secret taken from the environment: ${env:NAME}.
var envRef = regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}`)

var channelName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// LoadChannels reads the channels file at path and checks every channel, replacing each
// ${env:NAME} in a URL, header value, user name or password by the variable of environ
// ("NAME=value" entries). It returns an error naming the setting at fault
// ("alerts.channels[1].preset: …") and never quoting a secret.
func LoadChannels(path string, environ []string) ([]Channel, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("alerts.channels_file: %w", err)
	}
	return ParseChannels(b, environ)
}

// ParseChannels is LoadChannels for the file's content.
func ParseChannels(b []byte, environ []string) ([]Channel, error) {
	var f channelsFile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) { // an empty file lists none
		return nil, fmt.Errorf("alerts.channels_file: %v", yamlError(err))
	}
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	seen := map[string]bool{}
	var errs []error
	for i := range f.Channels {
		c := &f.Channels[i]
		at := fmt.Sprintf("alerts.channels[%d]", i)
		if err := c.expand(at, env); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := c.check(at); err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[c.Name] {
			errs = append(errs, fmt.Errorf("%s.name: %q names another channel too", at, c.Name))
		}
		seen[c.Name] = true
	}
	return f.Channels, errors.Join(errs...)
}

// yamlError keeps the parser's message but for the text it quotes, which may be a secret.
func yamlError(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "`"); i >= 0 {
		msg = msg[:i] + "(value hidden)"
	}
	return msg
}

// expand replaces ${env:NAME} in the fields that may hold secrets.
func (c *Channel) expand(at string, env map[string]string) error {
	var missing []string
	sub := func(s string) string {
		return envRef.ReplaceAllStringFunc(s, func(ref string) string {
			name := envRef.FindStringSubmatch(ref)[1]
			v, ok := env[name]
			if !ok || v == "" {
				missing = append(missing, name)
			}
			return v
		})
	}
	c.URL, c.Username, c.Password = sub(c.URL), sub(c.Username), sub(c.Password)
	for k, v := range c.Headers {
		c.Headers[k] = sub(v)
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s: the environment has no %s", at, strings.Join(missing, ", "))
	}
	return nil
}

// check validates c and fills in its defaults.
func (c *Channel) check(at string) error {
	switch {
	case !channelName.MatchString(c.Name):
		return fmt.Errorf("%s.name: must be 1 to 63 lowercase letters, digits, - or _", at)
	case c.Name == EventsChannel:
		return fmt.Errorf("%s.name: %q is the events stream's; choose another", at, EventsChannel)
	}
	switch c.Type {
	case "webhook":
		return c.checkWebhook(at)
	case "smtp":
		return c.checkSMTP(at)
	}
	return fmt.Errorf("%s.type: must be webhook or smtp", at)
}

func (c *Channel) checkWebhook(at string) error {
	// The URL may carry a token (a Slack webhook's path is one): say what is wrong, not what it is.
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return fmt.Errorf("%s.url: must be an http or https URL with a host", at)
	}
	for k := range c.Headers {
		if k == "" || strings.ContainsAny(k, " :\r\n") {
			return fmt.Errorf("%s.headers: %q is not a header name", at, k)
		}
		if strings.ContainsAny(c.Headers[k], "\r\n") {
			return fmt.Errorf("%s.headers.%s: must be one line", at, k)
		}
	}
	if c.Preset != "" {
		p, ok := presets[c.Preset]
		if !ok {
			return fmt.Errorf("%s.preset: %q is not one of slack, teams, googlechat", at, c.Preset)
		}
		if c.Body != "" {
			return fmt.Errorf("%s.body: a preset sets the body; write one or the other", at)
		}
		c.Body, c.ContentType = p, cmp.Or(c.ContentType, "application/json")
	}
	if c.Body == "" {
		c.Body, c.ContentType = genericBody, cmp.Or(c.ContentType, "application/json")
	}
	c.ContentType = cmp.Or(c.ContentType, "application/json")
	t, err := parseTemplate(c.Name, c.Body)
	if err != nil {
		return fmt.Errorf("%s.body: %v", at, err)
	}
	return checkRenders(at+".body", t, strings.HasPrefix(c.ContentType, "application/json"))
}

func (c *Channel) checkSMTP(at string) error {
	c.Port = cmp.Or(c.Port, SMTPPortDefault)
	switch {
	case c.Host == "" || strings.ContainsAny(c.Host, "/: "):
		return fmt.Errorf("%s.host: must be the SMTP server's host name or address", at)
	case c.Port < 1 || c.Port > 65535:
		return fmt.Errorf("%s.port: must be 1 to 65535", at)
	case c.InsecurePlain && !loopback(c.Host):
		return fmt.Errorf("%s.insecure_plain: only allowed for a server on the loopback interface (localhost, 127.0.0.1, ::1); mail across a network goes over STARTTLS", at)
	case (c.Username == "") != (c.Password == ""):
		return fmt.Errorf("%s.password: username and password go together", at)
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		return fmt.Errorf("%s.from: not an e-mail address", at)
	}
	if len(c.To) == 0 {
		return fmt.Errorf("%s.to: lists no recipient", at)
	}
	for i, to := range c.To {
		if _, err := mail.ParseAddress(to); err != nil {
			return fmt.Errorf("%s.to[%d]: not an e-mail address", at, i)
		}
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return fmt.Errorf("%s.ca_file: %w", at, err)
		}
		if !x509.NewCertPool().AppendCertsFromPEM(pem) {
			return fmt.Errorf("%s.ca_file: holds no PEM certificate", at)
		}
	}
	c.Subject, c.Body = cmp.Or(c.Subject, mailSubject), cmp.Or(c.Body, mailBody)
	for field, text := range map[string]string{"subject": c.Subject, "body": c.Body} {
		t, err := parseTemplate(c.Name, text)
		if err != nil {
			return fmt.Errorf("%s.%s: %v", at, field, err)
		}
		if err := checkRenders(at+"."+field, t, false); err != nil {
			return err
		}
	}
	return nil
}

// loopback reports whether host names this machine.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Config configures a Dispatcher. Zero fields take their defaults.
type Config struct {
	// Channels are the checked channels (LoadChannels).
	Channels []Channel
	// PublicURL makes the job page's URL in the notices; "" leaves it out.
	PublicURL   string
	Interval    time.Duration
	GiveUpAfter time.Duration
	// Timeout bounds one delivery to one channel.
	Timeout time.Duration
	// MinBackoff is the wait after a channel's first failure; each failure in a row doubles it,
	// up to MaxBackoff.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	BatchSize  int
	// Retention is how long a notice is kept once done.
	Retention time.Duration
	// Policy is the egress policy every channel is reached through; nil applies the default.
	Policy *egress.Policy
	// Metrics receives vecron_alert_notifications_total; nil counts nothing.
	Metrics *metric.Registry
}

func (c Config) withDefaults() Config {
	c.Interval = cmp.Or(c.Interval, IntervalDefault)
	c.GiveUpAfter = cmp.Or(c.GiveUpAfter, GiveUpAfterDefault)
	c.Timeout = cmp.Or(c.Timeout, TimeoutDefault)
	c.MinBackoff = cmp.Or(c.MinBackoff, MinBackoffDefault)
	c.MaxBackoff = cmp.Or(c.MaxBackoff, MaxBackoffDefault)
	c.BatchSize = cmp.Or(c.BatchSize, BatchSizeDefault)
	c.Retention = cmp.Or(c.Retention, RetentionDefault)
	if c.Policy == nil {
		c.Policy = &egress.Policy{}
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.Interval < 0:
		return errors.New("alerts.interval: must not be negative")
	case c.GiveUpAfter < 0:
		return errors.New("alerts.give_up_after: must not be negative")
	case c.Timeout < 0 || c.MinBackoff < 0 || c.MaxBackoff < 0 || c.BatchSize < 0 || c.Retention < 0:
		return errors.New("alert: Timeout, MinBackoff, MaxBackoff, BatchSize and Retention must not be negative")
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || u.Host == "" {
			return errors.New("public_url: must be an absolute URL")
		}
	}
	return nil
}
