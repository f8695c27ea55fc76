package infer

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/influxstore"
	"github.com/faultline/faultline/internal/mqttclient"
)

// MQTTConfig derives the daemon's connection from cfg.MQTT: a retained online/offline
// status with a last will, the instance's client id unless one is set, and batched I/O.
func MQTTConfig(cfg Config) mqttclient.Config {
	c := cfg.MQTT
	status := statusTopic(cfg)
	c.Will = &mqttclient.StatusMessage{Topic: status, Payload: []byte(StatusOffline), QoS: 1}
	c.Online = &mqttclient.StatusMessage{Topic: status, Payload: []byte(StatusOnline), QoS: 1}
	if c.ClientID == "" {
		c.ClientID = "faultline-infer-" + cfg.Instance
	}
	// Every telemetry message costs a PUBACK; coalescing those writes (and buffering
	// reads) saves most of the connection's system calls, as in ingest.
	c.BatchIO = true
	return c
}

// statusTopic is the instance's retained online/offline topic.
func statusTopic(cfg Config) string { return cfg.Topics.Status("infer", cfg.Instance) }

// Build wires the real adapters: one MQTT client and, with cfg.Influx, an InfluxDB
// store for the scores. The config is validated before any adapter is made; close
// releases them (and the alert queue, if Run never ran) after Run returned.
func Build(cfg Config, log zerolog.Logger, reg prometheus.Registerer) (d *Daemon, close func(), err error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	cl, err := mqttclient.New(MQTTConfig(cfg), log)
	if err != nil {
		return nil, nil, err
	}
	deps := Deps{Broker: cl}
	var st *influxstore.Store
	if cfg.Influx != nil {
		if st, err = influxstore.New(*cfg.Influx); err != nil {
			return nil, nil, err
		}
		deps.Scores = st
	}
	closeStore := func() {
		if st != nil {
			st.Close()
		}
	}
	if d, err = newDaemon(cfg, deps, log, reg); err != nil {
		closeStore()
		return nil, nil, err
	}
	return d, func() { _ = d.closeQueue(); closeStore() }, nil
}
