package amqpsync

import (
	"errors"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventsync/eventsync"
)

// recoveryExpiry is how long the queue of a replica that recovers by count
// only (Recovery.Events) outlives its consumer.
const recoveryExpiry = 5 * time.Minute

// SetRecovery implements eventsync.Recoverer with a queue per replica named
// after the key and the replica ID ("<key>.replica.<id>"), which outlives a
// broken connection: messages published meanwhile wait in it and are
// delivered once the replica consumes again. The queue expires
// (x-expires) once unused for Recovery.Window (5 minutes if only Events is
// set), so that a crashed replica's queue does not linger; it holds at most
// Recovery.Events messages, dropping the oldest (x-max-length,
// x-overflow drop-head), and none older than Window (x-message-ttl). A
// process restarted with the same ReplicaID within the window gets what it
// missed; with a new ID it starts from then on. Deliveries are
// acknowledged once handed over (ack=manual), so that one in flight when
// the connection breaks is delivered again.
func (a *Adapter) SetRecovery(r eventsync.Recovery, replicaID string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.deliver != nil {
		return errors.New("amqpsync: recovery must be set before Subscribe")
	}
	a.recovery, a.queue = r, a.key+".replica."+replicaID
	// Acknowledged once handed over: a delivery in flight when the
	// connection breaks is delivered again instead of lost.
	a.cfg.ManualAck = true
	return nil
}

// queueArgs are the arguments of a recovering replica's queue.
func (a *Adapter) queueArgs() amqp.Table {
	expires := a.recovery.Window
	if expires <= 0 {
		expires = recoveryExpiry
	}
	args := amqp.Table{"x-expires": max(expires.Milliseconds(), 1000), "x-overflow": "drop-head"}
	if a.recovery.Events > 0 {
		args["x-max-length"] = int64(a.recovery.Events)
	}
	if a.recovery.Window > 0 {
		args["x-message-ttl"] = a.recovery.Window.Milliseconds()
	}
	return args
}

// declareQueue declares the replica's queue: a server-named one that goes
// with its channel, or with recovery the replica's own, counting what it
// kept as recovered and a queue that expired meanwhile as a resume gap.
func (a *Adapter) declareQueue(ch *amqp.Channel) (string, error) {
	if a.queue == "" {
		q, err := ch.QueueDeclare("", false, true, true, false, nil)
		return q.Name, err
	}
	if a.consumed.Load() && !a.queueExists() {
		a.resumeGaps.Add(1)
		a.log.Load().Warn("amqpsync: the replica's queue expired while it was away: events may be missed", "queue", a.queue)
	}
	q, err := ch.QueueDeclare(a.queue, false, false, false, false, a.queueArgs())
	if err != nil {
		return "", err
	}
	if a.consumed.Swap(true) {
		a.pendingRecovered.Store(int64(q.Messages))
	}
	return q.Name, nil
}

// queueExists asks RabbitMQ, on a channel of its own (a passive declare of
// a missing queue closes its channel), whether the replica's queue exists.
func (a *Adapter) queueExists() bool {
	ch, err := a.conn.Channel()
	if err != nil {
		return true // cannot tell: not counted
	}
	defer ch.Close()
	_, err = ch.QueueDeclarePassive(a.queue, false, false, false, false, a.queueArgs())
	var aerr *amqp.Error
	return !(errors.As(err, &aerr) && aerr.Code == amqp.NotFound)
}

// countRecovered counts a delivery as recovered while the queue's backlog
// at the reconnect is being delivered.
func (a *Adapter) countRecovered() {
	if a.pendingRecovered.Load() > 0 && a.pendingRecovered.Add(-1) >= 0 {
		a.recovered.Add(1)
	}
}
