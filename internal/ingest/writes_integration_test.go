package ingest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/influxstore"
	"github.com/faultline/faultline/internal/ops"
	"github.com/faultline/faultline/internal/servers"
	"github.com/faultline/faultline/internal/telemetry"
	"github.com/faultline/faultline/internal/testenv"
)

// TestTooLargeBatchIsSplitIntegration (issue 16.8): InfluxDB's body limit below
// --batch-bytes (a proxy's 1 MiB, here influxd's max-body-size of 16 KiB) answers 413.
// The batch is split and written in parts: every acknowledged point arrives, none is
// counted as dropped. Before, the 413 dropped the whole batch.
func TestTooLargeBatchIsSplitIntegration(t *testing.T) {
	e := &env{broker: testenv.Mosquitto(t), influx: testenv.Influx(t, servers.InfluxOptions{MaxBodySize: 16 << 10})}
	st, err := influxstore.New(influxstore.Config{URL: e.influx.URL, Bucket: "factory"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	e.store = st
	cfg := e.config(t, "ingest-413")
	cfg.BatchBytes = 256 << 10
	e.influx.Stop() // a backlog, so that batches fill up to --batch-bytes
	r := start(t, cfg)
	p := newPublisher(t, e.broker.URL, "pub-413")
	const n = 4000
	p.publish(0, n)
	waitFor(t, "every message spooled", 60*time.Second, func() bool { return r.svc.Stats().Acked == n })
	if err := e.influx.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the spool to be shipped", 90*time.Second, func() bool {
		s := r.svc.Stats()
		return s.PointsWritten+s.Dropped >= n
	})
	e.waitPoints(t, n, 30*time.Second)
	if s := r.svc.Stats(); s.Dropped != 0 || s.PointsWritten != n || s.WriteErrors == 0 {
		t.Fatalf("stats %+v: want %d written, 0 dropped, and the 413s counted as write errors", s, n)
	}
}

// TestDroppedDatabaseIsRecreatedIntegration (issue 16.9): a database dropped while ingest
// runs is created again on the next write's 404, and the points waiting for it arrive.
// Before, every write got 404 until a restart.
func TestDroppedDatabaseIsRecreatedIntegration(t *testing.T) {
	e := newEnv(t)
	r := start(t, e.config(t, "ingest-404"))
	p := newPublisher(t, e.broker.URL, "pub-404")
	p.publish(0, 100)
	e.waitPoints(t, 100, 30*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.influx.Query(ctx, "DROP DATABASE factory", "", ""); err != nil {
		t.Fatal(err)
	}
	p.publish(100, 200)
	waitFor(t, "the points after the DROP", 60*time.Second, func() bool { return e.count(t, "a") == 100 && e.count(t, "b") == 100 })
	if s := r.svc.Stats(); s.Dropped != 0 {
		t.Fatalf("stats %+v: nothing may be dropped", s)
	}
}

// TestMetricsTellTheTruthIntegration (issue 16.10):
//   - a partial write (InfluxDB keeps the valid points, refuses the rest) counts only the
//     refused points as dropped and only the kept ones as written; before, the whole
//     batch was counted dropped and also written;
//   - faultline_ingest_lag_seconds grows while InfluxDB is down and points wait; before,
//     it kept the value of the last successful write (0.2 s during a 100 s stall).
func TestMetricsTellTheTruthIntegration(t *testing.T) {
	e := newEnv(t)
	cfg := e.config(t, "ingest-metrics")
	cfg.FlushInterval = 2 * time.Second // one batch holds both kinds of point
	reg := ops.NewRegistry()
	r := startReg(t, cfg, reg)
	// Field "c" exists as a string: float values of "c" conflict, the others do not.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m := telemetry.Machine{Site: "s1", Line: "l1", Machine: "mx"}
	line := fmt.Sprintf("%s,line=l1,machine=mx,site=s1 c=\"text\" %d\n", influxstore.Measurement, t0.UnixNano())
	if err := e.store.WriteLines(ctx, []byte(line)); err != nil {
		t.Fatal(err)
	}
	p := newPublisher(t, e.broker.URL, "pub-metrics")
	const good, bad = 30, 10
	for i := range good + bad {
		v := telemetry.Value{Sensor: "a", V: float64(i)}
		if i%4 == 3 {
			v.Sensor = "c"
		}
		s := telemetry.Sample{Time: t0.Add(time.Duration(i+1) * time.Second), Values: []telemetry.Value{v}}
		p.send(topics.Telemetry(m), telemetry.EncodeTelemetry(nil, s))
	}
	waitFor(t, "the batch to be written", 30*time.Second, func() bool {
		s := r.svc.Stats()
		return s.PointsWritten+s.Dropped >= good+bad
	})
	if s := r.svc.Stats(); s.PointsWritten != good || s.Dropped != bad {
		t.Fatalf("stats %+v: want %d written and %d dropped (a partial write)", s, good, bad)
	}

	e.influx.Stop()
	p.publish(0, 10) // points now wait in the spool
	waitFor(t, "points waiting", 10*time.Second, func() bool { return gauge(t, reg, "faultline_ingest_spool_pending_bytes") > 0 })
	first := gauge(t, reg, "faultline_ingest_lag_seconds")
	waitFor(t, fmt.Sprintf("the lag to grow past %.1f+2 s while nothing is written", first), 20*time.Second, func() bool {
		return gauge(t, reg, "faultline_ingest_lag_seconds") > first+2
	})
}

func gauge(t *testing.T, reg prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestWriteOnlyTokenIntegration (issue 16.16): with a token that may write to the
// database but not create one (InfluxDB 1.8 user with WRITE on factory only), ingest
// stores everything and, once a write has worked, stops trying to create the database
// instead of warning every 10 s forever.
func TestWriteOnlyTokenIntegration(t *testing.T) {
	e := &env{broker: testenv.Mosquitto(t), influx: testenv.Influx(t, servers.InfluxOptions{Auth: true, AdminUser: "admin", AdminPassword: "adminpw"})}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, q := range []string{"CREATE DATABASE factory", "CREATE USER writer WITH PASSWORD 'writerpw'", "GRANT WRITE ON factory TO writer"} {
		if err := e.influx.Query(ctx, q, "admin", "adminpw"); err != nil {
			t.Fatal(err)
		}
	}
	st, err := influxstore.New(influxstore.Config{URL: e.influx.URL, Bucket: "factory", Token: "admin:adminpw"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	e.store = st
	cfg := e.config(t, "ingest-writeonly")
	cfg.Influx.Token = "writer:writerpw"
	var logs syncBuffer
	r := startLog(t, cfg, nil, zerolog.New(&logs))
	p := newPublisher(t, e.broker.URL, "pub-writeonly")
	p.publish(0, 200)
	e.waitPoints(t, 200, 30*time.Second)
	waitFor(t, "ingest to stop checking the database", 30*time.Second, func() bool { return strings.Contains(logs.String(), "not checking again") })
	if s := r.svc.Stats(); s.Dropped != 0 || s.PointsWritten != 200 {
		t.Fatalf("stats %+v", s)
	}
}
