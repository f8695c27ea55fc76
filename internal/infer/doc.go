// Package infer is the edge inference daemon's logic: it scores live MQTT telemetry
// with the models of internal/artifact through internal/scoring (the same path the
// trainer and `infer score` use), and publishes alert state changes.
//
// The pieces, each in its own file:
//
//   - registry.go: model files, per-machine routing (--route globs, the model's own
//     Match, the --model default) and hot reload (SIGHUP or a changed mtime/size);
//     a bad file is refused and the old model keeps running.
//   - engine.go: transport-free core. Ingest(topic, payload) decodes a telemetry
//     message, keeps one scoring.Stream per machine (bounded by MaxMachines), maps
//     values onto the model's columns and emits an Alert for each transition.
//   - alert.go: the Alert payload (stable id per episode, top sensors, message).
//   - publisher.go: delivers alerts over MQTT in order; when the broker cannot take
//     them they go to the fsync'd on-disk queue (internal/alertq) and are sent after
//     the reconnect.
//   - daemon.go: the service, shaped as internal/ingest's: Config (config.go), Deps
//     (the small interfaces it consumes: Broker, LineWriter), New, Run, Ready; the
//     subscriptions, graceful shutdown (stop intake, flush alerts under a timeout,
//     publish offline, disconnect). daemon_test.go drives it on an in-process fake.
//   - wire.go: Build, the one place the real adapters (mqttclient, influxstore) are
//     made; cmd/infer parses the flags and serves /metrics around it (internal/ops).
//   - score.go: `infer score`, the same Engine-free path over a CSV.
//   - watch.go: `infer watch`, a readable alert tail for engineers.
package infer
