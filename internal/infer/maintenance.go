package infer

import (
	"fmt"
	"time"

	"github.com/faultline/faultline/internal/alerting"
	"github.com/faultline/faultline/internal/scoring"
	"github.com/faultline/faultline/internal/telemetry"
)

// Maintain takes one maintenance message (telemetry.Maintenance, on .../maintenance):
// work was done on the machine, so it starts afresh. An open alert is cleared with
// reason maintenance, through emit like every transition (the alert topic and the
// retained state), and the machine's stream forgets its window, alert, baseline and
// RUL history: a machine with a new bearing is no longer the worn one they describe,
// and a baseline that followed a slow degradation would otherwise go on excusing it.
// What a previous run saved for the machine (its open alert, its baseline) is dropped
// too. A message that is not one is counted in Drops with its reason and returned as
// an error; the machine is then left as it was.
func (e *Engine) Maintain(topic string, payload []byte) error {
	tp, err := e.topics.Parse(topic)
	if err != nil || tp.Kind != telemetry.KindMaintenance {
		e.met.Drops.WithLabelValues(DropBadTopic).Inc()
		return fmt.Errorf("maintenance on %q: not a {root}/{site}/{line}/{machine}/maintenance topic", topic)
	}
	mt, err := telemetry.DecodeMaintenance(payload)
	if err != nil {
		e.met.Drops.WithLabelValues(string(telemetry.ReasonOf(err))).Inc()
		return fmt.Errorf("maintenance of %s ignored: %w", tp.Machine.Key(), err)
	}
	at := mt.TS
	if at.IsZero() {
		at = time.Now().UTC()
	}
	key := e.topics.Telemetry(tp.Machine)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopped {
		// Shutting down: the alert could no longer be published. The work is
		// announced again by whoever sends it, or the machine calms down.
		e.met.Drops.WithLabelValues(DropStopping).Inc()
		return fmt.Errorf("maintenance of %s ignored: the daemon is stopping", tp.Machine.Key())
	}
	m := e.machines[key]
	open, hasOpen := e.openAlert(key, m)
	if !mt.TS.IsZero() && (!mt.TS.After(e.maintained[key]) || hasOpen && open.StartedAt.After(mt.TS)) {
		// Work already taken (a QoS 1 redelivery), or older than the alert now open:
		// the fault outlived that work, and the machine is not to start afresh again.
		e.met.Drops.WithLabelValues(DropStaleMaintenance).Inc()
		e.log.Debug().Str("machine", tp.Machine.Key()).Time("at", mt.TS).Msg("maintenance message older than the machine's last work or open alert: ignored")
		return nil
	}
	if _, ok := e.maintained[key]; !mt.TS.IsZero() && (ok || len(e.maintained) < e.max) {
		// Only the work's own time: a receipt time is on another clock than the
		// samples' and the next message's.
		e.maintained[key] = mt.TS
	}
	e.met.Maintenance.Inc()
	delete(e.restored, key)
	delete(e.baselines, key)
	ev := e.log.Info().Str("machine", tp.Machine.Key()).Time("at", at).Str("action", mt.Action).Str("by", mt.By)
	if hasOpen {
		// Also an alert a previous run or a model reload left open and no stream has
		// taken yet (the machine down since its failure): cleared now, or never.
		a := maintenanceClear(tp.Machine, open, at, mt)
		e.met.Alerts.WithLabelValues(a.State).Inc()
		e.emit(a)
		ev = ev.Str("cleared", a.ID)
	}
	if m == nil {
		ev.Msg("maintenance: the machine starts afresh when it reports")
		return nil
	}
	startAfresh(m.st, &m.active)
	m.part.values = m.part.values[:0] // a row gathered before the work is not the new machine's
	ev.Msg("maintenance: the machine starts afresh")
	return nil
}

// startAfresh is what maintenance does to a machine's scoring, in the daemon (Maintain)
// and in offline scoring with a maintenance log (ScoreTable), so `infer score
// --maintenance` and the plant benchmark score what the daemon does: the stream
// forgets its window, alert, baseline and RUL history (scoring.Stream.Reset), the
// alert state kept beside it is none, and the next rows fill a new window as a new
// machine's. cleared says an alert was open: the work clears it (reason maintenance).
func startAfresh(st *scoring.Stream, active *alerting.Severity) (cleared bool) {
	cleared = st.ActiveAlert() != alerting.None
	st.Reset()
	*active = alerting.None
	return cleared
}

// openAlert is the machine's open alert: its stream's, or one kept for a stream not
// made yet (e.restored).
func (e *Engine) openAlert(key string, m *machine) (telemetry.Alert, bool) {
	if m != nil {
		sev := m.st.ActiveAlert()
		if sev == alerting.None {
			return telemetry.Alert{}, false
		}
		a := m.mdl.Artifact()
		kind, started := alertKind(a), m.st.AlertStartedAt()
		return telemetry.Alert{ID: AlertID(m.id, kind, alerting.Event{StartedAt: started}), Kind: kind, Severity: sev.String(),
			StartedAt: started, Model: a.Name, ModelVersion: a.Version}, true
	}
	a, ok := e.restored[key]
	return a, ok
}

// maintenanceClear is the clear of the machine's open alert by work done at at.
func maintenanceClear(id telemetry.Machine, open telemetry.Alert, at time.Time, mt telemetry.Maintenance) telemetry.Alert {
	al := telemetry.Alert{
		ID: open.ID, Site: id.Site, Line: id.Line, Machine: id.Machine,
		Kind: open.Kind, State: telemetry.StateCleared, Reason: telemetry.ReasonMaintenance, Severity: open.Severity,
		StartedAt: open.StartedAt.UTC(), TS: at.UTC(), Model: open.Model, ModelVersion: open.ModelVersion,
	}
	al.Message = id.Machine + ": " + open.Kind + " cleared by maintenance"
	if mt.Action != "" {
		al.Message += ": " + mt.Action
	}
	if mt.By != "" {
		al.Message += " (" + mt.By + ")"
	}
	return al
}
