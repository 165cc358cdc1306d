package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/eventsync/eventsync"
)

// publish emits events through an App and a Sync, exactly as a replica
// would: standard events carry a context, custom ones none.
func publish(ctx context.Context, c *common, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("publish", flag.ContinueOnError)
	path := fs.String("path", "", "service path, e.g. todos")
	event := fs.String("event", "created", "event name")
	data := fs.String("data", "{}", "event data as JSON")
	count := fs.Int("count", 1, "how many times to publish it")
	if err := parse(fs, c, args, stderr); err != nil {
		return err
	}
	if *path == "" {
		return errors.New("--path is required")
	}
	var value any
	if err := json.Unmarshal([]byte(*data), &value); err != nil {
		return fmt.Errorf("--data is not JSON: %w", err)
	}
	opts := []eventsync.ServiceOption{eventsync.RecordType[any]()}
	switch *event {
	case eventsync.EventCreated, eventsync.EventUpdated, eventsync.EventPatched, eventsync.EventRemoved:
	default:
		opts = append(opts, eventsync.CustomEvent[any](*event))
	}
	app := eventsync.NewApp()
	svc, err := eventsync.Use(app, *path, struct{}{}, opts...)
	if err != nil {
		return err
	}
	s, err := eventsync.Configure(app, eventsync.Options{URI: c.uri, Key: c.key})
	if err != nil {
		return err
	}
	if err := waitReady(ctx, s, c); err != nil {
		s.Close(context.Background())
		return err
	}
	for range *count {
		if err := svc.Emit(ctx, *event, value); err != nil {
			s.Close(context.Background())
			return err
		}
	}
	cctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	if err := s.Close(cctx); err != nil {
		return err
	}
	st := s.Stats()
	fmt.Fprintf(stdout, "published %d %s %s event(s) to %s key %q\n", st.Published, *path, *event, eventsync.RedactURI(c.uri), c.key)
	if st.Published != uint64(*count) {
		return fmt.Errorf("only %d of %d events were published (stats %+v)", st.Published, *count, st)
	}
	return nil
}
