package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/eventsync/eventsync"
)

// Todo is the record every replica sees with the same Go type.
type Todo struct {
	ID        int       `json:"id"`
	Title     string    `json:"title"`
	Done      bool      `json:"done"`
	CreatedAt time.Time `json:"createdAt"`
}

// Store stands in for the database the replicas share.
type Store struct {
	mu    sync.Mutex
	next  int
	items map[int]Todo
}

// NewStore returns an empty store.
func NewStore() *Store { return &Store{items: make(map[int]Todo)} }

// TodoService is the "todos" service of one replica.
type TodoService struct{ store *Store }

// Find lists the todos by id.
func (s *TodoService) Find(ctx context.Context, p eventsync.Params) ([]Todo, error) {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	out := make([]Todo, 0, len(s.store.items))
	for _, t := range s.store.items {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Create stores a new todo.
func (s *TodoService) Create(ctx context.Context, t Todo, p eventsync.Params) (Todo, error) {
	t.Title = strings.TrimSpace(t.Title)
	if t.Title == "" {
		return Todo{}, eventsync.BadRequest("title is required")
	}
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	s.store.next++
	t.ID, t.CreatedAt = s.store.next, time.Now().UTC()
	s.store.items[t.ID] = t
	return t, nil
}

// Patch sets done.
func (s *TodoService) Patch(ctx context.Context, id int, patch map[string]any, p eventsync.Params) (Todo, error) {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	t, ok := s.store.items[id]
	if !ok {
		return Todo{}, eventsync.NotFound(fmt.Sprintf("no todo %d", id))
	}
	if done, ok := patch["done"].(bool); ok {
		t.Done = done
	}
	s.store.items[id] = t
	return t, nil
}

// Remove deletes a todo.
func (s *TodoService) Remove(ctx context.Context, id int, p eventsync.Params) (Todo, error) {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	t, ok := s.store.items[id]
	if !ok {
		return Todo{}, eventsync.NotFound(fmt.Sprintf("no todo %d", id))
	}
	delete(s.store.items, id)
	return t, nil
}
