package evalcmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline/faultline/internal/eval"
)

func noEnv(string) string { return "" }

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{nil, {"forecast"}, {"rul"}, {"rul", "--model", "a", "--train", "b", "--csv", "c", "--rul", "d"}, {"anomaly", "--model", "m"}, {"nab", "--profile", "strict"}, {"rul", "--bogus"}} {
		var out, errb bytes.Buffer
		err := Run(context.Background(), args, noEnv, &out, &errb)
		if !errors.Is(err, ErrUsage) {
			t.Errorf("%q: err = %v, want a usage error", args, err)
		}
	}
}

func TestWindowRows(t *testing.T) {
	// Rows every 5 minutes from 2014-01-01 00:00 UTC (1388534400).
	var ts []float64
	for i := 0; i < 10; i++ {
		ts = append(ts, 1388534400+float64(i)*300)
	}
	got, err := windowRows(ts, [][2]string{{"2014-01-01 00:10:00.000000", "2014-01-01 00:22:00.000000"}, {"2014-01-02 00:00:00.000000", "2014-01-03 00:00:00.000000"}})
	if err != nil {
		t.Fatal(err)
	}
	// 00:10 is row 2; 00:22 falls between rows 4 (00:20) and 5: the window ends at 4.
	// The second window lies after the data and is dropped.
	if len(got) != 1 || got[0] != (eval.Span{Start: 2, End: 4}) {
		t.Fatalf("windows %v", got)
	}
	if _, err := windowRows(ts, [][2]string{{"yesterday", "today"}}); err == nil {
		t.Fatal("bad window time accepted")
	}
}

// writeRUL writes a small C-MAPSS-shaped fleet: a wear sensor rising to failure, a
// noise sensor and a constant setting column.
func writeRUL(t *testing.T, dir string, units int, test bool, rng *rand.Rand) (string, []float64) {
	var b strings.Builder
	var truth []float64
	for u := 1; u <= units; u++ {
		life := 120 + rng.IntN(80)
		stop := life
		if test {
			stop = 40 + rng.IntN(life-60)
			truth = append(truth, float64(life-stop))
		}
		for c := 1; c <= stop; c++ {
			fmt.Fprintf(&b, "%d %d 0.0 %.4f %.4f \n", u, c, math.Exp(-float64(life-c)/30)+0.02*rng.NormFloat64(), rng.NormFloat64())
		}
	}
	name := "train.txt"
	if test {
		name = "test.txt"
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p, truth
}

func TestRULEndToEnd(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(4, 4))
	train, _ := writeRUL(t, dir, 30, false, rng)
	test, truth := writeRUL(t, dir, 20, true, rng)
	var rb strings.Builder
	for _, v := range truth {
		fmt.Fprintf(&rb, "%g\n", v)
	}
	rulPath := filepath.Join(dir, "rul.txt")
	if err := os.WriteFile(rulPath, []byte(rb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	// Not --cmapss: the header names columns; the settings column is constant here.
	hdr := "unit cycle set wear noise\n"
	for _, p := range []string{train, test} {
		b, _ := os.ReadFile(p)
		_ = os.WriteFile(p, append([]byte(hdr), b...), 0o644)
	}
	var so, se bytes.Buffer
	args := []string{"--train", train, "--csv", test, "--rul", rulPath, "--out", out, "--window", "10", "--ensemble", "1", "--epochs", "40"}
	err := runRULWith(args, &so, &se)
	if err != nil {
		t.Fatalf("%v\n%s", err, se.String())
	}
	var res RULResult
	b, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	// Predicting the mean gives about 35 here; the wear signal allows far better.
	if res.Last.N != 20 || !(res.Last.RMSE < 25) {
		t.Fatalf("last-cycle %+v\n%s", res.Last, so.String())
	}
	if _, err := os.Stat(filepath.Join(out, "rul_last_cycle.png")); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(so.String(), "last cycle") {
		t.Fatalf("table missing: %s", so.String())
	}
}

func runRULWith(args []string, so, se *bytes.Buffer) error {
	env := func(k string) string {
		if k == "FAULTLINE_DATASETS" {
			return ""
		}
		return ""
	}
	return Run(context.Background(), append([]string{"rul"}, args...), env, so, se)
}

func datasets(t *testing.T) string {
	t.Helper()
	d := os.Getenv("FAULTLINE_DATASETS")
	if d == "" {
		d = "/work/shared/datasets"
	}
	if _, err := os.Stat(filepath.Join(d, "nab", "combined_windows.json")); err != nil {
		t.Skipf("NAB data not found under %s (set FAULTLINE_DATASETS to the folder holding nab/): %v", d, err)
	}
	return d
}

// TestNABOneFile runs the whole nab family on NAB's smallest realKnownCause file
// (1,882 rows, a few seconds): the score is finite and the files are written.
func TestNABOneFile(t *testing.T) {
	if testing.Short() {
		t.Skip("dataset test; skipped in -short")
	}
	d := datasets(t)
	out := t.TempDir()
	var so, se bytes.Buffer
	err := Run(context.Background(), []string{"nab", "--data-dir", filepath.Join(d, "nab"), "--files", "realKnownCause/rogue_agent_key_hold.csv", "--out", out}, noEnv, &so, &se)
	if err != nil {
		t.Fatalf("%v\n%s", err, se.String())
	}
	var res NABResult
	b, _ := os.ReadFile(filepath.Join(out, "results.json"))
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 1 || res.Files[0].Windows != 2 || res.Null != -2 || res.Perfect != 2 || math.IsNaN(res.Score) {
		t.Fatalf("%+v", res)
	}
	if _, err := os.Stat(filepath.Join(out, "nab_rogue_agent_key_hold.png")); err != nil {
		t.Fatal(err)
	}
}
