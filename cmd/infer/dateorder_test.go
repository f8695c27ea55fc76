package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A US export (month first, 12-hour clock, no time column named) through the two
// programs a user runs: bin/train --date-order mdy trains on it, infer score
// --date-order mdy scores it, and every score row carries the instant its line meant:
// 3/12/2024 11:00:00 PM is 23:00 on 12 March, 12:xx AM the hour after midnight. Read
// day first, the first line would be 3 December; read without an order, refused.
func TestTrainAndScoreUSDates(t *testing.T) {
	if testing.Short() {
		t.Skip("builds bin/train")
	}
	dir := t.TempDir()
	train := filepath.Join(dir, "train")
	build := exec.Command("go", "build", "-o", train, "../train")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build bin/train: %v\n%s", err, out)
	}
	start := time.Date(2024, 3, 12, 23, 0, 0, 0, time.UTC)
	const rows = 600
	var b strings.Builder
	b.WriteString("Date,load,current,temp\n")
	want := make([]time.Time, rows)
	temp := 40.0
	for i := range rows {
		at := start.Add(time.Duration(i) * 30 * time.Second)
		want[i] = at
		load := 0.5 + 0.3*math.Sin(float64(i)/25)
		cur := 10*load + 0.1*math.Cos(float64(i)*1.7)
		temp += 0.05 * (30 + 2*cur - temp)
		// Excel's en-US form: no zero padding, a 12-hour clock with AM/PM.
		fmt.Fprintf(&b, "%s,%.4f,%.4f,%.4f\n", at.Format("1/2/2006 3:04:05 PM"), load, cur, temp)
	}
	csv := filepath.Join(dir, "us.csv")
	if err := os.WriteFile(csv, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "m.model")
	trainArgs := []string{"--csv", csv, "--out", model, "--epochs", "2", "--seed", "1"}
	// Without the order the file is refused, saying how to read it.
	if out, err := exec.Command(train, trainArgs...).CombinedOutput(); err == nil || !strings.Contains(string(out), "give --date-order dmy (day first) or mdy (month first)") {
		t.Fatalf("train without --date-order: %v\n%s", err, out)
	}
	if out, err := exec.Command(train, append(trainArgs, "--date-order", "mdy")...).CombinedOutput(); err != nil {
		t.Fatalf("train --date-order mdy: %v\n%s", err, out)
	}
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"score", "--model", model, "--csv", csv, "--date-order", "mdy"}, func(string) string { return "" }, &out, &errb); err != nil {
		t.Fatalf("score: %v\n%s", err, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != rows+1 || !strings.HasPrefix(lines[0], "ts,") {
		t.Fatalf("%d lines, header %q; stderr %s", len(lines), lines[0], errb.String())
	}
	for i, line := range lines[1:] {
		ts, _, _ := strings.Cut(line, ",")
		got, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil || !got.Equal(want[i]) {
			t.Fatalf("row %d: ts %q (%v), want %s", i, ts, err, want[i].Format(time.RFC3339))
		}
	}
	// The same file day first is 3 December for a line, then no date at all (12/13):
	// refused by line, naming the order.
	errb.Reset()
	err := run(context.Background(), []string{"score", "--model", model, "--csv", csv, "--date-order", "dmy"}, func(string) string { return "" }, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), `is not a date in day/month/year order (--date-order dmy): month 13`) {
		t.Fatalf("score --date-order dmy: %v", err)
	}
}

// infer score refuses a date order other than dmy or mdy, naming them, before it reads
// the model or the file (neither exists here).
func TestScoreDateOrderRefused(t *testing.T) {
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"score", "--model", "/nonexistent.model", "--csv", "/nonexistent.csv", "--date-order", "ydm"}, func(string) string { return "" }, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), `--date-order "ydm": use dmy (day first: 03/01/2024 is 3 January) or mdy (month first: March 1)`) {
		t.Fatalf("err = %v, want the allowed orders", err)
	}
}
