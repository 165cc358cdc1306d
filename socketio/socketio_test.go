package socketio_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/channels"
	"github.com/eventsync/eventsync/internal/brokertest"
	"github.com/eventsync/eventsync/internal/synctest"
	"github.com/eventsync/eventsync/socketio"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type Todo = synctest.Todo

func newTodos() *synctest.TodoStore { return synctest.NewTodoStore() }

// fixture is a Socket.IO server for an App with a todos service.
type fixture struct {
	app   *eventsync.App
	svc   *eventsync.Service
	todos *synctest.TodoStore
	srv   *socketio.Server
	url   string
}

func newFixture(t *testing.T, opts socketio.Options) *fixture {
	t.Helper()
	f := &fixture{app: eventsync.NewApp(), todos: newTodos()}
	var err error
	if f.svc, err = eventsync.Use(f.app, "todos", f.todos, eventsync.CustomEvent[map[string]any]("progress")); err != nil {
		t.Fatal(err)
	}
	if f.srv, err = socketio.New(f.app, opts); err != nil {
		t.Fatal(err)
	}
	f.srv.Hub().Publish("", channels.PublishAll)
	hs := httptest.NewServer(f.srv)
	t.Cleanup(func() {
		f.srv.Close()
		hs.CloseClientConnections()
		hs.Close()
		f.srv.Hub().Close()
	})
	f.url = hs.URL
	return f
}

// client is a Feathers client (socket.io-client with
// @feathersjs/socketio-client) in Node.
type client struct {
	*brokertest.Node
	refs int
}

func newClient(t *testing.T, url string, options string) *client {
	t.Helper()
	c := &client{Node: brokertest.StartNode(t, "socketio.js", "client", url, options)}
	c.Wait(t, "connected", func(l map[string]any) bool { return l["connected"] == true })
	return c
}

// call calls a method of path through the Feathers client and returns its
// answer line: {"result": ...} or {"error": ..., "class": ...}.
func (c *client) call(t *testing.T, path, method string, args ...any) map[string]any {
	t.Helper()
	c.refs++
	ref := float64(c.refs)
	c.Send(t, map[string]any{"cmd": "call", "ref": ref, "path": path, "method": method, "args": args})
	_, line := c.Wait(t, method+" answer", func(l map[string]any) bool { return l["ref"] == ref })
	return line
}

// event waits for the socket event name whose data satisfies match.
func (c *client) event(t *testing.T, name string, match func(data map[string]any) bool) map[string]any {
	t.Helper()
	_, line := c.Wait(t, name, func(l map[string]any) bool {
		d, _ := l["data"].(map[string]any)
		return l["event"] == name && match(d)
	})
	d, _ := line["data"].(map[string]any)
	return d
}

// The transports a client may use: the default (long-polling, upgraded to
// WebSocket), long-polling only, and WebSocket only.
var transports = []struct{ name, options, want string }{
	{"upgrade", `{}`, "websocket"},
	{"polling", `{"transports":["polling"]}`, "polling"},
	{"websocket", `{"transports":["websocket"]}`, "websocket"},
}

// Every method through the Feathers client, errors with their class, and
// the service events, on each transport.
func TestFeathersClient(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			f := newFixture(t, socketio.Options{})
			c := newClient(t, f.url, tr.options)
			if tr.name == "upgrade" {
				c.Wait(t, "upgrade", func(l map[string]any) bool { return l["upgraded"] == "websocket" })
			} else if _, l := c.Find(func(l map[string]any) bool { return l["connected"] == true }); l["transport"] != tr.want {
				t.Fatalf("connected over %v, want %s", l["transport"], tr.want)
			}
			checkMethods(t, f, c)
		})
	}
}

func checkMethods(t *testing.T, f *fixture, c *client) {
	res := c.call(t, "todos", "create", map[string]any{"title": "first"})
	if r, _ := res["result"].(map[string]any); r["id"] != 1.0 || r["title"] != "first" {
		t.Fatalf("create: %v", res)
	}
	if p := f.todos.LastParams(); p["provider"] != "socketio" || p["connection"] == nil {
		t.Fatalf("create params: %v", p)
	}
	if d := c.event(t, "todos created", any2); d["title"] != "first" {
		t.Fatalf("created event: %v", d)
	}
	checkError(t, c.call(t, "todos", "create", map[string]any{"title": ""}), "BadRequest", 400)

	c.call(t, "todos", "create", map[string]any{"title": "second", "done": true})
	res = c.call(t, "todos", "find", map[string]any{"query": map[string]any{"done": true}})
	if list, _ := res["result"].([]any); len(list) != 1 || list[0].(map[string]any)["title"] != "second" {
		t.Fatalf("find with a query: %v", res)
	}
	if q, _ := f.todos.LastParams()["query"].(map[string]any); q["done"] != true {
		t.Fatalf("find's query: %v", f.todos.LastParams())
	}

	if r, _ := c.call(t, "todos", "get", 1)["result"].(map[string]any); r["title"] != "first" {
		t.Fatalf("get: %v", r)
	}
	if r, _ := c.call(t, "todos", "get", "1")["result"].(map[string]any); r["title"] != "first" {
		t.Fatalf("get with a string id: %v", r)
	}
	nf := checkError(t, c.call(t, "todos", "get", 42), "NotFound", 404)
	if d, _ := nf["data"].(map[string]any); d["id"] != 42.0 {
		t.Fatalf("NotFound's data: %v", nf)
	}

	if r, _ := c.call(t, "todos", "patch", 1, map[string]any{"title": "patched"})["result"].(map[string]any); r["title"] != "patched" {
		t.Fatalf("patch: %v", r)
	}
	c.event(t, "todos patched", func(d map[string]any) bool { return d["title"] == "patched" })
	if r, _ := c.call(t, "todos", "update", 1, map[string]any{"title": "updated", "done": true})["result"].(map[string]any); r["title"] != "updated" || r["done"] != true {
		t.Fatalf("update: %v", r)
	}
	c.event(t, "todos updated", func(d map[string]any) bool { return d["title"] == "updated" })
	if r, _ := c.call(t, "todos", "remove", 1)["result"].(map[string]any); r["title"] != "updated" {
		t.Fatalf("remove: %v", r)
	}
	c.event(t, "todos removed", func(d map[string]any) bool { return d["title"] == "updated" })
	checkError(t, c.call(t, "todos", "remove", 1), "NotFound", 404)
	internal := checkError(t, c.call(t, "todos", "remove", 999), "GeneralError", 500)
	if msg, _ := internal["message"].(string); strings.Contains(msg, "hunter2") {
		t.Fatalf("a 500 tells the client its cause: %v", internal)
	}

	if err := f.svc.Emit(context.Background(), "progress", map[string]any{"percent": 50.0}); err != nil {
		t.Fatal(err)
	}
	c.event(t, "todos progress", func(d map[string]any) bool { return d["percent"] == 50.0 })
}

func any2(map[string]any) bool { return true }

// checkError checks that an answer is a Feathers error of class name with
// code, and returns its JSON.
func checkError(t *testing.T, answer map[string]any, name string, code float64) map[string]any {
	t.Helper()
	e, _ := answer["error"].(map[string]any)
	if answer["class"] != name || e["name"] != name || e["code"] != code {
		t.Fatalf("want a %s (%v), got %v", name, code, answer)
	}
	return e
}
