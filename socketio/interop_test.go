package socketio_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/internal/brokertest"
	"github.com/eventsync/eventsync/socketio"
)

// A Node Feathers replica (feathers-sync and @feathersjs/socketio) and a Go
// replica on one Redis key: a Feathers client on each sees the other's
// creates with the same event name and payload JSON, and both answer a
// NotFound and a BadRequest with the same error JSON.
func TestNodeFeathersReplica(t *testing.T) {
	uri := brokertest.URL("EVENTSYNC_REDIS_URL", "redis://127.0.0.1:6379")
	brokertest.Require(t, "Redis", uri)
	key := fmt.Sprintf("socketio-interop-%d", time.Now().UnixNano())

	node := brokertest.StartNode(t, "socketio.js", "server", uri, key)
	_, ready := node.Wait(t, "node server", func(l map[string]any) bool { return l["ready"] == true })
	nodeURL := fmt.Sprintf("http://127.0.0.1:%v", ready["port"])

	f := newFixture(t, socketio.Options{})
	s, err := eventsync.Configure(f.app, eventsync.Options{URI: uri, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	<-s.Ready()

	onNode, onGo := newClient(t, nodeURL, `{}`), newClient(t, f.url, `{}`)
	for _, c := range []struct {
		name     string
		from, to *client
		title    string
	}{
		{"node to go", onNode, onGo, "created on node"},
		{"go to node", onGo, onNode, "created on go"},
	} {
		res := c.from.call(t, "todos", "create", map[string]any{"title": c.title})
		local := c.from.event(t, "todos created", func(d map[string]any) bool { return d["title"] == c.title })
		remote := c.to.event(t, "todos created", func(d map[string]any) bool { return d["title"] == c.title })
		if !sameJSON(local, remote) || !sameJSON(res["result"], remote) {
			t.Errorf("%s: the created event differs: result %v, local %v, remote %v", c.name, res["result"], local, remote)
		}
	}

	for _, call := range []struct {
		method string
		args   []any
	}{
		{"get", []any{424242}},
		{"create", []any{map[string]any{"title": ""}}},
	} {
		fromNode, fromGo := onNode.call(t, "todos", call.method, call.args...), onGo.call(t, "todos", call.method, call.args...)
		ne, _ := fromNode["error"].(map[string]any)
		ge, _ := fromGo["error"].(map[string]any)
		delete(ne, "data") // the Go service adds data to its NotFound, the Node one does not
		delete(ge, "data")
		if fromNode["class"] != fromGo["class"] || !sameJSON(ne, ge) {
			t.Errorf("%s: node answers %v, go answers %v", call.method, fromNode, fromGo)
		}
	}
}

func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
