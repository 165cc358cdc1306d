// Command eventsync is the command-line companion of the library:
//
//	eventsync tail    --uri U [--key K] [--count N] [--json]
//	eventsync publish --uri U [--key K] --path P --event E --data JSON [--count N]
//	eventsync bench   --uri U [--key K] --n N --size B --publishers P [--rate R] [--raw | --rounds N | --feathers nodetest/bench.js] [--json]
//	eventsync floor   [--n N] [--rate R] [--json]
//	eventsync register --uri U [--key K] --app NAME [--version V] [--addr A] [--meta k=v]... [--service PATH]... [--interval D] [--ttl D]
//	eventsync members  --uri U [--key K] [--app NAME] [--json] [--watch] [--timeout D]
//
// tail prints each message on the key, one a line; publish sends events as a
// feathers-sync-compatible replica and exits once they are flushed; bench
// measures end-to-end events/s and latency between two Syncs in this process,
// or with --raw between two bare adapters (no App, Sync or serializer), so
// that the ratio of the two runs is the cost of the sync layer (--rounds N
// runs both alternately and gives the ratio within each round); floor
// measures one TCP loopback hop at a steady rate, no broker: the latency
// this machine gives anything at that moment. register keeps the process
// listed in the service registry (package registry) of the apps on the key
// until SIGINT or SIGTERM, then leaves; members lists the live members, or
// with --watch prints their changes.
//
// URIs may carry passwords; the command never prints them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/eventsync/eventsync"
	_ "github.com/eventsync/eventsync/adapters/all"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "eventsync:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  eventsync tail    --uri U [--key K] [--count N] [--json]
  eventsync publish --uri U [--key K] --path P --event E --data JSON [--count N]
  eventsync bench   --uri U [--key K] --n N --size B --publishers P [--rate R] [--raw | --rounds N | --feathers nodetest/bench.js] [--json]
  eventsync floor   [--n N] [--rate R] [--json]
  eventsync register --uri U [--key K] --app NAME [--version V] [--addr A] [--meta k=v]... [--service PATH]... [--interval D] [--ttl D]
  eventsync members  --uri U [--key K] [--app NAME] [--json] [--watch] [--timeout D]`

// common are the flags every subcommand has.
type common struct {
	uri     string
	key     string
	timeout time.Duration
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.uri, "uri", "", "broker URI (redis://, amqp://, nats://, mongodb://, mem://)")
	fs.StringVar(&c.key, "key", eventsync.DefaultKey, "broker key (channel, exchange, subject, collection)")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "how long to wait for the broker")
}

// run executes one subcommand; every error it returns is free of passwords.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	var c common
	var err error
	switch args[0] {
	case "tail":
		err = tail(ctx, &c, args[1:], stdout, stderr)
	case "publish":
		err = publish(ctx, &c, args[1:], stdout, stderr)
	case "bench":
		err = bench(ctx, &c, args[1:], stdout, stderr)
	case "floor":
		err = floor(ctx, args[1:], stdout, stderr)
	case "register":
		err = register(ctx, &c, args[1:], stdout, stderr)
	case "members":
		err = members(ctx, &c, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return nil
	default:
		return fmt.Errorf("unknown command %q\n%s", args[0], usage)
	}
	return redactErr(err, c.uri)
}

func parse(fs *flag.FlagSet, c *common, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	c.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.uri == "" {
		return errors.New("--uri is required")
	}
	return nil
}

// redactErr removes the URI's password from an error message, wherever a
// client library may have copied it.
func redactErr(err error, uri string) error {
	if err == nil {
		return nil
	}
	u, perr := url.Parse(uri)
	if perr != nil || u.User == nil {
		return err
	}
	pw, ok := u.User.Password()
	if !ok || pw == "" || !strings.Contains(err.Error(), pw) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), pw, "xxxxx"))
}

// waitReady waits for s to be live, or fails promptly with what is wrong.
func waitReady(ctx context.Context, s *eventsync.Sync, c *common) error {
	return waitLive(ctx, s.Ready(), s.Err, c)
}

// waitLive waits until ready is closed, or fails after the timeout with
// what err says is wrong.
func waitLive(ctx context.Context, ready <-chan struct{}, err func() error, c *common) error {
	t := time.NewTimer(c.timeout)
	defer t.Stop()
	select {
	case <-ready:
		return nil
	case <-t.C:
		return fmt.Errorf("broker %s not reachable within %v: %v", eventsync.RedactURI(c.uri), c.timeout, err())
	case <-ctx.Done():
		return ctx.Err()
	}
}
