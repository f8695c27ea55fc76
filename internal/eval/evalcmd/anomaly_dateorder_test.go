package evalcmd

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// eval anomaly refuses a date order other than dmy or mdy, naming them, before it
// opens the model or the data (neither exists here).
func TestAnomalyDateOrderRefused(t *testing.T) {
	var out, errb bytes.Buffer
	err := Run(context.Background(), []string{"anomaly", "--model", "/nonexistent.model", "--csv", "/nonexistent.csv", "--labels", "label", "--date-order", "ydm"}, noEnv, &out, &errb)
	if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), `--date-order "ydm": use dmy (day first`) || !strings.Contains(err.Error(), "or mdy (month first") {
		t.Fatalf("err = %v, want a usage error with the allowed orders", err)
	}
}

// eval rul too, with the training options, before it reads a file.
func TestRULDateOrderRefused(t *testing.T) {
	var out, errb bytes.Buffer
	err := Run(context.Background(), []string{"rul", "--model", "/nonexistent.model", "--csv", "/nonexistent.csv", "--rul", "/nonexistent.txt", "--date-order", "ydm"}, noEnv, &out, &errb)
	if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), `--date-order "ydm": use dmy (day first`) {
		t.Fatalf("err = %v, want a usage error with the allowed orders", err)
	}
}
