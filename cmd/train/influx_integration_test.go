package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/influxstore"
	"github.com/faultline/faultline/internal/telemetry"
	"github.com/faultline/faultline/internal/testenv"
)

// writeTelemetry stores four hours of 10 s telemetry for two pumps in a real InfluxDB,
// as ingest would: measurement telemetry, tags site/line/machine, one field a sensor.
// pump-0002's vibration sensor only starts reporting after an hour (NaN before).
func writeTelemetry(t *testing.T, st *influxstore.Store, start time.Time) {
	t.Helper()
	names := []string{"load", "current", "temp", "vib"}
	var buf []byte
	for k, m := range []string{"pump-0001", "pump-0002"} {
		for i, r := range machineRows(1440, uint64(10+k)) {
			var vals []telemetry.Value
			for j, v := range r {
				if m == "pump-0002" && names[j] == "vib" && i < 360 {
					continue
				}
				vals = append(vals, telemetry.Value{Sensor: names[j], V: v})
			}
			buf = influxstore.AppendLine(buf, influxstore.Measurement,
				[]influxstore.Tag{{Key: "line", Value: "l1"}, {Key: "machine", Value: m}, {Key: "site", Value: "s1"}},
				vals, start.Add(time.Duration(i)*10*time.Second))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := st.WriteLines(ctx, buf); err != nil {
		t.Fatalf("write telemetry: %v", err)
	}
}

func TestTrainFromInfluxIntegration(t *testing.T) {
	in := testenv.Influx(t)
	st, err := influxstore.New(influxstore.Config{URL: in.URL, Bucket: "factory"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.EnsureBucket(context.Background()); err != nil {
		t.Fatal(err)
	}
	writeTelemetry(t, st, t0)
	conn := []string{"--source", "influx", "--influx-url", in.URL, "--influx-bucket", "factory",
		"--start", t0.Format(time.RFC3339), "--stop", t0.Add(5 * time.Hour).Format(time.RFC3339),
		"--chunk", "1h", "--epochs", "10", "--context", "load", "--detector", "both"}
	dir := t.TempDir()

	t.Run("one machine", func(t *testing.T) {
		out, rep := filepath.Join(dir, "one", "p1.model"), filepath.Join(dir, "one", "report")
		_, stderr, err := runArgs(t, append(conn, "--machine", "pump-0001", "--site", "s1", "--out", out, "--report", rep)...)
		if err != nil {
			t.Fatalf("train: %v\n%s", err, stderr)
		}
		m, err := artifact.Load(out)
		if err != nil || m.Match != "pump-0001" || strings.Join(m.Targets, ",") != "current,temp,vib" {
			t.Fatalf("model: %v match %q targets %v", err, m.Match, m.Targets)
		}
		// 1440 rows at 10 s read in 1 h chunks: the data summary must hold every row once.
		checkReport(t, rep, out, 3)
		b, _ := os.ReadFile(filepath.Join(rep, "metrics.json"))
		if !strings.Contains(string(b), `"rows": 1440`) {
			t.Fatalf("metrics.json does not count 1440 rows:\n%.600s", b)
		}
	})

	t.Run("all machines", func(t *testing.T) {
		outDir, rep := filepath.Join(dir, "all"), filepath.Join(dir, "all-report")
		stdout, stderr, err := runArgs(t, append(conn, "--all", "--workers", "2", "--out-dir", outDir, "--report", rep)...)
		if err != nil {
			t.Fatalf("train --all: %v\n%s", err, stderr)
		}
		for _, m := range []string{"pump-0001", "pump-0002"} {
			path := filepath.Join(outDir, m+".model")
			model, err := artifact.Load(path)
			if err != nil || model.Match != m || model.Name != "faultline-anomaly-"+m {
				t.Fatalf("%s: %v (match %q name %q)", m, err, model.Match, model.Name)
			}
			checkReport(t, filepath.Join(rep, m), path, 3)
			if !strings.Contains(stdout, path) {
				t.Errorf("stdout does not list %s:\n%s", path, stdout)
			}
		}
	})

	t.Run("group by type", func(t *testing.T) {
		outDir := filepath.Join(dir, "types")
		_, stderr, err := runArgs(t, append(conn, "--all", "--group-by", "type", "--out-dir", outDir)...)
		if err != nil {
			t.Fatalf("train --group-by type: %v\n%s", err, stderr)
		}
		m, err := artifact.Load(filepath.Join(outDir, "pump.model"))
		if err != nil || m.Match != "pump-*" || m.Training["series"] != float64(2) {
			t.Fatalf("type model: %v match %q series %v", err, m.Match, m.Training["series"])
		}
	})

	t.Run("empty range", func(t *testing.T) {
		base := []string{"--source", "influx", "--influx-url", in.URL,
			"--start", t0.Add(-48 * time.Hour).Format(time.RFC3339), "--stop", t0.Add(-24 * time.Hour).Format(time.RFC3339)}
		_, _, err := runArgs(t, append(base, "--machine", "pump-0001", "--out", filepath.Join(dir, "x.model"))...)
		if err == nil || !strings.Contains(err.Error(), "no telemetry for pump-0001") {
			t.Fatalf("err = %v, want no telemetry", err)
		}
		_, _, err = runArgs(t, append(base, "--all", "--out-dir", dir)...)
		if err == nil || !strings.Contains(err.Error(), "no machine has telemetry") {
			t.Fatalf("--all err = %v, want no machine", err)
		}
	})

	t.Run("server down", func(t *testing.T) {
		in.Stop()
		_, _, err := runArgs(t, append(conn, "--machine", "pump-0001", "--out", filepath.Join(dir, "down.model"))...)
		if err == nil || !strings.Contains(err.Error(), "pump-0001") {
			t.Fatalf("err = %v, want a read error naming the machine", err)
		}
	})
}
