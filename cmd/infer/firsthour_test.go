package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline/faultline/internal/artifact/artifacttest"
	"github.com/faultline/faultline/internal/model"
)

// TestNoArgumentsListsCommands: a bare `infer` used to say only "no model"; it lists
// run, score and watch now.
func TestNoArgumentsListsCommands(t *testing.T) {
	for _, args := range [][]string{nil, {"bogus"}} {
		err := run(context.Background(), args, func(string) string { return "" }, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil {
			t.Fatalf("%v: no error", args)
		}
		for _, want := range []string{"infer run", "infer score", "infer watch"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%v: %q does not list %q", args, err, want)
			}
		}
	}
}

// TestRouteEnvFallback: docs/infer.md says every run flag has an env fallback; --route
// had none. The route's model file is missing, so the daemon stops at loading it
// (before any connection), naming the file it took from the environment.
func TestRouteEnvFallback(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "from-env.model")
	env := map[string]string{"FAULTLINE_INFER_ROUTES": "pump-*=" + missing + ", motor-*=" + missing}
	err := run(context.Background(), []string{"run", "--http-addr", ""}, func(k string) string { return env[k] }, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "from-env.model") {
		t.Fatalf("err %v, want the route's model from FAULTLINE_INFER_ROUTES to be loaded", err)
	}
	env["FAULTLINE_INFER_ROUTES"] = "pump-*="
	err = run(context.Background(), []string{"run", "--http-addr", ""}, func(k string) string { return env[k] }, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "FAULTLINE_INFER_ROUTES") {
		t.Fatalf("a malformed env route: err %v, want it to name FAULTLINE_INFER_ROUTES", err)
	}
}

// TestScoreRawCMAPSS: `infer score` on a raw C-MAPSS file said `header names column
// "1" twice`; it says what the file is and that --cmapss reads it, and --cmapss does.
func TestScoreRawCMAPSS(t *testing.T) {
	dir := t.TempDir()
	a := artifacttest.Anomaly([]string{"sensor_2", "sensor_3", "sensor_4"}, 5)
	net, err := model.New[float32](a.Spec.NumFeatures(), []model.Layer{{Size: 4, Act: model.ReLU}, {Size: 3, Act: model.Linear}}, 7)
	if err != nil {
		t.Fatal(err)
	}
	if a.Nets[0], err = net.MarshalBinary(); err != nil {
		t.Fatal(err)
	}
	m := filepath.Join(dir, "m.model")
	if err := a.Save(m); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for unit := 1; unit <= 2; unit++ {
		for cycle := 1; cycle <= 30; cycle++ {
			fmt.Fprintf(&b, "%d %d -0.0007 -0.0004 100.0", unit, cycle)
			for s := 1; s <= 21; s++ {
				fmt.Fprintf(&b, " %.2f", float64(100*s)+float64(cycle%7)/10)
			}
			b.WriteString(" \n") // C-MAPSS lines end with a space
		}
	}
	csv := filepath.Join(dir, "train_FD001.txt")
	if err := os.WriteFile(csv, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	env := func(string) string { return "" }
	err = run(context.Background(), []string{"score", "--model", m, "--csv", csv}, env, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "C-MAPSS") || !strings.Contains(err.Error(), "--cmapss") {
		t.Fatalf("err %v, want it to say the file is C-MAPSS and name --cmapss", err)
	}
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"score", "--model", m, "--csv", csv, "--cmapss"}, env, &out, &errb); err != nil {
		t.Fatalf("with --cmapss: %v", err)
	}
	if !strings.Contains(errb.String(), "scored 60 rows") || !strings.HasPrefix(out.String(), "ts,asset,") {
		t.Fatalf("stderr %q, output head %.40q", errb.String(), out.String())
	}
}
