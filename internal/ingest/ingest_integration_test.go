package ingest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestStoresEveryPointIntegration(t *testing.T) {
	e := newEnv(t)
	r := start(t, e.config(t, "ingest-every"))
	p := newPublisher(t, e.broker.URL, "pub-every")
	const n = 3000
	p.publish(0, n)
	e.waitPoints(t, n, 60*time.Second)
	st := r.svc.Stats()
	if st.Messages != n || st.Acked != n || st.PointsWritten != n || st.ValuesWritten != 2*n || st.Rejected != 0 {
		t.Fatalf("stats %+v, want %d messages acked and written, 2 values each", st, n)
	}
}

// TestInfluxOutageIntegration stops InfluxDB for 30 s mid-stream (the acceptance
// criterion), while publishing goes on; every point must arrive once it is back.
func TestInfluxOutageIntegration(t *testing.T) {
	const outage = 30 * time.Second
	e := newEnv(t)
	r := start(t, e.config(t, "ingest-outage"))
	p := newPublisher(t, e.broker.URL, "pub-outage")
	const n = 6000
	p.publish(0, 1000)
	e.influx.Stop()
	stopAt := time.Now()
	for i := 1000; i < 5000; i += 500 { // keep publishing during the outage
		p.publish(i, i+500)
		time.Sleep(outage / 10)
	}
	time.Sleep(time.Until(stopAt.Add(outage)))
	spooled := r.svc.Stats().PointsSpooled
	if err := e.influx.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.publish(5000, n)
	e.waitPoints(t, n, 90*time.Second)
	st := r.svc.Stats()
	t.Logf("outage %s: %d points spooled while down, %d write errors retried, stats %+v", outage, spooled, st.WriteErrors, st)
	if st.WriteErrors == 0 || st.Acked != n {
		t.Fatalf("want write errors during the outage and every message acked: %+v", st)
	}
}

func TestBrokerRestartIntegration(t *testing.T) {
	e := newEnv(t)
	logs := &syncBuffer{} // the MQTT client logs each connect with its count
	r := startLog(t, e.config(t, "ingest-restart"), nil, zerolog.New(logs).Level(zerolog.InfoLevel))
	p := newPublisher(t, e.broker.URL, "pub-restart")
	const n = 4000
	p.publish(0, 2000)
	if err := e.broker.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Publish the rest once ingest is back: while it reconnects, Mosquitto holds at
	// most max_queued_messages (1,000) for its session and drops the rest, a broker
	// limit documented in docs/ingest.md, not what this test is about. Back means
	// connected a second time, not Ready: on a loaded machine the client may not yet
	// have noticed the old socket closing and still reports connected (seen once in
	// make test: 1,006 dropped).
	deadline := time.Now().Add(90 * time.Second) // noticed by keepalive at the latest
	for !strings.Contains(logs.String(), `"connects":2`) || r.svc.Ready(context.Background()) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("ingest did not reconnect within 90s of the broker restart\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.publish(2000, n)
	e.waitPoints(t, n, 60*time.Second)
	if st := r.svc.Stats(); st.Messages < n {
		t.Fatalf("stats %+v: fewer messages than published", st)
	}
}

func TestSharedSubscriptionIntegration(t *testing.T) {
	e := newEnv(t)
	c1, c2 := e.config(t, "ingest-a"), e.config(t, "ingest-b")
	c1.ShareGroup, c2.ShareGroup = "ingesters", "ingesters"
	r1, r2 := start(t, c1), start(t, c2)
	p := newPublisher(t, e.broker.URL, "pub-shared")
	const n = 4000
	p.publish(0, n)
	e.waitPoints(t, n, 60*time.Second)
	s1, s2 := r1.svc.Stats(), r2.svc.Stats()
	t.Logf("replica a wrote %d points, replica b %d", s1.PointsWritten, s2.PointsWritten)
	if s1.PointsWritten == 0 || s2.PointsWritten == 0 || s1.PointsWritten+s2.PointsWritten != n {
		t.Fatalf("replicas wrote %d + %d points, want both > 0 summing to %d", s1.PointsWritten, s2.PointsWritten, n)
	}
}
