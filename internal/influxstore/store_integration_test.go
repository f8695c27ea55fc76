package influxstore_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/influxstore"
	"github.com/faultline/faultline/internal/telemetry"
	"github.com/faultline/faultline/internal/testenv"
)

func TestStoreWriteReadIntegration(t *testing.T) {
	in := testenv.Influx(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := influxstore.New(influxstore.Config{URL: in.URL, Bucket: "factory", Gzip: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.EnsureBucket(ctx); err != nil {
		t.Fatalf("ensure bucket: %v", err)
	}
	if err := st.EnsureBucket(ctx); err != nil {
		t.Fatalf("ensure bucket twice must be a no-op: %v", err)
	}
	v, err := st.Version(ctx)
	if err != nil || v == "" {
		t.Fatalf("version %q: %v", v, err)
	}
	t0 := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	const n = 500
	var buf []byte
	for _, m := range []string{"p1", "p2"} {
		for i := 0; i < n; i++ {
			buf = influxstore.AppendLine(buf, influxstore.Measurement,
				[]influxstore.Tag{{"line", "l1"}, {"machine", m}, {"site", "s1"}},
				[]telemetry.Value{{Sensor: "flow", V: float64(i)}, {Sensor: "temp", V: 20 + float64(i)/10}},
				t0.Add(time.Duration(i)*time.Second))
		}
	}
	if err := st.WriteLines(ctx, buf); err != nil {
		t.Fatalf("write: %v", err)
	}
	// Identity is series + timestamp: writing the same lines again must not add points.
	if err := st.WriteLines(ctx, buf); err != nil {
		t.Fatalf("rewrite: %v", err)
	}
	q := influxstore.SeriesQuery{Machine: "p1", Start: t0, Stop: t0.Add(time.Hour), Chunk: 3 * time.Minute}
	var rows []influxstore.Row
	if err := st.ReadTelemetry(ctx, q, func(r influxstore.Row) error { rows = append(rows, r); return nil }); err != nil {
		t.Fatalf("read: %v", err)
	}
	if len(rows) != n {
		t.Fatalf("read %d rows for p1, want %d", len(rows), n)
	}
	for i, r := range rows {
		if !r.Time.Equal(t0.Add(time.Duration(i)*time.Second)) || r.Values["flow"] != float64(i) || r.Machine.Machine != "p1" || r.Machine.Site != "s1" {
			t.Fatalf("row %d = %+v", i, r)
		}
	}
	cnt, err := st.CountPoints(ctx, influxstore.SeriesQuery{Start: t0, Stop: t0.Add(time.Hour)}, "temp")
	if err != nil || cnt != 2*n {
		t.Fatalf("count = %d, %v; want %d", cnt, err, 2*n)
	}
	ms, err := st.Machines(ctx, t0, t0.Add(time.Hour))
	if err != nil || fmt.Sprint(ms) != "[{s1 l1 p1} {s1 l1 p2}]" {
		t.Fatalf("machines = %v, %v", ms, err)
	}
	t.Logf("wrote %d points to real InfluxDB %s and read them back with Flux", 4*n, v)
}

func TestStoreDownIsRetryableIntegration(t *testing.T) {
	in := testenv.Influx(t)
	ctx := context.Background()
	st, _ := influxstore.New(influxstore.Config{URL: in.URL, Bucket: "factory", Timeout: 2 * time.Second})
	if err := st.EnsureBucket(ctx); err != nil {
		t.Fatal(err)
	}
	in.Stop()
	err := st.WriteLines(ctx, []byte("telemetry,machine=m x=1 1\n"))
	if err == nil || !influxstore.IsRetryable(err) {
		t.Fatalf("write to a stopped server: err=%v retryable=%v, want a retryable error", err, influxstore.IsRetryable(err))
	}
	if err := in.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.WriteLines(ctx, []byte("telemetry,machine=m x=1 1000000000000000000\n")); err != nil {
		t.Fatalf("write after restart: %v", err)
	}
}

func TestWriteBadLineNotRetryableIntegration(t *testing.T) {
	in := testenv.Influx(t)
	ctx := context.Background()
	st, _ := influxstore.New(influxstore.Config{URL: in.URL, Bucket: "factory"})
	if err := st.EnsureBucket(ctx); err != nil {
		t.Fatal(err)
	}
	err := st.WriteLines(ctx, []byte("telemetry,machine=m x=\"str\" 1\ntelemetry,machine=m x=1 2\n"))
	if err == nil || influxstore.IsRetryable(err) {
		t.Fatalf("field type conflict: err=%v, want a non-retryable error", err)
	}
}

// A database that does not exist yet (1.8 answers 404) keeps the data: the operator can
// create it, and the write then succeeds with the same bytes.
func TestWriteMissingDatabaseIsRetryableIntegration(t *testing.T) {
	in := testenv.Influx(t)
	ctx := context.Background()
	st, _ := influxstore.New(influxstore.Config{URL: in.URL, Bucket: "not_yet"})
	line := []byte("telemetry,machine=m x=1 1000000000000000000\n")
	err := st.WriteLines(ctx, line)
	var we *influxstore.WriteError
	if !errors.As(err, &we) || we.Status != http.StatusNotFound || !we.Retryable {
		t.Fatalf("write to a missing database: err=%v, want a retryable HTTP 404 WriteError", err)
	}
	if err := st.EnsureBucket(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.WriteLines(ctx, line); err != nil {
		t.Fatalf("write after creating the database: %v", err)
	}
	n, err := st.CountPoints(ctx, influxstore.SeriesQuery{Start: time.Unix(0, 0), Stop: time.Unix(2e9, 0)}, "x")
	if err != nil || n != 1 {
		t.Fatalf("points stored = %d, %v; want 1", n, err)
	}
}
