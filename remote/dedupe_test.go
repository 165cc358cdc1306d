package remote_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/adaptertest"
	"github.com/eventsync/eventsync/registry"
	"github.com/eventsync/eventsync/remote"
)

// A write delivered twice with one request ID (a broker's redelivery, a
// transport's retry) is applied once; both deliveries get its reply. A
// member registered over HTTP is listed but never called.
func TestRepeatedWriteAppliedOnce(t *testing.T) {
	usersApp, send := rawCaller(t)
	req := createRequest("r-1", "twice", time.Now().Add(time.Minute))
	var replies []string
	for range 2 {
		b, err := send(req)
		if err != nil {
			t.Fatal(err)
		}
		replies = append(replies, string(b))
	}
	if usersApp.users.created.Load() != 1 || replies[0] != replies[1] {
		t.Fatalf("applied %d times; replies %q", usersApp.users.created.Load(), replies)
	}
}

// A member registered over HTTP (Via) serves nothing through the broker:
// with only such a member, a proxy answers Unavailable.
func TestHTTPRegisteredNotCalled(t *testing.T) {
	bus := adaptertest.UniqueKey("remote")
	orders := start(t, bus, "orders", false, remote.Options{})
	svc, err := remote.Use[User](orders.remote, "users")
	if err != nil {
		t.Fatal(err)
	}
	reg := orders.reg
	if err := postRegistration(t, reg, registry.Registration{App: "users", Instance: "http-users",
		Services: []registry.ServiceInfo{{Path: "users", Methods: []string{"get"}}}}); err != nil {
		t.Fatal(err)
	}
	waitServing(t, orders, "users", 1)
	_, err = svc.Get(context.Background(), 1, nil)
	var e *eventsync.Error
	if !errors.As(err, &e) || e.Code != 503 {
		t.Fatalf("a call with only an HTTP-registered member: %v", err)
	}
}

// postRegistration registers a member over the registry's HTTP handler.
func postRegistration(t *testing.T, reg *registry.Registry, r registry.Registration) error {
	t.Helper()
	srv := httptest.NewServer(reg.Handler(registry.HandlerOptions{}))
	defer srv.Close()
	b, _ := json.Marshal(r)
	resp, err := http.Post(srv.URL, "application/json", bytes.NewReader(b))
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("POST registration: %s", resp.Status)
	}
	return nil
}

// A request whose caller's deadline passed before it was served is
// answered Timeout and never reaches the service.
func TestExpiredRequestNotServed(t *testing.T) {
	usersApp, send := rawCaller(t)
	b, err := send(createRequest("late", "late", time.Now().Add(-time.Second)))
	if err != nil || !bytes.Contains(b, []byte(`"name":"Timeout"`)) || usersApp.users.created.Load() != 0 {
		t.Fatalf("an expired request: %s, %v; created %d", b, err, usersApp.users.created.Load())
	}
}

// rawCaller starts a users instance and returns it with a function that
// sends it request bodies as they are, as a broker could deliver them.
func rawCaller(t *testing.T) (*instance, func(req []byte) ([]byte, error)) {
	t.Helper()
	bus := adaptertest.UniqueKey("remote")
	usersApp := start(t, bus, "users", true, remote.Options{})
	caller, err := eventsync.Open(context.Background(), "mem://"+bus, "apps")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { caller.Close(context.Background()) })
	return usersApp, func(req []byte) ([]byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return caller.(eventsync.Requester).Request(ctx, usersApp.reg.Instance(), req)
	}
}

// createRequest is the wire body of a create of a user named name.
func createRequest(rid, name string, deadline time.Time) []byte {
	b, _ := json.Marshal(map[string]any{"rid": rid, "path": "users", "method": "create",
		"data": map[string]any{"name": name}, "deadline": deadline.UnixMilli()})
	return b
}
