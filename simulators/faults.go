package simulators

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/faultline/faultline/internal/telemetry"
)

// Fault durations drawn when a schedule entry gives none, in seconds: the time to
// failure of bearing wear, the time over which an overheating fault's cooling loss grows
// to its maximum (the failure is a thermal trip, see thermalTrip), or the time until a
// repair for the others.
var durations = map[string][2]float64{
	telemetry.FaultBearingWear: {24 * 3600, 96 * 3600},
	telemetry.FaultOverheating: {3 * 3600, 12 * 3600},
	telemetry.FaultImbalance:   {2 * 3600, 24 * 3600},
	telemetry.FaultCavitation:  {1 * 3600, 8 * 3600},
	telemetry.FaultLeakage:     {2 * 3600, 24 * 3600},
}

const sensorFaultMin, sensorFaultMax = 15 * 60, 6 * 3600

// An overheating fault that has not tripped the machine by onset + max(thermalCapMul x
// its degradation time, thermalCapMin) is found at an inspection and repaired: a machine
// kept at low load never gets hot enough to trip, and no fault runs forever. 4 x 12 h
// (the longest drawn degradation time) is 48 h, inside the 96 h the evaluation leaves
// after the last onset.
const (
	thermalCapMul  = 4
	thermalCapMin  = 24 * 3600 // seconds: at least one full day shift at full cooling loss
	maxCoolingLoss = 0.9
)

// lifeEnding reports whether a fault kind ends in failure.
func lifeEnding(kind string) bool {
	return kind == telemetry.FaultBearingWear || kind == telemetry.FaultOverheating
}

func isSensorFault(kind string) bool {
	switch kind {
	case telemetry.FaultSensorStuck, telemetry.FaultSensorDrift, telemetry.FaultSensorSpikes, telemetry.FaultDropout:
		return true
	}
	return false
}

// activeFault is one fault in progress on one machine. Times are step indices so that
// the failure time in the truth is exactly the step where telemetry stops.
type activeFault struct {
	kind       string
	sensor     int // index into the type's sensors; -1 for machine faults
	onset, end int64
	// ramp (overheating only) is the number of steps over which the cooling loss grows to
	// its maximum; end is then the inspection that repairs the fault if it never tripped.
	ramp     int64
	severity float64 // non-life-ending machine faults, 0.4..1
	stuck    float64
	stuckSet bool
	drift    float64 // sensor_drift: offset added per step
}

// bearingExp shapes bearing damage (e^{4x}-1)/(e^4-1): slow at first, exponential
// toward the end of life, the way spalling accelerates.
var bearingExpDenom = math.Exp(4) - 1

// damage is the fault's progress at step k: 0 at onset, 1 at failure for life-ending
// faults; severity (reached within 10 minutes) for the others.
func (f *activeFault) damage(k int64, dt float64) float64 {
	switch f.kind {
	case telemetry.FaultBearingWear:
		x := math.Min(1, math.Max(0, float64(k-f.onset)/float64(f.end-f.onset)))
		return (math.Exp(4*x) - 1) / bearingExpDenom
	case telemetry.FaultOverheating:
		// Cooling degrades over the ramp, then stays at its worst until a trip or the
		// inspection.
		return math.Pow(math.Min(1, math.Max(0, float64(k-f.onset)/float64(f.ramp))), 1.5)
	}
	return f.severity * math.Min(1, float64(k-f.onset)*dt/600)
}

// applyFaults sets the machine's physical effects and returns its health index.
func (m *machine) applyFaults(k int64, dt float64) float64 {
	m.eff = effects{}
	health := 1.0
	for i := range m.faults {
		f := &m.faults[i]
		if f.sensor >= 0 {
			continue
		}
		d := f.damage(k, dt)
		switch f.kind {
		case telemetry.FaultBearingWear:
			m.eff.bearing = d
		case telemetry.FaultOverheating:
			m.eff.cooling = maxCoolingLoss * d
			// Health is the thermal headroom left, capped by the cooling loss: it
			// reaches 0 only at the trip.
			health = math.Min(health, math.Min(1-0.5*d, m.thermalHeadroom()))
			continue
		case telemetry.FaultImbalance:
			m.eff.imbalance = d
		case telemetry.FaultCavitation:
			m.eff.cavitation = d
		case telemetry.FaultLeakage:
			m.eff.leak = d
		}
		if !lifeEnding(f.kind) {
			d *= 0.3 // a repairable fault costs at most 30% of health
		}
		health = math.Min(health, 1-d)
	}
	return health
}

