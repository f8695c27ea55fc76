package chaos

import (
	"context"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestSpoolFullIntegration fills a 1 MiB spool while InfluxDB is down: ingest must stop
// acknowledging (the broker keeps the messages) instead of dropping, say so in
// /metrics and its log, and store everything once InfluxDB is back.
func TestSpoolFullIntegration(t *testing.T) {
	r := newRig(t, brokerExtra)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	ing := r.ingest("--spool-max-mb", "1")
	mustStart(t, ctx, ing)
	r.influx.Stop()

	// 8,000 messages (~1.8 MB of line protocol), all at once: T0 is in the past.
	plan := &Plan{Topics: topics, Site: "spool", Machines: 200, Sensors: 8, Seconds: 40,
		T0: time.Now().Truncate(time.Second).Add(-time.Hour)}
	pub, err := NewPublisher(ctx, plan, r.mqttConfig(), "spool-pub", 2)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := pub.Run(ctx); err != nil {
		t.Fatal(err)
	}
	full := func() bool { return ing.Metric("faultline_ingest_spool_full_total") > 0 }
	wctx, wcancel := context.WithTimeout(ctx, time.Minute)
	defer wcancel()
	if err := Poll(wctx, 200*time.Millisecond, full); err != nil {
		t.Fatalf("spool never reported full: %v", err)
	}
	time.Sleep(2 * time.Second)
	m, err := ing.Metrics()
	if err != nil {
		t.Fatal(err)
	}
	want := int64(plan.Machines * plan.Seconds)
	acked, spool := Sum(m, "faultline_ingest_messages_acked_total"), Sum(m, "faultline_ingest_spool_bytes")
	t.Logf("spool full: %v times, acked %v of %d messages, spool %.0f bytes, dropped %v",
		Sum(m, "faultline_ingest_spool_full_total"), acked, want, spool, Sum(m, "faultline_ingest_points_dropped_total"))
	if acked >= float64(want) {
		t.Errorf("ingest acknowledged all %d messages with a full 1 MiB spool and InfluxDB down", want)
	}
	if spool > 1.2*(1<<20) {
		t.Errorf("spool holds %.0f bytes, bound is 1 MiB", spool)
	}
	if !strings.Contains(ing.Log(), "spool full") {
		t.Error(`ingest's log does not say "spool full"`)
	}

	if err := r.influx.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if n := r.waitStored(ctx, plan, want, 60*time.Second); n != want {
		t.Fatalf("after InfluxDB returned: %d of %d points stored", n, want)
	}
	if d := ing.Metric("faultline_ingest_points_dropped_total"); d != 0 {
		t.Errorf("%v points dropped", d)
	}
}

// delayProxy forwards to target, holding every write for delay: a slow database,
// not a dead one.
func delayProxy(t *testing.T, target string, delay time.Duration) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasSuffix(req.URL.Path, "/write") {
			time.Sleep(delay)
		}
		rp.ServeHTTP(w, req)
	})}
	ln, err := listen()
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// TestSlowInfluxIntegration: every write takes 200 ms longer; ingest's memory stays
// bounded (the spool is on disk) and everything is stored.
func TestSlowInfluxIntegration(t *testing.T) {
	r := newRig(t, brokerExtra)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	proxy := delayProxy(t, r.influx.URL, 200*time.Millisecond)
	ing := r.proc("ingest", "--mqtt-url", r.broker.URL, "--influx-url", proxy, "--client-id", "slow-ingest",
		"--spool-dir", r.dir+"/spool-slow", "--batch-bytes", "262144")
	mustStart(t, ctx, ing)
	rss := WatchRSS(ing.PID)
	machines := 500
	if longMode() {
		machines = 2000
	}
	plan := &Plan{Topics: topics, Site: "slow", Machines: machines, Sensors: 8, Seconds: 20,
		T0: time.Now().Truncate(time.Second).Add(-time.Hour)}
	pub, err := NewPublisher(ctx, plan, r.mqttConfig(), "slow-pub", 2)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := pub.Run(ctx); err != nil {
		t.Fatal(err)
	}
	want := int64(plan.Machines * plan.Seconds)
	n := r.waitStored(ctx, plan, want, 60*time.Second)
	peak := rss.Stop()
	t.Logf("slow InfluxDB (+200 ms a write): %d of %d points stored, ingest peak RSS %.1f MB, write errors %v",
		n, want, peak, ing.Metric("faultline_ingest_write_errors_total"))
	if n != want {
		t.Errorf("%d of %d points stored", n, want)
	}
	if peak > 100 {
		t.Errorf("ingest RSS peaked at %.1f MB behind a slow InfluxDB; bound 100 MB", peak)
	}
}

// drain reads and closes a response body.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}
