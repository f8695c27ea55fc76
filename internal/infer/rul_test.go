package infer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/artifact/artifacttest"
	"github.com/faultline/faultline/internal/dataset"
	"github.com/faultline/faultline/internal/scoring"
	"github.com/faultline/faultline/internal/telemetry"
	"github.com/faultline/faultline/internal/trainer"
)

// rulSensors are the two sensors of the small run-to-failure fleet.
var rulSensors = []string{"wear", "noise"}

// rulFleet is 12 run-to-failure units of 60-99 cycles whose wear sensor rises towards
// failure, drawn with seed.
func rulFleet(seed uint64) trainer.Data {
	rng := rand.New(rand.NewPCG(seed, seed))
	d := trainer.Data{Columns: rulSensors}
	for u := range 12 {
		life := 60 + rng.IntN(40)
		s := trainer.Series{Asset: strconv.Itoa(u)}
		for c := 1; c <= life; c++ {
			s.T = append(s.T, float64(c))
			s.Rows = append(s.Rows, []float64{math.Exp(-float64(life-c)/25) + 0.02*rng.NormFloat64(), rng.NormFloat64()})
		}
		d.Series = append(d.Series, s)
	}
	return d
}

// rulEngine is an engine on the model file p that hands every scored window to sink.
func rulEngine(t *testing.T, p string, sink ScoreSink) (*Engine, *Metrics) {
	t.Helper()
	lim := telemetry.DefaultLimits()
	lim.MaxFuture = 0
	met := NewMetrics(nil)
	e, err := NewEngine(EngineConfig{Model: p, MaxMachines: 10, Topics: testTopics, Limits: lim}, met, zerolog.Nop(), func(telemetry.Alert) {}, sink)
	if err != nil {
		t.Fatal(err)
	}
	return e, met
}

