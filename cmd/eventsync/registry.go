package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/registry"
)

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// register keeps this process registered as an instance of an app until
// SIGINT or SIGTERM, then leaves gracefully.
func register(ctx context.Context, c *common, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("register", flag.ContinueOnError)
	app := fs.String("app", "", "the app's name (required)")
	version := fs.String("version", "", "the app's version")
	addr := fs.String("addr", "", "where the instance is reached")
	interval := fs.Duration("interval", registry.DefaultInterval, "heartbeat interval")
	ttl := fs.Duration("ttl", 0, "how long a silent member stays listed (default 3 intervals)")
	var meta, services listFlag
	fs.Var(&meta, "meta", "metadata key=value (repeatable)")
	fs.Var(&services, "service", "a service path the instance holds (repeatable)")
	if err := parse(fs, c, args, stderr); err != nil {
		return err
	}
	if *app == "" {
		return errors.New("--app is required")
	}
	opts := registry.Options{URI: c.uri, Key: c.key, App: *app, Version: *version, Addr: *addr,
		Interval: *interval, TTL: *ttl, Services: []registry.ServiceInfo{}}
	for _, kv := range meta {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("--meta %q: want key=value", kv)
		}
		if opts.Meta == nil {
			opts.Meta = make(map[string]string)
		}
		opts.Meta[k] = v
	}
	for _, p := range services {
		opts.Services = append(opts.Services, registry.ServiceInfo{Path: strings.Trim(p, "/")})
	}
	r, err := registry.Join(opts)
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		defer cancel()
		_ = r.Close(cctx)
		fmt.Fprintf(stderr, "left as %s\n", r.Instance())
	}()
	if err := waitRegistry(ctx, r, c); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "registered %s as %s on %s key %q\n", *app, r.Instance(), eventsync.RedactURI(c.uri), c.key)
	fmt.Fprintln(stdout, r.Instance())
	<-ctx.Done()
	return nil
}

// members joins as an observer, asks everyone and prints the members that
// answered within --timeout; with --watch, it then prints every change.
func members(ctx context.Context, c *common, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("members", flag.ContinueOnError)
	app := fs.String("app", "", "only the members of this app")
	asJSON := fs.Bool("json", false, "print JSON: one array, or with --watch one object per change")
	watchFlag := fs.Bool("watch", false, "print one line per change until interrupted")
	if err := parse(fs, c, args, stderr); err != nil {
		return err
	}
	wait := time.Second // for answers: they come within a round trip
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "timeout" {
			wait = c.timeout
		}
	})
	r, err := registry.Join(registry.Options{URI: c.uri, Key: c.key, Observe: true})
	if err != nil {
		return err
	}
	defer r.Close(context.Background())
	if *watchFlag {
		return watchMembers(ctx, r, c, *app, *asJSON, stdout)
	}
	if err := waitRegistry(ctx, r, c); err != nil {
		return err
	}
	select {
	case <-time.After(wait):
	case <-ctx.Done():
	}
	list := r.Members()
	if *app != "" {
		list = r.App(*app)
	}
	if *asJSON {
		if list == nil {
			list = []registry.Member{}
		}
		return json.NewEncoder(stdout).Encode(list)
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tAPP\tVERSION\tADDR\tSERVICES\tLAST SEEN")
	for _, m := range list {
		var paths []string
		for _, s := range m.Services {
			paths = append(paths, s.Path)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.Instance, m.App, m.Version, m.Addr, strings.Join(paths, ","),
			m.LastSeen.Format(time.RFC3339))
	}
	return tw.Flush()
}

// watchLine is what members --watch --json prints per change.
type watchLine struct {
	Event    registry.ChangeKind `json:"event"`
	Reason   string              `json:"reason,omitempty"`
	Instance string              `json:"instance"`
	App      string              `json:"app"`
	Member   registry.Member     `json:"member"`
}

func watchMembers(ctx context.Context, r *registry.Registry, c *common, app string, asJSON bool, stdout io.Writer) error {
	lines := make(chan registry.Change, 1024)
	r.Watch(func(ch registry.Change) {
		if app == "" || ch.Member.App == app {
			select {
			case lines <- ch:
			case <-ctx.Done():
			}
		}
	})
	if err := waitRegistry(ctx, r, c); err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	for {
		select {
		case ch := <-lines:
			if asJSON {
				_ = enc.Encode(watchLine{ch.Kind, ch.Reason, ch.Member.Instance, ch.Member.App, ch.Member})
			} else {
				fmt.Fprintf(stdout, "%s %s %s %s %s\n", time.Now().Format(time.RFC3339), ch.Kind, ch.Member.Instance, ch.Member.App, ch.Reason)
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// waitRegistry waits until r is live, or fails promptly with what is wrong.
func waitRegistry(ctx context.Context, r *registry.Registry, c *common) error {
	return waitLive(ctx, r.Ready(), r.Err, c)
}
