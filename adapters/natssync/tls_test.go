package natssync_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/adaptertest"
	"github.com/eventsync/eventsync/adapters/natssync/embedded"
	"github.com/eventsync/eventsync/internal/synctest"
	"github.com/eventsync/eventsync/internal/tlstest"
)

// An embedded server with a self-signed certificate: tls:// URIs with
// tls_ca work; without the CA the connection is refused, not downgraded.
func TestTLS(t *testing.T) {
	cert := tlstest.New(t)
	srv, err := embedded.Start(embedded.Options{TLS: cert.Server})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	if !strings.HasPrefix(srv.URL(), "tls://") {
		t.Fatalf("URL %s", srv.URL())
	}
	uri := srv.URL() + "?tls_ca=" + cert.CertFile
	key := adaptertest.UniqueKey("tls")
	a := synctest.NewReplica(t, eventsync.Options{URI: uri, Key: key})
	b := synctest.NewReplica(t, eventsync.Options{URI: uri, Key: key})
	a.EmitSeq(t, 0, 10)
	if got := synctest.SeqNumbers(b.Got.WaitN(t, 10, 30*time.Second)); got[9] != 9 {
		t.Fatalf("got %v", got)
	}

	untrusting, err := eventsync.Configure(eventsync.NewApp(), eventsync.Options{URI: srv.URL(), Key: key})
	if err != nil {
		t.Fatal(err)
	}
	defer untrusting.Close(context.Background())
	deadline := time.Now().Add(10 * time.Second)
	for untrusting.Err() == nil && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := untrusting.Err(); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("without the CA: %v", err)
	}
}
