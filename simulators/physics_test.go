package simulators

import (
	"math"
	"testing"

	"github.com/faultline/faultline/internal/telemetry"
)

// testMachine builds one machine of typ outside a plant, running at fixed set points.
func testMachine(t *testing.T, typ string) (*Plant, *machine) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Machines, cfg.Types, cfg.FaultRate = 1, []string{typ}, 0
	p, err := NewPlant(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := p.machines[0]
	m.running, m.setSpeed, m.segEnd = true, 1, math.MaxInt64
	return p, m
}

// settle runs the physics (no noise) for n seconds of 1 Hz steps and returns the mean
// of sensor s over the last `over` steps.
func settle(p *Plant, m *machine, n, over int, s int) float64 {
	sum := 0.0
	for k := 0; k < n; k++ {
		m.spec.step(m, &p.env, m.vals)
		if k >= n-over {
			sum += m.vals[s]
		}
	}
	return sum / float64(over)
}

func TestMotorCurrentRisesWithLoad(t *testing.T) {
	p, m := testMachine(t, TypeMotor)
	cur := sensorIndex(m.spec, "current_a")
	prev := 0.0
	for _, load := range []float64{0.2, 0.4, 0.6, 0.8, 1.0} {
		m.setLoad = load
		i := settle(p, m, 120, 10, cur)
		// Rated current 80 A at full load; magnetising current 28 A at no load.
		if i <= prev+3 {
			t.Errorf("load %.1f: current %.1f A, want clearly above %.1f A at the lower load", load, i, prev)
		}
		prev = i
	}
	if prev < 75 || prev > 85 {
		t.Errorf("full-load current %.1f A, want about the rated 80 A", prev)
	}
}

func TestPumpCurrentAndFlowFollowSpeed(t *testing.T) {
	p, m := testMachine(t, TypePump)
	m.setLoad = 1
	flow, cur := sensorIndex(m.spec, "flow_m3h"), sensorIndex(m.spec, "motor_current_a")
	m.setSpeed = 0.5
	q1, i1 := settle(p, m, 120, 10, flow), settle(p, m, 10, 10, cur)
	m.setSpeed = 1
	q2, i2 := settle(p, m, 120, 10, flow), settle(p, m, 10, 10, cur)
	// Affinity laws: flow ~ n (ratio 2), power ~ n^3 so the load part of the current
	// grows ~8x; with the no-load current the total more than doubles.
	if r := q2 / q1; math.Abs(r-2) > 0.05 {
		t.Errorf("flow ratio full/half speed = %.3f, want 2 (flow ~ speed)", r)
	}
	if i2 < 2*i1 {
		t.Errorf("current %.1f A at full speed vs %.1f A at half: want more than double (power ~ speed^3)", i2, i1)
	}
}

// TestWindingTemperatureLagsPower: after a load step, power settles in seconds while
// the winding follows a first-order lag of 25 min: about 63% of the rise after one time
// constant, and almost nothing after one minute.
func TestWindingTemperatureLagsPower(t *testing.T) {
	p, m := testMachine(t, TypeMotor)
	m.setLoad = 0.3
	wind := sensorIndex(m.spec, "winding_temp_c")
	t0 := settle(p, m, 6*3600, 1, wind)
	m.setLoad = 1
	settle(p, m, 60, 1, wind)
	power60 := m.power
	after60 := m.vals[wind]
	settle(p, m, 1500-60, 1, wind)
	afterTau := m.vals[wind]
	final := settle(p, m, 6*3600, 1, wind)
	if math.Abs(power60-45) > 1 {
		t.Errorf("power 60 s after the step = %.1f kW, want the full 45 kW", power60)
	}
	rise := final - t0
	if rise < 30 {
		t.Fatalf("winding rise from 30%% to 100%% load = %.1f K, want a clear rise", rise)
	}
	if f := (after60 - t0) / rise; f > 0.1 {
		t.Errorf("after 60 s the winding made %.0f%% of its rise, want < 10%% (thermal lag)", 100*f)
	}
	if f := (afterTau - t0) / rise; f < 0.55 || f > 0.72 {
		t.Errorf("after one time constant the winding made %.0f%% of its rise, want ~63%%", 100*f)
	}
}

