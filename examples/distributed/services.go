package main

import (
	"context"
	"fmt"
	"sync"

	"github.com/eventsync/eventsync"
)

// User is a record of the users app.
type User struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

// Order is a record of the orders app.
type Order struct {
	ID     int    `json:"id"`
	UserID int    `json:"userId"`
	Item   string `json:"item"`
}

// Users keeps users in memory (each instance its own: a demo); user 1 is
// there from the start.
type Users struct {
	mu   sync.Mutex
	byID map[int]User
	next int
}

// NewUsers returns the store with user 1, "ada".
func NewUsers() *Users { return &Users{byID: map[int]User{1: {1, "ada"}}, next: 1} }

// Find lists the users.
func (u *Users) Find(ctx context.Context, p eventsync.Params) ([]User, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := []User{}
	for i := 1; i <= u.next; i++ {
		if x, ok := u.byID[i]; ok {
			out = append(out, x)
		}
	}
	return out, nil
}

// Get returns a user or NotFound.
func (u *Users) Get(ctx context.Context, id int, p eventsync.Params) (User, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	x, ok := u.byID[id]
	if !ok {
		return User{}, eventsync.NotFound(fmt.Sprintf("no user %d", id))
	}
	return x, nil
}

// Create adds a user; a name is required.
func (u *Users) Create(ctx context.Context, x User, p eventsync.Params) (User, error) {
	if x.Name == "" {
		return User{}, eventsync.BadRequest("a user needs a name")
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.next++
	x.ID = u.next
	u.byID[x.ID] = x
	return x, nil
}

// Orders keeps orders in memory and checks each order's user through
// users, a proxy of the users app's service.
type Orders struct {
	users *eventsync.Service
	mu    sync.Mutex
	list  []Order
}

// Find lists the orders.
func (o *Orders) Find(ctx context.Context, p eventsync.Params) ([]Order, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Order{}, o.list...), nil
}

// Create adds an order for an existing user.
func (o *Orders) Create(ctx context.Context, x Order, p eventsync.Params) (Order, error) {
	if _, err := o.users.Get(ctx, x.UserID, eventsync.Params{"provider": "orders"}); err != nil {
		if e := eventsync.AsError(err); e.Code == 404 {
			return Order{}, eventsync.BadRequest(fmt.Sprintf("no user %d", x.UserID))
		}
		return Order{}, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	x.ID = len(o.list) + 1
	o.list = append(o.list, x)
	return x, nil
}
