package registry_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/eventsync/eventsync/registry"
)

func do(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// A process that cannot run the library registers over HTTP: the instance
// that took the POST announces it while it is renewed; DELETE or a missed
// renewal ends it; POST and DELETE want the token.
func TestHandler(t *testing.T) {
	bus := t.Name()
	host := join(t, bus, with(fast, "gateway", "host"))
	peer := join(t, bus, with(fast, "peer", "peer"))
	c := watch(peer)
	srv := httptest.NewServer(host.Handler(registry.HandlerOptions{Token: "t0ken", MaxBodyBytes: 1024}))
	defer srv.Close()

	reg := `{"app":"billing","version":"1.2","addr":"http://10.0.0.9:8080","services":[{"path":"invoices","methods":["find"]}]}`
	if code, _ := do(t, "POST", srv.URL, "", reg); code != http.StatusUnauthorized {
		t.Fatalf("POST without token: %d", code)
	}
	if code, _ := do(t, "POST", srv.URL, "wrong", reg); code != http.StatusUnauthorized {
		t.Fatalf("POST with a wrong token: %d", code)
	}
	for _, bad := range []struct {
		body string
		code int
	}{{`{`, 400}, {`{"version":"1"}`, 400}, {`{"app":"x","meta":{"k":"` + strings.Repeat("v", 2000) + `"}}`, 413}} {
		if code, body := do(t, "POST", srv.URL, "t0ken", bad.body); code != bad.code {
			t.Fatalf("POST %.40s: %d %s, want %d", bad.body, code, body, bad.code)
		}
	}
	code, body := do(t, "POST", srv.URL, "t0ken", reg)
	var got struct{ Instance, TTL string }
	if err := json.Unmarshal([]byte(body), &got); code != http.StatusCreated || err != nil || got.Instance == "" {
		t.Fatalf("POST: %d %s", code, body)
	}
	on := c.waitFor(t, registry.Online, got.Instance, 5*time.Second)
	if on.Member.Via != "host" || on.Member.App != "billing" || !on.Member.Serves("invoices") {
		t.Fatalf("peer sees %+v", on.Member)
	}
	code, body = do(t, "GET", srv.URL+"?app=billing", "", "")
	var listed []registry.Member
	if err := json.Unmarshal([]byte(body), &listed); code != 200 || err != nil || len(listed) != 1 || listed[0].Instance != got.Instance {
		t.Fatalf("GET: %d %s", code, body)
	}
	// Renewed within the TTL, it stays; DELETE ends it at once, as "left".
	for range 3 {
		time.Sleep(fast.TTL / 2)
		if code, _ := do(t, "POST", srv.URL, "t0ken", `{"instance":"`+got.Instance+`",`+reg[1:]); code != http.StatusOK {
			t.Fatalf("renewal: %d", code)
		}
	}
	if n := len(peer.App("billing")); n != 1 {
		t.Fatalf("renewed registration gone: %d", n)
	}
	if code, _ := do(t, "DELETE", srv.URL+"/"+got.Instance, "t0ken", ""); code != http.StatusNoContent {
		t.Fatalf("DELETE: %d", code)
	}
	if ch := c.waitFor(t, registry.Offline, got.Instance, 5*time.Second); ch.Reason != registry.ReasonLeft {
		t.Fatalf("after DELETE: %+v", ch)
	}
	if code, _ := do(t, "DELETE", srv.URL+"/"+got.Instance, "t0ken", ""); code != http.StatusNotFound {
		t.Fatalf("second DELETE: %d", code)
	}
	// Not renewed: it expires.
	_, body = do(t, "POST", srv.URL, "t0ken", `{"instance":"lapsed","app":"x"}`)
	c.waitFor(t, registry.Online, "lapsed", 5*time.Second)
	if ch := c.waitFor(t, registry.Offline, "lapsed", 2*(fast.TTL+fast.Interval)); ch.Reason != registry.ReasonExpired {
		t.Fatalf("unrenewed: %+v (%s)", ch, body)
	}
	if code, _ := do(t, "PUT", srv.URL, "t0ken", ""); code != http.StatusMethodNotAllowed {
		t.Fatalf("PUT: %d", code)
	}
}
