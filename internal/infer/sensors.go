package infer

import (
	"bytes"
	"slices"
	"time"

	"github.com/faultline/faultline/internal/telemetry"
)

// partialRow gathers one machine's per-sensor messages ({root}/.../sensors/{sensor})
// into the row the model scores, as one .../telemetry sample would carry it.
type partialRow struct {
	ts     time.Time
	values []telemetry.Value
}

// IngestSensor scores per-sensor messages (docs/telemetry.md): values are gathered
// into a row per machine and timestamp, and the row is scored when it holds every
// model column, when a value with another timestamp arrives, or when one of its
// sensors arrives again (bare numbers carry no timestamp; they belong to the row
// being gathered). A row that never completes is scored with the values it has, the
// others counted as missing, like a telemetry sample without them.
func (e *Engine) IngestSensor(topic string, payload []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopped {
		e.met.Drops.WithLabelValues(DropStopping).Inc()
		return
	}
	tp, err := e.topics.Parse(topic)
	if err != nil || tp.Kind != telemetry.KindSensor {
		e.met.Drops.WithLabelValues(DropBadTopic).Inc()
		return
	}
	s, err := telemetry.DecodeSensor(payload, tp.Sensor, e.limits, time.Now())
	if err != nil {
		e.met.Drops.WithLabelValues(string(telemetry.ReasonOf(err))).Inc()
		return
	}
	key := e.topics.Telemetry(tp.Machine)
	m := e.machines[key]
	if m == nil {
		if m = e.admit(key); m == nil {
			return
		}
		e.log.Info().Str("machine", tp.Machine.Key()).Msg("scoring per-sensor topics: values are gathered into rows per timestamp")
	}
	e.met.Messages.Inc()
	e.messages++
	v := s.Values[0]
	bare := len(bytes.TrimSpace(payload)) > 0 && bytes.TrimSpace(payload)[0] != '{'
	p := &m.part
	repeat := slices.ContainsFunc(p.values, func(x telemetry.Value) bool { return x.Sensor == v.Sensor })
	if len(p.values) > 0 && (repeat || !bare && !s.Time.Equal(p.ts)) {
		e.flushRow(m)
	}
	if len(p.values) == 0 {
		p.ts = s.Time
	}
	p.values = append(p.values, v)
	if e.rowComplete(m) {
		e.flushRow(m)
	}
}

// rowComplete reports whether the gathered row holds every column of the model.
func (e *Engine) rowComplete(m *machine) bool {
	n := 0
	for _, v := range m.part.values {
		if _, ok := m.mdl.col[v.Sensor]; ok {
			n++
		}
	}
	return n >= len(m.row)
}

func (e *Engine) flushRow(m *machine) {
	s := telemetry.Sample{Time: m.part.ts, Values: m.part.values}
	e.score(m, &s)
	m.part.values = m.part.values[:0]
}
