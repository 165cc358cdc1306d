package eventsync_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/memsync"
	"github.com/eventsync/eventsync/internal/synctest"
	"github.com/eventsync/eventsync/serializer"

	_ "github.com/eventsync/eventsync/adapters/amqpsync"
	_ "github.com/eventsync/eventsync/adapters/natssync"
)

func TestSignedMessages(t *testing.T) {
	for _, ser := range []serializer.Serializer{serializer.JSON, serializer.MsgPack, serializer.BSON} {
		t.Run(ser.Name(), func(t *testing.T) {
			bus := t.Name()
			secret := []byte("correct horse battery staple")
			a := newReplica(t, bus, eventsync.Options{Secret: secret, Serializer: ser})
			b := newReplica(t, bus, eventsync.Options{Secret: secret, Serializer: ser})
			wrong := newReplica(t, bus, eventsync.Options{Secret: []byte("guess"), Serializer: ser})
			raw := memsync.New(memsync.Named(bus), eventsync.DefaultKey)
			defer raw.Close(context.Background())

			unsigned, _ := ser.Encode(&serializer.Message{Event: "created", Path: "todos", Data: Todo{Title: "injected"}})
			forged := append(append([]byte(nil), unsigned...), make([]byte, 32)...)
			if err := raw.Publish(context.Background(), unsigned, forged); err != nil {
				t.Fatal(err)
			}
			mustCreate(t, wrong.svc, context.Background(), "wrong secret")
			mustCreate(t, a.svc, context.Background(), "signed")
			got := b.got.wait(t, 1)
			if got[0].Data.(Todo).Title != "signed" {
				t.Fatalf("got %+v", got[0])
			}
			st := waitStats(t, b.sync, "3 forged", func(s eventsync.Stats) bool { return s.Forged == 3 && s.Dispatched == 1 })
			if st.Dispatched != 1 || st.Malformed != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// A signed JSON message is still a JSON object that a replica without the
// secret (or a feathers-sync peer) can read.
func TestSignedJSONStaysReadable(t *testing.T) {
	bus := t.Name()
	raw := tap(t, bus)
	a := newReplica(t, bus, eventsync.Options{Secret: []byte("s")})
	plain := newReplica(t, bus, eventsync.Options{})
	mustCreate(t, a.svc, context.Background(), "readable")
	m := next(t, raw)
	if sig, _ := m["sig"].(string); len(sig) != 64 || m["event"] != "created" {
		t.Fatalf("signed message: %v", m)
	}
	if got := plain.got.wait(t, 1); got[0].Data.(Todo).Title != "readable" {
		t.Fatalf("plain replica got %+v", got[0])
	}
}

// A password in a URI appears in no log line, error or Stats.
func TestPasswordsNeverLeak(t *testing.T) {
	const pw = "s3cretPW"
	for _, uri := range []string{
		"redis://:" + pw + "@127.0.0.1:1/?dial_timeout=50ms",
		"amqp://guest:" + pw + "@127.0.0.1:1/",
		"nats://user:" + pw + "@127.0.0.1:1",
		"bogus://user:" + pw + "@host/",
		"redis://:" + pw + "@127.0.0.1:1/?bogus_option=1",
	} {
		var logs synctest.Buffer
		logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		app, _ := newApp(t)
		s, err := eventsync.Configure(app, eventsync.Options{URI: uri, Logger: logger})
		if err != nil {
			if strings.Contains(err.Error(), pw) {
				t.Fatalf("Configure error leaks the password: %v", err)
			}
			continue
		}
		deadline := time.Now().Add(10 * time.Second)
		for s.Err() == nil && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if s.Err() == nil {
			t.Fatalf("%s: no error against a closed port", eventsync.RedactURI(uri))
		}
		st, _ := json.Marshal(s.Stats())
		rec := httptest.NewRecorder()
		s.Health().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		s.Close(context.Background())
		for what, text := range map[string]string{"Err": s.Err().Error(), "log": logs.String(), "Stats": string(st), "Health": rec.Body.String()} {
			if strings.Contains(text, pw) {
				t.Fatalf("%s leaks the password for %s: %s", what, eventsync.RedactURI(uri), text)
			}
		}
		if !strings.Contains(logs.String(), "subscribe failed") {
			t.Fatalf("%s: the failure was not logged: %s", eventsync.RedactURI(uri), logs.String())
		}
	}
	if got := eventsync.RedactURI("amqp://guest:" + pw + "@host/"); strings.Contains(got, pw) {
		t.Fatalf("RedactURI: %s", got)
	}
}

func TestHealth(t *testing.T) {
	app, _ := newApp(t)
	down, err := eventsync.Configure(app, eventsync.Options{Adapter: &failingSubscribe{}})
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close(context.Background())
	check := func(s *eventsync.Sync, want int) {
		t.Helper()
		rec := httptest.NewRecorder()
		s.Health().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		var body struct {
			Live bool `json:"live"`
			eventsync.Stats
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("health body: %v: %s", err, rec.Body.String())
		}
		if rec.Code != want || body.Live != (want == 200) {
			t.Fatalf("health: %d %s, want %d", rec.Code, rec.Body.String(), want)
		}
	}
	check(down, 503)
	up := newReplica(t, t.Name(), eventsync.Options{})
	mustCreate(t, up.svc, context.Background(), "x")
	check(up.sync, 200)
	up.sync.Close(context.Background())
	check(up.sync, 503)
}

// A message that names its path twice, the second after the data, must not
// slip past AcceptFilter with data decoded for the first path: it is
// malformed, whatever decoder reads it.
func TestRepeatedPathRefused(t *testing.T) {
	bus := t.Name()
	app := eventsync.NewApp()
	if _, err := eventsync.Use(app, "todos", &TodoService{}); err != nil {
		t.Fatal(err)
	}
	users, err := eventsync.Use(app, "users", &TodoService{})
	if err != nil {
		t.Fatal(err)
	}
	got := newRecorder()
	users.On("created", got.add)
	s, err := eventsync.Configure(app, eventsync.Options{URI: "mem://" + bus,
		AcceptFilter: func(path, event string) bool { return path != "users" }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	waitReady(t, s)
	raw := memsync.New(memsync.Named(bus), eventsync.DefaultKey)
	defer raw.Close(context.Background())
	for _, msg := range []string{
		`{"event":"created","path":"todos","data":{"id":1,"title":"t"},"path":"users"}`,
		`{"event":"created","path":"users","data":{"id":2},"path":"todos"}`,
		`{"event":"created","path":"todos","data":{"id":3}}`,
	} {
		if err := raw.Publish(context.Background(), []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	st := waitStats(t, s, "3 received", func(s eventsync.Stats) bool { return s.Dispatched+s.Malformed+s.Filtered == 3 })
	if st.Malformed != 2 || st.Dispatched != 1 || len(got.snapshot()) != 0 {
		t.Fatalf("stats %+v; users listener got %+v", st, got.snapshot())
	}
}
