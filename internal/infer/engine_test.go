package infer

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/alerting"
	"github.com/faultline/faultline/internal/artifact/artifacttest"
	"github.com/faultline/faultline/internal/scoring"
	"github.com/faultline/faultline/internal/telemetry"
)

func TestEngineDriftRaisesAndClears(t *testing.T) {
	p := writeModel(t, t.TempDir(), "pump", "")
	var col collector
	e, met := newTestEngine(t, EngineConfig{Model: p}, &col)
	sick, calm := testTopics.Telemetry(machineID("pump-0001")), testTopics.Telemetry(machineID("pump-0002"))
	for sec := 0; sec < driftSeconds; sec++ {
		e.Ingest(sick, telemetry.EncodeTelemetry(nil, sampleAt(sec, true)))
		e.Ingest(calm, telemetry.EncodeTelemetry(nil, sampleAt(sec, false)))
	}
	got := col.get()
	if states(got) != "pump-0001:raised pump-0001:cleared" {
		t.Fatalf("alerts = %q, want raised then cleared for pump-0001 only", states(got))
	}
	r := got[0]
	if len(r.Top) == 0 || r.Top[0].Sensor != "bearing_temp" {
		t.Errorf("top sensors %+v: want bearing_temp first", r.Top)
	}
	if r.ID != got[1].ID || r.ID != "plant/l1/pump-0001/anomaly/"+itoa(r.StartedAt.UnixMilli()) {
		t.Errorf("ids %q / %q: want one stable id per episode", r.ID, got[1].ID)
	}
	if r.Model != "pump" || r.Severity != "warning" || r.Threshold != 1 || r.Score < 1 {
		t.Errorf("raised alert fields wrong: %+v", r)
	}
	if got[1].State != "cleared" || got[1].Score >= 0.8 {
		t.Errorf("clear: %+v", got[1])
	}
	if r.Message == "" || r.Top[0].Share < 0.9 {
		t.Errorf("message %q, top %+v", r.Message, r.Top)
	}
	if n := value(met.Windows); n != 2*(driftSeconds-testWindow+1) {
		t.Errorf("windows = %v", n)
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func TestEngineCountsBadInput(t *testing.T) {
	dir := t.TempDir()
	pump := writeModel(t, dir, "pump", "pump-*")
	var col collector
	e, met := newTestEngine(t, EngineConfig{Model: pump, MaxMachines: 2}, &col)
	drops := func(r string) float64 { return value(met.Drops.WithLabelValues(r)) }
	msg := func(sec int, vals ...telemetry.Value) []byte {
		return telemetry.EncodeTelemetry(nil, telemetry.Sample{Time: t0.Add(time.Duration(sec) * time.Second), Values: vals})
	}
	tp := testTopics.Telemetry(machineID("pump-1"))
	e.Ingest(tp, msg(2, telemetry.Value{Sensor: "flow", V: 1}, telemetry.Value{Sensor: "unknown_x", V: 1}))
	e.Ingest(tp, msg(1, telemetry.Value{Sensor: "flow", V: 1}))                 // late
	e.Ingest(tp, []byte(`{"ts":"2026-03-01T08:00:09Z","values":{"flow":"x"}}`)) // wrong type value
	e.Ingest(tp, []byte(`not json`))
	e.Ingest(testTopics.Telemetry(machineID("fan-1")), msg(1, telemetry.Value{Sensor: "flow", V: 1})) // Match excludes it
	e.Ingest(testTopics.Telemetry(machineID("fan-1")), msg(2, telemetry.Value{Sensor: "flow", V: 1}))
	e.Ingest(testTopics.Telemetry(machineID("pump-2")), msg(1, telemetry.Value{Sensor: "flow", V: 1}))
	e.Ingest(testTopics.Telemetry(machineID("pump-3")), msg(1, telemetry.Value{Sensor: "flow", V: 1})) // over the cap
	e.Ingest("factory/plant/l1/pump-1/alerts", msg(3, telemetry.Value{Sensor: "flow", V: 1}))
	for reason, want := range map[string]float64{
		DropOutOfOrder: 1, DropUnknownMachine: 2, DropTooManyMachines: 1, DropBadTopic: 1,
		string(telemetry.ReasonBadJSON): 1, string(telemetry.ReasonWrongType): 1,
	} {
		if got := drops(reason); got != want {
			t.Errorf("drops{%s} = %v, want %v", reason, got, want)
		}
	}
	if got := value(met.UnknownSensors); got != 1 {
		t.Errorf("unknown sensors = %v", got)
	}
	// Each sample of pump-1/2 gave 1 of 4 columns: 3 missing each.
	if got := value(met.MissingValues); got != 3*3 {
		t.Errorf("missing values = %v, want 9", got)
	}
	if e.Machines() != 2 {
		t.Errorf("machines = %d", e.Machines())
	}
}

func TestEngineRoutes(t *testing.T) {
	dir := t.TempDir()
	def := writeModel(t, dir, "fleet", "")
	pump := writeModel(t, dir, "pump", "")
	fan := writeModel(t, dir, "fan", "fan-*")
	var col collector
	e, _ := newTestEngine(t, EngineConfig{Model: def, Routes: []Route{{Glob: "pump-*", Path: pump}, {Path: fan}}}, &col)
	for id, want := range map[string]string{"pump-7": "pump", "fan-2": "fan", "press-1": "fleet"} {
		if m := e.reg.route(id); m == nil || m.Artifact().Name != want {
			t.Errorf("route(%s) = %v, want %s", id, m, want)
		}
	}
}

func TestEngineReloadRefusesCorruptKeepsScoring(t *testing.T) {
	dir := t.TempDir()
	p := writeModel(t, dir, "pump", "")
	var col collector
	e, met := newTestEngine(t, EngineConfig{Model: p}, &col)
	tp := testTopics.Telemetry(machineID("pump-1"))
	for sec := 0; sec < 25; sec++ {
		e.Ingest(tp, telemetry.EncodeTelemetry(nil, sampleAt(sec, true)))
	}
	b, _ := os.ReadFile(p)
	b[len(b)-3] ^= 0x5a
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute)
	_ = os.Chtimes(p, later, later)
	e.Reload(false)
	if got := value(met.Reloads.WithLabelValues("failed")); got != 1 {
		t.Fatalf("failed reloads = %v, want 1", got)
	}
	e.Reload(false) // the same bad file is not retried
	if got := value(met.Reloads.WithLabelValues("failed")); got != 1 {
		t.Fatalf("failed reloads after a second poll = %v, want still 1", got)
	}
	for sec := 25; sec < driftSeconds; sec++ {
		e.Ingest(tp, telemetry.EncodeTelemetry(nil, sampleAt(sec, true)))
	}
	if s := states(col.get()); s != "pump-1:raised pump-1:cleared" {
		t.Fatalf("alerts after a refused reload = %q: scoring must go on with the old model", s)
	}
	// A good file is taken and the machine restarts on it.
	writeModel(t, dir, "pump", "")
	e.Reload(true)
	if got := value(met.Reloads.WithLabelValues("ok")); got != 1 || e.Machines() != 0 {
		t.Fatalf("ok reloads = %v, machines = %d; want 1 and 0 (state reset)", got, e.Machines())
	}
}

func TestParseRoute(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Route
		bad  bool
	}{
		{in: "pump-*=m/pump.model", want: Route{Glob: "pump-*", Path: "m/pump.model"}},
		{in: "m/any.model", want: Route{Path: "m/any.model"}},
		{in: "pump-*=", bad: true},
		{in: "[=x.model", bad: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseRoute(tc.in)
			if (err != nil) != tc.bad || (!tc.bad && got != tc.want) {
				t.Fatalf("ParseRoute(%q) = %+v, %v", tc.in, got, err)
			}
		})
	}
}

