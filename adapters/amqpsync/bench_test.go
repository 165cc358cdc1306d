package amqpsync_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/eventsync/eventsync"
	"github.com/eventsync/eventsync/adapters/adaptertest"
	"github.com/eventsync/eventsync/internal/synctest"
	"github.com/eventsync/eventsync/serializer"
)

// BenchmarkEndToEnd: App.Emit on one replica to a listener on another,
// through RabbitMQ, with publisher confirms on and off, and with batches
// packed into one AMQP message (confirms on).
func BenchmarkEndToEnd(b *testing.B) {
	u := amqpURL(b)
	for _, params := range []string{"", "?confirm=false", "?pack=true"} {
		name := strings.TrimPrefix(params, "?")
		if name == "" {
			name = "default"
		}
		b.Run(name, func(b *testing.B) {
			synctest.BenchEndToEnd(b, eventsync.Options{URI: u + params, Key: adaptertest.UniqueKey("bench")}, 4)
		})
	}
}

// BenchmarkRaw is bare amqp091-go: one publisher on a fanout exchange with
// confirms waited per batch of 512, one auto-ack consumer counting. With
// subscribers=2 a second queue on the publisher's connection is consumed
// too, as the publishing replica's is in EndToEnd (RabbitMQ routes a
// publisher's messages to its own queue).
func BenchmarkRaw(b *testing.B) {
	for _, subscribers := range []int{1, 2} {
		b.Run(fmt.Sprintf("subscribers=%d", subscribers), func(b *testing.B) { benchRaw(b, subscribers) })
	}
}

func benchRaw(b *testing.B, subscribers int) {
	u := amqpURL(b)
	msg, _ := serializer.JSON.Encode(&serializer.Message{Event: "created", Path: "todos", Data: synctest.Record(1), Origin: "0123456789abcdef"})
	pubConn, err := amqp.Dial(u)
	if err != nil {
		b.Fatal(err)
	}
	defer pubConn.Close()
	subConn, err := amqp.Dial(u)
	if err != nil {
		b.Fatal(err)
	}
	defer subConn.Close()
	key := adaptertest.UniqueKey("raw")
	pch, _ := pubConn.Channel()
	if err := pch.ExchangeDeclare(key, "fanout", false, true, false, false, nil); err != nil {
		b.Fatal(err)
	}
	pch.Confirm(false)
	consume := func(conn *amqp.Connection) <-chan amqp.Delivery {
		ch, _ := conn.Channel()
		q, _ := ch.QueueDeclare("", false, true, true, false, nil)
		ch.QueueBind(q.Name, "", key, false, nil)
		deliveries, err := ch.Consume(q.Name, "", true, true, false, false, nil)
		if err != nil {
			b.Fatal(err)
		}
		return deliveries
	}
	deliveries := consume(subConn)
	if subscribers > 1 {
		go func(own <-chan amqp.Delivery) {
			for range own {
			}
		}(consume(pubConn))
	}
	var got atomic.Int64
	done := make(chan struct{})
	go func() {
		for range deliveries {
			if got.Add(1) == int64(b.N) {
				close(done)
			}
		}
	}()
	ctx := context.Background()
	b.ResetTimer()
	start, cpu := time.Now(), synctest.Meter()
	for sent := 0; sent < b.N; {
		n := min(512, b.N-sent)
		dcs := make([]*amqp.DeferredConfirmation, 0, n)
		for range n {
			dc, err := pch.PublishWithDeferredConfirmWithContext(ctx, key, "", false, false, amqp.Publishing{Body: msg})
			if err != nil {
				b.Fatal(err)
			}
			dcs = append(dcs, dc)
		}
		for _, dc := range dcs {
			dc.Wait()
		}
		sent += n
	}
	select {
	case <-done:
	case <-time.After(time.Minute):
		b.Fatalf("raw: %d of %d arrived", got.Load(), b.N)
	}
	synctest.ReportRate(b, start, cpu)
}