// corruptSensors applies sensor faults to the measured values: a stuck sensor repeats
// its value at onset, a drifting one adds a growing offset, a spiking one adds rare
// large excursions (the first at onset), a dropping one loses 70% of its samples (NaN = left out).
func (m *machine) corruptSensors(k int64) {
	for i := range m.faults {
		f := &m.faults[i]
		if f.sensor < 0 {
			continue
		}
		v := &m.vals[f.sensor]
		switch f.kind {
		case telemetry.FaultSensorStuck:
			if !f.stuckSet {
				f.stuck, f.stuckSet = *v, true
			}
			*v = f.stuck
		case telemetry.FaultSensorDrift:
			*v += f.drift * float64(k-f.onset)
		case telemetry.FaultSensorSpikes:
			if k == f.onset {
				// The fault begins with its first spike: at 2 % a sample, a quarter
				// of the 15-minute episodes would otherwise hold none, faults only
				// the truth could see. No random draw, so the rest of the run is
				// the one the seed always gave.
				*v += 0.55 * m.spec.sensors[f.sensor].Scale
			}
			if m.rng.Float64() < 0.02 {
				sign := 1.0
				if m.rng.IntN(2) == 0 {
					sign = -1
				}
				*v += sign * m.spec.sensors[f.sensor].Scale * (0.3 + 0.5*m.rng.Float64())
			}
		case telemetry.FaultDropout:
			if m.rng.Float64() < 0.7 {
				*v = math.NaN()
			}
		}
	}
}

// startFault begins a fault at step k. dur (seconds) 0 draws one. It returns false when
// the fault cannot start: a life-ending fault is already running, the same kind is
// active, or the sensor already has a fault.
func (m *machine) startFault(p *Plant, k int64, kind string, sensor int, dur float64) bool {
	for _, f := range m.faults {
		if f.kind == kind && f.sensor == sensor || lifeEnding(f.kind) && lifeEnding(kind) ||
			sensor >= 0 && f.sensor == sensor {
			return false
		}
	}
	r := m.rng
	if dur <= 0 {
		lo, hi := float64(sensorFaultMin), float64(sensorFaultMax)
		if d, ok := durations[kind]; ok {
			lo, hi = d[0], d[1]
		}
		dur = lo + r.Float64()*(hi-lo)
	}
	f := activeFault{kind: kind, sensor: sensor, onset: k, end: k + max(1, p.steps(dur))}
	if kind == telemetry.FaultOverheating {
		f.ramp = f.end - k
		f.end = k + max(thermalCapMul*f.ramp, p.steps(thermalCapMin))
	}
	switch {
	case sensor < 0:
		f.severity = 0.4 + 0.6*r.Float64()
	case kind == telemetry.FaultSensorDrift:
		sign := 1.0
		if r.IntN(2) == 0 {
			sign = -1
		}
		// 3% to 10% of the sensor's scale per hour.
		f.drift = sign * m.spec.sensors[sensor].Scale * (0.03 + 0.07*r.Float64()) * p.dt / 3600
	}
	m.faults = append(m.faults, f)
	return true
}

// randomFault draws a kind (and a sensor for sensor faults) from the type's weights.
func (m *machine) randomFault() (kind string, sensor int) {
	kind = drawKind(m.spec, m.rng)
	sensor = -1
	if isSensorFault(kind) {
		sensor = m.rng.IntN(len(m.spec.sensors))
	}
	return kind, sensor
}

// DrawFaultKind draws a fault kind with the weights the simulator uses for random
// faults of machine type typ ("" for an unknown type). Tools that schedule faults
// themselves (the plant benchmark) use it to keep the simulator's mix.
func DrawFaultKind(typ string, rng *rand.Rand) string {
	spec, ok := specs[typ]
	if !ok {
		return ""
	}
	return drawKind(spec, rng)
}

func drawKind(spec *typeSpec, rng *rand.Rand) string {
	total := 0.0
	for _, w := range spec.faults {
		total += w.weight
	}
	u := rng.Float64() * total
	for _, w := range spec.faults {
		if u < w.weight {
			return w.kind
		}
		u -= w.weight
	}
	return spec.faults[len(spec.faults)-1].kind
}

