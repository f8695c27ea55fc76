// Package testenv gives integration tests real Mosquitto and InfluxDB servers.
//
// Tests call Mosquitto(t) or Influx(t); each starts a private server process on a free
// port in t.TempDir() and stops it by PID at cleanup, so a test may restart or stop its
// server mid-stream. When a binary is missing the test is skipped with instructions,
// unless FAULTLINE_REQUIRE_SERVERS=1 (set by `make test` and CI), where a missing server
// is a failure: CI must never pass by skipping.
package testenv

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/servers"
)

const howTo = "run `make test` (it installs mosquitto and builds bin/influxd), or set FAULTLINE_MOSQUITTO / FAULTLINE_INFLUXD to the binaries"

func unavailable(t testing.TB, what string, err error) {
	t.Helper()
	if errors.Is(err, servers.ErrNotFound) && os.Getenv("FAULTLINE_REQUIRE_SERVERS") != "1" {
		t.Skipf("%s not available (%v): %s", what, err, howTo)
	}
	t.Fatalf("start %s: %v", what, err)
}

// Integration skips the test in -short mode: tests talking to real servers are the
// slow tier.
func Integration(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs real servers; skipped in -short mode")
	}
}

// Mosquitto starts a private real broker for this test.
func Mosquitto(t testing.TB, opts ...servers.MosquittoOptions) *servers.Mosquitto {
	t.Helper()
	Integration(t)
	var o servers.MosquittoOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := servers.StartMosquitto(ctx, t.TempDir(), o)
	if err != nil {
		unavailable(t, "mosquitto", err)
	}
	t.Cleanup(func() {
		m.Stop()
		if t.Failed() {
			t.Logf("mosquitto log:\n%s", lastLines(m.Log(), 40))
		}
	})
	return m
}

// Influx starts a private real InfluxDB 1.8 (Flux enabled) with database "factory".
func Influx(t testing.TB, opts ...servers.InfluxOptions) *servers.Influx {
	t.Helper()
	Integration(t)
	var o servers.InfluxOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	in, err := servers.StartInflux(ctx, t.TempDir(), o)
	if err != nil {
		unavailable(t, "influxd", err)
	}
	t.Cleanup(func() {
		in.Stop()
		if t.Failed() {
			t.Logf("influxd log:\n%s", lastLines(in.Log(), 40))
		}
	})
	return in
}

func lastLines(s string, n int) string {
	count := 0
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '\n' {
			count++
			if count > n {
				return s[i+1:]
			}
		}
	}
	return s
}
