// Package ingest is the service behind cmd/ingest: it subscribes to the telemetry
// topics with QoS 1 on a persistent session, decodes each message per the telemetry
// contract, and stores the values in InfluxDB without losing any.
//
// The data path, and why:
//
//	MQTT handler (serial per connection, cheap: decode + append to a bounded buffer)
//	  -> committer: one spool record + one fsync per group of messages, then PUBACK
//	     every message of the group, in arrival order
//	  -> shipper: N writers read the spool in big batches and write line protocol to
//	     InfluxDB with retries; shipped segments are deleted
//
// A message is acknowledged only once its points are fsync'd in the local spool, never
// after an InfluxDB round trip: Mosquitto allows 20 unacknowledged QoS 1 messages per
// client and drops what exceeds its queue, so throughput is 20 / ack latency and a slow
// database must not slow acks. When InfluxDB is slow or down the spool grows (bounded by
// bytes); when it is full the committer stops acknowledging and the handler stops
// reading, so the broker holds the messages: nothing acknowledged is ever dropped. A
// crash loses nothing either: unacknowledged messages are redelivered by the broker
// (fixed client id, clean session off) and the spool is replayed on restart. Replays and
// redeliveries write the same points again, which InfluxDB treats as the same points
// (identity is series + timestamp).
//
// The package declares the small interfaces it consumes (Broker, PointWriter, in Deps);
// wire.go is the one file that builds the real adapters (mqttclient, influxstore), and
// fakes_test.go has in-process fakes of them for unit tests. The config is validated in
// one place, newService, the first step of both New and Build: before any adapter
// exists and before anything connects. cmd/ingest parses the flags into a Config and
// serves /healthz, /metrics and pprof around the service (internal/ops), as cmd/infer
// does for internal/infer.
package ingest
