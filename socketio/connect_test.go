package socketio_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/eventsync/eventsync"
	_ "github.com/eventsync/eventsync/adapters/redissync"
	"github.com/eventsync/eventsync/channels"
	"github.com/eventsync/eventsync/internal/brokertest"
	"github.com/eventsync/eventsync/internal/synctest"
	"github.com/eventsync/eventsync/socketio"
)

// authentication is a login service as an app would write one: it joins
// the caller's connection to the channel of its user.
type authentication struct{}

type login struct {
	User string `json:"user"`
}

func (authentication) Create(ctx context.Context, l login, p eventsync.Params) (login, error) {
	if l.User == "" {
		return login{}, eventsync.NotAuthenticated("who are you?")
	}
	if c, ok := p["connection"].(*channels.Conn); ok {
		c.SetParam("user", l.User)
		c.Join("users/" + l.User)
	}
	return l, nil
}

// The handshake's auth data and headers reach OnConnect, which sets the
// connection's params (every call gets them) and joins channels; an error
// refuses the connect with Feathers' error JSON; a login call joins its
// connection to channels through params["connection"].
func TestConnectHook(t *testing.T) {
	f := newFixture(t, socketio.Options{OnConnect: func(ctx context.Context, hs socketio.Handshake, c *channels.Conn) error {
		token, _ := hs.Auth["token"].(string)
		if token == "bad" {
			return eventsync.NotAuthenticated("invalid token")
		}
		if token != "" {
			c.SetParam("user", token)
			c.Join("users/" + token)
		}
		c.SetParam("team", hs.Header.Get("X-Team"))
		return nil
	}})
	if _, err := eventsync.Use(f.app, "authentication", authentication{}); err != nil {
		t.Fatal(err)
	}
	f.srv.Hub().Publish("todos", func(ev eventsync.Event) []string { // a todo goes to the user it is titled after
		return []string{"users/" + ev.Data.(Todo).Title}
	})

	alice := newClient(t, f.url, `{"auth":{"token":"alice"},"extraHeaders":{"X-Team":"red"}}`)
	bob := newClient(t, f.url, `{"auth":{"token":"bob"},"transports":["websocket"],"extraHeaders":{"X-Team":"blue"}}`)
	carol := newClient(t, f.url, `{}`)
	alice.call(t, "todos", "create", map[string]any{"title": "alice"})
	if p := f.todos.LastParams(); p["user"] != "alice" || p["team"] != "red" {
		t.Fatalf("alice's call params: %v", p)
	}
	bob.call(t, "todos", "create", map[string]any{"title": "bob"})
	if p := f.todos.LastParams(); p["user"] != "bob" || p["team"] != "blue" {
		t.Fatalf("bob's call params: %v", p)
	}
	alice.event(t, "todos created", func(d map[string]any) bool { return d["title"] == "alice" })
	bob.event(t, "todos created", func(d map[string]any) bool { return d["title"] == "bob" })
	if i, _ := bob.Find(func(l map[string]any) bool {
		return l["event"] == "todos created" && l["data"].(map[string]any)["title"] == "alice"
	}); i >= 0 {
		t.Fatal("bob got alice's todo")
	}

	// carol logs in after connecting: her login joins her connection.
	checkError(t, carol.call(t, "authentication", "create", map[string]any{}), "NotAuthenticated", 401)
	carol.call(t, "authentication", "create", map[string]any{"user": "carol"})
	carol.call(t, "todos", "create", map[string]any{"title": "carol"})
	if p := f.todos.LastParams(); p["user"] != "carol" {
		t.Fatalf("carol's params after login: %v", p)
	}
	carol.event(t, "todos created", func(d map[string]any) bool { return d["title"] == "carol" })

	refused := brokertest.StartNode(t, "socketio.js", "client", f.url, `{"auth":{"token":"bad"},"reconnection":false}`)
	_, line := refused.Wait(t, "connect_error", func(l map[string]any) bool { return l["connectError"] != nil })
	ce := line["connectError"].(map[string]any)
	if d, _ := ce["data"].(map[string]any); ce["message"] != "invalid token" || d["name"] != "NotAuthenticated" || d["code"] != 401.0 {
		t.Fatalf("refused connect: %v", ce)
	}
	if st := f.srv.Stats(); st.Refused == 0 || st.Connected != 3 {
		t.Fatalf("stats %+v", st)
	}
}

