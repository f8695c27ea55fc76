package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/artifact/artifacttest"
)

// infer score --maintenance, the command a user runs: a pump whose bearing runs hot from
// 08:00:20 to 08:00:45, repaired (the log says) at 08:00:35 while the alert is open.
// The alert column goes 0 on the row of the work, the next rows fill a new window, and
// the fault that outlived the work raises a second alert; the summary counts the
// reset. The log comes by flag or by its env variable; a log that cannot be read is
// refused before anything is written.
func TestScoreMaintenanceCommand(t *testing.T) {
	dir := t.TempDir()
	cols := []string{"bearing_temp", "vib_rms"}
	a := artifacttest.Anomaly(cols, 5) // the score is the sensors' window means' RMS
	model := filepath.Join(dir, "pump.model")
	if err := a.Save(model); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	var b strings.Builder
	b.WriteString("timestamp,bearing_temp,vib_rms\n")
	for sec := range 70 {
		hot := 0.05
		if sec >= 20 && sec < 45 {
			hot = 5
		}
		fmt.Fprintf(&b, "%s,%g,0.05\n", start.Add(time.Duration(sec)*time.Second).Format(time.RFC3339), hot)
	}
	csv := filepath.Join(dir, "pump.csv")
	log := filepath.Join(dir, "cmms.csv")
	for path, text := range map[string]string{csv: b.String(), log: "work_order,done_at,action\nWO-17,2026-03-01 08:00:35,bearing replaced\n"} {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	noEnv := func(string) string { return "" }
	viaEnv := func(k string) string { return map[string]string{"FAULTLINE_INFER_MAINTENANCE_LOG": log}[k] }
	for _, c := range []struct {
		name   string
		args   []string
		getenv func(string) string
	}{
		{"flag", []string{"--maintenance", log}, noEnv},
		{"env", nil, viaEnv},
	} {
		var out, errb bytes.Buffer
		if err := run(context.Background(), append([]string{"score", "--model", model, "--csv", csv}, c.args...), c.getenv, &out, &errb); err != nil {
			t.Fatalf("%s: %v\n%s", c.name, err, errb.String())
		}
		if want := "scored 70 rows (62 windows, 1 assets): 2 alerts raised, 2 cleared, 0 out-of-order rows skipped, maintenance log: 1 entries (time column \"done_at\"), 1 resets (1 open alerts cleared)\n"; errb.String() != want {
			t.Fatalf("%s: stderr %q, want %q", c.name, errb.String(), want)
		}
		lines := strings.Split(out.String(), "\n")
		// Line 1+sec is second sec: the alert is open at 34, the work's row and the
		// three after it fill a new window (62 windows scored, 66 without the log), the
		// fault raises again.
		if !strings.HasPrefix(lines[1+34], "2026-03-01T08:00:34Z,") || strings.Split(lines[1+34], ",")[3] != "1" {
			t.Fatalf("%s: row 34 %q, want the open alert", c.name, lines[1+34])
		}
		for sec := 35; sec < 39; sec++ {
			if want := fmt.Sprintf("2026-03-01T08:00:%02dZ,,,0,,,", sec); lines[1+sec] != want {
				t.Fatalf("%s: row %d %q, want %q", c.name, sec, lines[1+sec], want)
			}
		}
		if f := strings.Split(lines[1+39], ","); f[1] == "" {
			t.Fatalf("%s: row 39 %q, want the new window's first score", c.name, lines[1+39])
		}
	}
	// Without the log: one alert from the fault's start to its end.
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"score", "--model", model, "--csv", csv}, noEnv, &out, &errb); err != nil || !strings.Contains(errb.String(), "(66 windows, 1 assets): 1 alerts raised, 1 cleared, 0 out-of-order rows skipped\n") {
		t.Fatalf("without the log: %v, stderr %q", err, errb.String())
	}
	// A missing log: refused by name, no output file.
	scores := filepath.Join(dir, "scores.csv")
	err := run(context.Background(), []string{"score", "--model", model, "--csv", csv, "--out", scores, "--maintenance", filepath.Join(dir, "nope.csv")}, noEnv, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "maintenance log: open "+filepath.Join(dir, "nope.csv")) {
		t.Fatalf("missing log: %v", err)
	}
	if _, serr := os.Stat(scores); !os.IsNotExist(serr) {
		t.Fatalf("scores written despite the refused log: %v", serr)
	}
}
