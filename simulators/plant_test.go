package simulators

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/telemetry"
)

func newPlant(t *testing.T, mutate func(*Config)) *Plant {
	t.Helper()
	cfg := DefaultConfig()
	cfg.FaultRate = 0
	mutate(&cfg)
	p, err := NewPlant(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustSchedule(t *testing.T, s string) []ScheduledFault {
	t.Helper()
	f, err := ParseSchedule(s)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// series runs the plant for d and collects machine i's values of one sensor per step
// (NaN when not published) and all its truth records.
func series(p *Plant, i int, sensor string, d time.Duration) (vals []float64, truth []telemetry.Truth) {
	idx := sensorIndex(p.machines[i].spec, sensor)
	for n := p.steps(d.Seconds()); n > 0; n-- {
		e := p.Step()[i]
		v := math.NaN()
		if e.Sample.Values != nil {
			v = e.Sample.Values[idx].V
		}
		vals = append(vals, v)
		truth = append(truth, e.Truth...)
	}
	return vals, truth
}

func hourlyMeans(v []float64, perHour int) []float64 {
	var out []float64
	for h := 0; (h+1)*perHour <= len(v); h++ {
		sum, n := 0.0, 0
		for _, x := range v[h*perHour : (h+1)*perHour] {
			if !math.IsNaN(x) {
				sum, n = sum+x, n+1
			}
		}
		out = append(out, sum/float64(max(n, 1)))
	}
	return out
}

// TestBearingWearRaisesVibrationAndTemperature: over a 48 h bearing life, hourly mean
// vibration trends upward (despite regime changes), ends several times higher than it
// started, and the bearing runs hotter.
func TestBearingWearRaisesVibrationAndTemperature(t *testing.T) {
	p := newPlant(t, func(c *Config) {
		c.Machines, c.Types, c.Rate = 1, []string{TypePump}, 0.1
		c.Schedule = mustSchedule(t, "pump-0001=bearing_wear@1h+48h")
		c.StopProb = 0
	})
	p.Step() // step 0
	vib, _ := series(p, 0, "vibration_rms_mm_s", 49*time.Hour)
	p = newPlant(t, func(c *Config) {
		c.Machines, c.Types, c.Rate = 1, []string{TypePump}, 0.1
		c.Schedule = mustSchedule(t, "pump-0001=bearing_wear@1h+48h")
		c.StopProb = 0
	})
	temp, _ := series(p, 0, "bearing_temp_c", 49*time.Hour)
	hv := hourlyMeans(vib[360:], 360)[:47] // from onset, 47 whole hours before failure
	ht := hourlyMeans(temp[360:], 360)[:47]
	up, pairs := 0, 0
	for i := range hv {
		for j := i + 1; j < len(hv); j++ {
			pairs++
			if hv[j] > hv[i] {
				up++
			}
		}
	}
	if frac := float64(up) / float64(pairs); frac < 0.75 {
		t.Errorf("hourly vibration means rise in %.0f%% of hour pairs, want >= 75%% (monotone trend): %.2f", 100*frac, hv)
	}
	first, last := mean(hv[:4]), mean(hv[len(hv)-4:])
	if last < 3*first {
		t.Errorf("vibration %.2f mm/s in the last 4 h vs %.2f in the first 4 h: want >= 3x", last, first)
	}
	if d := mean(ht[len(ht)-4:]) - mean(ht[:4]); d < 10 {
		t.Errorf("bearing temperature rose %.1f K over the life, want >= 10 K", d)
	}
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// TestRegimesVisible: normal motor data has several distinct load levels, stops and a
// daily ambient cycle; it is not stationary.
func TestRegimesVisible(t *testing.T) {
	p := newPlant(t, func(c *Config) { c.Machines, c.Types, c.Rate = 1, []string{TypeMotor}, 0.1 })
	load, _ := series(p, 0, "load_pct", 48*time.Hour)
	p = newPlant(t, func(c *Config) { c.Machines, c.Types, c.Rate = 1, []string{TypeMotor}, 0.1 })
	amb, _ := series(p, 0, "ambient_temp_c", 48*time.Hour)
	levels := map[int]int{} // load rounded to 5% -> samples
	stopped := 0
	for _, v := range load {
		if v < 1 {
			stopped++
			continue
		}
		levels[int(math.Round(v/5))*5]++
	}
	distinct := 0
	for _, n := range levels {
		if n > len(load)/20 {
			distinct++
		}
	}
	if distinct < 3 {
		t.Errorf("%d load levels hold > 5%% of the samples each, want >= 3 distinct regimes: %v", distinct, levels)
	}
	if stopped == 0 {
		t.Error("the motor never stopped in 48 h; want start/stop cycles")
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, h := range hourlyMeans(amb, 360) {
		lo, hi = math.Min(lo, h), math.Max(hi, h)
	}
	if hi-lo < 6 {
		t.Errorf("hourly ambient spans %.1f K over two days, want a daily cycle of >= 6 K", hi-lo)
	}
}

// TestTruthMatchesData: RUL of bearing wear falls to 0 exactly at the failure, the
// failure time in the truth is the first step without telemetry, nothing is published
// until maintenance, and maintenance restores health 1 and telemetry at the same step.
func TestTruthMatchesData(t *testing.T) {
	p := newPlant(t, func(c *Config) {
		c.Machines, c.Types = 2, []string{TypeMotor}
		c.Schedule = mustSchedule(t, "motor-0002=bearing_wear@30m+2h")
		c.Downtime = time.Hour
		c.TruthEvery = 10 * time.Minute
	})
	vals, truth := series(p, 1, "current_a", 5*time.Hour)
	start := p.cfg.Start
	onset, failAt, upAt := start.Add(30*time.Minute), start.Add(150*time.Minute), start.Add(210*time.Minute)
	var events []string
	for _, tr := range truth {
		if tr.Event != "" {
			events = append(events, tr.Event+"@"+tr.TS.Sub(start).String())
		}
		switch {
		case tr.TS.Before(onset):
			if tr.RULSeconds != nil || tr.Health != 1 {
				t.Errorf("%s: healthy machine has rul %v health %v", tr.TS, tr.RULSeconds, tr.Health)
			}
		case tr.TS.Before(failAt):
			if tr.RULSeconds == nil || *tr.RULSeconds != failAt.Sub(tr.TS).Seconds() {
				t.Errorf("%s: rul %v, want %v", tr.TS, tr.RULSeconds, failAt.Sub(tr.TS).Seconds())
			}
			if len(tr.Faults) != 1 || tr.Faults[0].FailureAt == nil || !tr.Faults[0].FailureAt.Equal(failAt) {
				t.Errorf("%s: faults %+v, want one with failure_at %s", tr.TS, tr.Faults, failAt)
			}
		case tr.TS.Before(upAt):
			if tr.Health != 0 || tr.RULSeconds == nil || *tr.RULSeconds != 0 {
				t.Errorf("%s: failed machine has health %v rul %v, want 0 and 0", tr.TS, tr.Health, tr.RULSeconds)
			}
		default:
			if tr.Health != 1 || tr.RULSeconds != nil || len(tr.Faults) != 0 {
				t.Errorf("%s: after maintenance health %v rul %v faults %v", tr.TS, tr.Health, tr.RULSeconds, tr.Faults)
			}
		}
	}
	want := "fault_onset@30m0s failure@2h30m0s maintenance@3h30m0s"
	if got := strings.Join(events, " "); got != want {
		t.Errorf("events %q, want %q", got, want)
	}
	for k, v := range vals {
		at := p.Time(int64(k))
		silent := !at.Before(failAt) && at.Before(upAt)
		if silent != math.IsNaN(v) {
			t.Fatalf("step at %s: published=%v, want published=%v", at.Sub(start), !math.IsNaN(v), !silent)
		}
	}
	// The other motor had no fault: it never failed and was never silent.
	for _, e := range p.Step() {
		if e.Sample.Values == nil {
			t.Errorf("machine %d silent", e.Index)
		}
	}
}

func TestSensorFaults(t *testing.T) {
	p := newPlant(t, func(c *Config) {
		c.Machines, c.Types = 4, []string{TypeMotor}
		c.Schedule = mustSchedule(t, "motor-0001=sensor_stuck:current_a@10m+1h,motor-0002=sensor_dropout:winding_temp_c@10m+1h,"+
			"motor-0003=sensor_drift:bearing_temp_c@10m+1h,motor-0004=sensor_spikes:load_pct@10m+1h")
		c.StopProb = 0
	})
	var stuck, drop, drift, spike []float64
	ix := func(m int, s string) int { return sensorIndex(p.machines[m].spec, s) }
	for k := 0; k < 4300; k++ {
		em := p.Step()
		stuck = append(stuck, em[0].Sample.Values[ix(0, "current_a")].V)
		drop = append(drop, em[1].Sample.Values[ix(1, "winding_temp_c")].V)
		drift = append(drift, em[2].Sample.Values[ix(2, "bearing_temp_c")].V)
		spike = append(spike, em[3].Sample.Values[ix(3, "load_pct")].V)
	}
	in := func(v []float64) []float64 { return v[600:4200] }
	for _, v := range in(stuck) {
		if v != stuck[600] {
			t.Fatalf("stuck sensor changed: %v then %v", stuck[600], v)
		}
	}
	nan := 0
	for _, v := range in(drop) {
		if math.IsNaN(v) {
			nan++
		}
	}
	if f := float64(nan) / 3600; f < 0.6 || f > 0.8 {
		t.Errorf("dropout lost %.0f%% of samples, want ~70%%", 100*f)
	}
	if math.IsNaN(drop[100]) || math.IsNaN(drop[4250]) {
		t.Error("dropout outside its window")
	}
	// Drift of 3..10% of 55 degC per hour: 1.6..5.5 K after an hour; it vanishes in one
	// step at the repair (step 4200), while the thermal trend moves 0.1 K at most.
	if jump := math.Abs(drift[4199] - drift[4200]); jump < 1 {
		t.Errorf("drift removed at repair changed the reading by %.2f K, want the accumulated offset (>1 K)", jump)
	}
	big := 0
	for i := 601; i < 4200; i++ {
		if math.Abs(spike[i]-spike[i-1]) > 15 {
			big++
		}
	}
	// The episode opens with a spike, so none is a fault only the truth can see.
	if math.Abs(spike[600]-spike[599]) < 15 {
		t.Errorf("onset sample %.1f after %.1f: a spiking fault begins with a spike", spike[600], spike[599])
	}
	if big < 40 {
		t.Errorf("%d jumps > 15 %% points in an hour of spikes, want ~2%% of samples x2", big)
	}
}

// runOutputs runs a small plant for 6 simulated hours with CSV, truth and a recording
// publisher, and hashes everything it produced.
func runOutputs(t *testing.T, seed uint64) (csvs map[string][]byte, truth []byte, payloads [32]byte) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Machines, cfg.Seed, cfg.FaultRate, cfg.Rate = 6, seed, 4, 0.2
	p, err := NewPlant(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var tb bytes.Buffer
	rec := &recorder{h: sha256.New()}
	err = p.Run(context.Background(), rec, RunOptions{Topics: telemetry.MustTopics(""), CSVDir: dir, Truth: &tb, Duration: 6 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	csvs = map[string][]byte{}
	for _, m := range p.Machines() {
		b, err := os.ReadFile(filepath.Join(dir, m.Machine.Machine+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		csvs[m.Machine.Machine] = b
	}
	copy(payloads[:], rec.h.Sum(nil))
	return csvs, tb.Bytes(), payloads
}

func TestDeterminism(t *testing.T) {
	c1, t1, p1 := runOutputs(t, 42)
	c2, t2, p2 := runOutputs(t, 42)
	c3, t3, p3 := runOutputs(t, 43)
	if len(c1) != 6 {
		t.Fatalf("%d csv files, want 6", len(c1))
	}
	for id := range c1 {
		if !bytes.Equal(c1[id], c2[id]) {
			t.Errorf("%s: same seed gave different CSV bytes", id)
		}
		if bytes.Equal(c1[id], c3[id]) {
			t.Errorf("%s: different seeds gave identical CSV bytes", id)
		}
	}
	if !bytes.Equal(t1, t2) || p1 != p2 {
		t.Error("same seed gave different truth or payload sequence")
	}
	if bytes.Equal(t1, t3) || p1 == p3 {
		t.Error("different seeds gave identical truth or payload sequence")
	}
	if !bytes.Contains(t1, []byte(`"event":"fault_onset"`)) {
		t.Error("4 faults per machine-day over 6 h x 6 machines gave no fault onset")
	}
}

func TestConfigAndScheduleErrors(t *testing.T) {
	bad := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"unknown type", func(c *Config) { c.Types = []string{"pump", "fan"} }, `unknown machine type "fan"`},
		{"negative rate", func(c *Config) { c.Rate = -1 }, "rate = -1"},
		{"zero machines", func(c *Config) { c.Machines = 0 }, "machines = 0"},
		{"no such machine", func(c *Config) { c.Schedule = []ScheduledFault{{Machine: "pump-0009", Kind: "imbalance"}} }, `no machine "pump-0009"`},
		{"kind for type", func(c *Config) { c.Schedule = []ScheduledFault{{Machine: "motor-0001", Kind: "cavitation"}} }, "motor-0001 cannot have cavitation"},
		{"sensor", func(c *Config) {
			c.Schedule = []ScheduledFault{{Machine: "pump-0001", Kind: "sensor_drift", Sensor: "nope"}}
		}, `no sensor "nope"`},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.mutate(&cfg)
			_, err := NewPlant(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
	for _, s := range []string{"pump-0001", "pump-0001=bearing_wear", "pump-0001=rust@1h", "pump-0001=bearing_wear@soon",
		"pump-0001=bearing_wear@1h+0s", "pump-0001=imbalance:flow_m3h@1h", "=imbalance@1h"} {
		if _, err := ParseSchedule(s); err == nil {
			t.Errorf("ParseSchedule(%q) accepted", s)
		}
	}
	got, err := ParseSchedule(" pump-0001=bearing_wear@48h , compressor-0001=sensor_drift:power_kw@2h+30m")
	if err != nil || len(got) != 2 || got[1] != (ScheduledFault{"compressor-0001", "sensor_drift", "power_kw", 2 * time.Hour, 30 * time.Minute}) {
		t.Errorf("ParseSchedule = %+v, %v", got, err)
	}
}

// Every repair or replacement in the truth is announced on the machine's maintenance
// topic, as a maintenance system would, before that machine's next telemetry sample,
// so the edge daemon starts the repaired machine afresh.
func TestMaintenanceAnnounced(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Machines, cfg.Seed, cfg.FaultRate, cfg.Rate, cfg.Downtime = 6, 42, 6, 0.05, time.Hour
	p, err := NewPlant(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var tb bytes.Buffer
	rec := &recorder{keep: true}
	tp := telemetry.MustTopics("")
	if err := p.Run(context.Background(), rec, RunOptions{Topics: tp, Truth: &tb, Duration: 72 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	// Announced: the repairs and replacements that leave the machine without a fault.
	want, partial := 0, 0
	for _, line := range bytes.Split(tb.Bytes(), []byte("\n")) {
		var tr telemetry.Truth
		if json.Unmarshal(line, &tr) != nil || tr.Event != EventMaintenance {
			continue
		}
		if len(tr.Faults) == 0 {
			want++
		} else {
			partial++
		}
	}
	if want == 0 || partial == 0 {
		t.Fatalf("6 faults per machine-day over 72 h x 6 machines gave %d full and %d partial repairs; the test needs both", want, partial)
	}
	got := 0
	for i, m := range rec.msgs {
		tpc, err := tp.Parse(m.topic)
		if err != nil || tpc.Kind != telemetry.KindMaintenance {
			continue
		}
		got++
		mt, err := telemetry.DecodeMaintenance(m.payload)
		if err != nil || mt.TS.IsZero() || mt.By != "simulator" {
			t.Fatalf("maintenance message %s: %+v, %v", m.payload, mt, err)
		}
		// The machine's next telemetry comes after the announcement, at or after its time.
		for _, n := range rec.msgs[i+1:] {
			if n.topic == tp.Telemetry(tpc.Machine) {
				ss, _, err := telemetry.DecodeTelemetry(n.payload, telemetry.DefaultLimits(), mt.TS)
				if err != nil || len(ss) == 0 || ss[0].Time.Before(mt.TS) {
					t.Fatalf("%s: next sample %v (%v) before the maintenance at %v", tpc.Machine.Machine, ss, err, mt.TS)
				}
				break
			}
		}
	}
	if got != want {
		t.Fatalf("%d maintenance messages for %d maintenance events in the truth", got, want)
	}
}
