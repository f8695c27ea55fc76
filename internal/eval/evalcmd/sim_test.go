package evalcmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/dataset"
	"github.com/faultline/faultline/internal/eval"
	"github.com/faultline/faultline/internal/infer"
	"github.com/faultline/faultline/internal/telemetry"
	"github.com/faultline/faultline/simulators"
)

func TestParseSpanAndRate(t *testing.T) {
	spans := []struct {
		in   string
		want time.Duration
	}{{"7d", 7 * 24 * time.Hour}, {"1.5d", 36 * time.Hour}, {"36h", 36 * time.Hour}, {"90m", 90 * time.Minute}}
	for _, c := range spans {
		if got, err := parseSpan(c.in); err != nil || got != c.want {
			t.Errorf("parseSpan(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "d", "-3d", "0h", "week"} {
		if _, err := parseSpan(bad); err == nil {
			t.Errorf("parseSpan(%q) accepted", bad)
		}
	}
	rates := map[string]float64{"1/60": 1.0 / 60, "1": 1, "0.5": 0.5, "2/4": 0.5}
	for in, want := range rates {
		if got, err := parseRate(in); err != nil || got != want {
			t.Errorf("parseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "1/0", "0", "-1", "x/60", "2000"} {
		if _, err := parseRate(bad); err == nil {
			t.Errorf("parseRate(%q) accepted", bad)
		}
	}
}

func TestSimUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"sim", "--healthy", "soon"}, {"sim", "--faulty", "3d"}, {"sim", "--rate", "1/0"},
		{"sim", "--machines-per-type", "0"}, {"sim", "--fault-rate", "0"},
		{"sim", "--history", "0.1,2"}, {"sim", "--history", "fast"},
	} {
		err := Run(context.Background(), args, noEnv, &bytes.Buffer{}, &bytes.Buffer{})
		if !errors.Is(err, ErrUsage) {
			t.Errorf("%q: err = %v, want a usage error", args, err)
		}
	}
}

// --history reads as train's: empty is the trainer's default (nil), "none" no inputs
// (empty, not nil), else the factors.
func TestHistoryList(t *testing.T) {
	for in, want := range map[string][]float64{"": nil, "none": {}, "0.06, 0.016": {0.06, 0.016}} {
		got, err := historyList(in)
		if err != nil || !slices.Equal(got, want) || (got == nil) != (want == nil) {
			t.Errorf("%q: %v (%v), want %v", in, got, err, want)
		}
	}
}

// The schedule is a Poisson process: about perDay x days x machines faults, all inside
// the window, reproducible from the seed, and every kind valid for its machine's type
// (NewPlant refuses a kind the type cannot have).
func TestRandomSchedule(t *testing.T) {
	cfg := simulators.DefaultConfig()
	cfg.Machines, cfg.FaultRate = 30, 0
	probe, err := simulators.NewPlant(cfg)
	if err != nil {
		t.Fatal(err)
	}
	from, to := 48*time.Hour, 48*time.Hour+100*24*time.Hour
	s := randomSchedule(probe.Machines(), from, to, 0.2, 7)
	// Expected 0.2 x 100 x 30 = 600, standard deviation sqrt(600) ~ 24.5: 5 sigma.
	if len(s) < 480 || len(s) > 720 {
		t.Fatalf("%d faults, want about 600", len(s))
	}
	kinds := map[string]int{}
	for _, f := range s {
		if f.At < from || f.At >= to {
			t.Fatalf("onset %s outside [%s, %s)", f.At, from, to)
		}
		kinds[f.Kind]++
	}
	for _, k := range []string{telemetry.FaultBearingWear, telemetry.FaultOverheating, telemetry.FaultSensorDrift, telemetry.FaultLeakage, telemetry.FaultCavitation} {
		if kinds[k] == 0 {
			t.Errorf("no %s in 600 draws: %v", k, kinds)
		}
	}
	again := randomSchedule(probe.Machines(), from, to, 0.2, 7)
	if len(again) != len(s) || again[17] != s[17] {
		t.Fatal("same seed, different schedule")
	}
	cfg.Schedule = s
	if _, err := simulators.NewPlant(cfg); err != nil {
		t.Fatalf("simulator refuses the schedule: %v", err)
	}
}

func TestRaisedAlerts(t *testing.T) {
	in := "ts,score,threshold,alert\n" +
		"2026-01-01T00:00:00Z,,,0\n" +
		"2026-01-01T00:01:00Z,5,4,1\n" +
		"2026-01-01T00:02:00Z,6,4,1\n" +
		"2026-01-01T00:03:00Z,1,4,0\n" +
		"2026-01-01T00:04:00Z,,,1\n"
	m := telemetry.Machine{Site: "s", Line: "l", Machine: "pump-0001"}
	got, err := raisedAlerts(strings.NewReader(in), m)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].TS.Minute() != 1 || got[1].TS.Minute() != 4 || got[0].Machine != "pump-0001" || got[1].State != telemetry.StateRaised {
		t.Fatalf("alerts %+v", got)
	}
	// With the cause column a change of blame to a sensor not yet blamed during the
	// alert is a "new cause" update; the first cause goes with the raise.
	in = "ts,score,threshold,alert,cause\n" +
		"2026-01-01T00:00:00Z,,,0,\n" +
		"2026-01-01T00:01:00Z,5,4,1,vib\n" +
		"2026-01-01T00:02:00Z,6,4,1,vib\n" +
		"2026-01-01T00:03:00Z,6,4,1,temp\n" +
		"2026-01-01T00:03:30Z,6,4,1,vib\n" + // back to an earlier cause: no news
		"2026-01-01T00:04:00Z,1,4,0,\n" +
		"2026-01-01T00:05:00Z,6,4,1,temp\n"
	got, err = raisedAlerts(strings.NewReader(in), m)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].State != telemetry.StateRaised || got[0].Top[0].Sensor != "vib" ||
		got[1].State != telemetry.StateUpdated || got[1].Reason != telemetry.ReasonNewCause || got[1].TS.Minute() != 3 || got[1].Top[0].Sensor != "temp" ||
		got[2].State != telemetry.StateRaised || got[2].TS.Minute() != 5 {
		t.Fatalf("alerts with causes %+v", got)
	}
	if _, err := raisedAlerts(strings.NewReader("ts,score,threshold,alert,cause\n2026-01-01T00:00:00Z,1\n"), m); err == nil {
		t.Fatal("short line accepted")
	}
	if _, err := raisedAlerts(strings.NewReader("ts,asset,score,threshold,alert\n"), m); err != nil {
		t.Fatalf("asset header is the right shape too: %v", err)
	}
	if _, err := raisedAlerts(strings.NewReader("time,score\n"), m); err == nil {
		t.Fatal("wrong header accepted")
	}
	if _, err := raisedAlerts(strings.NewReader("ts,score,threshold,alert\nyesterday,1,1,1\n"), m); err == nil {
		t.Fatal("bad time accepted")
	}
}

