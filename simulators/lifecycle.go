package simulators

import (
	"math"

	"github.com/faultline/faultline/internal/telemetry"
)

// Truth events.
const (
	EventFaultOnset  = "fault_onset"
	EventFailure     = "failure"
	EventMaintenance = "maintenance"
)

// stepMachine runs one machine through step k: maintenance after downtime, fault ends
// (failure or repair), fault onsets, the regime, the physics and the sensors.
func (p *Plant) stepMachine(m *machine, e *Emission, k int64, base float64, periodic bool) {
	m.updateAmbient(p, base)
	if m.failedAt >= 0 {
		if k < m.upAt {
			if periodic {
				e.Truth = append(e.Truth, m.truth(p, k, 0, ""))
			}
			return
		}
		m.maintain(k)
		e.Truth = append(e.Truth, m.truth(p, k, 1, EventMaintenance))
	}
	if m.endFaults(p, e, k) {
		return // failed at this step: no telemetry from now until maintenance
	}
	m.startFaults(p, e, k)
	if k >= m.segEnd {
		m.nextSegment(k, p)
	}
	health := m.applyFaults(k, p.dt)
	m.spec.step(m, &p.env, m.vals)
	if m.overheated() {
		// The protection acts on this reading: the drive trips now, so this step is
		// the failure time and the first missing sample.
		m.fail(p, e, k)
		return
	}
	m.measure(k)
	e.Sample.Values = m.values
	if periodic && len(e.Truth) == 0 {
		e.Truth = append(e.Truth, m.truth(p, k, health, ""))
	}
}

// maintain restores a failed machine: new parts, health 1, cooled to ambient, stopped
// until its next operating segment starts (now).
func (m *machine) maintain(k int64) {
	m.failedAt, m.upAt = -1, -1
	m.faults = m.faults[:0]
	m.th = [2]float64{m.amb, m.amb}
	m.speed, m.load, m.power, m.pTank, m.loaded = 0, 0, 0, 0, false
	m.segEnd = k
}

// fail ends the machine's life at step k: no telemetry from k until maintenance.
func (m *machine) fail(p *Plant, e *Emission, k int64) {
	m.failedAt, m.upAt = k, k+max(1, p.downtime)
	e.Truth = append(e.Truth, m.truth(p, k, 0, EventFailure))
}

// endFaults handles faults whose end is due: bearing wear fails the machine (true is
// returned); another fault, or an overheating fault that never tripped (its end is the
// inspection), is repaired.
func (m *machine) endFaults(p *Plant, e *Emission, k int64) bool {
	for i := 0; i < len(m.faults); i++ {
		f := m.faults[i]
		if f.end > k {
			continue
		}
		if f.kind == telemetry.FaultBearingWear {
			m.fail(p, e, k)
			return true
		}
		m.faults = append(m.faults[:i], m.faults[i+1:]...)
		i--
		e.Truth = append(e.Truth, m.truth(p, k, m.applyFaults(k, p.dt), EventMaintenance))
	}
	return false
}

// startFaults starts scheduled faults that are due and the next random one. A scheduled
// fault that cannot start (same kind active, or a second life-ending fault) is dropped.
func (m *machine) startFaults(p *Plant, e *Emission, k int64) {
	for len(m.pending) > 0 && m.pending[0].step <= k {
		f := m.pending[0]
		m.pending = m.pending[1:]
		sensor := f.sensor
		if sensor == -2 {
			sensor = m.rng.IntN(len(m.spec.sensors))
		}
		if m.startFault(p, k, f.kind, sensor, f.dur) {
			e.Truth = append(e.Truth, m.truth(p, k, m.applyFaults(k, p.dt), EventFaultOnset))
		}
	}
	if m.nextRandom >= 0 && k >= m.nextRandom {
		kind, sensor := m.randomFault()
		if m.startFault(p, k, kind, sensor, 0) {
			e.Truth = append(e.Truth, m.truth(p, k, m.applyFaults(k, p.dt), EventFaultOnset))
		}
		m.drawNextRandom(p, k)
	}
}

// measure turns the true values into readings: noise, sensor faults, clamping at zero
// (every sensor here reads a non-negative quantity) and the sensor's resolution.
func (m *machine) measure(k int64) {
	for i, s := range m.spec.sensors {
		m.vals[i] += s.Noise * m.rng.NormFloat64()
	}
	m.corruptSensors(k)
	for i, v := range m.vals {
		if !math.IsNaN(v) {
			v = math.Round(math.Max(v, 0)*m.pow10[i]) / m.pow10[i]
		}
		m.values[i].V = v
	}
}

// truth builds one ground-truth record. RUL is the time to the active bearing wear's
// failure; 0 from any failure until maintenance; absent while an overheating fault has
// not tripped (its failure time is not known in advance).
func (m *machine) truth(p *Plant, k int64, health float64, event string) telemetry.Truth {
	t := telemetry.Truth{
		TS: p.Time(k), Site: m.id.Site, Line: m.id.Line, Machine: m.id.Machine, Type: m.spec.name,
		Health: math.Round(health*1e6) / 1e6, Faults: m.truthFaults(p), Event: event,
	}
	if m.failedAt >= 0 {
		zero := 0.0
		t.RULSeconds = &zero
		return t
	}
	for _, f := range m.faults {
		if f.kind == telemetry.FaultBearingWear {
			rul := float64(f.end-k) * p.dt
			t.RULSeconds = &rul
		}
	}
	return t
}
