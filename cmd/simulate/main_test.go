package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline/faultline/simulators"
)

func noEnv(string) string { return "" }

func runArgs(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stderr bytes.Buffer
	err := run(context.Background(), args, noEnv, &bytes.Buffer{}, &stderr)
	return stderr.String(), err
}

func TestBadArguments(t *testing.T) {
	dir := t.TempDir()
	nonNumeric := filepath.Join(dir, "bad.csv")
	os.WriteFile(nonNumeric, []byte("timestamp,value,state\n2024-01-01 00:00:00,1.5,running\n"), 0o644)
	onlyText := filepath.Join(dir, "text.csv")
	os.WriteFile(onlyText, []byte("timestamp,state\n2024-01-01 00:00:00,running\n"), 0o644)
	badTime := filepath.Join(dir, "badtime.csv")
	os.WriteFile(badTime, []byte("timestamp,value\nyesterday,1.5\n"), 0o644)
	common := []string{"--http-addr", "", "--no-mqtt", "--csv-out", dir}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown type", append([]string{"--types", "pump,fan"}, common...), `unknown machine type "fan"`},
		{"negative rate", append([]string{"--rate", "-2"}, common...), "rate = -2"},
		{"negative speed", append([]string{"--speed", "-1"}, common...), "--speed -1"},
		{"bad schedule kind", append([]string{"--schedule", "pump-0001=rust@1h"}, common...), `unknown fault kind "rust"`},
		{"bad schedule offset", append([]string{"--schedule", "pump-0001=bearing_wear@later"}, common...), `offset "later"`},
		{"schedule unknown machine", append([]string{"--schedule", "pump-0099=bearing_wear@1h"}, common...), `no machine "pump-0099"`},
		{"bad start", append([]string{"--start", "yesterday"}, common...), `--start "yesterday"`},
		{"bad qos", append([]string{"--qos", "2"}, common...), "--qos 2"},
		{"no output", []string{"--no-mqtt", "--http-addr", ""}, "would produce nothing"},
		{"unknown flag", []string{"--machnes", "3"}, "flag provided but not defined"},
		{"replay without csv", []string{"replay", "--http-addr", ""}, "--csv FILE is required"},
		{"replay unreadable csv", []string{"replay", "--http-addr", "", "--csv", filepath.Join(dir, "missing.csv")}, "no such file"},
		{"replay text only", []string{"replay", "--http-addr", "", "--csv", onlyText}, `no numeric sensor column: column "state" is text`},
		{"replay bad time", []string{"replay", "--http-addr", "", "--csv", badTime}, `"yesterday" is neither a number nor a timestamp`},
		{"replay missing time column", []string{"replay", "--http-addr", "", "--csv", nonNumeric, "--time-column", "when"}, `unknown column(s) ["when"]`},
		{"replay bad sep", []string{"replay", "--http-addr", "", "--csv", nonNumeric, "--sep", "ab"}, "--sep"},
		{"replay bad date order", []string{"replay", "--http-addr", "", "--csv", filepath.Join(dir, "missing.csv"), "--date-order", "ydm"}, `--date-order "ydm": use dmy (day first: 03/01/2024 is 3 January) or mdy`},
		{"replay bad machine", []string{"replay", "--http-addr", "", "--csv", nonNumeric, "--machine", "a/b"}, "--machine"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stderr, err := runArgs(t, tc.args...)
			if err == nil {
				t.Fatalf("run accepted %v", tc.args)
			}
			if !strings.Contains(err.Error()+stderr, tc.want) {
				t.Errorf("error %q (stderr %q), want it to mention %q", err, stderr, tc.want)
			}
		})
	}
}

// TestCSVOutputDeterministic runs the command twice without a broker and compares the
// files byte for byte.
func TestCSVOutputDeterministic(t *testing.T) {
	outputs := make([][]byte, 2)
	for i := range outputs {
		dir := t.TempDir()
		_, err := runArgs(t, "--machines", "4", "--speed", "0", "--duration", "30m", "--seed", "9", "--start", "2026-02-01T00:00:00Z",
			"--no-mqtt", "--http-addr", "", "--csv-out", dir, "--truth-out", filepath.Join(dir, "truth.jsonl"),
			"--schedule", "pump-0002=bearing_wear@5m+10m", "--log-format", "json")
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"pump-0001.csv", "motor-0001.csv", "compressor-0001.csv", "pump-0002.csv", "truth.jsonl"} {
			b, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			outputs[i] = append(outputs[i], b...)
		}
		truth, _ := os.ReadFile(filepath.Join(dir, "truth.jsonl"))
		if !bytes.Contains(truth, []byte(`"event":"failure"`)) || !bytes.Contains(truth, []byte(`"ts":"2026-02-01T00:15:00Z"`)) {
			t.Errorf("truth lacks the scheduled failure at 00:15")
		}
		pump, _ := os.ReadFile(filepath.Join(dir, "pump-0002.csv"))
		if rows := bytes.Count(pump, []byte("\n")) - 1; rows != 15*60 {
			t.Errorf("pump-0002 has %d rows, want 900 (15 min at 1 Hz, then failed)", rows)
		}
	}
	if !bytes.Equal(outputs[0], outputs[1]) {
		t.Error("same flags and seed gave different bytes")
	}
}

// TestTruthOutCreatesItsDirectory: docs/simulator.md's first example writes
// data/sim/truth.jsonl in a fresh checkout; --csv-out created its directory, --truth-out
// failed with "no such file or directory".
func TestTruthOutCreatesItsDirectory(t *testing.T) {
	dir := t.TempDir()
	truth := filepath.Join(dir, "data", "sim", "truth.jsonl")
	_, err := runArgs(t, "--machines", "1", "--speed", "0", "--duration", "2m", "--seed", "1",
		"--no-mqtt", "--http-addr", "", "--truth-out", truth, "--log-format", "json")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(truth)
	if err != nil || !bytes.Contains(b, []byte(`"machine":"pump-0001"`)) {
		t.Fatalf("truth file: %v, %d bytes", err, len(b))
	}
}

// TestReplayLeavesTextColumnsOut: a status column of words is left out with a note
// for the log (it used to stop the replay until the user gave --ignore), and
// --ignore still works and silences the note.
func TestReplayLeavesTextColumnsOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "status.csv")
	os.WriteFile(path, []byte("timestamp,value,state\n2024-01-01 00:00:00,1.5,running\n2024-01-01 00:05:00,1.7,running\n"), 0o644)
	table, err := readTable(path, simulators.CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(table.Sensors) != 1 || table.Sensors[0] != "value" || len(table.Notes) != 1 || !strings.Contains(table.Notes[0], `column "state" left out: text`) {
		t.Fatalf("sensors %v, notes %q; want [value] and a note on state", table.Sensors, table.Notes)
	}
	fs := flag.NewFlagSet("simulate replay", flag.ContinueOnError)
	var f replayFlags
	f.register(fs, noEnv)
	if err := fs.Parse([]string{"--csv", path, "--ignore", "state"}); err != nil {
		t.Fatalf("the hint's flag: %v", err)
	}
	o, err := f.csvOptions()
	if err != nil {
		t.Fatal(err)
	}
	table, err = readTable(path, o)
	if err != nil {
		t.Fatalf("with --ignore state: %v", err)
	}
	if len(table.Sensors) != 1 || table.Sensors[0] != "value" || len(table.Rows) != 2 || len(table.Notes) != 0 {
		t.Fatalf("sensors %v, %d rows, notes %q; want [value], 2 rows, no note", table.Sensors, len(table.Rows), table.Notes)
	}
}
