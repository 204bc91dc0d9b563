package alert

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/vecron/vecron/shared/domain"

	"github.com/vecron/vecron/shared/egress"
)

// mailer sends a notice as an e-mail through an SMTP submission server.
type mailer struct {
	name, host, addr, from string
	to                     []string
	username, password     string
	subject, body          *tmpl
	roots                  *x509.CertPool
	plain                  bool
	policy                 *egress.Policy
	clock                  clockwork.Clock
}

func newMailer(c Channel, policy *egress.Policy, clock clockwork.Clock) (*mailer, error) {
	m := &mailer{name: c.Name, host: c.Host, addr: net.JoinHostPort(c.Host, strconv.Itoa(c.Port)),
		username: c.Username, password: c.Password, plain: c.InsecurePlain, policy: policy, clock: clock}
	from, err := mail.ParseAddress(c.From)
	if err != nil {
		return nil, fmt.Errorf("alert channel %s: from: not an e-mail address", c.Name)
	}
	m.from = from.Address
	for _, to := range c.To {
		a, err := mail.ParseAddress(to)
		if err != nil {
			return nil, fmt.Errorf("alert channel %s: to: not an e-mail address", c.Name)
		}
		m.to = append(m.to, a.Address)
	}
	if m.subject, err = parseTemplate(c.Name, c.Subject); err != nil {
		return nil, fmt.Errorf("alert channel %s: subject: %w", c.Name, err)
	}
	if m.body, err = parseTemplate(c.Name, c.Body); err != nil {
		return nil, fmt.Errorf("alert channel %s: body: %w", c.Name, err)
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("alert channel %s: ca_file: %w", c.Name, err)
		}
		m.roots = x509.NewCertPool()
		m.roots.AppendCertsFromPEM(pem)
	}
	return m, nil
}

func (m *mailer) Name() string { return m.name }

// Send delivers the notice to every recipient in one transaction with the server: over
// STARTTLS (refusing a server that does not offer it, unless the channel is a loopback relay
// allowed plain), authenticated when the channel has a user name.
func (m *mailer) Send(ctx context.Context, _ *domain.Alert, d Data) error {
	msg, err := m.message(d)
	if err != nil {
		return err
	}
	conn, err := m.policy.DialContext(ctx, "tcp", m.addr)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", m.addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, m.host)
	if err != nil {
		return fmt.Errorf("smtp %s: %w", m.addr, err)
	}
	defer c.Close()
	if err := c.Hello("vecron"); err != nil {
		return fmt.Errorf("smtp %s: hello: %w", m.addr, err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: m.host, RootCAs: m.roots, MinVersion: tls.VersionTLS12}); err != nil {
			return fmt.Errorf("smtp %s: starttls: %w", m.addr, err)
		}
	} else if !m.plain {
		return fmt.Errorf("smtp %s: the server offers no STARTTLS; mail is not sent in the clear", m.addr)
	}
	if m.username != "" {
		if err := c.Auth(smtp.PlainAuth("", m.username, m.password, m.host)); err != nil {
			return fmt.Errorf("smtp %s: authenticate: %w", m.addr, errors.New(scrub(err.Error(), m.password)))
		}
	}
	if err := c.Mail(m.from); err != nil {
		return fmt.Errorf("smtp %s: mail from: %w", m.addr, err)
	}
	for _, to := range m.to {
		if err := c.Rcpt(to); err != nil {
			return fmt.Errorf("smtp %s: rcpt to: %w", m.addr, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp %s: data: %w", m.addr, err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("smtp %s: data: %w", m.addr, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp %s: data: %w", m.addr, err)
	}
	return c.Quit()
}

func scrub(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "(hidden)")
}

// message renders the RFC 5322 message of d: its headers, and its body as quoted-printable
// UTF-8 text. The Message-ID is the alert's, so a server or reader can drop a copy sent twice.
func (m *mailer) message(d Data) ([]byte, error) {
	subject, err := render(m.subject, d)
	if err != nil {
		return nil, fmt.Errorf("render the subject: %w", err)
	}
	body, err := render(m.body, d)
	if err != nil {
		return nil, fmt.Errorf("render the body: %w", err)
	}
	// One line: an error text must not add a header.
	oneLine := strings.Join(strings.Fields(string(subject)), " ")
	domainPart := m.from[strings.LastIndexByte(m.from, '@')+1:]
	var b bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	header("From", m.from)
	header("To", strings.Join(m.to, ", "))
	header("Subject", mime.QEncoding.Encode("utf-8", oneLine))
	header("Date", m.clock.Now().UTC().Format(time.RFC1123Z))
	header("Message-ID", fmt.Sprintf("<vecron-alert-%s-%s@%s>", d.JobID, strconv.FormatInt(d.Time.UnixMilli(), 10)+"-"+string(d.State), domainPart))
	header("MIME-Version", "1.0")
	header("Content-Type", `text/plain; charset="utf-8"`)
	header("Content-Transfer-Encoding", "quoted-printable")
	header("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(strings.ReplaceAll(string(body), "\n", "\r\n"))); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
