package mongosync_test

import (
	"testing"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/adaptertest"
	"github.com/eventsync/eventsync/internal/mongotest"
	"github.com/eventsync/eventsync/internal/synctest"
)

// BenchmarkEndToEnd: App.Emit to a listener on another replica through the
// test server, a document per event and with batches packed into one.
// Against FerretDB this measures FerretDB (about 1,000-2,000 documents/s
// here) far more than the adapter.
func BenchmarkEndToEnd(b *testing.B) {
	srv := mongotest.Start(b)
	for _, params := range []string{"", "?pack=true"} {
		name := "default"
		if params != "" {
			name = params[1:]
		}
		b.Run(name, func(b *testing.B) {
			synctest.BenchEndToEnd(b, eventsync.Options{URI: srv.URL() + "eventsync" + params, Key: adaptertest.UniqueKey("bench")}, 1)
		})
	}
}
