package infer

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/alerting"
	"github.com/faultline/faultline/internal/telemetry"
)

// Sparkplug B intake of the daemon. It decodes with the same telemetry.SparkplugDecoder
// as ingest and feeds the engine per machine, under the machine's JSON telemetry topic,
// so one machine has one scoring state whichever format its data came in.

// publishFunc sends a message without waiting (mqttclient.Client.PublishAsync).
type publishFunc func(topic string, qos byte, retained bool, payload []byte) (<-chan struct{}, func() error)

type sparkplugIntake struct {
	eng      *Engine
	publish  publishFunc
	log      zerolog.Logger
	rebirths prometheus.Counter
	offline  prometheus.Counter

	mu   sync.Mutex // the result is reused message to message
	dec  *telemetry.SparkplugDecoder
	res  telemetry.SparkplugResult
	keys map[telemetry.Machine]string // machine -> telemetry topic, bounded like the engine
}

func newSparkplugIntake(c telemetry.SparkplugConfig, lim telemetry.Limits, eng *Engine, reg prometheus.Registerer, publish publishFunc, log zerolog.Logger) (*sparkplugIntake, error) {
	dec, err := telemetry.NewSparkplugDecoder(c, lim)
	if err != nil {
		return nil, err
	}
	s := &sparkplugIntake{eng: eng, publish: publish, log: log.With().Str("component", "sparkplug").Logger(), dec: dec,
		keys:     map[telemetry.Machine]string{},
		rebirths: prometheus.NewCounter(prometheus.CounterOpts{Name: "infer_sparkplug_rebirths_total", Help: "Sparkplug B rebirth requests (NCMD Node Control/Rebirth) sent to edge nodes."}),
		offline:  prometheus.NewCounter(prometheus.CounterOpts{Name: "infer_sparkplug_offline_total", Help: "Machines taken offline by a Sparkplug NDEATH or DDEATH (their window restarts, as after an outage)."}),
	}
	if reg != nil {
		if err := reg.Register(s.rebirths); err != nil {
			return nil, err
		}
		if err := reg.Register(s.offline); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// handle scores one Sparkplug message.
func (s *sparkplugIntake) handle(topic string, payload []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.dec.Decode(&s.res, topic, payload, time.Now())
	if s.res.Rebirth.Topic != "" && s.publish != nil {
		s.publish(s.res.Rebirth.Topic, 0, false, s.res.Rebirth.Payload)
		s.rebirths.Inc()
		s.log.Info().Str("topic", s.res.Rebirth.Topic).Msg("asked a Sparkplug edge node to rebirth (unknown alias, seq gap or data before birth)")
	}
	met := s.eng.met
	if err != nil {
		met.Drops.WithLabelValues(string(telemetry.ReasonOf(err))).Inc()
		return
	}
	for _, r := range s.res.Rejected {
		met.Drops.WithLabelValues(string(r.Reason)).Inc()
	}
	for _, m := range s.res.Offline {
		if s.eng.offline(s.key(m)) {
			s.offline.Inc()
		}
	}
	for i := range s.res.Samples {
		ms := &s.res.Samples[i]
		s.eng.ingestSample(s.key(ms.Machine), &ms.Sample)
	}
}

func (s *sparkplugIntake) key(m telemetry.Machine) string {
	if k, ok := s.keys[m]; ok {
		return k
	}
	k := s.eng.topics.Telemetry(m)
	if len(s.keys) < s.eng.max*2 {
		s.keys[m] = k
	}
	return k
}

// ingestSample scores one decoded sample of the machine whose telemetry topic is key.
func (e *Engine) ingestSample(key string, s *telemetry.Sample) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopped {
		e.met.Drops.WithLabelValues(DropStopping).Inc()
		return
	}
	m := e.machines[key]
	if m == nil {
		if m = e.admit(key); m == nil {
			return
		}
	}
	e.met.Messages.Inc()
	e.messages++
	e.score(m, s)
}

// offline handles a machine whose edge node or device died: like an outage, its window
// starts over when data comes back, and an active alert is carried over (restored
// into the new stream) so it is cleared under its own id once the machine is calm.
func (e *Engine) offline(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := e.machines[key]
	if m == nil {
		return false
	}
	if sev := m.st.ActiveAlert(); sev != alerting.None && len(e.restored) < e.max {
		sevName := telemetry.SeverityWarning
		if sev == alerting.Critical {
			sevName = telemetry.SeverityCritical
		}
		e.restored[key] = telemetry.Alert{Kind: alertKind(m.mdl.Artifact()), State: telemetry.StateRaised,
			Severity: sevName, StartedAt: m.st.AlertStartedAt()}
	}
	e.keepBaseline(key, m) // like an outage: the machine's moved normal is still its normal
	delete(e.machines, key)
	e.met.Machines.Set(float64(len(e.machines)))
	return true
}