func TestDownDaysAndFalseAlerts(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(h float64) time.Time { return t0.Add(time.Duration(h * float64(time.Hour))) }
	fail := at(10)
	truth := []telemetry.Truth{
		{TS: at(2), Machine: "m1", Event: simulators.EventFaultOnset, Faults: []telemetry.Fault{{Kind: telemetry.FaultOverheating, Onset: at(2), FailureAt: &fail}}},
		{TS: at(10), Machine: "m1", Event: simulators.EventFailure, Faults: []telemetry.Fault{{Kind: telemetry.FaultOverheating, Onset: at(2), FailureAt: &fail}}},
		{TS: at(18), Machine: "m1", Event: simulators.EventMaintenance},
		{TS: at(40), Machine: "m2", Event: simulators.EventFailure},
	}
	// m1 down 8 h, m2 down from 40 h to the end at 48 h: 16 h.
	if got := downDays(truth, at(48)); got < 16.0/24-1e-9 || got > 16.0/24+1e-9 {
		t.Fatalf("down days %v, want %v", got, 16.0/24)
	}
	alerts := []telemetry.Alert{
		{Machine: "m1", State: telemetry.StateRaised, TS: at(5)},  // detects the overheating
		{Machine: "m1", State: telemetry.StateRaised, TS: at(20)}, // 2 h after the restart
		{Machine: "m1", State: telemetry.StateRaised, TS: at(1)},  // before any fault
	}
	s := eval.Summarize(truth, alerts, t0, at(48), time.Hour)
	f := falseAlerts(s.Episodes, alerts, restartTimes(truth), time.Hour)
	if len(f) != s.FalseAlerts || len(f) != 2 {
		t.Fatalf("false alerts %+v, summary counted %d", f, s.FalseAlerts)
	}
	if f[0].SinceRestart != 2*3600 || f[1].SinceRestart != -1 {
		t.Fatalf("since restart %+v", f)
	}
}

