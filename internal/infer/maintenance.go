package infer

import (
	"fmt"
	"time"

	"github.com/faultline/faultline/internal/alerting"
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
	e.met.Maintenance.Inc()
	delete(e.restored, key)
	delete(e.baselines, key)
	ev := e.log.Info().Str("machine", tp.Machine.Key()).Time("at", at).Str("action", mt.Action).Str("by", mt.By)
	m := e.machines[key]
	if m == nil {
		ev.Msg("maintenance: the machine starts afresh when it reports")
		return nil
	}
	if sev := m.st.ActiveAlert(); sev != alerting.None {
		a := maintenanceClear(m, sev, at, mt)
		e.met.Alerts.WithLabelValues(a.State).Inc()
		e.emit(a)
		ev = ev.Str("cleared", a.ID)
	}
	m.st.Reset()
	m.active = alerting.None
	m.part.values = m.part.values[:0] // a row gathered before the work is not the new machine's
	ev.Msg("maintenance: the machine starts afresh")
	return nil
}

// maintenanceClear is the clear of m's open alert (severity sev) by maintenance at at.
func maintenanceClear(m *machine, sev alerting.Severity, at time.Time, mt telemetry.Maintenance) telemetry.Alert {
	a := m.mdl.Artifact()
	kind := alertKind(a)
	started := m.st.AlertStartedAt()
	al := telemetry.Alert{
		ID: AlertID(m.id, kind, alerting.Event{StartedAt: started}), Site: m.id.Site, Line: m.id.Line, Machine: m.id.Machine,
		Kind: kind, State: telemetry.StateCleared, Reason: telemetry.ReasonMaintenance, Severity: sev.String(),
		StartedAt: started.UTC(), TS: at.UTC(), Model: a.Name, ModelVersion: a.Version,
	}
	al.Message = m.id.Machine + ": " + kind + " cleared by maintenance"
	if mt.Action != "" {
		al.Message += ": " + mt.Action
	}
	if mt.By != "" {
		al.Message += " (" + mt.By + ")"
	}
	return al
}