// truthFaults describes the active faults for a Truth record.
func (m *machine) truthFaults(p *Plant) []telemetry.Fault {
	if len(m.faults) == 0 {
		return nil
	}
	out := make([]telemetry.Fault, 0, len(m.faults))
	for _, f := range m.faults {
		tf := telemetry.Fault{Kind: f.kind, Onset: p.Time(f.onset)}
		if f.sensor >= 0 {
			tf.Sensor = m.spec.sensors[f.sensor].Name
		}
		switch {
		case f.kind == telemetry.FaultOverheating && m.failedAt >= 0:
			at := p.Time(m.failedAt) // known once the machine has tripped
			tf.FailureAt = &at
		case f.kind == telemetry.FaultBearingWear:
			at := p.Time(f.end)
			tf.FailureAt = &at
		}
		out = append(out, tf)
	}
	return out
}

// ScheduledFault is one entry of a fault schedule.
type ScheduledFault struct {
	Machine string        // machine id, e.g. pump-0001
	Kind    string        // a telemetry.Fault* kind
	Sensor  string        // sensor faults: the sensor; "" picks one at random
	At      time.Duration // onset, after the simulation start
	// Duration is the time to failure (bearing wear), the time over which the cooling
	// loss grows to its maximum (overheating: the failure is a thermal trip) or the time
	// to repair (the others); 0 draws one.
	Duration time.Duration
}

// ParseSchedule parses "pump-0001=bearing_wear@48h,motor-0002=overheating@30h+6h,
// compressor-0001=sensor_drift:power_kw@2h". The optional +DUR is the time to failure
// of bearing wear, the cooling-degradation time of overheating, or the time until
// repair of the others.
func ParseSchedule(s string) ([]ScheduledFault, error) {
	var out []ScheduledFault
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		f, err := parseScheduleItem(item)
		if err != nil {
			return nil, fmt.Errorf("schedule entry %q: %w (format: MACHINE=KIND[:SENSOR]@OFFSET[+DURATION], e.g. pump-0001=bearing_wear@48h+72h)", item, err)
		}
		out = append(out, f)
	}
	return out, nil
}

func parseScheduleItem(item string) (ScheduledFault, error) {
	var f ScheduledFault
	id, rest, ok := strings.Cut(item, "=")
	if !ok || id == "" {
		return f, errors.New("missing MACHINE=")
	}
	what, when, ok := strings.Cut(rest, "@")
	if !ok {
		return f, errors.New("missing @OFFSET")
	}
	f.Machine = id
	f.Kind, f.Sensor, _ = strings.Cut(what, ":")
	at, dur, hasDur := strings.Cut(when, "+")
	var err error
	if f.At, err = time.ParseDuration(at); err != nil || f.At < 0 {
		return f, fmt.Errorf("offset %q is not a non-negative duration", at)
	}
	if hasDur {
		if f.Duration, err = time.ParseDuration(dur); err != nil || f.Duration <= 0 {
			return f, fmt.Errorf("duration %q is not a positive duration", dur)
		}
	}
	if !slices.Contains(allFaultKinds, f.Kind) {
		return f, fmt.Errorf("unknown fault kind %q (known: %s)", f.Kind, strings.Join(allFaultKinds, ", "))
	}
	if f.Sensor != "" && !isSensorFault(f.Kind) {
		return f, fmt.Errorf("%s is not a sensor fault; only sensor faults take :SENSOR", f.Kind)
	}
	return f, nil
}

var allFaultKinds = []string{
	telemetry.FaultBearingWear, telemetry.FaultImbalance, telemetry.FaultCavitation,
	telemetry.FaultLeakage, telemetry.FaultOverheating, telemetry.FaultSensorStuck,
	telemetry.FaultSensorDrift, telemetry.FaultSensorSpikes, telemetry.FaultDropout,
}

// checkScheduled validates a schedule entry against the machine's type.
func checkScheduled(f ScheduledFault, spec *typeSpec) (sensor int, err error) {
	sensor = -1
	if !isSensorFault(f.Kind) {
		ok := slices.ContainsFunc(spec.faults, func(w weighted) bool { return w.kind == f.Kind })
		if !ok {
			return 0, fmt.Errorf("schedule: %s cannot have %s (a %s can have: %s)", f.Machine, f.Kind, spec.name, strings.Join(machineFaultKinds(spec), ", "))
		}
		return -1, nil
	}
	if f.Sensor == "" {
		return -2, nil // random sensor, drawn at onset
	}
	if sensor = sensorIndex(spec, f.Sensor); sensor < 0 {
		return 0, fmt.Errorf("schedule: %s has no sensor %q (sensors: %s)", f.Machine, f.Sensor, strings.Join(SensorNames(spec.name), ", "))
	}
	return sensor, nil
}

func machineFaultKinds(spec *typeSpec) []string {
	var out []string
	for _, w := range spec.faults {
		if !isSensorFault(w.kind) {
			out = append(out, w.kind)
		}
	}
	return out
}
