package rest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/eventsync/eventsync"
	_ "github.com/eventsync/eventsync/adapters/memsync"
	"github.com/eventsync/eventsync/channels"
	"github.com/eventsync/eventsync/internal/synctest"
	"github.com/eventsync/eventsync/rest"
)

// sse is one event of a stream.
type sse struct {
	ID, Event string
	Data      struct {
		Data   json.RawMessage `json:"data"`
		Origin string          `json:"origin"`
		Remote bool            `json:"remote"`
	}
}

// stream opens the event stream at url (with Last-Event-ID if set) and
// returns its events as they come; closing stop ends it.
func stream(t *testing.T, url, lastID string) (<-chan sse, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	out := make(chan sse, 10_000)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(out)
		sc := bufio.NewScanner(res.Body)
		var ev sse
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Event != "" {
					out <- ev
				}
				ev = sse{}
			case strings.HasPrefix(line, "id: "):
				ev.ID = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.Event = line[7:]
			case strings.HasPrefix(line, "data: "):
				_ = json.Unmarshal([]byte(line[6:]), &ev.Data)
			}
		}
	}()
	stop := func() {
		cancel()
		res.Body.Close()
		<-done
	}
	t.Cleanup(stop)
	return out, stop
}

func next(t *testing.T, ch <-chan sse) sse {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("stream ended")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10 s")
	}
	return sse{}
}

func eventServer(t *testing.T, opts rest.Options) (*httptest.Server, *eventsync.App, *rest.Handler) {
	t.Helper()
	app := eventsync.NewApp()
	if _, err := eventsync.Use(app, "todos", synctest.NewTodoStore(), eventsync.CustomEvent[int]("progress")); err != nil {
		t.Fatal(err)
	}
	h, err := rest.New(app, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Hub().Close)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, app, h
}

// waitConns waits until the hub has n connections (a stream is subscribed).
func waitConns(t *testing.T, h *rest.Handler, n int) {
	t.Helper()
	synctest.WaitFor(t, 10*time.Second, fmt.Sprintf("%d stream connections", n), func() bool { return h.Hub().Stats().Connections == n })
}

func TestEventStream(t *testing.T) {
	srv, app, h := eventServer(t, rest.Options{})
	h.Hub().Publish("", channels.PublishAll)
	events, _ := stream(t, srv.URL+"/events", "")
	waitConns(t, h, 1)
	if code, _, _, body := call(t, srv, "POST", "/todos", `{"title":"a"}`); code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	if err := app.Service("todos").Emit(context.Background(), "progress", 50); err != nil {
		t.Fatal(err)
	}
	ev := next(t, events)
	if ev.Event != "todos created" || ev.ID != "1" || string(ev.Data.Data) != `{"id":1,"title":"a","done":false}` || ev.Data.Remote {
		t.Fatalf("first event %+v", ev)
	}
	if ev := next(t, events); ev.Event != "todos progress" || string(ev.Data.Data) != "50" {
		t.Fatalf("custom event %+v", ev)
	}
}

// Events synced from another replica reach the stream, marked remote.
func TestEventStreamCarriesSyncedEvents(t *testing.T) {
	srv, app, h := eventServer(t, rest.Options{})
	h.Hub().Publish("", channels.PublishAll)
	other := eventsync.NewApp()
	svc, err := eventsync.Use(other, "todos", synctest.NewTodoStore(), eventsync.CustomEvent[int]("progress"))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []*eventsync.App{app, other} {
		s, err := eventsync.Configure(a, eventsync.Options{URI: "mem://" + t.Name()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close(context.Background()) })
		<-s.Ready()
	}
	events, _ := stream(t, srv.URL+"/events", "")
	waitConns(t, h, 1)
	if _, err := svc.Create(context.Background(), Todo{Title: "remote"}, nil); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, events); ev.Event != "todos created" || !ev.Data.Remote || ev.Data.Origin == "" {
		t.Fatalf("synced event %+v", ev)
	}
}

