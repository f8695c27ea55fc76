package infer

import (
	"sync"

	"github.com/faultline/faultline/internal/mqttclient"
	"github.com/faultline/faultline/internal/telemetry"
)

// templateIntake reads telemetry published on a custom topic tree (--tag-template):
// each topic is mapped to its machine, and the message goes to the engine under the
// machine's contract topic, so state, models, alerts and the retained alert state are
// exactly those of the same machine publishing on the contract's topics.
type templateIntake struct {
	tpl    *telemetry.Template
	topics telemetry.Topics
	eng    *Engine
	met    *Metrics

	mu     sync.Mutex
	routes map[string]templateRoute // template topic -> contract topic; bounded by max
	max    int
}

type templateRoute struct {
	topic  string // the contract topic: .../telemetry or .../sensors/{sensor}
	sensor bool
}

func newTemplateIntake(tpl *telemetry.Template, topics telemetry.Topics, eng *Engine, met *Metrics, maxMachines int) *templateIntake {
	// A per-sensor template has one topic per sensor of each machine; beyond the bound
	// the cache starts over, which costs only the recomputation (an edge daemon's
	// memory matters more than that).
	return &templateIntake{tpl: tpl, topics: topics, eng: eng, met: met, routes: map[string]templateRoute{}, max: 8 * maxMachines}
}

// handle scores one message of the template's tree.
func (ti *templateIntake) handle(m mqttclient.Message) {
	r, ok := ti.route(m.Topic())
	if !ok {
		ti.met.Drops.WithLabelValues(DropBadTopic).Inc()
		return
	}
	if r.sensor {
		ti.eng.IngestSensor(r.topic, m.Payload())
		return
	}
	ti.eng.Ingest(r.topic, m.Payload())
}

// route maps a template topic to the contract topic of its machine (and sensor),
// remembering it: the split and the joins cost more than the lookup.
func (ti *templateIntake) route(topic string) (templateRoute, bool) {
	ti.mu.Lock()
	r, ok := ti.routes[topic]
	ti.mu.Unlock()
	if ok {
		return r, true
	}
	mch, sensor, err := ti.tpl.Match(topic)
	if err != nil {
		return r, false
	}
	if sensor != "" {
		r = templateRoute{topic: ti.topics.Sensor(mch, sensor), sensor: true}
	} else {
		r = templateRoute{topic: ti.topics.Telemetry(mch)}
	}
	ti.mu.Lock()
	if len(ti.routes) >= ti.max {
		clear(ti.routes) // a publisher inventing topics must not grow memory
	}
	ti.routes[topic] = r
	ti.mu.Unlock()
	return r, true
}
