// Package mongosync is the MongoDB adapter: a capped collection named after
// the key, one document per message (or, with Adapter.Pack, per batch), read
// with a tailable awaitData cursor.
//
// Importing it registers the schemes mongodb and mongodb+srv:
//
//	mongodb://host:27017/DATABASE?capped_size=5242880&...driver options...
//
// The database comes from the URL path (default "eventsync"); capped_size is
// the size of the capped collection created when missing (default 5 MiB);
// pack=true sets Adapter.Pack; every other parameter goes to the driver.
//
// Reading follows the server's insertion (natural) order, never ObjectIDs,
// which publishers on different hosts generate out of order. When the cursor
// dies (server restart, network loss, the collection wrapped under a slow
// reader) the adapter reopens it with backoff, counts a reconnect, skips in
// natural order past the last document it delivered and delivers what
// follows. If that document has been overwritten meanwhile, everything still
// in the collection is newer, so it is all delivered and Stats.ResumeGaps
// says that messages may have been missed. A bounded window of recently
// delivered ids drops repeats, which some servers (FerretDB) send after an
// idle getMore.
//
// Delivery is at least once within the capped collection's size: a replica
// that was disconnected catches up on what is still in the collection
// (counted in Stats.Recovered). Options.Recovery's Events caps the
// collection it creates at that many documents; its Window cannot apply to
// a capped collection (SetRecovery).
package mongosync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/internal/backoff"
	"github.com/eventsync/eventsync/internal/loop"
	"github.com/eventsync/eventsync/internal/pack"
	"github.com/eventsync/eventsync/internal/window"
)

func init() {
	eventsync.Register("mongodb", openURL)
	eventsync.Register("mongodb+srv", openURL)
}

// DefaultCappedSize is the size of a capped collection the adapter creates.
const DefaultCappedSize = 5 << 20

// seenWindow is how many recently delivered ids are remembered to drop repeats.
const seenWindow = 4096

// Adapter publishes to and tails one capped collection.
type Adapter struct {
	// Pack, set before the first Publish, inserts a batch of messages as one
	// document ({_id, ts, pack}: each message's length as a varint, then the
	// message; up to 256 KiB) instead of a document per message: the server's
	// cost is per document (FerretDB's especially), and one insert then
	// carries hundreds of events. A lone message is still a document of its
	// own. Every replica reads packed documents whatever its own setting.
	Pack bool

	client     *mongo.Client
	ownsClient bool
	coll       *mongo.Collection
	cappedSize int64
	maxDocs    int64 // with Recovery.Events: the capped collection's document limit
	log        atomic.Pointer[slog.Logger]

	mu      sync.Mutex
	closed  bool
	ensured bool
	tail    *loop.Loop // the tailer, once subscribed

	connected  atomic.Bool
	reconnects atomic.Uint64
	recovered  atomic.Uint64
	malformed  atomic.Uint64
	gaps       atomic.Uint64
}

var (
	_ eventsync.Adapter       = (*Adapter)(nil)
	_ eventsync.StateReporter = (*Adapter)(nil)
	_ eventsync.Recoverer     = (*Adapter)(nil)
	_ eventsync.LoggerSetter  = (*Adapter)(nil)
)

// New returns an adapter on an existing client, which it never disconnects.
func New(client *mongo.Client, database, key string) *Adapter {
	a := &Adapter{client: client, coll: client.Database(database).Collection(key), cappedSize: DefaultCappedSize}
	a.log.Store(slog.Default())
	return a
}

func openURL(_ context.Context, u *url.URL, key string) (eventsync.Adapter, error) {
	q := u.Query()
	size := int64(DefaultCappedSize)
	if s := q.Get("capped_size"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 4096 {
			return nil, fmt.Errorf("mongosync: capped_size must be a number of bytes, at least 4096")
		}
		size = n
	}
	q.Del("capped_size")
	var packed bool
	switch q.Get("pack") {
	case "", "false":
	case "true":
		packed = true
	default:
		return nil, fmt.Errorf("mongosync: pack must be true or false")
	}
	q.Del("pack")
	database := strings.Trim(u.Path, "/")
	if database == "" {
		database = "eventsync"
	}
	plain := *u
	plain.RawQuery = q.Encode()
	client, err := mongo.Connect(options.Client().ApplyURI(plain.String()))
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("mongosync: %w", err)
	}
	a := New(client, database, key)
	a.ownsClient, a.cappedSize, a.Pack = true, size, packed
	return a, nil
}

// SetLogger implements eventsync.LoggerSetter.
func (a *Adapter) SetLogger(l *slog.Logger) { a.log.Store(l) }

