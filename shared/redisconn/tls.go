package redisconn

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vecron/vecron/shared/tlsconf"
)

// tlsSection is where the TLS settings are read from.
const tlsSection = "redis.tls"

// dialTimeoutDefault is go-redis's own, for a client whose options left it zero.
const dialTimeoutDefault = 5 * time.Second

// keepAlive matches go-redis's default dialer.
const keepAlive = 5 * time.Minute

// useTLS applies the TLS settings to opts, parsed from a URL: with any of them set, each new
// connection dials with a configuration built from the files as they are then, so rotated
// certificates and CAs are used from the next connection on; log, when not nil, hears of files
// that no longer read. It returns an error naming the setting when they cannot apply.
func useTLS(opts *redis.Options, c tlsconf.Config, log *slog.Logger) error {
	if opts.TLSConfig != nil && opts.TLSConfig.InsecureSkipVerify && !c.Development {
		return errors.New("redis.url: skip_verify is refused outside vecron dev; set redis.tls.ca_file to the CA that signs the server's certificate")
	}
	if !c.Enabled() {
		return nil
	}
	if opts.TLSConfig == nil {
		return errors.New("redis.tls: TLS settings need a rediss:// URL in redis.url")
	}
	cl, err := tlsconf.New(tlsSection, c)
	if err != nil {
		return err
	}
	if log != nil {
		cl.SetLogger(log)
	}
	host := opts.TLSConfig.ServerName // the URL's host
	skipVerify := opts.TLSConfig.InsecureSkipVerify
	opts.TLSConfig = cl.TLSConfig()
	opts.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
		tc := cl.TLSConfig()
		tc.ServerName = cmp.Or(tc.ServerName, host)
		tc.InsecureSkipVerify = tc.InsecureSkipVerify || skipVerify
		d := &tls.Dialer{
			NetDialer: &net.Dialer{Timeout: cmp.Or(opts.DialTimeout, dialTimeoutDefault), KeepAlive: keepAlive},
			Config:    tc,
		}
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, tlsconf.Explain(err, tlsconf.SettingsOf(tlsSection))
		}
		return conn, nil
	}
	return nil
}

// tlsHook names the setting at fault in the errors of a TLS handshake that fail only once the
// first command is read: with TLS 1.3 a server refuses a client certificate after the client
// has finished its side of the handshake, so the dialer sees no error.
type tlsHook struct{}

func (tlsHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (tlsHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		explain(cmd)
		return tlsconf.Explain(err, tlsconf.SettingsOf(tlsSection))
	}
}

func (tlsHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		for _, cmd := range cmds {
			explain(cmd)
		}
		return tlsconf.Explain(err, tlsconf.SettingsOf(tlsSection))
	}
}

// explain puts the explained error in cmd, where callers read it (cmd.Err()).
func explain(cmd redis.Cmder) {
	if err := cmd.Err(); err != nil {
		if explained := tlsconf.Explain(err, tlsconf.SettingsOf(tlsSection)); explained != err {
			cmd.SetErr(explained)
		}
	}
}

var _ redis.Hook = tlsHook{}
