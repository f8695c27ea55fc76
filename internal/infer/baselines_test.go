package infer

import (
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/artifact/artifacttest"
	"github.com/faultline/faultline/internal/scoring"
	"github.com/faultline/faultline/internal/telemetry"
)

// writeBaselineModel is writeModel's model with a baseline that warms up in 5
// windows and may double every second, so a test minute moves it.
func writeBaselineModel(t testing.TB, dir, version string) string {
	t.Helper()
	return writeBaselineModelHalfLife(t, dir, version, 3600)
}

// writeBaselineModelHalfLife is writeBaselineModel with another half-life (seconds).
func writeBaselineModelHalfLife(t testing.TB, dir, version string, halfLife float64) string {
	t.Helper()
	m := artifacttest.Anomaly(testSensors, testWindow)
	m.Name, m.Version = "pump", version
	m.Baseline = &artifact.Baseline{Quantile: 0.9, Ref: 0.05, HalfLife: halfLife, Doubling: 1, MinWindows: 5}
	p := filepath.Join(dir, "pump.model")
	if err := m.Save(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// movedSample is sampleAt(sec, false) with every sensor at 0.2, four times the test
// model's Ref: a normal the baseline's divisor rises to follow (to about 4).
func movedSample(sec int) telemetry.Sample {
	s := sampleAt(sec, false)
	for i := range s.Values {
		s.Values[i].V = 0.2
	}
	return s
}

// feedMoved ingests movedSample for seconds from..from+n-1 on topic.
func feedMoved(e *Engine, topic string, from, n int) {
	for sec := from; sec < from+n; sec++ {
		e.Ingest(topic, telemetry.EncodeTelemetry(nil, movedSample(sec)))
	}
}

// A restarted engine carries on with each machine's baseline where the previous run
// left it (saved to and read from the queue directory's file), and a different model
// version starts afresh.
func TestBaselinesSurviveARestart(t *testing.T) {
	dir := t.TempDir()
	model := writeBaselineModel(t, dir, "1")
	path := filepath.Join(dir, BaselinesFile)
	var col collector
	first, _ := newTestEngine(t, EngineConfig{Model: model}, &col)
	topic := testTopics.Telemetry(machineID("pump-0001"))
	feedMoved(first, topic, 0, 60) // a normal 4 times Ref: the baseline's divisor rises to 4
	want := first.Baselines(t0)[topic]
	if want.State.Factor < 3 {
		t.Fatalf("factor %v after a minute at 4 x Ref, want about 4", want.State.Factor)
	}
	if err := saveBaselines(path, first); err != nil {
		t.Fatal(err)
	}

	second, _ := newTestEngine(t, EngineConfig{Model: model}, &col)
	if n, err := loadBaselines(path, second, t0); err != nil || n != 1 {
		t.Fatalf("loaded %d baselines, err %v; want 1", n, err)
	}
	var s telemetry.Sample
	for sec := 60; sec < 60+testWindow; sec++ { // the stream starts, takes its baseline and scores a window
		s = sampleAt(sec, false)
		second.Ingest(topic, telemetry.EncodeTelemetry(nil, s))
	}
	m := second.machines[topic]
	got, ok := m.st.BaselineState()
	if !ok || math.Abs(got.Factor-want.State.Factor) > 0.01*want.State.Factor || !got.Last.Equal(s.Time) {
		t.Fatalf("restored state %+v (ok %v), want %+v plus one window at the last sample's time", got, ok, want.State)
	}

	other := writeBaselineModel(t, t.TempDir(), "2") // another version
	third, _ := newTestEngine(t, EngineConfig{Model: other}, &col)
	if _, err := loadBaselines(path, third, t0); err != nil {
		t.Fatal(err)
	}
	third.Ingest(topic, telemetry.EncodeTelemetry(nil, s))
	if st, ok := third.machines[topic].st.BaselineState(); ok && st.Factor != 1 {
		t.Fatalf("model version 2 took version 1's baseline (factor %v)", st.Factor)
	}
}

// A baselines file that does not parse is set aside and the daemon starts afresh;
// a missing one is a first start.
func TestBaselinesFileDamaged(t *testing.T) {
	dir := t.TempDir()
	model := writeBaselineModel(t, dir, "1")
	var col collector
	e, _ := newTestEngine(t, EngineConfig{Model: model}, &col)
	path := filepath.Join(dir, BaselinesFile)
	if n, err := loadBaselines(path, e, t0); n != 0 || err != nil {
		t.Fatalf("missing file: %d, %v; want 0, nil", n, err)
	}
	if err := os.WriteFile(path, []byte(`{"machines": {"x": [`), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := loadBaselines(path, e, t0); err == nil {
		t.Fatal("a torn baselines file was accepted")
	}
	if _, err := os.Stat(path + ".corrupt"); err != nil {
		t.Fatalf("the damaged file was not set aside: %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the damaged file is still in place: %v", err)
	}
}

// A model reload restarts each machine's stream; the new stream takes the old one's
// baseline when the model is calibrated the same (a SIGHUP, a re-copied file), and not
// when it is another calibration under the same name and version (a retrain that kept
// --version).
func TestBaselinesSurviveAModelReload(t *testing.T) {
	dir := t.TempDir()
	model := writeBaselineModel(t, dir, "1")
	var col collector
	e, _ := newTestEngine(t, EngineConfig{Model: model}, &col)
	topic := testTopics.Telemetry(machineID("pump-0001"))
	feed := func(from, n int) { feedMoved(e, topic, from, n) }
	feed(0, 60)
	before, _ := e.machines[topic].st.BaselineState()
	if before.Factor < 3 {
		t.Fatalf("factor %v after a minute at 4 x Ref, want about 4", before.Factor)
	}
	e.Reload(true)
	feed(60, 1)
	after, ok := e.machines[topic].st.BaselineState()
	if !ok || after.Factor < before.Factor {
		t.Fatalf("after a reload of the same model: factor %v (ok %v), want at least %v", after.Factor, ok, before.Factor)
	}

	m := artifacttest.Anomaly(testSensors, testWindow)
	m.Name, m.Version = "pump", "1"
	m.Baseline = &artifact.Baseline{Quantile: 0.9, Ref: 0.1, HalfLife: 3600, Doubling: 1, MinWindows: 5}
	if err := m.Save(model); err != nil {
		t.Fatal(err)
	}
	e.Reload(true)
	feed(61, 1)
	if st, ok := e.machines[topic].st.BaselineState(); ok && st.Factor != 1 {
		t.Fatalf("a retrain with another Ref under the same version took the old baseline (factor %v)", st.Factor)
	}
}

// Saved baselines of machines that stopped reporting are dropped after four
// half-lives, and a load capped at the machine limit keeps the most recent ones.
func TestBaselinesStaleAndCapped(t *testing.T) {
	model := writeBaselineModel(t, t.TempDir(), "1")
	var col collector
	e, _ := newTestEngine(t, EngineConfig{Model: model, MaxMachines: 2}, &col)
	entry := func(last time.Time) savedBaseline {
		return savedBaseline{Model: "pump", Version: "1", Ref: 0.05, Quantile: 0.9, HalfLife: 3600,
			State: scoring.BaselineState{Counts: []float64{10}, Last: last, Factor: 1}}
	}
	n := e.restoreBaselines(map[string]savedBaseline{"old": entry(t0.Add(-10 * time.Hour)), "new": entry(t0), "mid": entry(t0.Add(-time.Hour)),
		"stale": entry(t0.Add(-5 * time.Hour)), "older": entry(t0.Add(-2 * time.Hour))}, t0.Add(time.Minute))
	if n != 2 {
		t.Fatalf("kept %d of 5 with a limit of 2", n)
	}
	got := e.Baselines(t0)
	if _, ok := got["older"]; ok || len(got) != 2 || got["new"].Model == "" || got["mid"].Model == "" {
		t.Fatalf("kept %v: want the two most recent, new and mid", got)
	}
	if got := e.Baselines(t0.Add(3 * time.Hour)); len(got) != 2 {
		t.Fatalf("3 h later kept %d, want 2 (within four half-lives)", len(got))
	}
	if got := e.Baselines(t0.Add(5 * time.Hour)); len(got) != 0 || got["new"].Model != "" {
		t.Fatalf("5 h later kept %v, want none (mid is 6 h old, new 5 h: both past four half-lives)", got)
	}
}

// A Sparkplug DEATH restarts the machine's stream like an outage; the machine's
// baseline is kept for the new stream, not lost.
func TestBaselineSurvivesASparkplugDeath(t *testing.T) {
	model := writeBaselineModel(t, t.TempDir(), "1")
	var col collector
	e, _ := newTestEngine(t, EngineConfig{Model: model}, &col)
	topic := testTopics.Telemetry(machineID("pump-0001"))
	feed := func(from, n int) { feedMoved(e, topic, from, n) }
	feed(0, 60)
	before, _ := e.machines[topic].st.BaselineState()
	if !e.offline(topic) {
		t.Fatal("the machine was not taken offline")
	}
	feed(60, testWindow)
	after, ok := e.machines[topic].st.BaselineState()
	if !ok || after.Factor < before.Factor {
		t.Fatalf("after a DEATH: factor %v (ok %v), want at least %v", after.Factor, ok, before.Factor)
	}
}
