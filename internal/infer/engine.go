package infer

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/alerting"
	"github.com/faultline/faultline/internal/scoring"
	"github.com/faultline/faultline/internal/telemetry"
)

// Emit receives each alert transition, in order per machine. It is called with the
// engine's lock held and must not block on the network.
type Emit func(a telemetry.Alert)

// ScoreSink receives every scored window (for dashboards); same rules as Emit.
type ScoreSink func(m telemetry.Machine, r *scoring.Result, mdl *Model)

// Engine is the transport-free core of the daemon: telemetry in, alerts out. Safe for
// concurrent use (one lock; the MQTT client delivers messages one at a time anyway).
type Engine struct {
	mu       sync.Mutex
	reg      *registry
	machines map[string]*machine // by telemetry topic
	unknown  map[string]struct{} // topics without a model, bounded like machines
	max      int
	topics   telemetry.Topics
	limits   telemetry.Limits
	met      *Metrics
	log      zerolog.Logger
	emit     Emit
	onScore  ScoreSink
	stopped  bool
	messages int64
	// restored holds alerts that were active when a previous run stopped (read from
	// the retained alert state), keyed by telemetry topic, until the machine's stream
	// exists to take them.
	restored map[string]telemetry.Alert
	// baselines holds the saved baselines of a previous run (baselines.go), keyed by
	// telemetry topic, until the machine's stream exists to take them.
	baselines map[string]savedBaseline
	// maintained is when each machine's last work was done (Maintain), so a
	// redelivered announcement does not restart it again; bounded like machines.
	maintained map[string]time.Time
	dec        telemetry.FastDecoder
}

type machine struct {
	id   telemetry.Machine
	mdl  *Model
	st   *scoring.Stream
	row  []float64
	prev scoring.Counters
	// active is the alert state after the last scored window (logged on reload).
	active alerting.Severity
	// part is the row being gathered from per-sensor topics (sensors.go).
	part partialRow
	// badAgeLogged: the machine's first row without a usable age was logged (later
	// ones are only counted, drops{reason="bad_age"}).
	badAgeLogged bool
}

// DropBadAge is the drop reason of a sample a rul model with an age column
// (artifact.Model.AgeColumn) cannot score: the machine's message lacks that field,
// or its value is not finite or negative (scoring.ErrBadAge).
const DropBadAge = "bad_age"

// EngineConfig is what NewEngine needs from Config.
type EngineConfig struct {
	Model       string
	Routes      []Route
	MaxMachines int
	Topics      telemetry.Topics
	Limits      telemetry.Limits
}

// NewEngine loads every model file (refusing to start on a bad one).
func NewEngine(c EngineConfig, met *Metrics, log zerolog.Logger, emit Emit, onScore ScoreSink) (*Engine, error) {
	reg, err := newRegistry(c.Model, c.Routes)
	if err != nil {
		return nil, err
	}
	if emit == nil {
		emit = func(telemetry.Alert) {}
	}
	e := &Engine{reg: reg, machines: map[string]*machine{}, unknown: map[string]struct{}{}, restored: map[string]telemetry.Alert{}, baselines: map[string]savedBaseline{}, maintained: map[string]time.Time{}, max: c.MaxMachines,
		topics: c.Topics, limits: c.Limits, met: met, log: log.With().Str("component", "engine").Logger(), emit: emit, onScore: onScore}
	for p, m := range reg.models {
		a := m.Artifact()
		e.log.Info().Str("model", p).Str("name", a.Name).Str("version", a.Version).Str("task", a.Task).Str("match", a.Match).Strs("columns", m.Scorer.Columns()).Msg("model loaded")
	}
	return e, nil
}

// Ingest scores one telemetry message received on topic.
func (e *Engine) Ingest(topic string, payload []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	// Decoded under the lock: the fast decoder reuses its buffers (results are valid
	// until its next call), and it gives exactly DecodeTelemetry's results.
	samples, rejected, err := e.dec.Decode(payload, e.limits, time.Now())
	if e.stopped {
		e.met.Drops.WithLabelValues(DropStopping).Inc()
		return
	}
	if err != nil {
		e.met.Drops.WithLabelValues(string(telemetry.ReasonOf(err))).Inc()
		return
	}
	for _, r := range rejected {
		e.met.Drops.WithLabelValues(string(r.Reason)).Inc()
	}
	m := e.machines[topic]
	if m == nil {
		if m = e.admit(topic); m == nil {
			return
		}
	}
	e.met.Messages.Inc()
	e.messages++
	for i := range samples {
		e.score(m, &samples[i])
	}
}

