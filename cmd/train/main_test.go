package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/report"
	"github.com/faultline/faultline/internal/trainer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func noEnv(string) string { return "" }

// runArgs runs the command as main would, capturing its output.
func runArgs(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	err = run(ctx, args, noEnv, &out, &errb)
	return out.String(), errb.String(), err
}

// machineRows makes n rows of a coupled machine: load drives current, current drives
// temperature with a lag; vib is noise. Rows are 10 s apart from t0.
func machineRows(n int, seed uint64) [][]float64 {
	rng := rand.New(rand.NewPCG(seed, 11))
	temp := 40.0
	rows := make([][]float64, n)
	for i := range rows {
		load := 0.5 + 0.3*math.Sin(float64(i)/80) + 0.05*rng.NormFloat64()
		cur := 10*load + 0.2*rng.NormFloat64()
		temp += 0.05 * (30 + 2*cur - temp)
		rows[i] = []float64{load, cur, temp + 0.2*rng.NormFloat64(), rng.NormFloat64()}
	}
	return rows
}

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// writeCSV writes a machine CSV with a timestamp column, a constant column and an
// empty column (both must be dropped and logged), and a label column to --ignore.
func writeCSV(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("time,load,current,temp,vib,const,empty,label\n")
	for i, r := range machineRows(n, 1) {
		fmt.Fprintf(&b, "%s,%.5f,%.5f,%.5f,%.5f,7,,ok\n", t0.Add(time.Duration(i)*10*time.Second).Format(time.RFC3339), r[0], r[1], r[2], r[3])
	}
	return writeFile(t, "m.csv", b.String())
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFlagErrors(t *testing.T) {
	csv := writeFile(t, "x.csv", "a,b\n1,2\n")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no source", []string{"--out", "m"}, "give --csv FILE"},
		{"unknown flag", []string{"--bogus"}, "flag provided but not defined"},
		{"stray argument", []string{"--csv", csv, "--out", "m", "extra"}, "unexpected argument"},
		{"bad task", []string{"--csv", csv, "--out", "m", "--task", "forecast"}, "--task \"forecast\": use anomaly or rul"},
		{"csv without out", []string{"--csv", csv}, "give --out MODEL"},
		{"csv with machine", []string{"--csv", csv, "--out", "m", "--machine", "p1"}, "add --source influx"},
		{"bad source", []string{"--source", "kafka", "--out", "m"}, "--source \"kafka\": use csv or influx"},
		{"influx without machine", []string{"--source", "influx", "--out", "m"}, "needs --machine ID"},
		{"influx with csv", []string{"--source", "influx", "--csv", csv, "--machine", "p", "--out", "m"}, "exclusive"},
		{"empty range", []string{"--source", "influx", "--machine", "p", "--out", "m", "--start", "2026-01-02T00:00:00Z", "--stop", "2026-01-01T00:00:00Z"}, "empty time range"},
		{"bad start", []string{"--source", "influx", "--machine", "p", "--out", "m", "--start", "yesterday"}, "--start: time \"yesterday\""},
		{"all without out-dir", []string{"--source", "influx", "--all"}, "--out-dir DIR"},
		{"all with out", []string{"--source", "influx", "--all", "--out-dir", "d", "--out", "m"}, "instead of --out"},
		{"all and machine", []string{"--source", "influx", "--all", "--machine", "p", "--out-dir", "d"}, "exclusive"},
		{"bad group-by", []string{"--source", "influx", "--all", "--out-dir", "d", "--group-by", "site"}, "--group-by \"site\""},
		{"zero workers", []string{"--source", "influx", "--all", "--out-dir", "d", "--workers", "0"}, "--workers 0"},
		{"bad hidden", []string{"--csv", csv, "--out", "m", "--hidden", "64,x"}, "--hidden \"64,x\""},
		{"bad sep", []string{"--csv", csv, "--out", "m", "--sep", "ab"}, "separator \"ab\""},
		{"bad date order", []string{"--csv", csv, "--out", "m", "--date-order", "ydm"}, "--date-order \"ydm\": use dmy (day first: 03/01/2024 is 3 January) or mdy (month first: March 1)"},
		{"window 1", []string{"--csv", csv, "--out", "m", "--window", "1"}, "--window 1"},
		{"negative epochs", []string{"--csv", csv, "--out", "m", "--epochs", "-3"}, "--epochs -3"},
		{"bad progress", []string{"--csv", csv, "--out", "m", "--progress", "bar"}, "--progress \"bar\""},
		{"bad log level", []string{"--csv", csv, "--out", "m", "--log-level", "loud"}, "--log-level"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, err := runArgs(t, tc.args...)
			if err == nil || !strings.Contains(err.Error()+stderr, tc.want) {
				t.Fatalf("err = %v (stderr %q), want it to mention %q", err, stderr, tc.want)
			}
		})
	}
}