// State implements eventsync.StateReporter.
func (a *Adapter) State() eventsync.AdapterState {
	return eventsync.AdapterState{Connected: a.connected.Load(), Reconnects: a.reconnects.Load(),
		Malformed: a.malformed.Load(), ResumeGaps: a.gaps.Load(), Recovered: a.recovered.Load()}
}

// ensureCollection creates the capped collection with a seed document when
// it is missing (the seed keeps a tailable find from ever matching nothing,
// which some servers answer with a dead cursor), and refuses a collection that
// exists but is not capped. The caller holds a.mu.
func (a *Adapter) ensureCollection(ctx context.Context) error {
	if a.ensured {
		return nil
	}
	db := a.coll.Database()
	specs, err := db.ListCollectionSpecifications(ctx, bson.D{{Key: "name", Value: a.coll.Name()}})
	if err != nil {
		return fmt.Errorf("list collections: %w", err)
	}
	if len(specs) == 0 {
		create := options.CreateCollection().SetCapped(true).SetSizeInBytes(a.cappedSize)
		if a.maxDocs > 0 {
			create.SetMaxDocuments(a.maxDocs)
		}
		err := db.CreateCollection(ctx, a.coll.Name(), create)
		var cmdErr mongo.CommandError
		if err != nil && !(errors.As(err, &cmdErr) && cmdErr.Code == 48) { // 48: created meanwhile by another replica
			return fmt.Errorf("create capped collection %q: %w", a.coll.Name(), err)
		}
		if err == nil {
			if _, err := a.coll.InsertOne(ctx, bson.D{{Key: "_id", Value: bson.NewObjectID()}, {Key: "seed", Value: true}}); err != nil {
				return fmt.Errorf("seed collection %q: %w", a.coll.Name(), err)
			}
		}
	} else if capped, _ := specs[0].Options.Lookup("capped").BooleanOK(); !capped {
		return fmt.Errorf("collection %q exists and is not capped: a tailable cursor needs a capped collection", a.coll.Name())
	}
	a.ensured = true
	return nil
}

// Subscribe implements eventsync.Adapter. It notes the newest document
// present, opens the tailable cursor and returns; everything inserted from
// then on is delivered.
func (a *Adapter) Subscribe(ctx context.Context, deliver func([]byte)) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return fmt.Errorf("mongosync: subscribe: %w", eventsync.ErrClosed)
	}
	if a.tail != nil {
		return errors.New("mongosync: subscribe: already subscribed")
	}
	if err := a.ensureCollection(ctx); err != nil {
		return fmt.Errorf("mongosync: subscribe: %w", err)
	}
	var newest bson.Raw
	err := a.coll.FindOne(ctx, bson.D{}, options.FindOne().SetSort(bson.D{{Key: "$natural", Value: -1}})).Decode(&newest)
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return fmt.Errorf("mongosync: subscribe: newest document: %w", err)
	}
	t := &tailer{a: a, deliver: deliver, seen: window.New[string](seenWindow)}
	if newest != nil {
		t.last = newest.Lookup("_id")
	}
	cur, err := t.open(ctx)
	if err != nil {
		return fmt.Errorf("mongosync: subscribe: %w", err)
	}
	a.connected.Store(true)
	a.tail = loop.Go(func(ctx context.Context) { t.run(ctx, cur) })
	return nil
}

// tailer owns the read position.
type tailer struct {
	a       *Adapter
	deliver func([]byte)
	last    bson.RawValue          // _id of the last document delivered (or noted at subscribe)
	seen    *window.Window[string] // ids recently delivered
	backAt  time.Time              // when the cursor was reopened, while its backlog is delivered
}

func (t *tailer) open(ctx context.Context) (*mongo.Cursor, error) {
	// Batch size 1 first: some servers close a first batch that holds
	// everything at once; the batch size is lifted after the first reply.
	cur, err := t.a.coll.Find(ctx, bson.D{}, options.Find().
		SetCursorType(options.TailableAwait).SetBatchSize(1).SetMaxAwaitTime(time.Second))
	if err != nil {
		return nil, fmt.Errorf("tailable find: %w", err)
	}
	cur.SetBatchSize(0)
	return cur, nil
}

// run reads until stopped, reopening a dead cursor with backoff.
func (t *tailer) run(ctx context.Context, cur *mongo.Cursor) {
	var bo backoff.Backoff
	for {
		err := t.read(ctx, cur)
		cur.Close(context.Background())
		if ctx.Err() != nil {
			return
		}
		t.a.connected.Store(false)
		t.a.log.Load().Warn("mongosync: cursor ended, reopening", "collection", t.a.coll.Name(), "err", err)
		for {
			if backoff.Sleep(ctx, bo.Next()) != nil {
				return
			}
			if cur, err = t.open(ctx); err == nil {
				break
			}
			t.a.log.Load().Warn("mongosync: reopen failed", "collection", t.a.coll.Name(), "err", err)
		}
		bo.Reset()
		t.backAt = time.Now()
		t.a.reconnects.Add(1)
		t.a.connected.Store(true)
	}
}

