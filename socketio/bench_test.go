package socketio_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/channels"
	"github.com/eventsync/eventsync/internal/brokertest"
	"github.com/eventsync/eventsync/socketio"
)

// benchTodo carries the time its create was sent, for the clients to
// measure the delay to its event.
type benchTodo struct {
	ID    int     `json:"id"`
	Title string  `json:"title"`
	Done  bool    `json:"done"`
	Sent  float64 `json:"sent"`
}

type benchTodos struct{ next int }

func (s *benchTodos) Create(ctx context.Context, t benchTodo, p eventsync.Params) (benchTodo, error) {
	s.next++ // one client creates, one call at a time
	t.ID = s.next
	return t, nil
}

// BenchmarkSocketFanOut measures the delay from a create to its event at
// each of EVENTSYNC_SOCKETS (default 1,000) Socket.IO clients of one
// replica, on this package's server and, in the same run, on a Node
// Feathers server (@feathersjs/socketio), both driven by the same Node
// clients (nodetest/socketio.js bench): EVENTSYNC_SOCKET_EVENTS creates
// (default 100), one every EVENTSYNC_SOCKET_EVERY ms (default 50). Run it
// once: go test -run XXX -bench SocketFanOut -benchtime 1x ./socketio
func BenchmarkSocketFanOut(b *testing.B) {
	sockets, events, every := envInt("EVENTSYNC_SOCKETS", 1000), envInt("EVENTSYNC_SOCKET_EVENTS", 100), envInt("EVENTSYNC_SOCKET_EVERY", 50)
	app := eventsync.NewApp()
	if _, err := eventsync.Use(app, "todos", &benchTodos{}); err != nil {
		b.Fatal(err)
	}
	srv, err := socketio.New(app, socketio.Options{})
	if err != nil {
		b.Fatal(err)
	}
	srv.Hub().Publish("", channels.PublishAll)
	hs := httptest.NewServer(srv)
	defer func() {
		srv.Close()
		hs.CloseClientConnections()
		hs.Close()
		srv.Hub().Close()
	}()
	node := brokertest.StartNode(b, "socketio.js", "server", "none", "")
	_, ready := node.Wait(b, "node server", func(l map[string]any) bool { return l["ready"] == true })
	nodeURL := fmt.Sprintf("http://127.0.0.1:%v", ready["port"])

	for range b.N {
		for _, target := range []struct{ name, url string }{{"go", hs.URL}, {"node", nodeURL}} {
			run := brokertest.StartNode(b, "socketio.js", "bench", target.url, strconv.Itoa(sockets), strconv.Itoa(events), strconv.Itoa(every))
			_, res := run.Wait(b, "bench result", func(l map[string]any) bool { return l["p50"] != nil })
			if res["got"] != res["want"] {
				b.Errorf("%s: %v of %v events arrived", target.name, res["got"], res["want"])
			}
			for _, m := range []string{"p50", "p99", "last50", "last99"} {
				v, _ := res[m].(float64)
				b.ReportMetric(v, target.name+"-"+m+"-ms")
			}
		}
	}
	b.ReportMetric(float64(srv.Stats().Dropped), "go-dropped")
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}
