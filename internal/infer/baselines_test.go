package infer

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/artifact/artifacttest"
	"github.com/faultline/faultline/internal/telemetry"
)

// writeBaselineModel is writeModel's model with a baseline that warms up in 5
// windows and may double every second, so a test minute moves it.
func writeBaselineModel(t testing.TB, dir, version string) string {
	t.Helper()
	m := artifacttest.Anomaly(testSensors, testWindow)
	m.Name, m.Version = "pump", version
	m.Baseline = &artifact.Baseline{Quantile: 0.9, Ref: 0.05, HalfLife: 3600, Doubling: 1, MinWindows: 5}
	p := filepath.Join(dir, "pump.model")
	if err := m.Save(p); err != nil {
		t.Fatal(err)
	}
	return p
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
	for sec := range 60 { // a normal 4 times Ref: the baseline's divisor rises to 4
		s := sampleAt(sec, false)
		for i := range s.Values {
			s.Values[i].V = 0.2
		}
		first.Ingest(topic, telemetry.EncodeTelemetry(nil, s))
	}
	want := first.Baselines()[topic]
	if got := col.get(); len(got) > 0 && got[len(got)-1].Baseline != 0 && got[len(got)-1].Baseline < 1 {
		t.Fatalf("alert baseline %v: want absent or above 1", got[len(got)-1].Baseline)
	}
	if want.State.Factor < 3 {
		t.Fatalf("factor %v after a minute at 4 x Ref, want about 4", want.State.Factor)
	}
	if err := saveBaselines(path, first); err != nil {
		t.Fatal(err)
	}

	second, _ := newTestEngine(t, EngineConfig{Model: model}, &col)
	if n, err := loadBaselines(path, second); err != nil || n != 1 {
		t.Fatalf("loaded %d baselines, err %v; want 1", n, err)
	}
	s := sampleAt(60, false)
	second.Ingest(topic, telemetry.EncodeTelemetry(nil, s)) // the stream starts and takes its baseline
	m := second.machines[topic]
	got, ok := m.st.BaselineState()
	if !ok || got.Factor != want.State.Factor {
		t.Fatalf("restored factor %v (ok %v), want %v", got.Factor, ok, want.State.Factor)
	}

	other := writeBaselineModel(t, t.TempDir(), "2")
	third, _ := newTestEngine(t, EngineConfig{Model: other}, &col)
	if _, err := loadBaselines(path, third); err != nil {
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
	if n, err := loadBaselines(path, e); n != 0 || err != nil {
		t.Fatalf("missing file: %d, %v; want 0, nil", n, err)
	}
	if err := os.WriteFile(path, []byte(`{"machines": {"x": [`), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := loadBaselines(path, e); err == nil {
		t.Fatal("a torn baselines file was accepted")
	}
	if _, err := os.Stat(path + ".corrupt"); err != nil {
		t.Fatalf("the damaged file was not set aside: %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the damaged file is still in place: %v", err)
	}
}
