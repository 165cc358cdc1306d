// Package eventsync keeps the service events of identical replicas of a Go
// service in step through a message broker. It is the Go counterpart of
// feathers-sync and speaks its wire format, so Go and Node replicas can share
// a key.
//
// A replica is an App (services, hooks, listeners) with a Sync configured on
// it. Every service event whose Sync flag is true is encoded and queued to a
// bounded outbox, published in batches by one goroutine, and re-emitted on
// every other replica to the listeners of the same service, with the data
// decoded into the service's record type:
//
//	app := eventsync.NewApp()
//	eventsync.Use(app, "todos", &TodoService{})
//	s, err := eventsync.Configure(app, eventsync.Options{URI: "redis://localhost:6379"})
//	<-s.Ready()
//	defer s.Close(ctx)
//
// Adapters register URI schemes when imported; import
// github.com/eventsync/eventsync/adapters/all for every built-in one.
//
// Propagation is controlled per call: a hook sets HookContext.Sync = false,
// or the call's context comes from WithoutSync. Either keeps the event local.
//
// Origin and echo: by default the origin delivers its own event to local
// listeners at once and drops its echo from the broker (as it arrives,
// before decoding; on NATS the server is asked not to send it at all), so
// local listeners work while the broker is down. Options.RoundTrip gives
// feathers-sync's behaviour instead.
//
// Configure on an App that already has a Sync returns ErrAlreadyConfigured;
// after Close, the App may be configured again.
package eventsync
