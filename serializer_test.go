package eventsync_test

import (
	"context"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/internal/brokertest"
	"github.com/eventsync/eventsync/serializer"

	_ "github.com/eventsync/eventsync/adapters/redissync"
)

// Sample carries the values whose round trip each serializer must keep, or
// change only as documented.
type Sample struct {
	When       time.Time      `json:"when"`
	Blob       []byte         `json:"blob"`
	Big        int64          `json:"big"`
	Unsigned   uint64         `json:"unsigned"`
	Float      float64        `json:"float"`
	Nested     map[string]any `json:"nested"`
	List       []any          `json:"list"`
	NilSlice   []int          `json:"nilSlice"`
	EmptySlice []int          `json:"emptySlice"`
	NilMap     map[string]int `json:"nilMap"`
	EmptyMap   map[string]int `json:"emptyMap"`
	Tagged     string         `json:"renamed_field"`
	Dollar     map[string]any `json:"dollar"`
	Text       string         `json:"text"`
	Ptr        *int           `json:"ptr"`
}

type samples struct{}

func (samples) Create(ctx context.Context, s Sample, p eventsync.Params) (Sample, error) {
	return s, nil
}

func baseSample() Sample {
	seven := 7
	return Sample{
		When:       time.Date(2026, 11, 25, 13, 14, 15, 123456789, time.FixedZone("CET", 3600)),
		Blob:       []byte{0, 1, 2, 0xfe, 0xff},
		Big:        1<<53 + 1,
		Unsigned:   1<<63 - 1,
		Float:      0.1,
		Nested:     map[string]any{"a": map[string]any{"b": []any{1.5, "x", true, nil}}},
		List:       []any{"é", 2.5, map[string]any{"k": "v"}},
		EmptySlice: []int{},
		EmptyMap:   map[string]int{},
		Tagged:     "tag",
		Dollar:     map[string]any{"$gt": 1.0, "$in": []any{"a"}},
		Text:       "héllo 世界 🎉 \u0000 \"quoted\" <tag>",
		Ptr:        &seven,
	}
}

// normalize turns generic numbers into float64 so that maps compare across
// serializers (JSON: float64; MsgPack: int64/float64; BSON: int32/int64/float64).
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	case int32:
		return float64(x)
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	}
	return v
}

func checkSample(t *testing.T, ser string, got, want Sample) {
	t.Helper()
	wantWhen := want.When
	if ser == "bson" {
		wantWhen = wantWhen.Truncate(time.Millisecond) // BSON datetimes hold milliseconds
	}
	if !got.When.Equal(wantWhen) {
		t.Errorf("time: got %v, want %v", got.When, wantWhen)
	}
	if !reflect.DeepEqual(got.Blob, want.Blob) || got.Big != want.Big || got.Unsigned != want.Unsigned ||
		got.Float != want.Float || got.Tagged != want.Tagged || got.Text != want.Text || *got.Ptr != *want.Ptr {
		t.Errorf("scalars: got %+v", got)
	}
	for name, pair := range map[string][2]any{
		"nested": {got.Nested, want.Nested}, "list": {got.List, want.List}, "dollar": {got.Dollar, want.Dollar},
	} {
		if !reflect.DeepEqual(normalize(pair[0]), normalize(pair[1])) {
			t.Errorf("%s: got %#v, want %#v", name, pair[0], pair[1])
		}
	}
	if got.EmptySlice == nil || got.EmptyMap == nil {
		t.Errorf("empty became nil: %#v %#v", got.EmptySlice, got.EmptyMap)
	}
	nilKept := got.NilSlice == nil && got.NilMap == nil
	if wantNilKept := ser != "bson"; nilKept != wantNilKept {
		t.Errorf("nil slice/map kept as nil = %v, documented %v", nilKept, wantNilKept)
	}
}

func serializerTransports(t *testing.T) map[string]string {
	out := map[string]string{"mem": "mem://" + strings.ReplaceAll(t.Name(), "/", "-")}
	redisURL := brokertest.URL("EVENTSYNC_REDIS_URL", "redis://127.0.0.1:6379")
	t.Run("redis-reachable", func(t *testing.T) { brokertest.Require(t, "Redis", redisURL) })
	out["redis"] = redisURL
	return out
}

