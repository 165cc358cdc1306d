package rest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/channels"
)

// An event stream message's data: the event's data, and where it came from.
type streamData struct {
	Data   any    `json:"data"`
	Origin string `json:"origin,omitempty"`
	Remote bool   `json:"remote"`
}

// serveEvents streams the App's service events as server-sent events, by
// channels: each message has the event name "<path> <event>" (Feathers'
// socket event name), the hub's message ID, and as data
// {"data":...,"origin":...,"remote":...}. A client that reconnects with
// Last-Event-ID gets what it missed from the hub's history, or the event
// "fell-behind" when the history no longer reaches back that far.
func (h *Handler) serveEvents(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		h.writeError(w, r, fmt.Errorf("rest: the response writer cannot stream"))
		return
	}
	params := eventsync.Params{"provider": "rest"}
	if f := h.opts.Params; f != nil {
		if err := f(r, params); err != nil {
			h.writeError(w, r, err)
			return
		}
	}
	c := h.hub.Connect(params)
	defer c.Close()
	if f := h.opts.OnConnect; f != nil {
		if err := f(r, c); err != nil {
			h.writeError(w, r, err)
			return
		}
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)

	var sent uint64 // the highest ID written: the queue may hold what Resume gave
	if last := r.Header.Get("Last-Event-ID"); last != "" {
		if id, err := strconv.ParseUint(last, 10, 64); err == nil {
			missed, complete := c.Resume(id)
			if !complete {
				fmt.Fprintf(w, "event: fell-behind\ndata: {\"lastEventId\":%d}\n\n", id)
			}
			for _, m := range missed {
				h.writeMessage(w, m)
				sent = m.ID
			}
		}
	}
	flusher.Flush()
	keepAlive := time.NewTicker(h.opts.KeepAlive)
	defer keepAlive.Stop()
	for {
		select {
		case m := <-c.Messages():
			if m.ID <= sent {
				continue
			}
			h.writeMessage(w, m)
			sent = m.ID
			for more := true; more; { // write what else is queued, then flush once
				select {
				case m := <-c.Messages():
					if m.ID > sent {
						h.writeMessage(w, m)
						sent = m.ID
					}
				default:
					more = false
				}
			}
			flusher.Flush()
		case <-keepAlive.C:
			fmt.Fprint(w, ": keep-alive\n\n")
			flusher.Flush()
		case <-c.Done(): // dropped: it fell behind; the client reconnects with Last-Event-ID
			return
		case <-r.Context().Done():
			return
		}
	}
}

func (h *Handler) writeMessage(w http.ResponseWriter, m channels.Message) {
	frame, err := h.frames.Get(m)
	if err != nil {
		h.opts.Logger.Error("rest: event not streamed: cannot encode its data", "event", m.Name, "err", err)
		return
	}
	_, _ = w.Write(frame)
}

// encodeFrame is a message as a server-sent event.
func encodeFrame(m channels.Message) ([]byte, error) {
	data, err := json.Marshal(streamData{Data: m.Event.Data, Origin: m.Event.Origin, Remote: m.Event.Remote})
	if err != nil {
		return nil, err
	}
	return fmt.Appendf(nil, "id: %d\nevent: %s\ndata: %s\n\n", m.ID, m.Name, data), nil
}
