package eventsync

import (
	"encoding/json"
	"net/http"
)

// Health returns an http.Handler for load balancer checks: 200 with Stats as
// JSON while the subscription is live, 503 with the same body while it is
// not (before Ready, while the adapter reconnects, after Close).
func (s *Sync) Health() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := s.Stats()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if !st.Connected || s.closing.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		json.NewEncoder(w).Encode(struct {
			Live bool   `json:"live"`
			Type string `json:"type"`
			Stats
		}{st.Connected && !s.closing.Load(), s.typ, st})
	})
}