func TestMessageAndTop(t *testing.T) {
	top := TopSensors([]string{"a", "b", "c", "d"}, []float64{0.1, 0.61, 0, 0.29}, 3)
	if len(top) != 3 || top[0].Sensor != "b" || top[1].Sensor != "d" || top[2].Sensor != "a" {
		t.Fatalf("top = %+v", top)
	}
	a := telemetry.Alert{Machine: "pump-0003", Kind: "anomaly", State: "raised", Severity: "warning", Score: 2.4, Threshold: 1, Top: top[:2]}
	if got, want := Message(a), "pump-0003: anomaly warning, score 2.40 (threshold 1.00); top sensors: b 61%, d 29%"; got != want {
		t.Errorf("message\n got %q\nwant %q", got, want)
	}
	a.Baseline = 2.5
	if got, want := Message(a), "pump-0003: anomaly warning, score 2.40 (threshold 1.00, against a normal moved x2.50); top sensors: b 61%, d 29%"; got != want {
		t.Errorf("message with a moved baseline\n got %q\nwant %q", got, want)
	}
	line := FormatAlertLine([]byte(`{"machine":"m1","site":"s","line":"l","state":"cleared","score":0.2,"threshold":1,"ts":"2026-01-01T00:00:10Z"}`), false)
	if want := "2026-01-01T00:00:10Z  s/l/m1  cleared  -         score 0.20 / 1.00"; line != want {
		t.Errorf("watch line\n got %q\nwant %q", line, want)
	}
}

