package socketio_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/eventsync/eventsync/internal/synctest"
	"github.com/eventsync/eventsync/socketio"
)

// rawSocket is a Socket.IO client written by hand, to send what a real
// client never would.
type rawSocket struct {
	t  *testing.T
	ws *websocket.Conn
}

// dialRaw opens a WebSocket session and reads Engine.IO's open packet.
func dialRaw(t *testing.T, url string, header http.Header) *rawSocket {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"/socket.io/?EIO=4&transport=websocket",
		&websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadLimit(-1)
	t.Cleanup(func() { ws.CloseNow() })
	r := &rawSocket{t: t, ws: ws}
	if open := r.read(); !strings.HasPrefix(open, `0{"maxPayload"`) && !strings.HasPrefix(open, "0{") {
		t.Fatalf("open packet: %q", open)
	}
	return r
}

// connect sends Socket.IO's connect and checks the answer.
func (r *rawSocket) connect() {
	r.t.Helper()
	r.write("40")
	if got := r.read(); !strings.HasPrefix(got, `40{"sid":`) {
		r.t.Fatalf("connect answered %q", got)
	}
}

func (r *rawSocket) write(msg string) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.ws.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		r.t.Fatal(err)
	}
}

// read returns the next message that is not a ping (pings are answered).
func (r *rawSocket) read() string {
	r.t.Helper()
	for {
		msg, err := r.next(10 * time.Second)
		if err != nil {
			r.t.Fatal(err)
		}
		if msg != "2" {
			return msg
		}
		r.write("3")
	}
}

func (r *rawSocket) next(timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, b, err := r.ws.Read(ctx)
	return string(b), err
}

// closed waits until the server closes the connection.
func (r *rawSocket) closed() {
	r.t.Helper()
	for {
		if _, err := r.next(10 * time.Second); err != nil {
			if ctxErr := context.DeadlineExceeded; strings.Contains(err.Error(), ctxErr.Error()) {
				r.t.Fatal("the server kept the connection open")
			}
			return
		}
	}
}

// Method calls that cannot be run are answered with a Feathers error in
// the acknowledgement, and the socket goes on.
func TestCallErrors(t *testing.T) {
	f := newFixture(t, socketio.Options{})
	r := dialRaw(t, f.url, nil)
	r.connect()
	for _, c := range []struct{ send, want string }{
		{`421["frobnicate","todos",{}]`, `431[{"name":"MethodNotAllowed","message":"Method 'frobnicate' not allowed on service 'todos'","code":405,"className":"method-not-allowed"}]`},
		{`422["find","nothing",{}]`, `432[{"name":"NotFound","message":"Service 'nothing' not found","code":404,"className":"not-found"}]`},
		{`423["find",17,{}]`, `433[{"name":"NotFound","message":"Invalid service path","code":404,"className":"not-found"}]`},
		{`424["get","todos",1,{},{}]`, `434[{"name":"BadRequest","message":"Too many arguments for 'get' method","code":400,"className":"bad-request"}]`},
		{`425["get","todos","abc",{}]`, `"name":"BadRequest","message":"id \"abc\" is not a valid int"`},
		{`426["get","todos",null,{}]`, `"message":"an id is required"`},
		{`427["create","todos",{"title":7},{}]`, `"name":"BadRequest","message":"malformed JSON or wrong types`},
		{`428["create","todos"]`, `"message":"data is required"`},
		{`429["find","todos",[1,2]]`, `"message":"the query is not a JSON object"`},
		{`451-10["create","todos",{"_placeholder":true,"num":0},{}]`, `"message":"binary attachments are not supported`},
		{`42["create","todos",{"title":"no ack"},{}]`, `42["todos created",{"id":1,"title":"no ack","done":false}]`},
		{`4211["get","todos",1,{}]`, `4311[null,{"id":1,"title":"no ack","done":false}]`},
	} {
		r.write(c.send)
		if strings.HasPrefix(c.send, "451-") {
			if err := r.ws.Write(context.Background(), websocket.MessageBinary, []byte{1, 2, 3}); err != nil {
				t.Fatal(err)
			}
		}
		if got := r.read(); !strings.Contains(got, c.want) {
			t.Errorf("%s: got %s, want %s", c.send, got, c.want)
		}
	}
	if st := f.srv.Stats(); st.BadPackets != 0 || st.Calls != 12 || st.Failed != 10 {
		t.Fatalf("stats %+v", st)
	}
}

