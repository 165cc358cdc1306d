package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/serializer"
)

// tail subscribes with a bare adapter and decodes each message generically,
// so it shows every path and event, whatever services exist.
func tail(ctx context.Context, c *common, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tail", flag.ContinueOnError)
	count := fs.Int("count", 0, "exit after N messages (0: run until interrupted)")
	asJSON := fs.Bool("json", false, "print one JSON object per message")
	if err := parse(fs, c, args, stderr); err != nil {
		return err
	}
	uri, ser, err := splitSerializer(c.uri)
	if err != nil {
		return err
	}
	a, err := eventsync.Open(ctx, uri, c.key)
	if err != nil {
		return err
	}
	defer a.Close(context.Background())
	lines := make(chan []byte, 1024)
	sctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := a.Subscribe(sctx, func(msg []byte) {
		select {
		case lines <- msg:
		case <-ctx.Done():
		}
	}); err != nil {
		return fmt.Errorf("subscribe on %s: %w", eventsync.RedactURI(c.uri), err)
	}
	fmt.Fprintf(stderr, "listening on %s key %q\n", eventsync.RedactURI(c.uri), c.key)
	for n := 0; *count == 0 || n < *count; n++ {
		select {
		case msg := <-lines:
			printMessage(stdout, ser, msg, *asJSON)
		case <-ctx.Done():
			return nil
		}
	}
	return nil
}

// tailLine is what --json prints.
type tailLine struct {
	Time   time.Time `json:"time"`
	Event  string    `json:"event,omitempty"`
	Path   string    `json:"path,omitempty"`
	Origin string    `json:"origin,omitempty"`
	Data   any       `json:"data,omitempty"`
	Error  string    `json:"error,omitempty"`
	Bytes  int       `json:"bytes"`
}

func printMessage(w io.Writer, ser serializer.Serializer, msg []byte, asJSON bool) {
	line := tailLine{Time: time.Now().UTC(), Bytes: len(msg)}
	var env serializer.Envelope
	if err := ser.Decode(msg, &env); err != nil {
		line.Error = err.Error()
	} else {
		line.Event, line.Path, line.Origin = env.Event, env.Path, env.Origin
		if env.Data != nil {
			if err := ser.DecodeData(env.Data, &line.Data); err != nil {
				line.Error = err.Error()
			}
		}
	}
	if asJSON {
		b, _ := json.Marshal(line)
		fmt.Fprintf(w, "%s\n", b)
		return
	}
	if line.Error != "" {
		fmt.Fprintf(w, "malformed (%d bytes): %s\n", line.Bytes, line.Error)
		return
	}
	data, _ := json.Marshal(line.Data)
	origin := line.Origin
	if origin == "" {
		origin = "-"
	}
	fmt.Fprintf(w, "%s %s origin=%s %s\n", line.Path, line.Event, origin, data)
}

// splitSerializer takes the serializer=... parameter out of a URI, as
// Configure does, since tail uses the adapter directly.
func splitSerializer(uri string) (string, serializer.Serializer, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return "", nil, fmt.Errorf("invalid URI")
	}
	q := u.Query()
	ser, err := serializer.ByName(q.Get("serializer"))
	if err != nil {
		return "", nil, err
	}
	q.Del("serializer")
	u.RawQuery = q.Encode()
	return u.String(), ser, nil
}
