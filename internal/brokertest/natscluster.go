package brokertest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// NATSCluster is a cluster of NATS servers of the test's own, run in the
// test's process (the nats-server module), with routes between all of
// them and, if asked, clustered JetStream.
type NATSCluster struct {
	Servers []*server.Server
}

// StartNATSCluster starts n servers on free ports and returns once every
// server has a route to every other (and, with jetStream, once JetStream
// has a meta leader).
func StartNATSCluster(t testing.TB, n int, jetStream bool) *NATSCluster {
	t.Helper()
	routePorts := make([]int, n)
	var routes []string
	for i := range routePorts {
		routePorts[i] = FreePort(t)
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", routePorts[i]))
	}
	c := &NATSCluster{}
	for i := range n {
		opts := &server.Options{
			// The client port is the server's pick: no race with other
			// tests for a port found free a moment before.
			ServerName: fmt.Sprintf("n%d", i+1), Host: "127.0.0.1", Port: server.RANDOM_PORT,
			NoLog: true, NoSigs: true, JetStream: jetStream, StoreDir: t.TempDir(),
			Cluster: server.ClusterOpts{Name: "eventsync-test", Host: "127.0.0.1", Port: routePorts[i]},
			Routes:  server.RoutesFromStr(strings.Join(routes, ",")),
		}
		s, err := server.NewServer(opts)
		if err != nil {
			t.Fatal(err)
		}
		go s.Start()
		t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
		c.Servers = append(c.Servers, s)
	}
	for i, s := range c.Servers {
		if !s.ReadyForConnections(30 * time.Second) {
			t.Fatalf("NATS server %d did not start", i+1)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, s := range c.Servers {
		for s.NumRoutes() < n-1 || (jetStream && !s.JetStreamIsCurrent()) {
			if time.Now().After(deadline) {
				t.Fatalf("NATS cluster did not form: %s has %d routes", s.Name(), s.NumRoutes())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return c
}

// URL returns the client URL of server i only (clients learn the others
// from it).
func (c *NATSCluster) URL(i int) string { return c.Servers[i].ClientURL() }

// Kill stops server i at once, as a crash would for its clients.
func (c *NATSCluster) Kill(i int) { c.Servers[i].Shutdown() }
