package eventsync_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/eventsync/eventsync"
)

func TestHookOrderAndContext(t *testing.T) {
	app, svc := newApp(t)
	var order []string
	hook := func(name string) eventsync.Hook {
		return func(ctx context.Context, hc *eventsync.HookContext) error {
			order = append(order, name+":"+hc.Type+":"+hc.Method)
			if hc.App != app || hc.Service != svc || hc.Path != "todos" || !hc.Sync {
				t.Errorf("hook context: %+v", hc)
			}
			return nil
		}
	}
	app.Hooks(eventsync.Hooks{Before: []eventsync.Hook{hook("app")}, After: []eventsync.Hook{hook("app")}})
	svc.Hooks(eventsync.Hooks{Before: []eventsync.Hook{hook("svc")}, After: []eventsync.Hook{hook("svc")}})
	res, err := svc.Create(context.Background(), Todo{Title: "a"}, nil)
	if err != nil || res.(Todo).ID != 1 {
		t.Fatalf("Create: %v %v", res, err)
	}
	want := []string{"app:before:create", "svc:before:create", "svc:after:create", "app:after:create"}
	if !reflect.DeepEqual(order, want) {
		t.Fatalf("hook order %v, want %v", order, want)
	}
}

func TestErrorHooksAndBeforeHookResult(t *testing.T) {
	app, svc := newApp(t)
	boom := errors.New("boom")
	var errorHookSaw error
	svc.Hooks(eventsync.Hooks{
		Before: []eventsync.Hook{func(ctx context.Context, hc *eventsync.HookContext) error {
			switch hc.Method {
			case eventsync.MethodUpdate:
				return boom
			case eventsync.MethodGet:
				hc.Result = Todo{ID: 99, Title: "cached"} // answer without calling the service
			}
			return nil
		}},
		Error: []eventsync.Hook{func(ctx context.Context, hc *eventsync.HookContext) error {
			errorHookSaw = hc.Error
			return nil
		}},
	})
	got := newRecorder()
	svc.On("updated", got.add)
	if _, err := svc.Update(context.Background(), 1, Todo{}, nil); !errors.Is(err, boom) || !errors.Is(errorHookSaw, boom) {
		t.Fatalf("Update error %v, error hook saw %v", err, errorHookSaw)
	}
	if len(got.snapshot()) != 0 {
		t.Fatal("failed call emitted an event")
	}
	res, err := svc.Get(context.Background(), 99, nil)
	if err != nil || res.(Todo).Title != "cached" {
		t.Fatalf("before hook result: %v %v", res, err)
	}
	_ = app
}

func TestErrorsAreTyped(t *testing.T) {
	app := eventsync.NewApp()
	if _, err := app.Lookup("missing"); !errors.Is(err, eventsync.ErrUnknownPath) {
		t.Fatalf("Lookup: %v", err)
	}
	svc, err := eventsync.Use(app, "/ro/", &readOnly{})
	if err != nil {
		t.Fatal(err)
	}
	if app.Service("ro") != svc || svc.Path() != "ro" || svc.RecordType() != reflect.TypeFor[Todo]() {
		t.Fatalf("registration: %v %v", svc.Path(), svc.RecordType())
	}
	if _, err := svc.Create(context.Background(), Todo{}, nil); !errors.Is(err, eventsync.ErrMethodNotImplemented) {
		t.Fatalf("Create on read-only: %v", err)
	}
	if _, err := svc.Get(context.Background(), "not an int", nil); !errors.Is(err, eventsync.ErrInvalidArgument) {
		t.Fatalf("Get with a string id: %v", err)
	}
	if _, err := eventsync.Use(app, "ro", &readOnly{}); err == nil {
		t.Fatal("duplicate path accepted")
	}
	if _, err := eventsync.Use(app, "bad", &badSignature{}); err == nil || !strings.Contains(err.Error(), "Create") {
		t.Fatalf("bad signature: %v", err)
	}
	if _, err := eventsync.Use(app, "none", struct{}{}); err == nil {
		t.Fatal("service without methods accepted")
	}
	if _, err := eventsync.Use(app, "typed", struct{}{}, eventsync.RecordType[Todo]()); err != nil {
		t.Fatalf("RecordType: %v", err)
	}
	if err := app.Dispatch(eventsync.Event{Name: "created", Path: "missing"}); !errors.Is(err, eventsync.ErrUnknownPath) {
		t.Fatalf("Dispatch: %v", err)
	}
}

type readOnly struct{}

func (readOnly) Get(ctx context.Context, id int, p eventsync.Params) (Todo, error) {
	return Todo{ID: id}, nil
}

type badSignature struct{}

func (badSignature) Create(data Todo) (Todo, error) { return data, nil }

func TestPanickingListenerIsContained(t *testing.T) {
	app, svc := newApp(t)
	var logs bytes.Buffer
	app.SetLogger(slog.New(slog.NewTextHandler(&logs, nil)))
	got := newRecorder()
	svc.On("created", func(eventsync.Event) { panic("listener bug") })
	off := svc.On("created", got.add)
	if _, err := svc.Create(context.Background(), Todo{Title: "x"}, nil); err != nil {
		t.Fatalf("panicking listener broke the call: %v", err)
	}
	if len(got.snapshot()) != 1 || !strings.Contains(logs.String(), "listener bug") {
		t.Fatalf("other listener ran %d times; log %q", len(got.snapshot()), logs.String())
	}
	off()
	off()
	if _, err := svc.Create(context.Background(), Todo{Title: "y"}, nil); err != nil {
		t.Fatal(err)
	}
	if len(got.snapshot()) != 1 {
		t.Fatal("listener still called after off()")
	}
}

func TestFindAndEventSuppressedByHook(t *testing.T) {
	_, svc := newApp(t)
	svc.Hooks(eventsync.Hooks{After: []eventsync.Hook{func(ctx context.Context, hc *eventsync.HookContext) error {
		hc.Event = "" // emit nothing for this call
		return nil
	}}})
	got := newRecorder()
	svc.On("created", got.add)
	mustCreate(t, svc, context.Background(), "quiet")
	res, err := svc.Find(context.Background(), nil)
	if err != nil || len(res.([]Todo)) != 1 {
		t.Fatalf("Find: %v %v", res, err)
	}
	if len(got.snapshot()) != 0 {
		t.Fatal("event emitted although the hook cleared it")
	}
}

func TestOnData(t *testing.T) {
	bus := t.Name()
	a := newReplica(t, bus, eventsync.Options{})
	b := newReplica(t, bus, eventsync.Options{})
	titles := make(chan string, 2)
	eventsync.OnData(b.svc, "created", func(todo Todo, e eventsync.Event) { titles <- todo.Title })
	eventsync.OnData(a.svc, "created", func(todo Todo, e eventsync.Event) { titles <- "local " + todo.Title })
	mustCreate(t, a.svc, context.Background(), "typed")
	got := map[string]bool{<-titles: true, <-titles: true}
	if !got["typed"] || !got["local typed"] {
		t.Fatalf("got %v", got)
	}
}

func TestServiceMethodsAndEvents(t *testing.T) {
	_, svc := newApp(t)
	if got := strings.Join(svc.Methods(), ","); got != "find,get,create,update,patch,remove" {
		t.Fatalf("Methods() = %s", got)
	}
	if got := strings.Join(svc.Events(), ","); got != "created,updated,patched,removed,progress" {
		t.Fatalf("Events() = %s", got)
	}
	app := eventsync.NewApp()
	only, err := eventsync.Use(app, "things", anyService{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(only.Methods(), ","); got != "create" {
		t.Fatalf("Methods() = %s", got)
	}
}
