package socketio_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/channels"
	"github.com/eventsync/eventsync/internal/brokertest"
	"github.com/eventsync/eventsync/socketio"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type Todo struct {
	ID    int    `json:"id"`
	Title string `json:"title"`
	Done  bool   `json:"done"`
}

// todos is a service that remembers the params of its last call.
type todos struct {
	mu     sync.Mutex
	items  map[int]Todo
	next   int
	params eventsync.Params
}

func newTodos() *todos { return &todos{items: map[int]Todo{}} }

func (s *todos) lastParams() eventsync.Params {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.params
}

func (s *todos) Find(ctx context.Context, p eventsync.Params) ([]Todo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.params = p
	q, _ := p["query"].(map[string]any)
	out := []Todo{}
	for i := 1; i <= s.next; i++ {
		if t, ok := s.items[i]; ok && (q["done"] == nil || q["done"] == t.Done) {
			out = append(out, t)
		}
	}
	return out, nil
}

func (s *todos) Get(ctx context.Context, id int, p eventsync.Params) (Todo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.params = p
	t, ok := s.items[id]
	if !ok {
		return Todo{}, eventsync.NotFound(fmt.Sprintf("todo %d not found", id), map[string]int{"id": id})
	}
	return t, nil
}

func (s *todos) Create(ctx context.Context, t Todo, p eventsync.Params) (Todo, error) {
	if t.Title == "" {
		return Todo{}, eventsync.BadRequest("a title is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.params = p
	s.next++
	t.ID = s.next
	s.items[t.ID] = t
	return t, nil
}

func (s *todos) Update(ctx context.Context, id int, t Todo, p eventsync.Params) (Todo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t.ID = id
	s.items[id] = t
	return t, nil
}

func (s *todos) Patch(ctx context.Context, id int, patch map[string]any, p eventsync.Params) (Todo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.items[id]
	if !ok {
		return Todo{}, eventsync.NotFound(fmt.Sprintf("todo %d not found", id))
	}
	if title, ok := patch["title"].(string); ok {
		t.Title = title
	}
	s.items[id] = t
	return t, nil
}

func (s *todos) Remove(ctx context.Context, id int, p eventsync.Params) (Todo, error) {
	if id == 999 {
		return Todo{}, errors.New("database password hunter2 rejected") // an internal error
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.items[id]
	if !ok {
		return Todo{}, eventsync.NotFound(fmt.Sprintf("todo %d not found", id))
	}
	delete(s.items, id)
	return t, nil
}

// fixture is a Socket.IO server for an App with a todos service.
type fixture struct {
	app   *eventsync.App
	svc   *eventsync.Service
	todos *todos
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

func TestSmoke(t *testing.T) {
	f := newFixture(t, socketio.Options{})
	c := newClient(t, f.url, `{}`)
	res := c.call(t, "todos", "create", map[string]any{"title": "a"})
	t.Logf("%v", res)
	t.Logf("%v", c.event(t, "todos created", func(map[string]any) bool { return true }))
	t.Logf("%v", c.call(t, "todos", "get", 42))
}