func TestEnvFallback(t *testing.T) {
	// A malformed numeric env value is an error, not silently the default.
	env := func(k string) string {
		if k == "FAULTLINE_TRAIN_EPOCHS" {
			return "many"
		}
		return ""
	}
	err := run(context.Background(), []string{"--csv", "x.csv", "--out", "m"}, env, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "FAULTLINE_TRAIN_EPOCHS") {
		t.Fatalf("err = %v, want the bad env variable named", err)
	}
	// A bad date order from the environment is refused before the file is looked at.
	env = func(k string) string {
		if k == "FAULTLINE_TRAIN_DATE_ORDER" {
			return "ymd"
		}
		return ""
	}
	err = run(context.Background(), []string{"--csv", "/nonexistent.csv", "--out", "m"}, env, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), `--date-order "ymd": use dmy`) {
		t.Fatalf("err = %v, want the date order refused with the allowed values", err)
	}
}

// An export's text column (label = "ok" on every row) is left out with one log line
// naming it; the model trains on the numeric columns. Training stopped on it until
// the user listed it with --ignore.
func TestTextColumnLeftOut(t *testing.T) {
	out := filepath.Join(t.TempDir(), "m.model")
	_, stderr, err := runArgs(t, "--csv", writeCSV(t, 400), "--time-column", "time", "--out", out, "--epochs", "2")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, `"column":"label","reason":"text, not numbers (400 of 400 cells; first \"ok\" at line 2)"`) {
		t.Fatalf("no log line for the text column label:\n%s", stderr)
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatal(err)
	}
}

func TestBadCSV(t *testing.T) {
	good := writeCSV(t, 400)
	var short, constant, backwards strings.Builder
	short.WriteString("time,a,b\n")
	constant.WriteString("time,a,b\n")
	backwards.WriteString("time,a,b\n")
	for i := range 8 {
		fmt.Fprintf(&short, "%d,%d,%d\n", i, i, i*i)
	}
	for i := range 300 {
		fmt.Fprintf(&constant, "%d,5,\n", i)
		fmt.Fprintf(&backwards, "%d,%d,%d\n", (i*7)%300, i, i%13)
	}
	cases := []struct {
		name string
		file string
		args []string
		want string
	}{
		{"missing file", filepath.Join(t.TempDir(), "nope.csv"), nil, "no such file"},
		{"empty file", writeFile(t, "e.csv", ""), nil, "empty file"},
		{"header only", writeFile(t, "h.csv", "time,a,b\n"), nil, "no data rows"},
		{"too few rows", writeFile(t, "s.csv", short.String()), []string{"--time-column", "time"}, "need at least"},
		{"text only", writeFile(t, "n.csv", "time,a\n1,oops\n2,ok\n"), []string{"--time-column", "time"}, `no numeric sensor column: column "a" is text`},
		{"ragged row", writeFile(t, "r.csv", "time,a,b\n1,2,3\n2,4\n"), []string{"--time-column", "time"}, "has 2 fields"},
		{"unknown time column", good, []string{"--time-column", "ts"}, `unknown column(s) ["ts"]`},
		{"unknown ignore", good, []string{"--time-column", "time", "--ignore", "label,color"}, `["color"]`},
		{"unknown settings", good, []string{"--time-column", "time", "--ignore", "label", "--settings", "mode"}, `--settings: unknown column(s) ["mode"]`},
		{"unknown context", good, []string{"--time-column", "time", "--ignore", "label", "--context", "speed"}, `--context: unknown column(s) ["speed"]`},
		{"constant and empty", writeFile(t, "c.csv", constant.String()), []string{"--time-column", "time"}, "no usable sensor column"},
		{"time goes backwards", writeFile(t, "b.csv", backwards.String()), []string{"--time-column", "time"}, "go back in time"},
		{"rul with one asset", good, []string{"--time-column", "time", "--ignore", "label", "--task", "rul"}, "give --asset-column"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "m.model")
			args := append([]string{"--csv", tc.file, "--out", out, "--epochs", "2"}, tc.args...)
			_, stderr, err := runArgs(t, args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q\nstderr: %s", err, tc.want, stderr)
			}
			if _, statErr := os.Stat(out); statErr == nil {
				t.Fatal("a model file was written despite the error")
			}
		})
	}
}

