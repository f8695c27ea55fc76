package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/faultline/faultline/internal/artifact/artifacttest"
	"github.com/faultline/faultline/internal/model"
)

var sensors = []string{"bearing_temp", "vib_rms", "flow", "pressure", "current", "speed", "oil_temp", "noise"}

// testModel has a randomly initialised network (not artifacttest's zero one), so the
// arithmetic of the whole path shows in the scores.
func testModel(t *testing.T, dir string) string {
	t.Helper()
	a := artifacttest.Anomaly(sensors, 10)
	net, err := model.New[float32](a.Spec.NumFeatures(), []model.Layer{{Size: 16, Act: model.ReLU}, {Size: len(sensors), Act: model.Linear}}, 7)
	if err != nil {
		t.Fatal(err)
	}
	if a.Nets[0], err = net.MarshalBinary(); err != nil {
		t.Fatal(err)
	}
	for i := range a.TargetScale {
		a.TargetScale[i] = 0.1
	}
	p := filepath.Join(dir, "m.model")
	if err := a.Save(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func testCSV(t *testing.T, dir string, rows int) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	var b strings.Builder
	b.WriteString("unit,cycle," + strings.Join(sensors, ",") + "\n")
	for i := 0; i < rows; i++ {
		fmt.Fprintf(&b, "%d,%d", 1+i/(rows/2), i%(rows/2)+1)
		for k := range sensors {
			v := rng.NormFloat64() * 0.3
			if k == 0 && i%(rows/2) > rows/4 {
				v += 3 * math.Sin(float64(i)/40)
			}
			fmt.Fprintf(&b, ",%.6f", v)
		}
		b.WriteByte('\n')
	}
	p := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestScoreCommand(t *testing.T) {
	dir := t.TempDir()
	m, csv := testModel(t, dir), testCSV(t, dir, 400)
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"score", "--model", m, "--csv", csv, "--time-column", "cycle", "--asset-column", "unit"}, func(string) string { return "" }, &out, &errb)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 401 || lines[0] != "ts,asset,score,threshold,alert,cause,fault,baseline" || !strings.Contains(errb.String(), "scored 400 rows") {
		t.Fatalf("%d lines, head %q, stderr %q", len(lines), lines[0], errb.String())
	}
}

func TestRunErrors(t *testing.T) {
	env := func(string) string { return "" }
	for args, want := range map[string]string{
		"bogus":                          "unknown command",
		"score --model x.model":          "needs --model FILE and --csv FILE",
		"run --max-machines 0":           "no model",
		"run --model /nonexistent.model": "nonexistent",
		"run --model m --route pump-*=":  "no model file",
	} {
		var out, errb bytes.Buffer
		err := run(context.Background(), strings.Fields(args), env, &out, &errb)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want it to mention %q", args, err, want)
		}
	}
}

