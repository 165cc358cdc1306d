package redissync_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/adaptertest"
	"github.com/eventsync/eventsync/adapters/redissync"
	"github.com/eventsync/eventsync/internal/brokertest"
	"github.com/eventsync/eventsync/internal/synctest"
	"github.com/eventsync/eventsync/internal/tlstest"
)

// startRedis runs a redis-server of the test's own on port (0: a free one),
// plain or, with cert, TLS-only with that self-signed certificate, for the
// length of the test; extra are more of its options.
func startRedis(t *testing.T, port int, cert *tlstest.Cert, extra ...string) (int, *os.Process) {
	if port == 0 {
		port = brokertest.FreePort(t)
	}
	args := []string{"--port", fmt.Sprint(port)}
	if cert != nil {
		args = []string{"--port", "0", "--tls-port", fmt.Sprint(port), "--tls-cert-file", cert.CertFile,
			"--tls-key-file", cert.KeyFile, "--tls-ca-cert-file", cert.CertFile, "--tls-auth-clients", "no"}
	}
	return port, brokertest.StartRedis(t, port, append(args, extra...)...)
}

func TestTLS(t *testing.T) {
	cert := tlstest.New(t)
	port, _ := startRedis(t, 0, cert)
	key := adaptertest.UniqueKey("tls")
	newClient := func() redis.UniversalClient {
		c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), TLSConfig: cert.Client})
		t.Cleanup(func() { c.Close() })
		return c
	}
	a := synctest.NewReplica(t, eventsync.Options{Adapter: redissync.New(newClient(), key), Key: key})
	// rediss:// from a URI (skip_verify, since the certificate is self-signed).
	b := synctest.NewReplica(t, eventsync.Options{URI: fmt.Sprintf("rediss://127.0.0.1:%d?skip_verify=true", port), Key: key})
	a.EmitSeq(t, 0, 10)
	if got := synctest.SeqNumbers(b.Got.WaitN(t, 10, 30*time.Second)); got[9] != 9 {
		t.Fatalf("got %v", got)
	}
	// A plain connection to the TLS port fails.
	plain := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), DialTimeout: time.Second, ReadTimeout: time.Second, MaxRetries: -1})
	defer plain.Close()
	if err := plain.Ping(context.Background()).Err(); err == nil {
		t.Fatal("plain connection to a TLS port succeeded")
	}
}
