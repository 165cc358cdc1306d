package registry

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
)

// HandlerOptions configure Handler.
type HandlerOptions struct {
	// Token, if set, is the bearer token that POST and DELETE require
	// (Authorization: Bearer <token>): they bypass the broker's Secret.
	Token string
	// MaxBodyBytes bounds a POST body; default 64 KiB.
	MaxBodyBytes int64
}

// Registration is what a process that cannot run the library POSTs to be
// listed: its instance ID (one is given when empty) and description.
type Registration struct {
	Instance string            `json:"instance,omitempty"`
	App      string            `json:"app"`
	Version  string            `json:"version,omitempty"`
	Addr     string            `json:"addr,omitempty"`
	Meta     map[string]string `json:"meta,omitempty"`
	Services []ServiceInfo     `json:"services,omitempty"`
}

// Handler serves the registry over HTTP, as bender's registration daemons
// do:
//
//	GET    /            the live members as a JSON array (?app=NAME, ?path=SERVICE filter)
//	POST   /            register a Registration, or renew it; answers {"instance":ID,"ttl":"15s"}
//	DELETE /{instance}  leave
//
// This registry announces what it takes by POST while it lives, as a
// member whose Via is this instance; the process must POST again within
// the TTL, or the registration expires. If this instance dies, its
// registrations expire with it: the process then POSTs again, to another
// instance. Mount it under a prefix with http.StripPrefix.
func (r *Registry) Handler(opts HandlerOptions) http.Handler {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 64 << 10
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch req.Method {
		case http.MethodGet, http.MethodHead:
			r.serveMembers(w, req)
		case http.MethodPost, http.MethodDelete:
			if !authorized(req, opts.Token) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="eventsync registry"`)
				httpError(w, http.StatusUnauthorized, "a valid bearer token is required")
				return
			}
			if req.Method == http.MethodPost {
				r.serveRegister(w, http.MaxBytesReader(w, req.Body, opts.MaxBodyBytes))
			} else {
				r.serveLeave(w, strings.Trim(req.URL.Path, "/"))
			}
		default:
			w.Header().Set("Allow", "GET, HEAD, POST, DELETE")
			httpError(w, http.StatusMethodNotAllowed, "method not allowed")
		}
	})
}

func authorized(req *http.Request, token string) bool {
	if token == "" {
		return true
	}
	got, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}

func (r *Registry) serveMembers(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	app, path := q.Get("app"), q.Get("path")
	members := r.filter(func(m *Member) bool {
		return (app == "" || m.App == app) && (path == "" || m.Serves(path))
	})
	writeJSON(w, http.StatusOK, members)
}

func (r *Registry) serveRegister(w http.ResponseWriter, body interface{ Read([]byte) (int, error) }) {
	var reg Registration
	dec := json.NewDecoder(body)
	if err := dec.Decode(&reg); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			httpError(w, http.StatusRequestEntityTooLarge, "registration too large")
			return
		}
		httpError(w, http.StatusBadRequest, "malformed registration: "+err.Error())
		return
	}
	if reg.App == "" {
		httpError(w, http.StatusBadRequest, "registration without an app")
		return
	}
	if reg.Instance == "" {
		reg.Instance = newID()
	}
	status, err := r.host(reg)
	if err != nil {
		httpError(w, status, err.Error())
		return
	}
	writeJSON(w, status, map[string]string{"instance": reg.Instance, "ttl": r.opts.TTL.String()})
}

// host announces reg on its behalf until it is not renewed within TTL.
func (r *Registry) host(reg Registration) (int, error) {
	d, err := r.describe(Member{Instance: reg.Instance, App: reg.App, Version: reg.Version, Addr: reg.Addr,
		Meta: reg.Meta, Services: reg.Services, Via: r.opts.Instance})
	if err != nil {
		return http.StatusRequestEntityTooLarge, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return http.StatusServiceUnavailable, errors.New("registry closed")
	}
	if reg.Instance == r.opts.Instance || r.members[reg.Instance] != nil {
		return http.StatusConflict, errors.New("instance " + reg.Instance + " is announced by another member")
	}
	status := http.StatusOK
	l := r.local[reg.Instance]
	if l == nil {
		if len(r.local) >= r.opts.MaxMembers {
			r.stats.refused.Add(1)
			return http.StatusServiceUnavailable, errors.New("too many members")
		}
		l = &localMember{}
		r.local[reg.Instance] = l
		status = http.StatusCreated
		r.notify(Change{Kind: Online, Member: d.member})
	}
	if l.desc.hash != d.hash {
		l.desc, l.infoDue, l.infoAt = d, true, time.Time{}
	}
	l.expires = time.Now().Add(r.opts.TTL)
	r.wake()
	return status, nil
}

func (r *Registry) serveLeave(w http.ResponseWriter, instance string) {
	r.mu.Lock()
	l := r.local[instance]
	if l == nil || l == r.self {
		r.mu.Unlock()
		httpError(w, http.StatusNotFound, "no registration "+instance+" here")
		return
	}
	l.expires, l.leaving = time.Unix(1, 0), true // the next round says goodbye for it
	r.mu.Unlock()
	r.wake()
	w.WriteHeader(http.StatusNoContent)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func httpError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