// TestScoreOutKeptOnFailure (issue 16.15): a failing `infer score --out FILE` leaves
// FILE as it was, also when FILE is the input itself. Before, FILE was emptied first.
func TestScoreOutKeptOnFailure(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "scores.csv")
	if err := os.WriteFile(out, []byte("ts,score\nprecious\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := func(string) string { return "" }
	for _, args := range [][]string{
		{"score", "--model", filepath.Join(dir, "missing.model"), "--csv", out, "--out", out},
		{"score", "--model", filepath.Join(dir, "missing.model"), "--csv", filepath.Join(dir, "missing.csv"), "--out", out},
	} {
		var o, e bytes.Buffer
		if err := run(context.Background(), args, env, &o, &e); err == nil {
			t.Fatalf("%v succeeded", args)
		}
		if b, _ := os.ReadFile(out); string(b) != "ts,score\nprecious\n" {
			t.Fatalf("%v: --out file changed by a failed run: %q", args, b)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".scores.csv.*")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

// TestRefusedStartLeavesNothing (issue 16.16): a daemon refused at start (a missing
// model) creates no queue directory. Before, the queue opened first, and a test run from
// cmd/infer left the committed artifact cmd/infer/infer-queue/alerts.q.
func TestRefusedStartLeavesNothing(t *testing.T) {
	q := filepath.Join(t.TempDir(), "queue")
	var o, e bytes.Buffer
	err := run(context.Background(), []string{"run", "--model", "/nonexistent.model", "--queue-dir", q}, func(string) string { return "" }, &o, &e)
	if err == nil {
		t.Fatal("started with a missing model")
	}
	if _, serr := os.Stat(q); !os.IsNotExist(serr) {
		t.Fatalf("refused start created %s (%v)", q, serr)
	}
}

// TestRunFlagsBounded (issue 16.13): every numeric flag of `infer run` out of its range is
// refused before anything connects or loads, with the range. Before, for example,
// --queue-max-bytes 1 was accepted (no alert fits: every queued alert is refused).
func TestRunFlagsBounded(t *testing.T) {
	env := func(string) string { return "" }
	for args, want := range map[string]string{
		"run --model m --queue-max-bytes 1":           "--queue-max-bytes 1: use 65536..17179869184",
		"run --model m --queue-max-bytes -1":          "--queue-max-bytes -1: use 65536..",
		"run --model m --queue-max-bytes 99999999999": "--queue-max-bytes 99999999999: use 65536..",
		"run --model m --max-machines 0":              "--max-machines 0: use 1..1000000",
		"run --model m --max-machines 2000000000":     "--max-machines 2000000000: use 1..1000000",
		"run --model m --qos 2":                       "--qos 2: use 0 or 1",
		"run --model m --shutdown-timeout 0s":         "--shutdown-timeout 0s: use 1ms..1h0m0s",
		"run --model m --publish-timeout 2h":          "--publish-timeout 2h0m0s: use 1ms..10m0s",
		"run --model m --reload-interval -1s":         "--reload-interval -1s: use 0s..24h0m0s (0 disables polling)",
		"run --model m --tag-template site/line":      "needs a machine level",
		"run --model m --tag-template p/machine/data": "needs a site level",
	} {
		var out, errb bytes.Buffer
		err := run(context.Background(), strings.Fields(args), env, &out, &errb)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want it to mention %q", args, err, want)
		}
	}
}

// --tag-template has the env fallback of every run flag, and is checked before
// anything loads or connects.
func TestRunTagTemplateEnv(t *testing.T) {
	env := func(k string) string {
		if k == "FAULTLINE_INFER_TAG_TEMPLATE" {
			return "plant/+/machine/data"
		}
		return ""
	}
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"run", "--model", "m"}, env, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), `--tag-template "plant/+/machine/data": needs a site level`) {
		t.Fatalf("err %v, want the env template refused for its missing site level", err)
	}
}

// TestArm64ScoreMatchesAmd64 cross-builds the edge binary for arm64, runs `score` under
// qemu-user and compares its output byte for byte with the amd64 build's.
func TestArm64ScoreMatchesAmd64(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-builds two binaries; skipped in -short mode")
	}
	if runtime.GOARCH != "amd64" {
		t.Skip("compares against an amd64 build; run on an amd64 host")
	}
	qemu, err := exec.LookPath("qemu-aarch64-static")
	if err != nil {
		t.Skip("qemu-aarch64-static not found: apt-get install qemu-user-static to run the arm64 comparison")
	}
	dir := t.TempDir()
	m, csv := testModel(t, dir), testCSV(t, dir, 2000)
	outs := map[string][]byte{}
	for _, arch := range []string{"amd64", "arm64"} {
		bin := filepath.Join(dir, "infer-"+arch)
		build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, ".")
		build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
		if b, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", arch, err, b)
		}
		args := []string{"score", "--model", m, "--csv", csv, "--time-column", "cycle", "--asset-column", "unit"}
		cmd := exec.Command(bin, args...)
		if arch == "arm64" {
			cmd = exec.Command(qemu, append([]string{bin}, args...)...)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s score: %v\n%s", arch, err, stderr.String())
		}
		outs[arch] = out
	}
	if !bytes.Equal(outs["amd64"], outs["arm64"]) {
		// internal/model's predict kernels convert each product explicitly so that
		// arm64 cannot fuse multiply-adds; any difference is a regression.
		n := compareLoose(t, outs["amd64"], outs["arm64"])
		t.Fatalf("arm64 score output is not byte-identical to amd64: %d score cells differ", n)
	}
	if n := bytes.Count(outs["amd64"], []byte("\n")); n != 2001 {
		t.Fatalf("%d lines", n)
	}
}