// Each serializer, through the whole core and back, on mem and real Redis.
func TestSerializersRoundTrip(t *testing.T) {
	transports := serializerTransports(t)
	for _, ser := range []serializer.Serializer{serializer.JSON, serializer.MsgPack, serializer.BSON} {
		for transport, uri := range transports {
			t.Run(ser.Name()+"/"+transport, func(t *testing.T) {
				if transport == "redis" {
					brokertest.Require(t, "Redis", uri)
				}
				key := "serializer-" + ser.Name() + "-" + t.Name()
				var reps [2]*eventsync.Service
				var syncs [2]*eventsync.Sync
				got := newRecorder()
				for i := range reps {
					app := eventsync.NewApp()
					svc, err := eventsync.Use(app, "samples", samples{})
					if err != nil {
						t.Fatal(err)
					}
					s, err := eventsync.Configure(app, eventsync.Options{URI: uri, Key: key, Serializer: ser})
					if err != nil {
						t.Fatal(err)
					}
					defer s.Close(context.Background())
					waitReady(t, s)
					reps[i], syncs[i] = svc, s
				}
				reps[1].On("created", got.add)
				ctx := context.Background()
				want := baseSample()
				if _, err := reps[0].Create(ctx, want, nil); err != nil {
					t.Fatal(err)
				}
				// Values a serializer cannot carry fail the publish only.
				special := baseSample()
				special.Float = math.NaN()
				if _, err := reps[0].Create(ctx, special, nil); err != nil {
					t.Fatal(err)
				}
				huge := baseSample()
				huge.Unsigned = math.MaxUint64
				if _, err := reps[0].Create(ctx, huge, nil); err != nil {
					t.Fatal(err)
				}
				wantEvents, wantEncodeErrors := 3, 0
				switch ser.Name() {
				case "json":
					wantEvents, wantEncodeErrors = 2, 1 // no NaN in JSON
				case "bson":
					wantEvents, wantEncodeErrors = 2, 1 // no uint64 above 2^63-1 in BSON
				}
				evs := got.wait(t, wantEvents)
				checkSample(t, ser.Name(), evs[0].Data.(Sample), want)
				for _, ev := range evs[1:] {
					s := ev.Data.(Sample)
					switch {
					case math.IsNaN(s.Float):
						if ser.Name() == "json" {
							t.Error("NaN went through JSON")
						}
					case s.Unsigned == math.MaxUint64:
						if ser.Name() == "bson" {
							t.Error("uint64 max went through BSON")
						}
					default:
						t.Errorf("unexpected event %+v", s)
					}
				}
				if st := syncs[0].Stats(); st.EncodeErrors != uint64(wantEncodeErrors) {
					t.Errorf("encode errors %d, want %d", st.EncodeErrors, wantEncodeErrors)
				}
			})
		}
	}
}

// All replicas on a key must agree on the serializer: a message in another
// format is counted as malformed, never misread.
func TestMismatchedSerializerIsMalformed(t *testing.T) {
	sers := []serializer.Serializer{serializer.JSON, serializer.MsgPack, serializer.BSON}
	for _, from := range sers {
		for _, to := range sers {
			if from == to {
				continue
			}
			t.Run(from.Name()+"-to-"+to.Name(), func(t *testing.T) {
				bus := "mismatch-" + from.Name() + "-" + to.Name()
				a := newReplica(t, bus, eventsync.Options{Serializer: from})
				b := newReplica(t, bus, eventsync.Options{Serializer: to})
				mustCreate(t, a.svc, context.Background(), "x")
				waitStats(t, b.sync, "malformed", func(s eventsync.Stats) bool { return s.Malformed == 1 })
				if n := len(b.got.snapshot()); n != 0 {
					t.Fatalf("misread %d events", n)
				}
			})
		}
	}
}

func TestSerializerFromURI(t *testing.T) {
	a := newReplica(t, t.Name(), eventsync.Options{URI: "mem://" + t.Name() + "?serializer=msgpack"})
	b := newReplica(t, t.Name(), eventsync.Options{Serializer: serializer.MsgPack})
	mustCreate(t, a.svc, context.Background(), "packed")
	if got := b.got.wait(t, 1); got[0].Data.(Todo).Title != "packed" {
		t.Fatalf("got %+v", got[0])
	}
}

// Extra is a record whose interface field holds whatever the caller set.
type Extra struct {
	ID    int `json:"id"`
	Extra any `json:"extra"`
}

type extras struct{}

func (extras) Create(ctx context.Context, e Extra, p eventsync.Params) (Extra, error) { return e, nil }

// A record type with an interface field holding a map is comparable as a
// type, but == on two such values panics at run time: Create must neither
// panic after the method ran, with a Sync configured, nor lose the event.
func TestRecordWithMapInInterfaceField(t *testing.T) {
	for _, ser := range []string{"json", "msgpack", "bson"} {
		t.Run(ser, func(t *testing.T) {
			bus := t.Name()
			var svcs [2]*eventsync.Service
			var syncs [2]*eventsync.Sync
			for i := range svcs {
				app := eventsync.NewApp()
				svc, err := eventsync.Use(app, "extras", extras{})
				if err != nil {
					t.Fatal(err)
				}
				s, err := eventsync.Configure(app, eventsync.Options{URI: "mem://" + bus + "?serializer=" + ser})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close(context.Background())
				waitReady(t, s)
				svcs[i], syncs[i] = svc, s
			}
			got := newRecorder()
			svcs[1].On("created", got.add)
			in := Extra{ID: 1, Extra: map[string]any{"tags": []any{"a", "b"}}}
			if _, err := svcs[0].Create(context.Background(), in, nil); err != nil {
				t.Fatal(err)
			}
			ev := got.wait(t, 1)[0]
			if e := ev.Data.(Extra); e.ID != 1 || !reflect.DeepEqual(normalize(e.Extra), normalize(in.Extra)) {
				t.Fatalf("got %#v", ev.Data)
			}
			if st := waitStats(t, syncs[0], "published", func(s eventsync.Stats) bool { return s.Published == 1 }); st.EncodeErrors != 0 {
				t.Fatalf("publisher: %+v", st)
			}
		})
	}
}