// admit creates a machine's state on its first sample.
func (e *Engine) admit(topic string) *machine {
	if _, ok := e.unknown[topic]; ok {
		e.met.Drops.WithLabelValues(DropUnknownMachine).Inc()
		return nil
	}
	tp, err := e.topics.Parse(topic)
	if err != nil || tp.Kind != telemetry.KindTelemetry {
		e.met.Drops.WithLabelValues(DropBadTopic).Inc()
		return nil
	}
	if len(e.machines) >= e.max {
		e.met.Drops.WithLabelValues(DropTooManyMachines).Inc()
		return nil
	}
	mdl := e.reg.route(tp.Machine.Machine)
	if mdl == nil {
		e.met.Drops.WithLabelValues(DropUnknownMachine).Inc()
		if len(e.unknown) < e.max {
			e.unknown[topic] = struct{}{}
			e.log.Warn().Str("machine", tp.Machine.Key()).Msg("no model routes to this machine; its telemetry is ignored (add --route or fix the model's match)")
		}
		return nil
	}
	st, err := mdl.Scorer.NewStream()
	if err != nil { // LoadModel made one already; this cannot fail for a loaded model
		e.met.Drops.WithLabelValues(DropScoreError).Inc()
		return nil
	}
	m := &machine{id: tp.Machine, mdl: mdl, st: st, row: make([]float64, len(mdl.Scorer.Columns()))}
	if a, ok := e.restored[topic]; ok {
		delete(e.restored, topic)
		e.restore(m, a)
	}
	e.adoptBaseline(topic, m)
	e.machines[topic] = m
	e.met.Machines.Set(float64(len(e.machines)))
	return m
}

func (e *Engine) score(m *machine, s *telemetry.Sample) {
	for i := range m.row {
		m.row[i] = math.NaN()
	}
	set := 0
	for _, v := range s.Values {
		k, ok := m.mdl.col[v.Sensor]
		if !ok {
			e.met.UnknownSensors.Inc()
			continue
		}
		if math.IsNaN(m.row[k]) {
			set++
		}
		m.row[k] = v.V
	}
	if miss := len(m.row) - set; miss > 0 {
		e.met.MissingValues.Add(float64(miss))
	}
	t0 := time.Now()
	r, ready, err := m.st.Push(s.Time, m.row)
	e.met.Latency.Observe(time.Since(t0).Seconds())
	e.counters(m)
	switch {
	case errors.Is(err, scoring.ErrOutOfOrder):
		e.met.Drops.WithLabelValues(DropOutOfOrder).Inc()
		return
	case errors.Is(err, scoring.ErrBadAge):
		e.met.Drops.WithLabelValues(DropBadAge).Inc()
		if !m.badAgeLogged {
			m.badAgeLogged = true
			e.log.Warn().Str("machine", m.id.Key()).Str("age_field", m.mdl.Artifact().AgeColumn).Err(err).
				Msg("sample dropped: the model reads the machine's age from this telemetry field; publish it with every sample (further drops are counted in infer_drops_total{reason=\"bad_age\"})")
		}
		return
	case err != nil:
		e.met.Drops.WithLabelValues(DropScoreError).Inc()
		return
	}
	e.met.Samples.Inc()
	if !ready {
		return
	}
	e.met.Windows.Inc()
	m.active = r.Active
	if e.onScore != nil {
		e.onScore(m.id, r, m.mdl)
	}
	// Transitions on rows filled in for a short gap come first, in order.
	for _, ev := range r.Earlier {
		rr := *r
		rr.Event = ev
		e.publish(m, &rr)
	}
	if r.Event.Transition == alerting.Nothing {
		return
	}
	e.publish(m, r)
}

func (e *Engine) publish(m *machine, r *scoring.Result) {
	a := BuildAlert(m.id, m.mdl.Artifact(), r)
	e.met.Alerts.WithLabelValues(a.State).Inc()
	e.emit(a)
}

// RestoreState takes one retained alert-state message. An alert that was active when
// the previous run stopped is carried into the machine's stream, so the daemon clears
// it when the score calms. States of machines that already alert, cleared states and
// anything unparsable are ignored; our own retained publishes come back here too.
func (e *Engine) RestoreState(topic string, payload []byte) {
	tp, err := e.topics.Parse(topic)
	if err != nil || tp.Kind != telemetry.KindAlertState {
		return
	}
	var a telemetry.Alert
	if json.Unmarshal(payload, &a) != nil || a.State == telemetry.StateCleared || a.Kind != telemetry.AlertAnomaly && a.Kind != telemetry.AlertRUL {
		return
	}
	key := e.topics.Telemetry(tp.Machine)
	e.mu.Lock()
	defer e.mu.Unlock()
	if m, ok := e.machines[key]; ok {
		// Only before the machine's first window: afterwards the stream knows better,
		// and the message is likely the echo of our own retained publish (a "raised"
		// flushed from the disk queue after the alert already cleared).
		if m.st.C.Windows == 0 {
			e.restore(m, a)
		}
		return
	}
	if len(e.restored) < e.max {
		e.restored[key] = a
	}
}

