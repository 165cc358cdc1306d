// Package embedded runs a NATS server (with JetStream) inside the process, so
// that a demo or a test needs no broker running:
//
//	srv, err := embedded.Start(embedded.Options{})
//	defer srv.Shutdown()
//	eventsync.Configure(app, eventsync.Options{URI: srv.URL()})
package embedded

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Options configure the embedded server. The zero value listens on a random
// loopback port with JetStream in a temporary directory.
type Options struct {
	Host     string      // default 127.0.0.1
	Port     int         // default 0: a random free port
	StoreDir string      // JetStream storage; default a new temporary directory, removed on Shutdown
	TLS      *tls.Config // if set, clients must connect with TLS (tls:// URLs)
}

// Server is a running embedded NATS server.
type Server struct {
	opts    Options
	srv     *server.Server
	tempDir string
}

// Start starts a server and waits until it accepts connections.
func Start(opts Options) (*Server, error) {
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	s := &Server{opts: opts}
	if opts.StoreDir == "" {
		dir, err := os.MkdirTemp("", "eventsync-nats-")
		if err != nil {
			return nil, fmt.Errorf("embedded nats: %w", err)
		}
		s.tempDir, s.opts.StoreDir = dir, dir
	}
	if err := s.start(); err != nil {
		s.removeTemp()
		return nil, err
	}
	// Keep the port for Restart.
	if tcp, ok := s.srv.Addr().(*net.TCPAddr); ok {
		s.opts.Port = tcp.Port
	}
	return s, nil
}

func (s *Server) start() error {
	port := s.opts.Port
	if port == 0 {
		port = server.RANDOM_PORT
	}
	srv, err := server.NewServer(&server.Options{
		Host: s.opts.Host, Port: port, JetStream: true, StoreDir: s.opts.StoreDir,
		NoLog: true, NoSigs: true, TLSConfig: s.opts.TLS, TLS: s.opts.TLS != nil,
	})
	if err != nil {
		return fmt.Errorf("embedded nats: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return fmt.Errorf("embedded nats: not ready within 10s")
	}
	s.srv = srv
	return nil
}

// URL returns the client URL, nats://host:port (tls://host:port with TLS).
func (s *Server) URL() string {
	scheme := "nats"
	if s.opts.TLS != nil {
		scheme = "tls"
	}
	return fmt.Sprintf("%s://%s:%d", scheme, s.opts.Host, s.opts.Port)
}

// Stop shuts the server down but keeps its storage, so that Restart can
// bring it back on the same port with its JetStream data.
func (s *Server) Stop() {
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
}

// Restart starts a stopped server again on the same port.
func (s *Server) Restart() error { return s.start() }

// Shutdown stops the server and removes a temporary store.
func (s *Server) Shutdown() {
	s.Stop()
	s.removeTemp()
}

func (s *Server) removeTemp() {
	if s.tempDir != "" {
		os.RemoveAll(s.tempDir)
	}
}
