package infer

import (
	"bytes"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/dataset"
	"github.com/faultline/faultline/internal/telemetry"
)

// alertTransitions reads score's output and returns "raised@ts"/"cleared@ts" for each
// change of the alert column.
func alertTransitions(t testing.TB, out string) []string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	col := slices.Index(strings.Split(lines[0], ","), "alert")
	if col < 0 {
		t.Fatalf("no alert column in %q", lines[0])
	}
	var res []string
	prev := "0"
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		a := f[col]
		if a != prev {
			st := "raised"
			if a == "0" {
				st = "cleared"
			}
			res = append(res, st+"@"+f[0])
			prev = a
		}
	}
	return res
}

func liveTransitions(as []telemetry.Alert) []string {
	var res []string
	for _, a := range as {
		if a.State == telemetry.StateRaised || a.State == telemetry.StateCleared {
			res = append(res, a.State+"@"+a.TS.UTC().Format(time.RFC3339Nano))
		}
	}
	return res
}

func TestScoreMatchesEngine(t *testing.T) {
	dir := t.TempDir()
	p := writeModel(t, dir, "pump", "")
	csv := filepath.Join(dir, "drift.csv")
	driftCSV(t, csv)
	var out bytes.Buffer
	st, err := Score(ScoreOptions{Model: p, CSV: dataset.Options{TimeColumn: "ts"}}, csv, &out)
	if err != nil {
		t.Fatal(err)
	}
	if st.Rows != driftSeconds || st.Scored != driftSeconds-testWindow+1 || st.Raised != 1 || st.Cleared != 1 {
		t.Fatalf("stats %+v", st)
	}
	lines := strings.Split(out.String(), "\n")
	if lines[0] != "ts,score,threshold,alert,cause,fault,baseline" || lines[1] != "2026-03-01T08:00:00Z,,,0,,," {
		t.Fatalf("head of output:\n%s", strings.Join(lines[:3], "\n"))
	}
	var col collector
	e, _ := newTestEngine(t, EngineConfig{Model: p}, &col)
	for sec := 0; sec < driftSeconds; sec++ {
		e.Ingest(testTopics.Telemetry(machineID("pump-1")), telemetry.EncodeTelemetry(nil, sampleAt(sec, true)))
	}
	off, live := alertTransitions(t, out.String()), liveTransitions(col.get())
	if strings.Join(off, " ") != strings.Join(live, " ") || len(off) != 2 {
		t.Fatalf("offline %v != live %v", off, live)
	}
	// While the alert is active the cause column names the sensor the live alert
	// blamed first; it is empty otherwise.
	raised := col.get()[0]
	if raised.State != telemetry.StateRaised || len(raised.Top) == 0 {
		t.Fatalf("first live alert %+v", raised)
	}
	for _, l := range lines[1:] {
		if l == "" {
			continue
		}
		f := strings.Split(l, ",")
		if want := map[string]string{"1": raised.Top[0].Sensor, "0": ""}[f[3]]; f[4] != want {
			t.Fatalf("row %q: cause %q, want %q", l, f[4], want)
		}
	}
}

func TestScoreAssetsAndCycles(t *testing.T) {
	dir := t.TempDir()
	p := writeModel(t, dir, "pump", "")
	csv := filepath.Join(dir, "units.csv")
	writeCSV(t, csv, func(w func(string)) {
		w("unit,cycle,label," + strings.Join(testSensors, ","))
		for _, u := range []string{"1", "2"} {
			for c := 1; c <= 7; c++ {
				w(u + "," + itoa(int64(c)) + ",x,0,0,0,0")
			}
		}
	})
	var out bytes.Buffer
	st, err := Score(ScoreOptions{Model: p, CSV: dataset.Options{TimeColumn: "cycle", AssetColumn: "unit", Ignore: []string{"label"}}}, csv, &out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if st.Assets != 2 || st.Scored != 2*3 || len(lines) != 15 {
		t.Fatalf("stats %+v, %d lines", st, len(lines))
	}
	if lines[0] != "ts,asset,score,threshold,alert,cause,fault,baseline" || lines[8] != "1,2,,,0,,," || lines[5] != "5,1,0,1,0,,,1" {
		t.Fatalf("output:\n%s", out.String())
	}
	// A model column missing from the CSV is a clear error.
	writeCSV(t, csv, func(w func(string)) { w("ts,flow"); w("1,2") })
	if _, err := Score(ScoreOptions{Model: p, CSV: dataset.Options{TimeColumn: "ts"}}, csv, &out); err == nil || !strings.Contains(err.Error(), "lacks model column") {
		t.Fatalf("want a missing-column error, got %v", err)
	}
}

// A second sensor that takes over an open alert: the daemon sends "updated" with reason
// new_cause naming it, and `infer score` switches its cause column on the same sample.
func TestNewCauseLiveMatchesScore(t *testing.T) {
	dir := t.TempDir()
	p := writeModel(t, dir, "pump", "")
	value := func(sensor string, sec int) float64 {
		switch {
		case sec >= 10 && sec < 50 && sensor == "bearing_temp":
			return 2.5 // alone: score sqrt(2.5^2/4) = 1.25, over warn 1
		case sec >= 30 && sec < 50 && sensor == "vib_rms":
			return 4 // with it: 2.36, under critical 3, vib_rms leads
		}
		return 0.05
	}
	const seconds = 70
	csv := filepath.Join(dir, "two.csv")
	writeCSV(t, csv, func(w func(string)) {
		w("ts," + strings.Join(testSensors, ","))
		for sec := range seconds {
			line := t0.Add(time.Duration(sec) * time.Second).Format(time.RFC3339)
			for _, s := range testSensors {
				line += "," + strconv.FormatFloat(value(s, sec), 'g', -1, 64)
			}
			w(line)
		}
	})
	var col collector
	e, _ := newTestEngine(t, EngineConfig{Model: p}, &col)
	for sec := range seconds {
		s := telemetry.Sample{Time: t0.Add(time.Duration(sec) * time.Second)}
		for _, name := range testSensors {
			s.Values = append(s.Values, telemetry.Value{Sensor: name, V: value(name, sec)})
		}
		e.Ingest(testTopics.Telemetry(machineID("pump-1")), telemetry.EncodeTelemetry(nil, s))
	}
	live := col.get()
	if got := states(live); got != "pump-1:raised pump-1:updated pump-1:cleared" {
		t.Fatalf("live alerts %s", got)
	}
	up := live[1]
	if up.Reason != telemetry.ReasonNewCause || up.Cause != "vib_rms" || live[0].Cause != "bearing_temp" || live[2].Cause != "" || up.ID != live[0].ID {
		t.Fatalf("raised %+v, then %+v", live[0], up)
	}
	var out bytes.Buffer
	if _, err := Score(ScoreOptions{Model: p, CSV: dataset.Options{TimeColumn: "ts"}}, csv, &out); err != nil {
		t.Fatal(err)
	}
	prev := ""
	var changes []string
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n")[1:] {
		f := strings.Split(l, ",")
		if f[4] != prev {
			changes = append(changes, f[4]+"@"+f[0])
			prev = f[4]
		}
	}
	at := func(a telemetry.Alert) string { return a.TS.UTC().Format(time.RFC3339Nano) }
	want := []string{"bearing_temp@" + at(live[0]), "vib_rms@" + at(up), "@" + at(live[2])}
	if strings.Join(changes, " ") != strings.Join(want, " ") {
		t.Fatalf("cause column changes %v, live %v", changes, want)
	}
}