// A client whose transport breaks reconnects and gets events again.
func TestReconnect(t *testing.T) {
	for _, tr := range transports[1:] {
		t.Run(tr.name, func(t *testing.T) {
			f := newFixture(t, socketio.Options{})
			c := newClient(t, f.url, tr.options)
			c.Send(t, map[string]any{"cmd": "drop"})
			c.Wait(t, "reconnected", func(l map[string]any) bool { return l["connected"] == true && l["count"] == 2.0 })
			if _, err := f.svc.Create(context.Background(), Todo{Title: "after reconnect"}, nil); err != nil {
				t.Fatal(err)
			}
			c.event(t, "todos created", func(d map[string]any) bool { return d["title"] == "after reconnect" })
			synctest.WaitFor(t, 10*time.Second, "one socket left", func() bool { return f.srv.Stats().Sockets == 1 })
		})
	}
}

// An event created on another Go replica, synced over Redis, reaches a
// socket of this one.
func TestSyncedEventReachesSocket(t *testing.T) {
	uri := brokertest.URL("EVENTSYNC_REDIS_URL", "redis://127.0.0.1:6379")
	brokertest.Require(t, "Redis", uri)
	f := newFixture(t, socketio.Options{})
	other := eventsync.NewApp()
	svc, err := eventsync.Use(other, "todos", newTodos())
	if err != nil {
		t.Fatal(err)
	}
	key := fmt.Sprintf("socketio-test-%d", time.Now().UnixNano())
	for _, a := range []*eventsync.App{f.app, other} {
		s, err := eventsync.Configure(a, eventsync.Options{URI: uri, Key: key})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close(context.Background()) })
		select {
		case <-s.Ready():
		case <-time.After(10 * time.Second):
			t.Fatal("not ready")
		}
	}
	c := newClient(t, f.url, `{}`)
	if _, err := svc.Create(context.Background(), Todo{Title: "from the other replica"}, nil); err != nil {
		t.Fatal(err)
	}
	c.event(t, "todos created", func(d map[string]any) bool { return d["title"] == "from the other replica" })
}

// Cross-origin pages connect only from AllowedOrigins; same-origin pages
// and clients without an Origin always may.
func TestAllowedOrigins(t *testing.T) {
	f := newFixture(t, socketio.Options{AllowedOrigins: []string{"https://app.example.com", "*.trusted.example"}})
	host := strings.TrimPrefix(f.url, "http://")
	for _, c := range []struct {
		origin string
		ok     bool
	}{
		{"", true},
		{"http://" + host, true},
		{"https://app.example.com", true},
		{"http://app.example.com", false},
		{"https://a.trusted.example", true},
		{"https://evil.example", false},
	} {
		req, _ := http.NewRequest(http.MethodGet, f.url+"/socket.io/?EIO=4&transport=polling", nil)
		if c.origin != "" {
			req.Header.Set("Origin", c.origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.StatusCode == http.StatusOK; got != c.ok {
			t.Errorf("origin %q: %s", c.origin, resp.Status)
		}
		if acao := resp.Header.Get("Access-Control-Allow-Origin"); c.ok && c.origin != "" && acao != c.origin {
			t.Errorf("origin %q: Access-Control-Allow-Origin %q", c.origin, acao)
		}
	}
	if _, _, err := dialOrigin(f.url, "https://evil.example"); err == nil {
		t.Fatal("a WebSocket from a foreign origin was accepted")
	}
	if ws, _, err := dialOrigin(f.url, "https://app.example.com"); err != nil {
		t.Fatal(err)
	} else {
		ws.CloseNow()
	}
}
