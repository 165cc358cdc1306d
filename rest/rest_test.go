package rest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/internal/synctest"
	"github.com/eventsync/eventsync/rest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type Todo = synctest.Todo

// Slug is an id type with UnmarshalText.
type Slug struct{ S string }

func (s *Slug) UnmarshalText(b []byte) error {
	if strings.ContainsAny(string(b), " ") {
		return errors.New("no spaces")
	}
	s.S = string(b)
	return nil
}

type pages struct{}

func (pages) Get(ctx context.Context, id Slug, p eventsync.Params) (string, error) {
	return "page " + id.S, nil
}

type many struct{}

func (many) Create(ctx context.Context, t Todo, p eventsync.Params) (Todo, error) {
	if t.Title == "panic" {
		panic("a bug in a service")
	}
	return t, nil
}
func (many) Remove(ctx context.Context, id *int, p eventsync.Params) (string, error) {
	if id == nil {
		return "removed all", nil
	}
	return fmt.Sprint("removed ", *id), nil
}

func server(t *testing.T, opts rest.Options) (*httptest.Server, *synctest.TodoStore, *eventsync.App) {
	t.Helper()
	app := eventsync.NewApp()
	svc := synctest.NewTodoStore()
	if _, err := eventsync.Use(app, "api/v1/todos", svc); err != nil {
		t.Fatal(err)
	}
	if _, err := eventsync.Use(app, "api/v1", pages{}); err != nil {
		t.Fatal(err)
	}
	if _, err := eventsync.Use(app, "pages", pages{}); err != nil {
		t.Fatal(err)
	}
	if _, err := eventsync.Use(app, "many", many{}); err != nil {
		t.Fatal(err)
	}
	h, err := rest.New(app, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, svc, app
}

func call(t *testing.T, srv *httptest.Server, method, path, body string) (int, http.Header, map[string]any, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var obj map[string]any
	_ = json.Unmarshal(raw, &obj)
	return res.StatusCode, res.Header, obj, string(raw)
}

func TestRoutes(t *testing.T) {
	srv, _, _ := server(t, rest.Options{Multi: []string{"many"}})
	for _, c := range []struct {
		method, path, body string
		code               int
		want               string
	}{
		{"POST", "/api/v1/todos", `{"title":"a"}`, 201, `{"id":1,"title":"a","done":false}`},
		{"POST", "/api/v1/todos/", `{"title":"b"}`, 201, `{"id":2,"title":"b","done":false}`},
		{"GET", "/api/v1/todos/1", ``, 200, `{"id":1,"title":"a","done":false}`},
		{"GET", "/api/v1/todos", ``, 200, `[{"id":1,"title":"a","done":false},{"id":2,"title":"b","done":false}]`},
		{"PUT", "/api/v1/todos/2", `{"title":"B","done":true}`, 200, `{"id":2,"title":"B","done":true}`},
		{"PATCH", "/api/v1/todos/1", `{"title":"A"}`, 200, `{"id":1,"title":"A","done":false}`},
		{"DELETE", "/api/v1/todos/1", ``, 200, `{"id":1,"title":"A","done":false}`},
		{"GET", "/api/v1/hello", ``, 200, `"page hello"`}, // the shorter path "api/v1", id "hello"
		{"GET", "/pages/a%2Fb", ``, 200, `"page a/b"`},    // an escaped slash stays in the id
		{"POST", "/many", `[{"title":"x"},{"title":"y"}]`, 201, `[{"id":0,"title":"x","done":false},{"id":0,"title":"y","done":false}]`},
		{"DELETE", "/many", ``, 200, `"removed all"`},
		{"DELETE", "/many/3", ``, 200, `"removed 3"`},
	} {
		code, _, _, body := call(t, srv, c.method, c.path, c.body)
		if code != c.code || strings.TrimSpace(body) != c.want {
			t.Errorf("%s %s: %d %s, want %d %s", c.method, c.path, code, body, c.code, c.want)
		}
	}
}

func TestErrors(t *testing.T) {
	var logs synctest.Buffer
	srv, _, _ := server(t, rest.Options{MaxBodyBytes: 100, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	for _, c := range []struct {
		method, path, body string
		code               int
		name               string
	}{
		{"GET", "/nothing", ``, 404, "NotFound"},
		{"GET", "/api/v1/todos/7", ``, 404, "NotFound"},       // the service's own NotFound, with data
		{"GET", "/api/v1/todos/seven", ``, 400, "BadRequest"}, // not an int
		{"GET", "/pages/a%20b", ``, 400, "BadRequest"},        // UnmarshalText refused it
		{"POST", "/api/v1/todos", `{"title":`, 400, "BadRequest"},
		{"POST", "/api/v1/todos", `{"title":5}`, 400, "BadRequest"},
		{"POST", "/api/v1/todos", ``, 400, "BadRequest"},
		{"POST", "/api/v1/todos", `{"title":""}`, 400, "BadRequest"}, // the service's own
		{"POST", "/api/v1/todos", `{"title":"` + strings.Repeat("x", 200) + `"}`, 413, "PayloadTooLarge"},
		{"POST", "/api/v1/todos", `[{"title":"a"}]`, 405, "MethodNotAllowed"},
		{"PATCH", "/api/v1/todos", `{}`, 405, "MethodNotAllowed"},
		{"DELETE", "/api/v1/todos", ``, 405, "MethodNotAllowed"},
		{"PUT", "/api/v1/todos", `{}`, 405, "MethodNotAllowed"},
		{"POST", "/api/v1/todos/3", `{}`, 405, "MethodNotAllowed"},
		{"PUT", "/pages/x", `"x"`, 405, "MethodNotAllowed"}, // pages has no update
		{"DELETE", "/api/v1/todos/999", ``, 500, "GeneralError"},
		{"POST", "/many", `{"title":"panic"}`, 500, "GeneralError"},
	} {
		code, hdr, obj, body := call(t, srv, c.method, c.path, c.body)
		if code != c.code || obj["name"] != c.name || obj["code"] != float64(c.code) || obj["className"] == nil || obj["message"] == nil {
			t.Errorf("%s %s: %d %s, want %d %s", c.method, c.path, code, body, c.code, c.name)
		}
		if code == 405 && hdr.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", c.method, c.path)
		}
		if strings.Contains(body, "hunter2") {
			t.Errorf("a 500 leaked its cause: %s", body)
		}
	}
	if _, _, obj, _ := call(t, srv, "GET", "/api/v1/todos/7", ""); !reflect.DeepEqual(obj["data"], map[string]any{"id": 7.0}) {
		t.Errorf("error data: %v", obj)
	}
	if !strings.Contains(logs.String(), "hunter2") {
		t.Errorf("the 500's cause was not logged: %s", logs.String())
	}
}

// The query string becomes params["query"], values as strings, brackets
// nested; params["provider"] is "rest"; the Params middleware sees the
// request; headers are not copied.
func TestQueryAndParams(t *testing.T) {
	srv, svc, _ := server(t, rest.Options{Params: func(r *http.Request, p eventsync.Params) error {
		if r.Header.Get("Authorization") == "" {
			return eventsync.NotAuthenticated("no token")
		}
		p["user"] = "alice"
		return nil
	}})
	if code, _, obj, _ := call(t, srv, "GET", "/api/v1/todos", ""); code != 401 || obj["name"] != "NotAuthenticated" {
		t.Fatalf("without a token: %d %v", code, obj)
	}
	q := url.Values{"done": {"false"}, "age[$gt]": {"3"}, "$sort[name]": {"1"}, "tags[]": {"a", "b"}, "$limit": {"10"}, "id": {"1", "2"}}
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/todos?"+q.Encode(), nil)
	req.Header.Set("Authorization", "Bearer x")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	want := eventsync.Params{"provider": "rest", "user": "alice", "query": map[string]any{
		"done": "false", "age": map[string]any{"$gt": "3"}, "$sort": map[string]any{"name": "1"},
		"tags": []any{"a", "b"}, "$limit": "10", "id": []any{"1", "2"},
	}}
	if !reflect.DeepEqual(svc.LastParams(), want) {
		t.Fatalf("params %#v\nwant %#v", svc.LastParams(), want)
	}
}

func TestQuery(t *testing.T) {
	for raw, want := range map[string]map[string]any{
		"a=1":               {"a": "1"},
		"a[b][c]=1&a[d]=2":  {"a": map[string]any{"b": map[string]any{"c": "1"}, "d": "2"}},
		"a[=1":              {"a[": "1"},
		"a=1&a[b]=2":        {"a": map[string]any{"b": "2"}},
		"x[]=1":             {"x": []any{"1"}},
		"$or[0][done]=true": {"$or": map[string]any{"0": map[string]any{"done": "true"}}},
	} {
		v, _ := url.ParseQuery(raw)
		if got := rest.Query(v); !reflect.DeepEqual(got, want) {
			t.Errorf("Query(%s) = %#v, want %#v", raw, got, want)
		}
	}
}

// A hook sets the response's status and headers, as with Feathers'
// context.http; the headers go out with errors too.
func TestHookShapesResponse(t *testing.T) {
	srv, _, app := server(t, rest.Options{})
	app.Service("api/v1/todos").Hooks(eventsync.Hooks{
		After: []eventsync.Hook{func(ctx context.Context, hc *eventsync.HookContext) error {
			if hc.HTTP != nil && hc.Method == eventsync.MethodCreate {
				hc.HTTP.Status = http.StatusAccepted
				hc.HTTP.Header.Set("Served-By", "replica-1")
			}
			return nil
		}},
		Error: []eventsync.Hook{func(ctx context.Context, hc *eventsync.HookContext) error {
			if hc.HTTP != nil {
				hc.HTTP.Header.Set("Retry-After", "3")
			}
			return nil
		}},
	})
	code, hdr, _, body := call(t, srv, "POST", "/api/v1/todos", `{"title":"a"}`)
	if code != http.StatusAccepted || hdr.Get("Served-By") != "replica-1" {
		t.Fatalf("create: %d %v %s", code, hdr, body)
	}
	code, hdr, _, _ = call(t, srv, "GET", "/api/v1/todos/42", "")
	if code != 404 || hdr.Get("Retry-After") != "3" {
		t.Fatalf("error: %d %v", code, hdr)
	}
	// Called directly, hooks see no HTTP response.
	if _, err := app.Service("api/v1/todos").Create(context.Background(), Todo{Title: "direct"}, nil); err != nil {
		t.Fatal(err)
	}
}
