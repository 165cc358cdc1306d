package rest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/rest"
)

type notes struct{}

func (notes) Get(ctx context.Context, id int, p eventsync.Params) (string, error) {
	if id != 1 {
		return "", eventsync.NotFound(fmt.Sprintf("no note %d", id))
	}
	return "hello", nil
}

func (notes) Create(ctx context.Context, text string, p eventsync.Params) (string, error) {
	if text == "" {
		return "", eventsync.BadRequest("empty note")
	}
	return text, nil
}

// New serves an App's services by Feathers' REST conventions, errors as
// Feathers' error JSON.
func ExampleNew() {
	app := eventsync.NewApp()
	if _, err := eventsync.Use(app, "notes", notes{}); err != nil {
		panic(err)
	}
	h, err := rest.New(app, rest.Options{})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	for _, req := range []struct{ method, path, body string }{
		{"GET", "/notes/1", ""}, {"GET", "/notes/2", ""}, {"POST", "/notes", `""`}, {"DELETE", "/notes/1", ""},
	} {
		r, _ := http.NewRequest(req.method, srv.URL+req.path, strings.NewReader(req.body))
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		fmt.Print(res.StatusCode, " ", string(body))
	}
	// Output:
	// 200 "hello"
	// 404 {"name":"NotFound","message":"no note 2","code":404,"className":"not-found"}
	// 400 {"name":"BadRequest","message":"empty note","code":400,"className":"bad-request"}
	// 405 {"name":"MethodNotAllowed","message":"notes does not implement remove","code":405,"className":"method-not-allowed"}
}
