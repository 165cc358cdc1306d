package mongosync_test

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/adaptertest"
	"github.com/eventsync/eventsync/internal/mongotest"
	"github.com/eventsync/eventsync/internal/synctest"
)

// recovery_events caps the collection the adapter creates at that many
// documents; recovery (a window) is accepted, as a capped collection's own
// size bounds what it keeps.
func TestRecoveryCapsTheCollection(t *testing.T) {
	srv := mongotest.Start(t)
	key := adaptertest.UniqueKey("recovery")
	db := databaseFor(key)
	r := synctest.NewReplica(t, eventsync.Options{URI: srv.URL() + db + "?recovery=1m&recovery_events=100", Key: key})
	r.EmitSeq(t, 0, 1)
	specs, err := client(t, srv).Database(db).ListCollectionSpecifications(context.Background(), bson.D{{Key: "name", Value: key}})
	if err != nil || len(specs) != 1 {
		t.Fatalf("collection: %v %v", specs, err)
	}
	if max, ok := specs[0].Options.Lookup("max").AsInt64OK(); !ok || max != 100 {
		t.Fatalf("capped collection options %v: want max 100", specs[0].Options)
	}
}
