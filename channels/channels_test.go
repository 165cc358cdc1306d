package channels_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/channels"
	"github.com/eventsync/eventsync/internal/synctest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type notes struct{}

func (notes) Create(ctx context.Context, s string, p eventsync.Params) (string, error) { return s, nil }

func setup(t *testing.T, opts channels.Options) (*eventsync.Service, *channels.Hub) {
	app := eventsync.NewApp()
	svc, err := eventsync.Use(app, "notes", notes{})
	if err != nil {
		t.Fatal(err)
	}
	h := channels.New(app, opts)
	t.Cleanup(h.Close)
	return svc, h
}

func create(t *testing.T, svc *eventsync.Service, s string) {
	t.Helper()
	if _, err := svc.Create(context.Background(), s, nil); err != nil {
		t.Fatal(err)
	}
}

func queued(c *channels.Conn) []string {
	var out []string
	for {
		select {
		case m := <-c.Messages():
			out = append(out, m.Name+":"+m.Event.Data.(string))
		default:
			return out
		}
	}
}

// Without a publish function nothing is sent, and the log says why once.
func TestNoPublishFunction(t *testing.T) {
	var logs synctest.Buffer
	svc, h := setup(t, channels.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	c := h.Connect(nil)
	create(t, svc, "a")
	create(t, svc, "b")
	if got := queued(c); len(got) != 0 {
		t.Fatalf("sent %v", got)
	}
	if n := strings.Count(logs.String(), "no publish function"); n != 1 {
		t.Fatalf("logged %d times: %s", n, logs.String())
	}
}

// Join, Leave and the channels a publish function picks; a connection in
// two matching channels gets an event once; Close removes it.
func TestJoinLeave(t *testing.T) {
	svc, h := setup(t, channels.Options{})
	h.Publish("notes", func(ev eventsync.Event) []string { return []string{"x", "y"} })
	c, other := h.Connect(nil), h.Connect(nil)
	c.Join("x", "y")
	other.Join("z")
	create(t, svc, "1")
	c.Leave("x")
	create(t, svc, "2")
	c.Leave("y")
	create(t, svc, "3")
	if got := strings.Join(queued(c), ","); got != "notes created:1,notes created:2" {
		t.Fatalf("c got %s", got)
	}
	if got := queued(other); len(got) != 0 || strings.Join(c.Channels(), ",") != "" {
		t.Fatalf("other got %v; c in %v", got, c.Channels())
	}
	c.Close()
	select {
	case <-c.Done():
	default:
		t.Fatal("Done not closed")
	}
	if st := h.Stats(); st.Connections != 1 || st.Delivered != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// A connection whose queue is full is dropped, never waited for.
func TestFullQueueDrops(t *testing.T) {
	svc, h := setup(t, channels.Options{QueueSize: 2})
	h.Publish("", channels.PublishAll)
	c := h.Connect(nil)
	for _, s := range []string{"1", "2", "3"} {
		create(t, svc, s)
	}
	<-c.Done()
	if st := h.Stats(); st.Dropped != 1 || st.Connections != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// A later call finds its user's connections by their params and joins them.
func TestConnectionsJoinLater(t *testing.T) {
	svc, h := setup(t, channels.Options{})
	h.Publish("", func(eventsync.Event) []string { return []string{"authenticated"} })
	alice, bob := h.Connect(eventsync.Params{"user": "alice"}), h.Connect(eventsync.Params{"user": "bob"})
	create(t, svc, "before login")
	for _, c := range h.Connections(func(c *channels.Conn) bool { return c.Param("user") == "alice" }) {
		c.Join("authenticated")
	}
	create(t, svc, "after login")
	if got := strings.Join(queued(alice), ","); got != "notes created:after login" {
		t.Fatalf("alice got %s", got)
	}
	if got := queued(bob); len(got) != 0 {
		t.Fatalf("bob got %v", got)
	}
}
