package main

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/mqttclient"
	"github.com/faultline/faultline/internal/telemetry"
	"github.com/faultline/faultline/simulators"
)

// sparkplugEdges connects one MQTT client per production line, each an edge node whose
// will is its NDEATH and which answers rebirth requests on its NCMD topic. close sends
// every NDEATH (a graceful disconnect skips the will) and disconnects.
func (o *output) sparkplugEdges(ctx context.Context, plant *simulators.Plant, log zerolog.Logger) (*simulators.SparkplugEdges, func(), error) {
	// A fresh bdSeq per run, so a late will of an earlier run is told apart.
	edges := simulators.NewSparkplugEdges(plant.Machines(), uint64(time.Now().Unix()))
	var clients []*mqttclient.Client
	closeAll := func() {
		for i, cl := range clients {
			line := edges.Lines()[i]
			pctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = cl.Publish(pctx, edges.DeathTopic(line), 1, false, edges.DeathPayload())
			cancel()
			cl.Disconnect(250 * time.Millisecond)
		}
	}
	for _, line := range edges.Lines() {
		cfg, err := o.common.MQTTConfig(o.clientID + "-" + line.Line)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		cfg.Will = &mqttclient.StatusMessage{Topic: edges.DeathTopic(line), Payload: edges.DeathPayload(), QoS: 1}
		// Sparkplug needs every message of a node in order (seq).
		cfg.OrderMatters = true
		cl, err := mqttclient.New(cfg, log)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		cl.Subscribe(edges.CommandTopic(line), 1, func(m mqttclient.Message) { edges.HandleCommand(line, m.Payload()) })
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = cl.Connect(cctx)
		cancel()
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("edge node %s/%s: %w", line.Site, line.Line, err)
		}
		clients = append(clients, cl)
		edges.SetPublisher(line, cl)
	}
	log.Info().Int("edge_nodes", len(clients)).Str("namespace", telemetry.SparkplugNamespace).Msg("publishing Sparkplug B: group = site, edge node = line, device = machine")
	return edges, closeAll, nil
}
