package simulators

import (
	"math"

	"github.com/faultline/faultline/internal/telemetry"
)

// Thermal protection. An overheating (cooling) fault does not end at a drawn time: the
// machine fails when its hottest monitored temperature crosses a trip limit, as a
// motor's thermistor relay or a compressor's discharge-temperature switch trips the
// drive. At low load the cooling loss may never heat the machine that far; it then runs
// degraded until the load rises, or until the inspection (thermalCapMul) repairs it.

// tripMargin is how far (kelvin) above its rated operating temperature a machine trips.
const tripMargin = 20.0

// thermalLimit names a type's monitored temperature and its rated operating
// temperature: the steady state at rated speed and load with a 20 degC ambient, from
// the type's physics (physics.go). The monitored temperature's true value is m.th[0].
type thermalLimit struct {
	sensor string
	rated  float64 // degC
}

var thermalLimits = map[string]thermalLimit{
	// bearing: 20 + 6 + 20 (30 kW shaft power at 1480 rpm, valve fully open) = 46 degC
	TypePump: {"bearing_temp_c", 46},
	// winding: 20 + 85 (I/80)^2 + 6 at 100 % torque, I = 80.2 A: 111.5 degC
	TypeMotor: {"winding_temp_c", 111.5},
	// discharge (oil): 20 + 1.1 x 55 kW running loaded at 7.5 bar = 80.5 degC
	TypeCompressor: {"discharge_temp_c", 80.5},
}

// TripLimit returns a machine type's monitored temperature sensor and the temperature
// (degC) at which an overheating fault trips it, or "" and NaN for an unknown type.
func TripLimit(typ string) (sensor string, limitC float64) {
	l, ok := thermalLimits[typ]
	if !ok {
		return "", math.NaN()
	}
	return l.sensor, l.rated + tripMargin
}

// thermalHeadroom is the share of the margin between rated and trip temperature left,
// 1 at or below the rated temperature and 0 at the trip.
func (m *machine) thermalHeadroom() float64 {
	l := thermalLimits[m.spec.name]
	return math.Min(1, math.Max(0, (l.rated+tripMargin-m.th[0])/tripMargin))
}

// overheated reports whether an active overheating fault has heated the monitored
// temperature to the trip limit at this step.
func (m *machine) overheated() bool {
	l := thermalLimits[m.spec.name]
	if m.th[0] < l.rated+tripMargin {
		return false
	}
	for _, f := range m.faults {
		if f.kind == telemetry.FaultOverheating {
			return true
		}
	}
	return false
}