func (e *Engine) restore(m *machine, a telemetry.Alert) {
	if m.st.ActiveAlert() != alerting.None || a.Kind != alertKind(m.mdl.Artifact()) {
		return
	}
	sev := alerting.Warning
	if a.Severity == telemetry.SeverityCritical {
		sev = alerting.Critical
	}
	m.st.RestoreAlert(sev, a.StartedAt)
	m.active = sev
	if a.Reason == carriedOverReload {
		e.log.Info().Str("machine", m.id.Key()).Str("id", a.ID).Msg("carried an open alert over the model reload")
		return
	}
	e.log.Info().Str("machine", m.id.Key()).Str("id", a.ID).Msg("restored an alert that was active before the restart")
}

// carriedOverReload marks (in Reason) an alert that dropMachines carries into the
// machine's next stream; such alerts only seed the stream and are never published.
const carriedOverReload = "model_reload"

// counters exports what the stream counted during the last Push.
func (e *Engine) counters(m *machine) {
	c := m.st.C
	if d := c.Gaps - m.prev.Gaps; d > 0 {
		e.met.Gaps.Add(float64(d))
	}
	if d := c.FilledRows - m.prev.FilledRows; d > 0 {
		e.met.FilledRows.Add(float64(d))
	}
	if d := c.NonFiniteOut - m.prev.NonFiniteOut; d > 0 {
		e.met.NonFinite.Add(float64(d))
	}
	m.prev = c
}

// Reload checks the model files and swaps in every changed one that loads and
// validates (force: reload all, as on SIGHUP). A refused file is logged and counted and
// the old model keeps scoring. Machines of a swapped model start fresh streams on their
// next sample (window and alert state reset).
func (e *Engine) Reload(force bool) {
	e.mu.Lock()
	paths := e.reg.paths()
	if !force {
		paths = e.reg.changed()
	}
	e.mu.Unlock()
	for _, p := range paths {
		m, err := LoadModel(p) // outside the lock: scoring goes on while a file loads
		e.mu.Lock()
		if err != nil {
			if st, serr := statStamp(p); serr == nil {
				e.reg.seen[p] = st
			}
			e.met.Reloads.WithLabelValues("failed").Inc()
			e.log.Error().Err(err).Str("model", p).Msg("model reload refused; the previous model keeps running")
			e.mu.Unlock()
			continue
		}
		e.reg.models[p] = m
		reset, active := e.dropMachines(p)
		e.met.Reloads.WithLabelValues("ok").Inc()
		a := m.Artifact()
		e.log.Info().Str("model", p).Str("name", a.Name).Str("version", a.Version).Int("machines_reset", reset).
			Int("active_alerts_carried", active).Msg("model reloaded; machines on it restart their windows; open alerts are carried over and cleared under their own id")
		e.mu.Unlock()
	}
}

// dropMachines forgets the state of machines routed to path (and the unknown-machine
// cache, since the new model's Match may take them); they are re-routed on their next
// sample.
func (e *Engine) dropMachines(path string) (reset, active int) {
	for topic, m := range e.machines {
		if m.mdl.Path == path {
			if sev := m.st.ActiveAlert(); sev != alerting.None {
				active++
				// Carried into the machine's new stream, like an alert across a
				// restart, so it is cleared under its own id instead of left open.
				sevName := telemetry.SeverityWarning
				if sev == alerting.Critical {
					sevName = telemetry.SeverityCritical
				}
				if len(e.restored) < e.max {
					kind, started := alertKind(m.mdl.Artifact()), m.st.AlertStartedAt()
					e.restored[topic] = telemetry.Alert{ID: m.id.Key() + "/" + kind + "/" + strconv.FormatInt(started.UnixMilli(), 10),
						Kind: kind, State: telemetry.StateRaised, Reason: carriedOverReload, Severity: sevName, StartedAt: started}
				}
			}
			e.keepBaseline(topic, m)
			delete(e.machines, topic)
			reset++
		}
	}
	clear(e.unknown)
	e.met.Machines.Set(float64(len(e.machines)))
	return reset, active
}

// Stop makes Ingest drop everything from now on; after it returns no Emit runs.
func (e *Engine) Stop() {
	e.mu.Lock()
	e.stopped = true
	e.mu.Unlock()
}

// Machines reports how many machines have state.
func (e *Engine) Machines() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.machines)
}

// Models returns the loaded model of each file.
func (e *Engine) Models() map[string]*Model {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]*Model, len(e.reg.models))
	for k, v := range e.reg.models {
		out[k] = v
	}
	return out
}

// Stats are totals for benchmarks and tests (metrics carry the same numbers).
type Stats struct{ Messages int64 }

// Stats returns the engine's totals.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return Stats{Messages: e.messages}
}