// read skips in natural order past t.last, then delivers each new document.
// Documents scanned while looking for t.last are held back; if the end of
// the collection comes first, t.last was overwritten, so they are all newer
// and are delivered, and the gap is counted.
func (t *tailer) read(ctx context.Context, cur *mongo.Cursor) error {
	skipping := t.last.Type != 0
	var held []bson.Raw
	for {
		if !cur.TryNext(ctx) {
			if err := cur.Err(); err != nil {
				return err
			}
			if cur.ID() == 0 {
				return errors.New("cursor closed by the server")
			}
			if skipping {
				skipping = false
				t.a.gaps.Add(1)
				t.a.log.Load().Warn("mongosync: last delivered document was overwritten; messages may have been missed",
					"collection", t.a.coll.Name())
				for _, doc := range held {
					t.handle(doc)
				}
				held = nil
			}
			continue
		}
		doc := append(bson.Raw(nil), cur.Current...)
		if skipping {
			if doc.Lookup("_id").Equal(t.last) {
				skipping, held = false, nil
			} else {
				held = append(held, doc)
			}
			continue
		}
		t.handle(doc)
	}
}

func (t *tailer) handle(doc bson.Raw) {
	id := doc.Lookup("_id")
	if seed, _ := doc.Lookup("seed").BooleanOK(); seed {
		t.last = id
		return
	}
	if t.seen.Seen(string(id.Value)) {
		return
	}
	t.last = id
	t.countRecovered(doc)
	if _, packed, ok := doc.Lookup("pack").BinaryOK(); ok {
		// Each message in memory of its own: a string the Sync keeps from
		// one must not hold the whole document alive.
		if err := pack.Unpack(packed, func(msg []byte) { t.deliver(bytes.Clone(msg)) }); err != nil {
			t.a.malformed.Add(1)
			t.a.log.Load().Warn("mongosync: malformed packed document", "collection", t.a.coll.Name(), "err", err)
		}
		return
	}
	_, payload, ok := doc.Lookup("payload").BinaryOK()
	if !ok {
		t.a.malformed.Add(1)
		t.a.log.Load().Warn("mongosync: document without a binary payload", "collection", t.a.coll.Name())
		return
	}
	t.deliver(payload)
}

// Publish implements eventsync.Adapter: one ordered insertMany per batch. A
// write that the server labels retryable (FerretDB's first insert after a
// restart) is retried once.
func (a *Adapter) Publish(ctx context.Context, msgs ...[]byte) error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return fmt.Errorf("mongosync: publish: %w", eventsync.ErrClosed)
	}
	err := a.ensureCollection(ctx)
	a.mu.Unlock()
	if err != nil {
		return fmt.Errorf("mongosync: publish: %w", err)
	}
	now := time.Now()
	docs := make([]any, 0, len(msgs))
	doc := func(body []byte, packed bool) error {
		field := "payload"
		if packed {
			field, body = "pack", bytes.Clone(body) // Send reuses its buffer
		}
		docs = append(docs, bson.D{{Key: "_id", Value: bson.NewObjectID()}, {Key: "ts", Value: now}, {Key: field, Value: bson.Binary{Data: body}}})
		return nil
	}
	if a.Pack {
		_, _ = pack.Send(nil, msgs, doc)
	} else {
		for _, m := range msgs {
			_ = doc(m, false)
		}
	}
	_, err = a.coll.InsertMany(ctx, docs, options.InsertMany().SetOrdered(true))
	var le mongo.LabeledError
	if err != nil && errors.As(err, &le) && le.HasErrorLabel("RetryableWriteError") {
		_, err = a.coll.InsertMany(ctx, docs, options.InsertMany().SetOrdered(true))
	}
	if err != nil {
		return fmt.Errorf("mongosync: publish %d messages: %w", len(msgs), err)
	}
	return nil
}

// Close implements eventsync.Adapter: inserts are acknowledged when Publish
// returns, so it stops the tailer and disconnects a client it created.
func (a *Adapter) Close(ctx context.Context) error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	tail := a.tail
	a.mu.Unlock()
	tail.Stop()
	a.connected.Store(false)
	if a.ownsClient {
		if err := a.client.Disconnect(ctx); err != nil {
			return fmt.Errorf("mongosync: close: %w", err)
		}
	}
	return nil
}