// Channels route events to the right clients only; connections join from
// the request on connect.
func TestEventStreamChannels(t *testing.T) {
	srv, app, h := eventServer(t, rest.Options{OnConnect: func(r *http.Request, c *channels.Conn) error {
		c.Join("room/" + r.URL.Query().Get("room"))
		return nil
	}})
	h.Hub().Publish("todos", func(ev eventsync.Event) []string {
		if t, ok := ev.Data.(Todo); ok {
			return []string{"room/" + t.Title}
		}
		return nil
	})
	a, _ := stream(t, srv.URL+"/events?room=a", "")
	b, _ := stream(t, srv.URL+"/events?room=b", "")
	waitConns(t, h, 2)
	svc := app.Service("todos")
	for _, room := range []string{"a", "b", "a"} {
		if _, err := svc.Create(context.Background(), Todo{Title: room}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.Emit(context.Background(), "progress", 1); err != nil { // published to no channel
		t.Fatal(err)
	}
	if _, err := svc.Create(context.Background(), Todo{Title: "b"}, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		ch   <-chan sse
		want []string
	}{{a, []string{"1", "3"}}, {b, []string{"2", "4"}}} {
		for _, id := range c.want {
			ev := next(t, c.ch)
			var todo Todo
			_ = json.Unmarshal(ev.Data.Data, &todo)
			if todo.ID != atoi(id) {
				t.Fatalf("got todo %d, want %s", todo.ID, id)
			}
		}
	}
}

func atoi(s string) int {
	var n int
	fmt.Sscan(s, &n)
	return n
}

// A client that stops reading is dropped and counted; the others get
// every event, undelayed by it.
func TestStalledClientDropped(t *testing.T) {
	srv, app, h := eventServer(t, rest.Options{})
	h.Hub().Publish("", channels.PublishAll)
	stalled, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	fmt.Fprintf(stalled, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n") // and never read
	waitConns(t, h, 1)
	reader, _ := stream(t, srv.URL+"/events", "")
	waitConns(t, h, 2)
	svc := app.Service("todos")
	big := strings.Repeat("x", 10_000)
	const n, step = 3000, 100       // 30 MB: more than the stalled socket holds
	for i := 1; i <= n; i += step { // the reader is never more than a step behind
		for range step {
			if _, err := svc.Create(context.Background(), Todo{Title: big}, nil); err != nil {
				t.Fatal(err)
			}
		}
		for j := i; j < i+step; j++ {
			if ev := next(t, reader); ev.ID != fmt.Sprint(j) {
				t.Fatalf("reader got event %s, want %d", ev.ID, j)
			}
		}
	}
	synctest.WaitFor(t, 10*time.Second, "the stalled client dropped", func() bool { return h.Hub().Stats().Dropped == 1 })
}

// A client that reconnects with Last-Event-ID gets what it missed from
// the history, or "fell-behind" when the history no longer reaches back.
func TestEventStreamResume(t *testing.T) {
	srv, app, h := eventServer(t, rest.Options{Hub: nil})
	h.Hub().Publish("", channels.PublishAll)
	svc := app.Service("todos")
	events, stop := stream(t, srv.URL+"/events", "")
	waitConns(t, h, 1)
	for i := range 3 {
		if err := svc.Emit(context.Background(), "progress", i); err != nil {
			t.Fatal(err)
		}
	}
	var last string
	for range 3 {
		last = next(t, events).ID
	}
	stop()
	waitConns(t, h, 0)
	for i := 3; i < 5; i++ {
		if err := svc.Emit(context.Background(), "progress", i); err != nil {
			t.Fatal(err)
		}
	}
	events, _ = stream(t, srv.URL+"/events", last)
	for _, want := range []string{"3", "4"} {
		if ev := next(t, events); string(ev.Data.Data) != want {
			t.Fatalf("resumed %+v, want progress %s", ev, want)
		}
	}
	if err := svc.Emit(context.Background(), "progress", 5); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, events); string(ev.Data.Data) != "5" {
		t.Fatalf("after resume %+v", ev)
	}

	small, app2, h2 := eventServer(t, rest.Options{Hub: nil})
	h2.Hub().Close()
	hub := channels.New(app2, channels.Options{History: 2})
	hub.Publish("", channels.PublishAll)
	handler, err := rest.New(app2, rest.Options{Hub: hub})
	if err != nil {
		t.Fatal(err)
	}
	small.Config.Handler = handler
	t.Cleanup(hub.Close)
	for i := range 5 {
		if err := app2.Service("todos").Emit(context.Background(), "progress", i); err != nil {
			t.Fatal(err)
		}
	}
	events, _ = stream(t, small.URL+"/events", "1")
	if ev := next(t, events); ev.Event != "fell-behind" {
		t.Fatalf("want fell-behind, got %+v", ev)
	}
}

func TestEventsPathClash(t *testing.T) {
	app := eventsync.NewApp()
	if _, err := eventsync.Use(app, "events", synctest.NewTodoStore()); err != nil {
		t.Fatal(err)
	}
	if _, err := rest.New(app, rest.Options{}); err == nil {
		t.Fatal("a service at the stream's path was accepted")
	}
	h, err := rest.New(app, rest.Options{Events: "/stream"})
	if err != nil {
		t.Fatal(err)
	}
	h.Hub().Close()
}

// An idle stream gets keep-alive comments.
func TestKeepAlive(t *testing.T) {
	srv, _, h := eventServer(t, rest.Options{KeepAlive: 20 * time.Millisecond})
	h.Hub().Publish("", channels.PublishAll)
	res, err := http.Get(srv.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	if !sc.Scan() || sc.Text() != ": keep-alive" {
		t.Fatalf("first line %q", sc.Text())
	}
}