// compareLoose fails unless the outputs have the same lines and every non-score cell is
// identical, with scores within 1e-5 relative; it returns how many cells differ.
func compareLoose(t *testing.T, a, b []byte) int {
	t.Helper()
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	if len(la) != len(lb) {
		t.Fatalf("outputs have %d and %d lines", len(la), len(lb))
	}
	n := 0
	for i := range la {
		fa, fb := strings.Split(la[i], ","), strings.Split(lb[i], ",")
		if len(fa) != len(fb) {
			t.Fatalf("line %d: %q vs %q", i+1, la[i], lb[i])
		}
		for k := range fa {
			if fa[k] == fb[k] {
				continue
			}
			va, ea := strconv.ParseFloat(fa[k], 64)
			vb, eb := strconv.ParseFloat(fb[k], 64)
			if k != 2 || ea != nil || eb != nil || math.Abs(va-vb) > 1e-5*math.Max(1, math.Abs(va)) {
				t.Fatalf("line %d column %d: amd64 %q, arm64 %q", i+1, k+1, la[i], lb[i])
			}
			n++
		}
	}
	return n
}

// Without --time-column, score finds the time column as train does (ts, time,
// timestamp, datetime, date_time), and numbers the rows when there is none, so a model
// trained on a file without flags scores it on the same clock.
func TestScoreDetectsTimeColumn(t *testing.T) {
	dir := t.TempDir()
	m, csv := testModel(t, dir), testCSV(t, dir, 50)
	b, err := os.ReadFile(csv)
	if err != nil {
		t.Fatal(err)
	}
	timed := filepath.Join(dir, "timed.csv")
	if err := os.WriteFile(timed, []byte(strings.Replace(string(b), "unit,cycle,", "unit,time,", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	first := func(path, ignore string) string {
		var out, errb bytes.Buffer
		if err := run(context.Background(), []string{"score", "--model", m, "--csv", path, "--ignore", ignore}, func(string) string { return "" }, &out, &errb); err != nil {
			t.Fatalf("%s: %v\n%s", path, err, errb.String())
		}
		lines := strings.Split(out.String(), "\n")
		return strings.Split(lines[2], ",")[0] // the second data row's ts
	}
	if ts := first(csv, "unit,cycle"); ts != "1" {
		t.Errorf("no time column: second row's ts %q, want row number 1", ts)
	}
	rows := strings.Split(string(b), "\n")
	want := strings.Split(rows[2], ",")[1] // the cycle value of the second data row
	if ts := first(timed, "unit"); ts != want {
		t.Errorf("a column named time: second row's ts %q, want %q", ts, want)
	}
}

// A plant export as bin/train reads it: the machine column names the streams without
// --asset-column, a status column of words is left out with a note, and a few words in
// a numeric column ("Bad") are read as missing with a note.
func TestScoreExportWithMachineAndTextColumns(t *testing.T) {
	dir := t.TempDir()
	m := testModel(t, dir)
	var b strings.Builder
	b.WriteString("ts,machine,status," + strings.Join(sensors, ",") + "\n")
	for _, id := range []string{"pump-1", "pump-2"} {
		for i := range 30 {
			fmt.Fprintf(&b, "2026-03-01T00:00:%02dZ,%s,running", i, id)
			for k := range sensors {
				if k == 1 && i == 7 {
					b.WriteString(",Bad")
					continue
				}
				fmt.Fprintf(&b, ",%.3f", 0.01*float64(k+i))
			}
			b.WriteByte('\n')
		}
	}
	csv := filepath.Join(dir, "export.csv")
	if err := os.WriteFile(csv, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"score", "--model", m, "--csv", csv}, func(string) string { return "" }, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if !strings.HasPrefix(lines[0], "ts,asset,") || len(lines) != 61 || !strings.Contains(lines[31], ",pump-2,") {
		t.Fatalf("output header %q, %d lines, line 31 %q: want an asset column with pump-1 and pump-2", lines[0], len(lines), lines[31])
	}
	for _, want := range []string{`column "status" left out: text, not numbers (60 of 60 cells`, `column "vib_rms": 2 text cell(s) read as missing (first "Bad" at line 9)`, "(42 windows, 2 assets)"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr %q, want %q", errb.String(), want)
		}
	}
}

// --pprof-addr (flag > env > off), as ingest's: the daemon serves /debug/pprof/ on its
// own listener only when asked.
func TestRunPprofAddr(t *testing.T) {
	env := map[string]string{"FAULTLINE_INFER_PPROF_ADDR": "127.0.0.1:6061"}
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--model", "m"}, nil, ""},
		{[]string{"--model", "m"}, env, "127.0.0.1:6061"},
		{[]string{"--model", "m", "--pprof-addr", "127.0.0.1:7000"}, env, "127.0.0.1:7000"},
	} {
		o, err := parseRunFlags(tc.args, func(k string) string { return tc.env[k] }, &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		if o.pprofAddr != tc.want {
			t.Errorf("%v with env %v: pprof %q, want %q", tc.args, tc.env, o.pprofAddr, tc.want)
		}
	}
}