// A small plant end to end: results.json agrees with the score files it wrote, and
// `infer score` on the saved model with the machine's maintenance log (the work the
// simulator announced) reproduces those files byte for byte.
func TestSimEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("trains three models: skipped in -short mode")
	}
	out := t.TempDir()
	var stdout bytes.Buffer
	args := []string{"sim", "--machines-per-type", "1", "--healthy", "1d", "--faulty", "5d", "--fault-rate", "2",
		"--epochs", "2", "--hidden", "8", "--seed", "3", "--out", out}
	if err := Run(context.Background(), args, noEnv, &stdout, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res SimResult
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if res.Machines != 3 || len(res.Episodes) == 0 || res.Flags["fault-rate"] != "2" || res.Flags["maintenance"] != "true" {
		t.Fatalf("results %+v", res)
	}
	failures, raises, updates, resets := 0, 0, 0, 0
	for _, e := range res.Episodes {
		if e.FailureAt != nil {
			failures++
		}
	}
	for _, m := range []string{"pump-0001", "motor-0001", "compressor-0001"} {
		path := filepath.Join(out, "scores", m+".csv")
		saved, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		a, err := raisedAlerts(bytes.NewReader(saved), telemetry.Machine{Machine: m})
		if err != nil {
			t.Fatal(err)
		}
		raises += len(a)
		for _, x := range a {
			if x.State == telemetry.StateUpdated {
				updates++
			}
		}
		var again bytes.Buffer
		opt := infer.ScoreOptions{Model: filepath.Join(out, "models", simulators.TypeOf(m)+".model"), CSV: dataset.Options{TimeColumn: "ts"},
			Maintenance: filepath.Join(out, "data", "maintenance", m+".csv")}
		st, err := infer.Score(opt, filepath.Join(out, "data", "faulty", m+".csv"), &again)
		if err != nil {
			t.Fatal(err)
		}
		resets += st.Maintenance
		if !bytes.Equal(again.Bytes(), saved) {
			t.Fatalf("%s: infer score output differs from the benchmark's", m)
		}
	}
	if resets == 0 {
		t.Fatal("no machine started afresh after maintenance: the test does not show the logs are used")
	}
	if failures != res.Failures || raises != res.Alerts || updates != res.NewCauses || res.FalseAlerts != len(res.False) {
		t.Fatalf("failures %d/%d, alerts %d/%d, new causes %d/%d, false %d/%d", failures, res.Failures, raises, res.Alerts, updates, res.NewCauses, res.FalseAlerts, len(res.False))
	}
	if !strings.Contains(stdout.String(), "failures injected:") || !strings.Contains(stdout.String(), "targets_met=") {
		t.Fatalf("output:\n%s", stdout.String())
	}
}