func TestTrainCSV(t *testing.T) {
	dir := t.TempDir()
	out, rep := filepath.Join(dir, "models", "m.model"), filepath.Join(dir, "report")
	stdout, stderr, err := runArgs(t, "--csv", writeCSV(t, 1200), "--time-column", "time", "--ignore", "label",
		"--context", "load", "--epochs", "15", "--seed", "3", "--out", out, "--report", rep, "--name", "pump-model", "--detector", "both")
	if err != nil {
		t.Fatalf("train: %v\n%s", err, stderr)
	}
	m, err := artifact.Load(out)
	if err != nil {
		t.Fatalf("load the written model: %v", err)
	}
	if m.Name != "pump-model" || m.Task != artifact.TaskAnomaly || fmt.Sprint(m.Targets) != "[current temp vib]" || m.Alert.Warn <= 0 {
		t.Fatalf("model %s task %s targets %v warn %v", m.Name, m.Task, m.Targets, m.Alert.Warn)
	}
	for _, col := range []string{`"column":"const"`, `"column":"empty"`} {
		if !strings.Contains(stderr, col) {
			t.Errorf("dropped column %s not logged; stderr:\n%s", col, stderr)
		}
	}
	if !strings.Contains(stderr, `"message":"training"`) || !strings.Contains(stderr, `"message":"network trained"`) {
		t.Errorf("no structured progress lines on a non-terminal stderr:\n%s", stderr)
	}
	for _, line := range strings.Split(stderr, "\n") {
		if strings.Count(line, `"job":`) > 1 {
			t.Errorf("a log line repeats the job key: %s", line)
		}
	}
	if !strings.Contains(stdout, out) || !strings.Contains(stdout, "val_score_p99=") {
		t.Errorf("stdout %q: want the model path and metrics", stdout)
	}
	checkReport(t, rep, out, 3)
}

// checkReport asserts metrics.json names the model and every plot is a readable,
// non-trivial PNG.
func checkReport(t *testing.T, dir, modelPath string, nets int) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, report.MetricsJSON))
	if err != nil {
		t.Fatal(err)
	}
	var m report.Metrics
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("metrics.json: %v", err)
	}
	if m.Model.Path != modelPath || len(m.Networks) != nets || len(m.Plots) != 4 || m.Report == nil || len(m.Report.Metrics) == 0 {
		t.Fatalf("metrics.json: path %q networks %d plots %v metrics %v", m.Model.Path, len(m.Networks), m.Plots, m.Report)
	}
	for _, name := range []string{report.LossPNG, report.ResidualsPNG, report.PredictedPNG, report.ScorePNG} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(f)
		st, _ := f.Stat()
		f.Close()
		if err != nil || cfg.Width < 400 || st.Size() < 5000 {
			t.Fatalf("%s: %v, %dx%d, %d bytes", name, err, cfg.Width, cfg.Height, st.Size())
		}
	}
}

func TestTrainRULCSV(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	var b strings.Builder
	b.WriteString("unit;cycle;wear;noise\n")
	for u := 1; u <= 12; u++ {
		life := 80 + rng.IntN(40)
		for c := 1; c <= life; c++ {
			fmt.Fprintf(&b, "%d;%d;%.4f;%.4f\n", u, c, math.Exp(-float64(life-c)/25)+0.02*rng.NormFloat64(), rng.NormFloat64())
		}
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "rul.model")
	_, stderr, err := runArgs(t, "--task", "rul", "--csv", writeFile(t, "rul.csv", b.String()), "--asset-column", "unit",
		"--time-column", "cycle", "--window", "8", "--ensemble", "2", "--epochs", "10", "--out", out, "--report", filepath.Join(dir, "r"))
	if err != nil {
		t.Fatalf("train: %v\n%s", err, stderr)
	}
	if m, err := artifact.Load(out); err != nil || m.Task != artifact.TaskRUL || len(m.Nets) != 2 {
		t.Fatalf("model: %v", err)
	}
	// The report's networks are the early-stopped ones, with their loss curves: with
	// the refit (the rul default) one network (trainer.RefitProbe); the model holds the
	// refit ensemble of 2.
	checkReport(t, filepath.Join(dir, "r"), out, trainer.RefitProbe)
}

// datasets is FAULTLINE_DATASETS or ../shared/datasets relative to the repo root.
func datasets(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("FAULTLINE_DATASETS"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "..", "shared", "datasets")
}

func TestTrainCMAPSSFile(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on the full C-MAPSS FD001 file; skipped in -short mode")
	}
	path := filepath.Join(datasets(t), "cmapss", "train_FD001.txt")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("C-MAPSS dataset absent (%v): set FAULTLINE_DATASETS to the directory holding cmapss/train_FD001.txt", err)
	}
	out := filepath.Join(t.TempDir(), "fd001.model")
	// Two epochs of one network: this checks the header-less file trains directly,
	// not the model's quality (the README's full run measures that).
	_, stderr, err := runArgs(t, "--task", "rul", "--cmapss", "--csv", path, "--ensemble", "1", "--epochs", "2", "--out", out)
	if err != nil {
		t.Fatalf("train: %v\n%s", err, stderr)
	}
	m, err := artifact.Load(out)
	if err != nil || fmt.Sprint(m.Settings) != "[op_setting_1 op_setting_2 op_setting_3]" {
		t.Fatalf("model: %v settings %v", err, m.Settings)
	}
	if !strings.Contains(stderr, `"column":"sensor_1"`) {
		t.Errorf("FD001's constant sensor_1 was not logged as dropped")
	}
}
