package synctest

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/eventsync/eventsync"
)

// TodoStore is a "todos" service with every method, for the transports'
// tests: it keeps its todos in memory, remembers the params of its last
// call, answers Feathers errors (NotFound for a missing id, BadRequest for
// an empty title) and fails with an internal error that names a secret
// when asked to remove id 999.
type TodoStore struct {
	mu     sync.Mutex
	items  map[int]Todo
	next   int
	params eventsync.Params
}

// NewTodoStore returns an empty store.
func NewTodoStore() *TodoStore { return &TodoStore{items: map[int]Todo{}} }

// LastParams returns the params of the last call.
func (s *TodoStore) LastParams() eventsync.Params {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.params
}

// Find returns the todos in creation order, only those whose done matches
// the query's when it holds a bool.
func (s *TodoStore) Find(ctx context.Context, p eventsync.Params) ([]Todo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.params = p
	q, _ := p["query"].(map[string]any)
	done, filter := q["done"].(bool)
	out := []Todo{}
	for i := 1; i <= s.next; i++ {
		if t, ok := s.items[i]; ok && (!filter || t.Done == done) {
			out = append(out, t)
		}
	}
	return out, nil
}

// Get returns a todo, or NotFound with the id as its data.
func (s *TodoStore) Get(ctx context.Context, id int, p eventsync.Params) (Todo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.params = p
	t, ok := s.items[id]
	if !ok {
		return Todo{}, eventsync.NotFound(fmt.Sprintf("todo %d not found", id), map[string]int{"id": id})
	}
	return t, nil
}

// Create stores t under the next id; an empty title is a BadRequest.
func (s *TodoStore) Create(ctx context.Context, t Todo, p eventsync.Params) (Todo, error) {
	if t.Title == "" {
		return Todo{}, eventsync.BadRequest("a title is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.params = p
	s.next++
	t.ID = s.next
	s.items[t.ID] = t
	return t, nil
}

// Update replaces the todo at id.
func (s *TodoStore) Update(ctx context.Context, id int, t Todo, p eventsync.Params) (Todo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.params = p
	t.ID = id
	s.items[id] = t
	return t, nil
}

// Patch sets the title of the todo at id, if the patch has one.
func (s *TodoStore) Patch(ctx context.Context, id int, patch map[string]any, p eventsync.Params) (Todo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.params = p
	t, ok := s.items[id]
	if !ok {
		return Todo{}, eventsync.NotFound(fmt.Sprintf("todo %d not found", id))
	}
	if title, ok := patch["title"].(string); ok {
		t.Title = title
	}
	s.items[id] = t
	return t, nil
}

// Remove deletes the todo at id; id 999 fails with an internal error whose
// text must never reach a client.
func (s *TodoStore) Remove(ctx context.Context, id int, p eventsync.Params) (Todo, error) {
	if id == 999 {
		return Todo{}, errors.New("database password hunter2 rejected")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.params = p
	t, ok := s.items[id]
	if !ok {
		return Todo{}, eventsync.NotFound(fmt.Sprintf("todo %d not found", id))
	}
	delete(s.items, id)
	return t, nil
}
