package socketio_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"

	"github.com/coder/websocket"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/channels"
	"github.com/eventsync/eventsync/socketio"
)

type Note struct {
	ID   int    `json:"id"`
	Text string `json:"text"`
}

type notes struct{ next int }

func (n *notes) Create(ctx context.Context, note Note, p eventsync.Params) (Note, error) {
	n.next++
	note.ID = n.next
	return note, nil
}

// A Go replica serving Feathers clients at /socket.io/. The client here
// speaks the protocol by hand to show what crosses the wire; a frontend
// uses socket.io-client with @feathersjs/socketio-client.
func ExampleNew() {
	app := eventsync.NewApp()
	eventsync.Use(app, "notes", &notes{})
	sockets, err := socketio.New(app, socketio.Options{
		OnConnect: func(ctx context.Context, hs socketio.Handshake, c *channels.Conn) error {
			if hs.Auth["token"] != "s3cret" {
				return eventsync.NotAuthenticated("invalid token")
			}
			c.SetParam("user", "alice") // every call of this socket gets params["user"]
			c.Join("authenticated")
			return nil
		},
	})
	if err != nil {
		panic(err)
	}
	sockets.Hub().Publish("", func(eventsync.Event) []string { return []string{"authenticated"} })
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", sockets)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer sockets.Close()

	ctx := context.Background()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		panic(err)
	}
	defer ws.CloseNow()
	read := func() string { _, b, _ := ws.Read(ctx); return string(b) }
	read() // Engine.IO's open packet
	ws.Write(ctx, websocket.MessageText, []byte(`40{"token":"s3cret"}`))
	fmt.Println(read()[:9]) // connected
	ws.Write(ctx, websocket.MessageText, []byte(`421["create","notes",{"text":"milk"},{}]`))
	got := []string{read(), read()} // the event and the acknowledgement, in either order
	slices.Sort(got)
	fmt.Println(got[0]) // the event, to the channel "authenticated"
	fmt.Println(got[1]) // the acknowledgement of call 1
	// Output:
	// 40{"sid":
	// 42["notes created",{"id":1,"text":"milk"}]
	// 431[null,{"id":1,"text":"milk"}]
}
