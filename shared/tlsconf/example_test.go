package tlsconf_test

import (
	"crypto/tls"
	"fmt"

	"github.com/vecron/vecron/shared/tlsconf"
)

func ExampleNew() {
	// Settings as read from redis.tls.*; files, when set, are read here and again when they
	// change.
	cl, err := tlsconf.New("redis.tls", tlsconf.Config{ServerName: "redis.internal", MinVersion: "1.3"})
	if err != nil {
		fmt.Println(err)
		return
	}
	tc := cl.TLSConfig()
	fmt.Println(tc.ServerName, tc.MinVersion == tls.VersionTLS13)

	_, err = tlsconf.New("redis.tls", tlsconf.Config{InsecureSkipVerify: true})
	fmt.Println(err)
	// Output:
	// redis.internal true
	// redis.tls.insecure_skip_verify: is refused outside vecron dev; set redis.tls.ca_file to the CA that signs the server's certificate
}
