package interop

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/adaptertest"
	_ "github.com/eventsync/eventsync/adapters/all"
	"github.com/eventsync/eventsync/internal/brokertest"
	"github.com/eventsync/eventsync/internal/synctest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Todo is the record on both sides; Node adds the id.
type Todo struct {
	ID    int    `json:"id"`
	Title string `json:"title"`
	Done  bool   `json:"done"`
}

type todos struct{}

func (todos) Create(ctx context.Context, t Todo, p eventsync.Params) (Todo, error) { return t, nil }

var brokers = []struct{ name, env, def string }{
	{"redis", "EVENTSYNC_REDIS_URL", "redis://127.0.0.1:6379"},
	{"amqp", "EVENTSYNC_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672"},
	{"nats", "EVENTSYNC_NATS_URL", "nats://127.0.0.1:4222"},
}

// startNode runs interop.js, a Feathers replica with feathers-sync, and
// waits until it is ready.
func startNode(t *testing.T, uri, key string) *brokertest.Node {
	t.Helper()
	n := brokertest.StartNode(t, "interop.js", uri, key)
	n.Wait(t, "ready", func(l map[string]any) bool { return l["ready"] == true })
	return n
}

// got matches a service event line with the event name and data title.
func got(event, title string) func(map[string]any) bool {
	return func(l map[string]any) bool {
		g, ok := l["got"].(map[string]any)
		if !ok || g["event"] != event {
			return false
		}
		d, _ := g["data"].(map[string]any)
		return title == "" || (d != nil && d["title"] == title)
	}
}

type goReplica struct {
	svc  *eventsync.Service
	sync *eventsync.Sync
	got  *synctest.Recorder
}

func newGoReplica(t *testing.T, uri, key string) *goReplica {
	t.Helper()
	return newGoReplicaWith(t, eventsync.Options{URI: uri, Key: key})
}

