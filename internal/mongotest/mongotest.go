// Package mongotest gives the MongoDB tests a server. With
// EVENTSYNC_MONGODB_URL set it uses that one (a real mongod, say). Otherwise
// it starts FerretDB v1.24.2, a MongoDB-compatible server, on a free port with
// a SQLite store in a temporary directory. FerretDB is built once from the Go
// module proxy into the user cache directory, outside this module, so that
// its dependency tree never enters eventsync's go.mod.
package mongotest

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/eventsync/eventsync/internal/brokertest"
)

// FerretDBVersion is the FerretDB release the tests run.
const FerretDBVersion = "v1.24.2"

// Server is a MongoDB-compatible server for a test.
type Server struct {
	url      string
	bin      string
	port     int
	dataDir  string
	stateDir string
	cmd      *exec.Cmd
	exited   chan struct{}
}

// Start returns the server the tests should use, stopped at the end of t.
func Start(t testing.TB) *Server {
	t.Helper()
	if u := os.Getenv("EVENTSYNC_MONGODB_URL"); u != "" {
		brokertest.Require(t, "MongoDB", u)
		return &Server{url: u}
	}
	bin, err := Binary()
	if err != nil {
		brokertest.Missing(t, "FerretDB "+FerretDBVersion, err)
	}
	dir := t.TempDir()
	s := &Server{bin: bin, dataDir: filepath.Join(dir, "data"), stateDir: filepath.Join(dir, "state")}
	os.MkdirAll(s.dataDir, 0o755)
	os.MkdirAll(s.stateDir, 0o755)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s.url = fmt.Sprintf("mongodb://127.0.0.1:%d/", s.port)
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// URL is the server's connection string, ending in "/" so a database name can follow.
func (s *Server) URL() string { return s.url }

// External reports whether the server is one given by EVENTSYNC_MONGODB_URL
// (which the tests cannot restart) rather than FerretDB.
func (s *Server) External() bool { return s.cmd == nil && s.bin == "" }

func (s *Server) start() error {
	s.cmd = exec.Command(s.bin, "--handler=sqlite", "--sqlite-url=file:"+s.dataDir+"/",
		fmt.Sprintf("--listen-addr=127.0.0.1:%d", s.port), "--state-dir="+s.stateDir,
		"--debug-addr=127.0.0.1:0", "--telemetry=disable", "--log-level=error")
	s.cmd.Stdout, s.cmd.Stderr = nil, nil
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start ferretdb: %w", err)
	}
	s.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) { cmd.Wait(); close(exited) }(s.cmd, s.exited)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.port), 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("ferretdb exited at start")
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("ferretdb did not listen within 20s")
}

// Stop stops FerretDB; its data stays for Restart.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}

// Restart stops FerretDB and starts it again on the same port and data.
func (s *Server) Restart() error {
	if s.bin == "" {
		return fmt.Errorf("cannot restart an external server")
	}
	s.Stop()
	return s.start()
}

// Binary returns the path of the FerretDB binary, building it first if the
// cache has none. The build copies the module from the module cache, writes
// the version file its release build expects (without it the binary panics at
// start) and runs go build there: about a minute, once per machine.
func Binary() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "eventsync")
	bin := filepath.Join(dir, "ferretdb-"+FerretDBVersion)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(dir, "ferretdb.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil { // one build at a time across test binaries
		return "", err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	out, err := exec.Command("go", "mod", "download", "-json", "github.com/FerretDB/FerretDB@"+FerretDBVersion).Output()
	if err != nil {
		return "", fmt.Errorf("download ferretdb: %w", err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		return "", fmt.Errorf("download ferretdb: no module directory in %s", out)
	}
	src, err := os.MkdirTemp(dir, "ferretdb-src-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(src)
	if out, err := exec.Command("cp", "-r", mod.Dir+"/.", src).CombinedOutput(); err != nil {
		return "", fmt.Errorf("copy ferretdb: %v: %s", err, out)
	}
	exec.Command("chmod", "-R", "u+w", src).Run()
	if err := os.WriteFile(filepath.Join(src, "build", "version", "version.txt"), []byte(FerretDBVersion+"\n"), 0o644); err != nil {
		return "", err
	}
	build := exec.Command("go", "build", "-o", bin+".tmp", "./cmd/ferretdb")
	build.Dir = src
	build.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod -buildvcs=false")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build ferretdb: %v: %s", err, out)
	}
	return bin, os.Rename(bin+".tmp", bin)
}