// trainRUL trains a small rul model (window 8) on a fleet whose wear sensor rises
// towards failure.
func trainRUL(t *testing.T) *artifact.Model {
	t.Helper()
	d := rulFleet(4)
	m, _, err := trainer.Fit(context.Background(), d, trainer.Options{Task: artifact.TaskRUL, Window: 8, Ensemble: 2, Epochs: 20, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !m.PadShort || m.Band == nil {
		t.Fatalf("trained rul model without short-history padding (%v) or band (%v)", m.PadShort, m.Band)
	}
	return m
}

// A unit with fewer rows than the window (3 of 8) gets a RUL and a band on every row,
// from its first, in `infer score` and in the daemon's engine alike, with the same
// numbers.
func TestShortUnitGetsRULAndBand(t *testing.T) {
	m := trainRUL(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "rul.model")
	m.Match = "*"
	if err := m.Save(p); err != nil {
		t.Fatal(err)
	}
	csv := filepath.Join(dir, "units.csv")
	rows := [][]float64{{0.05, 0.3}, {0.06, -1.2}, {0.04, 0.8}}
	writeCSV(t, csv, func(w func(string)) {
		w("unit,cycle,wear,noise")
		for i, r := range rows {
			w(fmt.Sprintf("7,%d,%g,%g", i+1, r[0], r[1]))
		}
	})
	var out bytes.Buffer
	st, err := Score(ScoreOptions{Model: p, CSV: dataset.Options{TimeColumn: "cycle", AssetColumn: "unit"}}, csv, &out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if st.Scored != len(rows) || lines[0] != "ts,asset,score,threshold,alert,rul,rul_lo,rul_hi" {
		t.Fatalf("scored %d of %d rows:\n%s", st.Scored, len(rows), out.String())
	}
	var fromCSV [][3]float64
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		var v [3]float64
		for k := range v {
			if v[k], err = strconv.ParseFloat(f[5+k], 64); err != nil {
				t.Fatalf("row %q: %v", l, err)
			}
		}
		if !(v[1] <= v[0] && v[0] <= v[2] && v[1] < v[2]) || f[2] != f[6] {
			t.Fatalf("row %q: want rul_lo <= rul <= rul_hi, a band of some width, and score = rul_lo", l)
		}
		fromCSV = append(fromCSV, v)
	}

	var got []*scoring.Result
	sink := func(_ telemetry.Machine, r *scoring.Result, _ *Model) { c := *r; got = append(got, &c) }
	e, _ := rulEngine(t, p, sink)
	topic := testTopics.Telemetry(machineID("engine-7"))
	for i, r := range rows {
		s := telemetry.Sample{Time: t0.Add(time.Duration(i) * time.Second)}
		for k, name := range rulSensors {
			s.Values = append(s.Values, telemetry.Value{Sensor: name, V: r[k]})
		}
		e.Ingest(topic, telemetry.EncodeTelemetry(nil, s))
	}
	if len(got) != len(rows) {
		t.Fatalf("daemon scored %d of the short unit's %d rows", len(got), len(rows))
	}
	for i, r := range got {
		want := fromCSV[i]
		for k, v := range []float64{r.RUL, r.RULLo, r.RULHi} {
			if strconv.FormatFloat(v, 'g', ScoreDigits, 64) != strconv.FormatFloat(want[k], 'g', ScoreDigits, 64) {
				t.Fatalf("row %d: daemon rul/lo/hi %v %v %v, infer score %v", i, r.RUL, r.RULLo, r.RULHi, want)
			}
		}
	}
}

// RUL alerts compare the band's lower bound with the horizon: a predicted RUL of 40
// over horizon 30 with a lower bound of 25 raises, and the payload, its message and
// `infer watch` carry the band; without a band the same prediction stays quiet.
func TestRULAlertOnLowerBound(t *testing.T) {
	for _, tc := range []struct {
		name   string
		lo, hi float64
		want   string
	}{{"band", -15, 10, "engine-1:raised"}, {"no band", 0, 0, ""}} {
		t.Run(tc.name, func(t *testing.T) {
			m := artifacttest.RUL(rulSensors, 5, 40, tc.lo, tc.hi)
			p := filepath.Join(t.TempDir(), "r.model")
			if err := m.Save(p); err != nil {
				t.Fatal(err)
			}
			var col collector
			e, _ := newTestEngine(t, EngineConfig{Model: p}, &col)
			topic := testTopics.Telemetry(machineID("engine-1"))
			for sec := range 4 {
				s := telemetry.Sample{Time: t0.Add(time.Duration(sec) * time.Second), Values: []telemetry.Value{{Sensor: "wear", V: 0.1}, {Sensor: "noise", V: 0}}}
				e.Ingest(topic, telemetry.EncodeTelemetry(nil, s))
			}
			got := col.get()
			if states(got) != tc.want {
				t.Fatalf("alerts %q, want %q", states(got), tc.want)
			}
			if len(got) == 0 {
				return
			}
			a := got[0]
			if a.Kind != telemetry.AlertRUL || a.RUL == nil || *a.RUL != 40 || a.RULLo == nil || *a.RULLo != 25 || a.RULHi == nil || *a.RULHi != 50 || a.Score != 25 || a.Threshold != 30 {
				t.Fatalf("payload %+v", a)
			}
			if !strings.Contains(a.Message, "predicted RUL 40.00 (25.00 to 50.00)") {
				t.Errorf("message %q", a.Message)
			}
			if line := FormatAlertLine(mustJSON(t, a), false); !strings.Contains(line, "rul 40.00 / 30.00  band 25.00-50.00") {
				t.Errorf("watch line %q", line)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A rul model whose age is the cycle column: `infer score` reads it from the CSV's
// time column, the daemon from the machine's "cycle" telemetry field, and both give
// the same RUL on every row, for a unit first seen mid-life (cycle 101 on). A message
// without the field, or with a negative one, is dropped and counted (bad_age), and
// the rows after it score as if it never came.
func TestAgeColumnScoreAndDaemonAgree(t *testing.T) {
	d := rulFleet(5)
	d.TimeColumn = "cycle"
	m, _, err := trainer.Fit(context.Background(), d, trainer.Options{Task: artifact.TaskRUL, Window: 8, Ensemble: 2, Epochs: 20, Seed: 1, AgeColumn: "cycle"})
	if err != nil {
		t.Fatal(err)
	}
	m.Match = "*"
	dir := t.TempDir()
	p := filepath.Join(dir, "rul.model")
	if err := m.Save(p); err != nil {
		t.Fatal(err)
	}
	const first, n = 101, 12
	rng := rand.New(rand.NewPCG(5, 6))
	rows := make([][]float64, n)
	for i := range rows {
		rows[i] = []float64{0.1 + 0.02*float64(i), rng.NormFloat64()}
	}
	csv := filepath.Join(dir, "unit.csv")
	writeCSV(t, csv, func(w func(string)) {
		w("unit,cycle,wear,noise")
		for i, r := range rows {
			w(fmt.Sprintf("7,%d,%g,%g", first+i, r[0], r[1]))
		}
	})
	var out bytes.Buffer
	st, err := Score(ScoreOptions{Model: p, CSV: dataset.Options{TimeColumn: "cycle", AssetColumn: "unit"}}, csv, &out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")[1:]
	if st.Scored != n || st.BadAge != 0 || len(lines) != n {
		t.Fatalf("scored %d of %d rows, bad age %d:\n%s", st.Scored, n, st.BadAge, out.String())
	}
	var fromCSV []string
	for _, l := range lines {
		fromCSV = append(fromCSV, strings.Split(l, ",")[5])
	}
	// The same rows counted from 1 (the row count the age replaces) give other RULs.
	sc, _ := scoring.New(m)
	young, _ := sc.NewStream()
	differ := 0
	for i, r := range rows {
		res, ok, err := young.Push(t0.Add(time.Duration(i)*time.Second), []float64{r[0], r[1], float64(i + 1)})
		if err == nil && ok && strconv.FormatFloat(res.RUL, 'g', ScoreDigits, 64) != fromCSV[i] {
			differ++
		}
	}
	if differ == 0 {
		t.Fatal("the model ignores the age: the unit read as young scores the same")
	}

	var got []string
	sink := func(_ telemetry.Machine, r *scoring.Result, _ *Model) {
		got = append(got, strconv.FormatFloat(r.RUL, 'g', ScoreDigits, 64))
	}
	e, met := rulEngine(t, p, sink)
	topic := testTopics.Telemetry(machineID("engine-7"))
	send := func(at time.Time, r []float64, age []telemetry.Value) {
		s := telemetry.Sample{Time: at, Values: append([]telemetry.Value{{Sensor: "wear", V: r[0]}, {Sensor: "noise", V: r[1]}}, age...)}
		e.Ingest(topic, telemetry.EncodeTelemetry(nil, s))
	}
	for i, r := range rows {
		at := t0.Add(time.Duration(i) * time.Second) // the daemon's clock, not the cycle
		if i == 5 {
			send(at, r, nil)                                                 // no age field
			send(at, r, []telemetry.Value{{Sensor: "cycle", V: -3}})         // a negative age
			send(at, r, []telemetry.Value{{Sensor: "cycle", V: math.NaN()}}) // refused by the decoder, or bad_age
		}
		send(at, r, []telemetry.Value{{Sensor: "cycle", V: float64(first + i)}})
	}
	if strings.Join(got, " ") != strings.Join(fromCSV, " ") {
		t.Fatalf("daemon RULs %v, infer score %v", got, fromCSV)
	}
	if n := value(met.Drops.WithLabelValues(DropBadAge)); n < 2 {
		t.Fatalf("bad_age drops %v, want at least the missing and the negative age", n)
	}
}

// `infer score` with an age data column: a row whose age cell is empty or negative is
// dropped and counted (written with empty scores), the others are scored; a model
// whose age column is the CSV's time column refuses a time column of timestamps.
func TestScoreAgeColumnRefusals(t *testing.T) {
	m := artifacttest.RULAged(rulSensors, 5, 40, -10, 10, "hours")
	dir := t.TempDir()
	p := filepath.Join(dir, "aged.model")
	if err := m.Save(p); err != nil {
		t.Fatal(err)
	}
	csv := filepath.Join(dir, "unit.csv")
	writeCSV(t, csv, func(w func(string)) {
		w("cycle,wear,noise,hours")
		for i := range 14 {
			h := strconv.Itoa(100 + i)
			switch i {
			case 3:
				h = ""
			case 5:
				h = "-2"
			}
			w(fmt.Sprintf("%d,0.1,0.2,%s", i+1, h))
		}
	})
	var out bytes.Buffer
	st, err := Score(ScoreOptions{Model: p, CSV: dataset.Options{TimeColumn: "cycle"}}, csv, &out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")[1:]
	// A dropped row is a lost sample to the stream: the next rows fill the gap, and
	// windows with too many filled rows are not scored (the missing-data policy).
	if st.BadAge != 2 || len(lines) != 14 || !strings.HasPrefix(lines[3], "4,,,") || !strings.HasPrefix(lines[5], "6,,,") ||
		!strings.HasPrefix(lines[4], "5,30,") || !strings.HasPrefix(lines[13], "14,30,") || !strings.HasSuffix(lines[13], ",40,30,50") {
		t.Fatalf("bad age %d, scored %d:\n%s", st.BadAge, st.Scored, out.String())
	}
	// The age column is the time column, which holds timestamps here: refused.
	m.AgeColumn = "ts"
	if err := m.Save(p); err != nil {
		t.Fatal(err)
	}
	writeCSV(t, csv, func(w func(string)) {
		w("ts,wear,noise")
		w("2026-03-01T08:00:00Z,0.1,0.2")
	})
	if _, err := Score(ScoreOptions{Model: p, CSV: dataset.Options{TimeColumn: "ts"}}, csv, &out); err == nil || !strings.Contains(err.Error(), "holds timestamps") {
		t.Fatalf("timestamps as the age: %v", err)
	}
}

// A daemon restart keeps a rul machine's history (baselines.json): once the window has
// refilled, the restarted engine predicts what an engine that never stopped predicts,
// and an engine that lost the file does not.
func TestRULHistorySurvivesARestart(t *testing.T) {
	m := trainRUL(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "rul.model")
	m.Match = "*"
	if err := m.Save(p); err != nil {
		t.Fatal(err)
	}
	engine := func(rul map[time.Time]float64) *Engine {
		e, _ := rulEngine(t, p, func(_ telemetry.Machine, r *scoring.Result, _ *Model) { rul[r.Time] = r.RUL })
		return e
	}
	topic := testTopics.Telemetry(machineID("unit-7"))
	rng := rand.New(rand.NewPCG(9, 9))
	const life, stop = 90, 50
	samples := make([]telemetry.Sample, life)
	for c := range samples {
		wear := math.Exp(-float64(life-c)/25) + 0.02*rng.NormFloat64()
		samples[c] = telemetry.Sample{Time: t0.Add(time.Duration(c) * time.Second),
			Values: []telemetry.Value{{Sensor: "noise", V: rng.NormFloat64()}, {Sensor: "wear", V: wear}}}
	}
	feed := func(e *Engine, from, to int) {
		for _, s := range samples[from:to] {
			e.Ingest(topic, telemetry.EncodeTelemetry(nil, s))
		}
	}
	whole, restarted, lost := map[time.Time]float64{}, map[time.Time]float64{}, map[time.Time]float64{}
	feed(engine(whole), 0, life)
	first := engine(map[time.Time]float64{})
	feed(first, 0, stop)
	path := filepath.Join(dir, BaselinesFile)
	if err := saveBaselines(path, first); err != nil {
		t.Fatal(err)
	}
	second := engine(restarted)
	if n, err := loadBaselines(path, second, t0.Add(stop*time.Second)); err != nil || n != 1 {
		t.Fatalf("loaded %d states, %v; want the machine's history", n, err)
	}
	feed(second, stop, life)
	feed(engine(lost), stop, life)
	differs := 0
	for _, s := range samples[stop+m.Spec.Window-1:] {
		if restarted[s.Time] != whole[s.Time] {
			t.Fatalf("%v: restarted engine RUL %v, uninterrupted %v", s.Time, restarted[s.Time], whole[s.Time])
		}
		if lost[s.Time] != whole[s.Time] {
			differs++
		}
	}
	if differs == 0 {
		t.Fatal("without the saved history the RUL was the same: the test shows nothing")
	}
}
