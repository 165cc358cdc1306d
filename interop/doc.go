// Package interop holds the tests that run real feathers-sync 3.1.1 replicas
// (Node, from nodetest/) beside Go replicas on the brokers of this machine:
// events flow both ways on Redis, AMQP and NATS. See README.md beside this
// file for feathers-sync's quirks that the harness lives with.
package interop
