package eventsync_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/eventsync/eventsync"
)

// With RecordType a service's methods are called directly where their
// parameters allow it; every call answers as it does through reflection,
// including the conversions and refusals only reflection makes.
func TestRecordTypeCallsAnswerAsReflection(t *testing.T) {
	ctx := context.Background()
	use := func(opts ...eventsync.ServiceOption) *eventsync.Service {
		svc, err := eventsync.Use(eventsync.NewApp(), "todos", &TodoService{}, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return svc
	}
	direct, viaReflect := use(eventsync.RecordType[Todo]()), use()
	calls := []struct {
		name string
		do   func(*eventsync.Service) (any, error)
	}{
		{"create", func(s *eventsync.Service) (any, error) { return s.Create(ctx, Todo{Title: "a"}, nil) }},
		{"create another", func(s *eventsync.Service) (any, error) { return s.Create(ctx, Todo{Title: "b"}, nil) }},
		{"create from nil", func(s *eventsync.Service) (any, error) { return s.Create(ctx, nil, nil) }},
		{"create from a map", func(s *eventsync.Service) (any, error) {
			return s.Create(ctx, map[string]any{"title": "c"}, nil)
		}},
		{"get", func(s *eventsync.Service) (any, error) { return s.Get(ctx, 1, nil) }},
		{"get by a JSON number", func(s *eventsync.Service) (any, error) { return s.Get(ctx, float64(2), nil) }},
		{"get by a string", func(s *eventsync.Service) (any, error) { return s.Get(ctx, "2", nil) }},
		{"get what is not there", func(s *eventsync.Service) (any, error) { return s.Get(ctx, 99, nil) }},
		{"update", func(s *eventsync.Service) (any, error) { return s.Update(ctx, 1, Todo{Title: "d"}, nil) }},
		{"update by an int64", func(s *eventsync.Service) (any, error) { return s.Update(ctx, int64(1), Todo{Title: "e"}, nil) }},
		{"update from a map", func(s *eventsync.Service) (any, error) {
			return s.Update(ctx, 1, map[string]any{"title": "f"}, nil)
		}},
		{"patch (its data is a map)", func(s *eventsync.Service) (any, error) {
			return s.Patch(ctx, 1, map[string]any{"done": true}, nil)
		}},
		{"remove", func(s *eventsync.Service) (any, error) { return s.Remove(ctx, 2, nil) }},
		{"remove again", func(s *eventsync.Service) (any, error) { return s.Remove(ctx, 2, nil) }},
		{"find", func(s *eventsync.Service) (any, error) {
			all, err := s.Find(ctx, nil)
			if todos, ok := all.([]Todo); ok { // from a map: in no particular order
				slices.SortFunc(todos, func(a, b Todo) int { return a.ID - b.ID })
			}
			return all, err
		}},
	}
	for _, c := range calls {
		got, gotErr := c.do(direct)
		want, wantErr := c.do(viaReflect)
		if !reflect.DeepEqual(got, want) || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) ||
			errors.Is(gotErr, eventsync.ErrInvalidArgument) != errors.Is(wantErr, eventsync.ErrInvalidArgument) {
			t.Errorf("%s: %#v, %v; through reflection %#v, %v", c.name, got, gotErr, want, wantErr)
		}
	}
}

// The direct call is taken: a Create allocates less than through reflection.
func TestRecordTypeCallsWithoutReflection(t *testing.T) {
	ctx := context.Background()
	allocs := func(opts ...eventsync.ServiceOption) float64 {
		svc, err := eventsync.Use(eventsync.NewApp(), "todos", &benchTodos{}, opts...)
		if err != nil {
			t.Fatal(err)
		}
		rec := any(Todo{Title: "x"})
		return testing.AllocsPerRun(100, func() {
			if _, err := svc.Create(ctx, rec, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
	if direct, viaReflect := allocs(eventsync.RecordType[Todo]()), allocs(); direct >= viaReflect {
		t.Errorf("Create allocates %v times with RecordType, %v without: the direct call was not taken", direct, viaReflect)
	}
}
