package registry

import (
	"encoding/json"
	"hash/fnv"
	"slices"
	"strconv"
	"time"

	"github.com/eventsync/eventsync"
)

// Member is one live instance as the registry knows it.
type Member struct {
	Instance string            `json:"instance"` // new at every process start
	App      string            `json:"app"`
	Version  string            `json:"version"`
	Addr     string            `json:"addr"`
	Meta     map[string]string `json:"meta"`
	Services []ServiceInfo     `json:"services"`
	// Via is the instance that announces this member on its behalf: set for
	// a process registered over HTTP (Handler), which cannot be called
	// through the broker.
	Via string `json:"via,omitempty"`
	// LastSeen is when this registry last heard from the member, by its own
	// wall clock; zero, and so left out, in what a member announces.
	LastSeen time.Time `json:"lastSeen,omitzero"`
}

// ServiceInfo describes one service a member holds.
type ServiceInfo struct {
	Path    string   `json:"path"`
	Methods []string `json:"methods,omitempty"`
	Events  []string `json:"events,omitempty"`
}

// listed returns m as the registry lists it: LastSeen set, Meta and
// Services never nil (so that they are {} and [] in JSON).
func (m Member) listed(seen time.Time) Member {
	m.LastSeen = seen.Round(0)
	if m.Meta == nil {
		m.Meta = map[string]string{}
	}
	if m.Services == nil {
		m.Services = []ServiceInfo{}
	}
	return m
}

// Serves reports whether m holds the service at path.
func (m *Member) Serves(path string) bool {
	for _, s := range m.Services {
		if s.Path == path {
			return true
		}
	}
	return false
}

// ServicesOf describes the services registered on app.
func ServicesOf(app *eventsync.App) []ServiceInfo {
	var out []ServiceInfo
	for _, path := range app.Paths() {
		svc := app.Service(path)
		out = append(out, ServiceInfo{Path: path, Methods: svc.Methods(), Events: svc.Events()})
	}
	return out
}

// description is what a member announces: its Member without LastSeen,
// encoded once, and a hash that heartbeats carry so that a peer holding an
// older description asks again.
type description struct {
	member Member
	raw    json.RawMessage
	hash   string
}

func describe(m Member) (description, error) {
	m.LastSeen = time.Time{}
	m.Services = slices.Clone(m.Services)
	raw, err := json.Marshal(m)
	if err != nil {
		return description{}, err
	}
	h := fnv.New64a()
	h.Write(raw)
	return description{member: m, raw: raw, hash: strconv.FormatUint(h.Sum64(), 36)}, nil
}
