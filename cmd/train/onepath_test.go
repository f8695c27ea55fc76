package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/eval/evalcmd"
)

// runToFailureCSV writes n run-to-failure units (a wear sensor rising towards failure
// and a noise sensor); with cut > 0 each unit stops cut cycles before failure (a
// test file) and the true RULs are returned.
func runToFailureCSV(t *testing.T, name string, n int, seed uint64, cut bool) (path string, rul []int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 5))
	var b strings.Builder
	b.WriteString("unit,cycle,wear,noise\n")
	for u := 1; u <= n; u++ {
		life := 60 + rng.IntN(50)
		stop := life
		if cut {
			stop = 5 + rng.IntN(life-5) // some units shorter than the window
			rul = append(rul, life-stop)
		}
		for c := 1; c <= stop; c++ {
			fmt.Fprintf(&b, "%d,%d,%.4f,%.4f\n", u, c, math.Exp(-float64(life-c)/25)+0.02*rng.NormFloat64(), rng.NormFloat64())
		}
	}
	return writeFile(t, name, b.String()), rul
}

func evalRUL(t *testing.T, args ...string) evalcmd.RULResult {
	t.Helper()
	out := filepath.Join(t.TempDir(), "eval")
	var so, se bytes.Buffer
	if err := evalcmd.Run(context.Background(), append(append([]string{"rul"}, args...), "--out", out), noEnv, &so, &se); err != nil {
		t.Fatalf("eval rul %v: %v\n%s", args, err, se.String())
	}
	b, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res evalcmd.RULResult
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

// One path (issue 17): a model trained by bin/train with a set of flags is the model
// bin/eval rul trains with the same flags, so `eval rul --model` on bin/train's file
// prints the figure `eval rul --train` does. Every rul training flag is given a
// non-default value.
func TestEvalRULTrainsLikeTrain(t *testing.T) {
	train, _ := runToFailureCSV(t, "train.csv", 12, 1, false)
	test, truth := runToFailureCSV(t, "test.csv", 8, 2, true)
	var lines []string
	for _, r := range truth {
		lines = append(lines, fmt.Sprint(r))
	}
	rulFile := writeFile(t, "rul.txt", strings.Join(lines, "\n")+"\n")
	flags := []string{"--window", "8", "--ensemble", "2", "--epochs", "12", "--patience", "5", "--seed", "3",
		"--lr", "0.003", "--l2", "0.0001", "--loss", "asym:2", "--hidden", "12,6", "--val-frac", "0.3",
		"--features", "mean,slope,last", "--age", "--refit-all", "--history", "0.1", "--member-windows", "12",
		"--rul-cap", "100", "--horizon", "20", "--regimes", "0"}
	model := filepath.Join(t.TempDir(), "m.model")
	if _, stderr, err := runArgs(t, append([]string{"--task", "rul", "--csv", train, "--asset-column", "unit",
		"--time-column", "cycle", "--name", "eval-rul", "--out", model}, flags...)...); err != nil {
		t.Fatalf("train: %v\n%s", err, stderr)
	}
	saved := filepath.Join(t.TempDir(), "eval.model")
	inEval := evalRUL(t, append([]string{"--train", train, "--csv", test, "--rul", rulFile, "--cap", "100", "--save-model", saved}, flags...)...)
	fromTrain := evalRUL(t, "--model", model, "--csv", test, "--rul", rulFile, "--cap", "100")

	t.Logf("eval --train %+v, bin/train %+v, unscored %d", inEval.Last, fromTrain.Last, inEval.Unscored)
	if inEval.Last.N != len(truth) || inEval.Unscored != 0 {
		t.Fatalf("eval scored %d of %d units (%d unscored)", inEval.Last.N, len(truth), inEval.Unscored)
	}
	if inEval.Last != fromTrain.Last || inEval.AllCycles != fromTrain.AllCycles {
		t.Fatalf("figures differ:\n eval --train %+v %+v\n bin/train    %+v %+v", inEval.Last, inEval.AllCycles, fromTrain.Last, fromTrain.AllCycles)
	}
	a, errA := artifact.Load(model)
	b, errB := artifact.Load(saved)
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	if len(a.Nets) != 2 || len(a.Members) != 1 || !a.AgeFeature || len(a.HistoryEWMA) != 1 || a.RULCap != 100 {
		t.Fatalf("bin/train ignored a flag: %d nets, %d members, age %v, history %v, cap %v", len(a.Nets), len(a.Members), a.AgeFeature, a.HistoryEWMA, a.RULCap)
	}
	for i := range a.Nets {
		if !bytes.Equal(a.Nets[i], b.Nets[i]) {
			t.Fatalf("network %d differs between bin/train and eval rul --train", i)
		}
	}
}

// Out-of-range training options are refused before any data is read (the CSV named
// here does not exist), each with its allowed range; bin/eval refuses them the same way.
func TestTrainOptionsRefusedBeforeData(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "absent.csv")
	bad := []string{"--val-frac", "0.95", "--lr", "-1", "--quantile", "2", "--combine", "sum", "--loss", "l1", "--margin", "-1"}
	want := []string{"--val-frac 0.95: use a held-out share above 0 and below 0.9", "--lr -1: use a learning rate above 0",
		"--quantile 2: use a quantile above 0 and below 1", `--combine "sum": use max or rms`, `--loss "l1"`, "--margin -1: use a factor above 0"}
	_, _, err := runArgs(t, append([]string{"--csv", missing, "--out", "m"}, bad...)...)
	if err == nil {
		t.Fatal("bad options accepted")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("bin/train: %q missing from %v", w, err)
		}
	}
	if strings.Contains(err.Error(), "absent.csv") {
		t.Errorf("the data was read before the options were checked: %v", err)
	}
	var so, se bytes.Buffer
	err = evalcmd.Run(context.Background(), []string{"rul", "--train", missing, "--csv", missing, "--rul", missing, "--val-frac", "0.95", "--lr", "-1", "--out", t.TempDir()}, noEnv, &so, &se)
	if err == nil || !strings.Contains(err.Error(), want[0]) || !strings.Contains(err.Error(), want[1]) || strings.Contains(err.Error(), "absent.csv") {
		t.Fatalf("bin/eval rul: %v", err)
	}
}
