// Package all registers every built-in adapter's URI schemes:
//
//	import _ "github.com/eventsync/eventsync/adapters/all"
package all

import (
	_ "github.com/eventsync/eventsync/adapters/amqpsync"  // amqp, amqps
	_ "github.com/eventsync/eventsync/adapters/memsync"   // mem
	_ "github.com/eventsync/eventsync/adapters/mongosync" // mongodb, mongodb+srv
	_ "github.com/eventsync/eventsync/adapters/natssync"  // nats, tls
	_ "github.com/eventsync/eventsync/adapters/redissync" // redis, rediss, redis+sentinel, redis+cluster
)
