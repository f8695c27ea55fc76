package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/servers"
	"github.com/faultline/faultline/internal/testenv"
)

// TestDemoShortIntegration runs `demo --short` exactly as `make demo` would, with the
// programs built from this tree, and checks its summary: every injected failure is
// alerted before it happens.
func TestDemoShortIntegration(t *testing.T) {
	testenv.Integration(t)
	if _, err := servers.InfluxdBinary(); err != nil {
		if os.Getenv("FAULTLINE_REQUIRE_SERVERS") == "1" {
			t.Fatal(err)
		}
		t.Skipf("influxd not available: %v (run `make test`)", err)
	}
	bin := t.TempDir()
	if err := servers.BuildPrograms(t.Context(), bin, "ingest", "train", "infer", "simulate", "demo"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	err := run(ctx, []string{"--short", "--bin-dir", bin, "--out", filepath.Join(t.TempDir(), "demo")}, func(string) string { return "" }, &out, &errOut)
	t.Logf("demo output:\n%s", out.String())
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, errOut.String())
	}
	m := regexp.MustCompile(`failures injected: (\d+), alerted before failure: (\d+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatal("summary line missing")
	}
	injected, detected := atoi(m[1]), atoi(m[2])
	if injected < 3 || detected != injected {
		t.Fatalf("%d failures injected, %d alerted before failure", injected, detected)
	}
	if !regexp.MustCompile(`median lead time [1-9]`).MatchString(out.String()) {
		t.Fatal("no positive lead time in the summary")
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