// An alert whose cause changed carries reason new_cause, names the new sensor in its
// message and counts as announcing a problem (a second fault), as a raise does.
func TestNewCauseAlert(t *testing.T) {
	m := artifacttest.Anomaly([]string{"vib", "temp"}, 2)
	at := time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC)
	r := &scoring.Result{Time: at, Score: 1.5, Threshold: 1, Shares: []float64{0.2, 0.8}, Cause: 1,
		Event: alerting.Event{Transition: alerting.Updated, Reason: alerting.NewCause, Severity: alerting.Warning, StartedAt: at.Add(-time.Hour), At: at, Score: 1.5, Seq: 1}}
	a := BuildAlert(telemetry.Machine{Site: "s", Line: "l", Machine: "pump-0001"}, m, r)
	if a.State != telemetry.StateUpdated || a.Reason != telemetry.ReasonNewCause || a.Cause != "temp" || !a.Announces() {
		t.Fatalf("alert %+v", a)
	}
	if want := "pump-0001: anomaly warning (updated: new cause temp), score 1.50 (threshold 1.00); top sensors: temp 80%, vib 20%"; a.Message != want {
		t.Errorf("message\n got %q\nwant %q", a.Message, want)
	}
	line := FormatAlertLine([]byte(`{"machine":"m1","site":"s","line":"l","state":"updated","reason":"new_cause","severity":"warning","score":1.5,"threshold":1,"ts":"2026-01-01T00:00:10Z","top_sensors":[{"sensor":"temp","share":1}]}`), false)
	if want := "2026-01-01T00:00:10Z  s/l/m1  updated  warning   score 1.50 / 1.00  top: temp 100%  (new cause)"; line != want {
		t.Errorf("watch line\n got %q\nwant %q", line, want)
	}
	r.Event.Reason = alerting.Escalated
	if a := BuildAlert(telemetry.Machine{Machine: "pump-0001"}, m, r); a.Reason != telemetry.ReasonEscalated || a.Announces() {
		t.Fatalf("escalation %+v", a)
	}
}

// A sensor-fault alert says so in its payload, its message and the watch line.
func TestSensorFaultAlertShowsFault(t *testing.T) {
	a := telemetry.Alert{Machine: "pump-0001", Kind: "anomaly", State: "raised", Severity: "warning", Score: 1.5, Threshold: 1,
		Top: []telemetry.Contribution{{Sensor: "temp", Share: 1}}, Fault: telemetry.FaultSensor, Issue: "stuck"}
	if want := "pump-0001: anomaly warning, score 1.50 (threshold 1.00); top sensors: temp 100%; sensor fault: temp stuck"; Message(a) != want {
		t.Errorf("message\n got %q\nwant %q", Message(a), want)
	}
	line := FormatAlertLine([]byte(`{"machine":"m1","site":"s","line":"l","state":"raised","severity":"warning","score":1.5,"threshold":1,"ts":"2026-01-01T00:00:10Z","top_sensors":[{"sensor":"temp","share":1}],"fault":"sensor","sensor_issue":"stuck"}`), false)
	if want := "2026-01-01T00:00:10Z  s/l/m1  raised   warning   score 1.50 / 1.00  [sensor stuck]  top: temp 100%"; line != want {
		t.Errorf("watch line\n got %q\nwant %q", line, want)
	}
}