func newGoReplicaWith(t *testing.T, opts eventsync.Options) *goReplica {
	t.Helper()
	app := eventsync.NewApp()
	svc, err := eventsync.Use(app, "todos", todos{}, eventsync.CustomEvent[any]("custom"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := eventsync.Configure(app, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Close(ctx)
	})
	select {
	case <-s.Ready():
	case <-time.After(30 * time.Second):
		t.Fatalf("go replica not ready: %v", s.Err())
	}
	r := &goReplica{svc: svc, sync: s, got: synctest.NewRecorder()}
	svc.On("created", r.got.Add)
	svc.On("custom", r.got.Add)
	return r
}

func (r *goReplica) waitFor(t *testing.T, event, title string) eventsync.Event {
	t.Helper()
	evs := r.got.Wait(t, 30*time.Second, event+" "+title, func(evs []eventsync.Event) bool {
		return find(evs, event, title) >= 0
	})
	return evs[find(evs, event, title)]
}

func find(evs []eventsync.Event, event, title string) int {
	for i, ev := range evs {
		if ev.Name != event {
			continue
		}
		if todo, ok := ev.Data.(Todo); ok && todo.Title == title || title == "" {
			return i
		}
	}
	return -1
}

func TestInterop(t *testing.T) {
	for _, b := range brokers {
		t.Run(b.name, func(t *testing.T) {
			uri := brokertest.URL(b.env, b.def)
			brokertest.Require(t, b.name, uri)
			testBothWays(t, uri)
		})
	}
}

func testBothWays(t *testing.T, uri string) {
	ctx := context.Background()
	key := adaptertest.UniqueKey("interop")
	node := startNode(t, uri, key)
	g := newGoReplica(t, uri, key)

	// Node -> Go: the service's record type, with the context fields.
	node.Send(t, map[string]any{"cmd": "create", "data": map[string]any{"title": "from node", "done": true}})
	ev := g.waitFor(t, "created", "from node")
	todo := ev.Data.(Todo)
	if todo.ID != 1000 || !todo.Done || !ev.Remote || ev.Origin != "" {
		t.Fatalf("node event on go: %+v", ev)
	}
	if c := ev.Context; c == nil || c.Method != "create" || c.Path != "todos" || c.Type != "around" || c.Result.(Todo).Title != "from node" {
		t.Fatalf("node context on go: %+v", ev.Context)
	}

	// Go -> Node: what an app.publish function reads.
	if _, err := g.svc.Create(ctx, Todo{ID: 7, Title: "from go"}, eventsync.Params{"provider": "rest"}); err != nil {
		t.Fatal(err)
	}
	_, line := node.Wait(t, "created from go", got("created", "from go"))
	c := line["got"].(map[string]any)["context"].(map[string]any)
	if c["method"] != "create" || c["path"] != "todos" || c["result"].(map[string]any)["title"] != "from go" {
		t.Fatalf("go event on node: %v", line)
	}

	// Custom events, both ways.
	if err := g.svc.Emit(ctx, "custom", map[string]any{"title": "custom from go"}); err != nil {
		t.Fatal(err)
	}
	_, line = node.Wait(t, "custom from go", got("custom", "custom from go"))
	if line["got"].(map[string]any)["context"] != nil {
		t.Fatalf("custom event with a context: %v", line)
	}
	node.Send(t, map[string]any{"cmd": "emit", "event": "custom", "data": map[string]any{"title": "custom from node"}})
	ev = g.got.Wait(t, 30*time.Second, "custom from node", func(evs []eventsync.Event) bool {
		for _, e := range evs {
			if m, ok := e.Data.(map[string]any); ok && e.Name == "custom" && m["title"] == "custom from node" {
				return true
			}
		}
		return false
	})[0]

	// SYNC off on either side keeps the event local; per-publisher order means
	// that when the synced one arrives, the local one would have come first.
	node.Send(t, map[string]any{"cmd": "create", "nosync": true, "data": map[string]any{"title": "node local"}})
	node.Send(t, map[string]any{"cmd": "create", "data": map[string]any{"title": "node synced"}})
	g.waitFor(t, "created", "node synced")
	if find(g.got.Events(), "created", "node local") >= 0 {
		t.Fatal("node event with SYNC off reached go")
	}
	if _, err := g.svc.Create(eventsync.WithoutSync(ctx), Todo{Title: "go local"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := g.svc.Create(ctx, Todo{Title: "go synced"}, nil); err != nil {
		t.Fatal(err)
	}
	i, _ := node.Wait(t, "go synced", got("created", "go synced"))
	if j, _ := node.Find(got("created", "go local")); j >= 0 && j < i {
		t.Fatal("go event with SYNC off reached node")
	}
	if st := g.sync.Stats(); st.Malformed != 0 || st.UnknownPath != 0 {
		t.Fatalf("go replica stats: %+v", st)
	}
}

// A Node app on key A and a Go app on key B see nothing of each other.
func TestKeyIsolation(t *testing.T) {
	uri := brokertest.URL("EVENTSYNC_REDIS_URL", "redis://127.0.0.1:6379")
	brokertest.Require(t, "redis", uri)
	keyA, keyB := adaptertest.UniqueKey("isoA"), adaptertest.UniqueKey("isoB")
	node := startNode(t, uri, keyA)
	goA, goB, goB2 := newGoReplica(t, uri, keyA), newGoReplica(t, uri, keyB), newGoReplica(t, uri, keyB)
	node.Send(t, map[string]any{"cmd": "create", "data": map[string]any{"title": "on A"}})
	goA.waitFor(t, "created", "on A")
	if _, err := goB2.svc.Create(context.Background(), Todo{Title: "on B"}, nil); err != nil {
		t.Fatal(err)
	}
	goB.waitFor(t, "created", "on B")
	if _, err := goA.svc.Create(context.Background(), Todo{Title: "on A again"}, nil); err != nil {
		t.Fatal(err)
	}
	node.Wait(t, "on A again", got("created", "on A again"))
	if i, _ := node.Find(got("created", "on B")); i >= 0 {
		t.Fatal("node on key A saw an event of key B")
	}
	if find(goB.got.Events(), "created", "on A") >= 0 || goB.sync.Stats().Received != 1 {
		t.Fatalf("go on key B saw key A's events: %+v", goB.sync.Stats())
	}
}

// A Go replica with AMQP's pack=true, on a key a feathers-sync replica
// publishes on, still reads its events and logs, once, that packs would
// break that replica (feathers-sync cannot read them).
func TestPackWarnsOfNode(t *testing.T) {
	uri := brokertest.URL("EVENTSYNC_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672")
	brokertest.Require(t, "amqp", uri)
	key := adaptertest.UniqueKey("packnode")
	node := startNode(t, uri, key)
	var logs synctest.Buffer
	g := newGoReplicaWith(t, eventsync.Options{URI: uri + "?pack=true", Key: key, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	for _, title := range []string{"one", "two"} {
		node.Send(t, map[string]any{"cmd": "create", "data": map[string]any{"title": title}})
		g.waitFor(t, "created", title)
	}
	if n := strings.Count(logs.String(), "feathers-sync replica publishes on this key"); n != 1 {
		t.Fatalf("%d warnings:\n%s", n, logs.String())
	}
}

// A Go replica's tail announcement reaches a feathers-sync replica as a
// custom event of an existing service, which it emits to nobody: the Node
// replica goes on syncing both ways.
func TestTailAnnouncementHarmlessToNode(t *testing.T) {
	for _, b := range brokers {
		t.Run(b.name, func(t *testing.T) {
			uri := brokertest.URL(b.env, b.def)
			brokertest.Require(t, b.name, uri)
			key := adaptertest.UniqueKey("tail")
			node := startNode(t, uri, key)
			g := newGoReplicaWith(t, eventsync.Options{URI: uri, Key: key, TailInterval: 20 * time.Millisecond})
			if _, err := g.svc.Create(context.Background(), Todo{Title: "before the tail"}, nil); err != nil {
				t.Fatal(err)
			}
			node.Wait(t, "before the tail", got("created", "before the tail"))
			synctest.WaitStats(t, g.sync, 10*time.Second, "the tail announced", func(st eventsync.Stats) bool { return st.Published == 2 })
			node.Send(t, map[string]any{"cmd": "create", "data": map[string]any{"title": "after the tail"}})
			g.waitFor(t, "created", "after the tail")
			if _, err := g.svc.Create(context.Background(), Todo{Title: "go after the tail"}, nil); err != nil {
				t.Fatal(err)
			}
			node.Wait(t, "go after the tail", got("created", "go after the tail"))
		})
	}
}