func TestVibrationGrowsWithSpeedSquaredUnderImbalance(t *testing.T) {
	lo, hi := vibration(0.5, 1, 1, 0, 0), vibration(1, 1, 1, 0, 0)
	// Unbalance force ~ speed^2, so halving the speed should divide it by ~4; the
	// speed-proportional floor pulls the ratio a little below 4.
	if r := hi / lo; r < 3.5 || r > 4.1 {
		t.Errorf("vibration ratio full/half speed under imbalance = %.2f, want ~4", r)
	}
	if healthy := vibration(1, 1, 0, 0, 0); hi < 3*healthy {
		t.Errorf("full imbalance %.2f mm/s vs healthy %.2f: want at least 3x", hi, healthy)
	}
}

func TestCompressorCyclesBetweenPressureLimits(t *testing.T) {
	p, m := testMachine(t, TypeCompressor)
	m.setLoad = 0.5
	pr := sensorIndex(m.spec, "discharge_pressure_bar")
	settle(p, m, 600, 1, pr)
	lo, hi, loads := math.Inf(1), math.Inf(-1), 0
	was := m.loaded
	for k := 0; k < 3600; k++ {
		m.spec.step(m, &p.env, m.vals)
		lo, hi = math.Min(lo, m.vals[pr]), math.Max(hi, m.vals[pr])
		if m.loaded && !was {
			loads++
		}
		was = m.loaded
	}
	if lo < 6.3 || hi > 7.7 || hi-lo < 0.8 {
		t.Errorf("receiver pressure %.2f..%.2f bar, want a sawtooth between ~6.5 and ~7.5", lo, hi)
	}
	if loads < 5 {
		t.Errorf("%d load cycles in an hour at 50%% demand, want several", loads)
	}
	// A leak raises demand: the compressor must stay loaded a larger share of the time.
	// Production stays what it was: the leak is air used beyond what it needs.
	flow, prod := sensorIndex(m.spec, "flow_m3min"), sensorIndex(m.spec, "production_pct")
	duty := func(leak float64) (duty, flowMean, prodMean float64) {
		m.eff.leak = leak
		n := 0
		for k := 0; k < 3600; k++ {
			m.spec.step(m, &p.env, m.vals)
			n += int(b2f(m.loaded))
			flowMean += m.vals[flow] / 3600
			prodMean += m.vals[prod] / 3600
		}
		return float64(n) / 3600, flowMean, prodMean
	}
	d0, f0, p0 := duty(0)
	d1, f1, p1 := duty(1)
	if d1 < d0+0.15 {
		t.Errorf("loaded duty %.2f without leak, %.2f with: want a clearly higher duty with the leak", d0, d1)
	}
	if f1 < f0+2 || math.Abs(p1-p0) > 1e-9 || math.Abs(p0-62.5) > 1e-6 {
		t.Errorf("flow %.2f -> %.2f m3/min, production %.2f -> %.2f %%: want the leak's 2.2 m3/min on the flow and production at 62.5 %% (demand 0.5 of 0.8) throughout", f0, f1, p0, p1)
	}
}

func TestTypeOf(t *testing.T) {
	for id, want := range map[string]string{
		"pump-0001": "pump", "motor-0042": "motor", "compressor-9999": "compressor",
		"pump": "", "pump-": "", "fan-0001": "", "pump-00a1": "", "": "",
	} {
		if got := TypeOf(id); got != want {
			t.Errorf("TypeOf(%q) = %q, want %q", id, got, want)
		}
	}
	if id := MachineID(TypePump, 7); TypeOf(id) != TypePump || id != "pump-0007" {
		t.Errorf("MachineID = %q", id)
	}
}

func TestSensorNamesAreValid(t *testing.T) {
	for _, typ := range Types() {
		for _, s := range Sensors(typ) {
			if err := telemetry.ValidateName(s.Name); err != nil {
				t.Errorf("%s: %v", typ, err)
			}
		}
	}
}
