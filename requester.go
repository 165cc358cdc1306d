package eventsync

import (
	"context"
	"errors"
)

// Requester is an optional Adapter capability: request and reply between
// instances, over the broker connection the Sync already has, for calling
// services that live in other apps. An instance serves the requests sent to
// an address of its own; a caller sends a request to one address and waits
// for its reply, so that the caller knows which instance served it.
// adaptertest.RunRequester is its conformance suite.
type Requester interface {
	// Serve passes the requests sent to addr to handle, whose result is
	// the reply, until stop is called or the adapter closes. It returns
	// once requests can reach it. handle runs on goroutines of the
	// adapter's, several at once; the caller bounds the work it does.
	Serve(ctx context.Context, addr string, handle func(ctx context.Context, req []byte) []byte) (stop func(), err error)
	// Request sends req to addr and returns the reply. When nobody serves
	// addr it fails at once with an error wrapping ErrNoResponders, as the
	// broker tells; ctx bounds the wait for the reply.
	Request(ctx context.Context, addr string, req []byte) ([]byte, error)
}

// ErrNoResponders is a request that reached nobody serving its address.
var ErrNoResponders = errors.New("eventsync: no responders")