// Malformed or out-of-order input closes the socket and is counted; the
// server goes on serving the others.
func TestBadPackets(t *testing.T) {
	f := newFixture(t, socketio.Options{})
	for i, bad := range []string{
		"4garbage",
		`42["find","todos",{}]`, // before connect
		`40`,                    // a second connect (after the first below)
		`42{"not":"an array"}`,
		`42[17,"todos"]`,
		`4299999999999999999999`,
		"9",
		"",
	} {
		r := dialRaw(t, f.url, nil)
		if i != 1 {
			r.connect()
		}
		r.write(bad)
		r.closed()
		if got := f.srv.Stats().BadPackets; got != uint64(i+1) {
			t.Fatalf("after %q: BadPackets %d", bad, got)
		}
	}
	r := dialRaw(t, f.url, nil)
	r.connect()
	r.write(`421["find","todos",{}]`)
	if got := r.read(); got != `431[null,[]]` {
		t.Fatalf("a good socket after bad ones: %q", got)
	}
}

// A namespace other than "/" is refused, as a Socket.IO server without it
// would.
func TestUnknownNamespace(t *testing.T) {
	f := newFixture(t, socketio.Options{})
	r := dialRaw(t, f.url, nil)
	r.write("40/admin,")
	if got := r.read(); got != `44/admin,{"message":"Invalid namespace"}` {
		t.Fatalf("got %q", got)
	}
	r.connect()
}

// A message over MaxPayload closes the socket and is counted, over
// WebSocket and over long-polling.
func TestOversized(t *testing.T) {
	f := newFixture(t, socketio.Options{MaxPayload: 1000})
	r := dialRaw(t, f.url, nil)
	r.connect()
	r.write(`42["create","todos",{"title":"` + strings.Repeat("x", 1000) + `"}]`)
	r.closed()

	resp, err := http.Get(f.url + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	open, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	sid := strings.Split(strings.Split(string(open), `"sid":"`)[1], `"`)[0]
	resp, err = http.Post(f.url+"/socket.io/?EIO=4&transport=polling&sid="+sid, "text/plain", strings.NewReader("40\x1e42"+strings.Repeat("x", 2000)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized POST: %s", resp.Status)
	}
	synctest.WaitFor(t, 5*time.Second, "two oversized", func() bool { return f.srv.Stats().Oversized == 2 })
	if st := f.srv.Stats(); st.Sockets != 0 {
		t.Fatalf("sockets still open: %+v", st)
	}
}

// A socket that stops answering pings is closed and counted.
func TestPingTimeout(t *testing.T) {
	f := newFixture(t, socketio.Options{PingInterval: 50 * time.Millisecond, PingTimeout: 50 * time.Millisecond})
	r := dialRaw(t, f.url, nil)
	r.write("40")
	for {
		msg, err := r.next(10 * time.Second)
		if err != nil {
			break // closed: a ping went unanswered
		}
		if msg != "2" && !strings.HasPrefix(msg, "40") {
			t.Fatalf("unexpected %q", msg)
		}
	}
	if st := f.srv.Stats(); st.TimedOut != 1 || st.Sockets != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func dialOrigin(url, origin string) (*websocket.Conn, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"/socket.io/?EIO=4&transport=websocket",
		&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {origin}}})
}

// A socket that stops reading is dropped and counted once its queue is
// full; the others get every event, in order, meanwhile.
func TestStalledSocketDropped(t *testing.T) {
	f := newFixture(t, socketio.Options{})
	stalled := dialRaw(t, f.url, nil)
	stalled.connect() // and never reads again
	reader := dialRaw(t, f.url, nil)
	reader.connect()
	big := strings.Repeat("x", 10_000)
	const n, step = 3000, 100       // 30 MB: more than the stalled socket's buffers hold
	for i := 1; i <= n; i += step { // the reader is never more than a step behind
		for range step {
			if _, err := f.svc.Create(context.Background(), Todo{Title: big}, nil); err != nil {
				t.Fatal(err)
			}
		}
		for j := i; j < i+step; j++ {
			if msg, want := reader.read(), fmt.Sprintf(`42["todos created",{"id":%d,`, j); !strings.HasPrefix(msg, want) {
				t.Fatalf("event %d: %.60s", j, msg)
			}
		}
	}
	synctest.WaitFor(t, 10*time.Second, "the stalled socket dropped", func() bool { return f.srv.Stats().Dropped == 1 })
	if st := f.srv.Stats(); st.Sockets != 1 || f.srv.Hub().Stats().Dropped != 1 {
		t.Fatalf("stats %+v, hub %+v", st, f.srv.Hub().Stats())
	}
}
