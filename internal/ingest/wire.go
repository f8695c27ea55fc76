package ingest

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/influxstore"
	"github.com/faultline/faultline/internal/mqttclient"
)

// MQTTConfigs derives one connection config per --mqtt-connections from cfg.MQTT: fixed
// client ids, persistent sessions, manual acks in arrival order, and a retained
// online/offline status with a last will.
func MQTTConfigs(cfg Config) []mqttclient.Config {
	out := make([]mqttclient.Config, cfg.Connections)
	for i := range out {
		c := cfg.MQTT
		c.ClientID = cfg.ClientID
		if cfg.Connections > 1 {
			c.ClientID = fmt.Sprintf("%s-%d", cfg.ClientID, i)
		}
		c.CleanSession = false
		c.ManualAck = true
		c.OrderMatters = true
		// One PUBACK per message otherwise costs one write system call each, more CPU
		// than decoding the message (docs/ingest.md, "Where the CPU goes").
		c.BatchIO = true
		status := statusTopic(cfg, c.ClientID)
		c.Will = &mqttclient.StatusMessage{Topic: status, Payload: []byte("offline"), QoS: 1}
		c.Online = &mqttclient.StatusMessage{Topic: status, Payload: []byte("online"), QoS: 1}
		out[i] = c
	}
	return out
}

// statusTopic is the retained online/offline topic of the connection with clientID.
func statusTopic(cfg Config, clientID string) string {
	return cfg.Topics.Status("ingest", sanitize(clientID))
}

// sanitize makes a client id usable as a topic level.
func sanitize(id string) string {
	b := []byte(id)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			b[i] = '_'
		}
	}
	if len(b) > 0 && b[0] == '_' {
		b[0] = 'x'
	}
	return string(b)
}

// Build wires the real adapters: cfg.Connections MQTT clients and one InfluxDB store.
// The config is validated (by newService) before any adapter is made; close releases
// the store after Run returned.
func Build(cfg Config, log zerolog.Logger, reg prometheus.Registerer) (svc *Service, close func(), err error) {
	svc, err = newService(cfg, log)
	if err != nil {
		return nil, nil, err
	}
	var deps Deps
	for _, mc := range MQTTConfigs(cfg) {
		cl, err := mqttclient.New(mc, log)
		if err != nil {
			return nil, nil, err
		}
		deps.Brokers = append(deps.Brokers, cl)
	}
	st, err := influxstore.New(cfg.Influx)
	if err != nil {
		return nil, nil, err
	}
	deps.Writer = st
	if err := svc.attach(deps, reg); err != nil {
		st.Close()
		return nil, nil, err
	}
	return svc, st.Close, nil
}
