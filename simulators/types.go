package simulators

import (
	"fmt"
	"strings"

	"github.com/faultline/faultline/internal/telemetry"
)

// Machine types.
const (
	TypePump       = "pump"
	TypeMotor      = "motor"
	TypeCompressor = "compressor"
)

// Sensor describes one sensor of a machine type.
type Sensor struct {
	Name     string
	Unit     string
	Noise    float64 // standard deviation of the additive measurement noise
	Scale    float64 // typical magnitude: sizes drift rates and spikes of sensor faults
	Decimals int     // resolution of the reported value
}

// typeSpec is everything that differs between machine types.
type typeSpec struct {
	name    string
	sensors []Sensor
	// faults that can happen to this type at random, with relative weights.
	faults []weighted
	// step advances the physics by one period and writes the true (noise-free) sensor
	// values to out, in sensors order.
	step func(m *machine, env *stepEnv, out []float64)
	// speeds and loads are the set-point levels the regime picks from.
	speeds, loads []float64
}

type weighted struct {
	kind   string
	weight float64
}

var sensorFaults = []weighted{
	{telemetry.FaultSensorStuck, 0.08}, {telemetry.FaultSensorDrift, 0.08},
	{telemetry.FaultSensorSpikes, 0.08}, {telemetry.FaultDropout, 0.08},
}

var specs = map[string]*typeSpec{
	TypePump: {
		name: TypePump,
		sensors: []Sensor{
			{"speed_rpm", "rpm", 2, 1480, 0},
			{"flow_m3h", "m3/h", 0.6, 120, 2},
			{"discharge_pressure_bar", "bar", 0.03, 6, 3},
			{"motor_current_a", "A", 0.3, 55, 2},
			{"bearing_temp_c", "degC", 0.15, 60, 2},
			{"vibration_rms_mm_s", "mm/s", 0.04, 2, 3},
			{"ambient_temp_c", "degC", 0.1, 20, 2},
		},
		faults: append([]weighted{{telemetry.FaultBearingWear, 0.25}, {telemetry.FaultImbalance, 0.15},
			{telemetry.FaultCavitation, 0.15}, {telemetry.FaultOverheating, 0.13}}, sensorFaults...),
		step:   stepPump,
		speeds: []float64{0.7, 0.85, 1.0},
		loads:  []float64{0.45, 0.65, 0.85, 1.0}, // valve opening
	},
	TypeMotor: {
		name: TypeMotor,
		sensors: []Sensor{
			{"speed_rpm", "rpm", 2, 1485, 0},
			{"load_pct", "%", 0.5, 80, 1},
			{"current_a", "A", 0.4, 80, 2},
			{"winding_temp_c", "degC", 0.2, 90, 2},
			{"bearing_temp_c", "degC", 0.15, 55, 2},
			{"vibration_rms_mm_s", "mm/s", 0.04, 2, 3},
			{"vibration_kurtosis", "1", 0.12, 3, 3},
			{"ambient_temp_c", "degC", 0.1, 20, 2},
		},
		faults: append([]weighted{{telemetry.FaultBearingWear, 0.3}, {telemetry.FaultImbalance, 0.2},
			{telemetry.FaultOverheating, 0.18}}, sensorFaults...),
		step:   stepMotor,
		speeds: []float64{0.6, 0.8, 0.9, 1.0},
		loads:  []float64{0.35, 0.55, 0.75, 0.95}, // torque fraction
	},
	TypeCompressor: {
		name: TypeCompressor,
		sensors: []Sensor{
			{"discharge_pressure_bar", "bar", 0.02, 7, 3},
			{"discharge_temp_c", "degC", 0.2, 80, 2},
			{"power_kw", "kW", 0.4, 55, 2},
			{"flow_m3min", "m3/min", 0.08, 6, 3},
			{"vibration_rms_mm_s", "mm/s", 0.05, 2, 3},
			{"ambient_temp_c", "degC", 0.1, 20, 2},
			// The production the compressed air serves, as the line's MES reports it
			// (% of the line's rated output): what the air demand should be, so the
			// flow can be judged against it. A compressed-air audit finds leaks the
			// same way, as air used beyond what production needs.
			{"production_pct", "%", 0.5, 100, 1},
			// The drive's speed (2-pole motor, fixed speed): 0 while the compressor is
			// stopped, which nothing else says once production is the context.
			{"speed_rpm", "rpm", 2, 3000, 0},
		},
		faults: append([]weighted{{telemetry.FaultBearingWear, 0.25}, {telemetry.FaultLeakage, 0.18},
			{telemetry.FaultOverheating, 0.15}, {telemetry.FaultImbalance, 0.1}}, sensorFaults...),
		step:   stepCompressor,
		speeds: []float64{1.0},                 // fixed-speed screw: load/unload control
		loads:  []float64{0.3, 0.5, 0.65, 0.8}, // air demand, fraction of rated delivery
	},
}

// Types lists the machine types in a fixed order.
func Types() []string { return []string{TypePump, TypeMotor, TypeCompressor} }

// Sensors returns the sensors of a machine type in their fixed (CSV column) order, or nil
// for an unknown type.
func Sensors(typ string) []Sensor {
	s, ok := specs[typ]
	if !ok {
		return nil
	}
	return append([]Sensor(nil), s.sensors...)
}

// SensorNames returns the sensor names of a type in order.
func SensorNames(typ string) []string {
	var out []string
	for _, s := range Sensors(typ) {
		out = append(out, s.Name)
	}
	return out
}

// MachineID is the id of the n-th (1-based) machine of a type: pump-0001.
func MachineID(typ string, n int) string { return fmt.Sprintf("%s-%04d", typ, n) }

// TypeOf returns the machine type encoded in a machine id ("pump-0001" -> "pump"), or ""
// when the id does not follow the {type}-{NNNN} convention.
func TypeOf(machineID string) string {
	typ, num, ok := strings.Cut(machineID, "-")
	if !ok || num == "" {
		return ""
	}
	if _, known := specs[typ]; !known {
		return ""
	}
	for i := 0; i < len(num); i++ {
		if num[i] < '0' || num[i] > '9' {
			return ""
		}
	}
	return typ
}

func sensorIndex(spec *typeSpec, name string) int {
	for i, s := range spec.sensors {
		if s.Name == name {
			return i
		}
	}
	return -1
}

// ContextColumns are the sensors of the simulated types that report operating
// conditions (speed, load, flow demand, production, ambient) rather than machine
// health: the `--context` columns of a normal-behaviour model. Each type has some of
// them. A compressor's flow is not one: it is the air the plant draws, leaks
// included, and is judged against the production it serves.
func ContextColumns() []string {
	return []string{"speed_rpm", "flow_m3h", "load_pct", "production_pct", "ambient_temp_c"}
}
