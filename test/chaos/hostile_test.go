package chaos

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/mqttclient"
	"github.com/faultline/faultline/internal/telemetry"
)

// TestHostileInputIntegration sends oversize payloads, 100k-deep JSON nesting and a
// cardinality attack (thousands of made-up machine ids) to running ingest and infer:
// both stay up, count every rejection by reason in /metrics, keep their memory bounded
// by --max-machines, and keep storing the legitimate machines.
func TestHostileInputIntegration(t *testing.T) {
	r := newRig(t, brokerExtra)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	const maxMachines = 200
	ing := r.ingest("--max-machines", fmt.Sprint(maxMachines))
	inf := r.infer(anomalyModel(t, r.dir, 8, 5), "--max-machines", fmt.Sprint(maxMachines))
	mustStart(t, ctx, ing)
	mustStart(t, ctx, inf)
	ingRSS, infRSS := WatchRSS(ing.PID), WatchRSS(inf.PID)

	legit := &Plan{Topics: topics, Site: "legit", Machines: 100, Sensors: 8, Seconds: 10,
		T0: time.Now().Truncate(time.Second).Add(-time.Hour)}
	pub, err := NewPublisher(ctx, legit, r.mqttConfig(), "legit-pub", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := pub.Run(ctx); err != nil {
		t.Fatal(err)
	}
	want := int64(legit.Machines * legit.Seconds)
	if n := r.waitStored(ctx, legit, want, 30*time.Second); n != want {
		t.Fatalf("legitimate load: %d of %d points stored", n, want)
	}

	attackers := 5000
	if longMode() {
		attackers = 50000
	}
	c := mustClient(t, ctx, r.mqttConfig(), "attacker")
	defer c.Disconnect(100 * time.Millisecond)
	victim := topics.Telemetry(legit.Machine(0))
	oversize := append(append([]byte(`{"ts":1,"values":{"s0":1},"pad":"`), bytes.Repeat([]byte("x"), 300<<10)...), '"', '}')
	deep := bytes.Repeat([]byte("["), 100_000)
	send := func(topic string, payload []byte, n int) {
		for range n {
			if err := c.Publish(ctx, topic, 1, false, payload); err != nil {
				t.Fatalf("attacker publish: %v", err)
			}
		}
	}
	send(victim, oversize, 3)
	send(victim, deep, 3)
	send(victim, []byte(`{"ts":"2026-01-01T00:00:00Z","values":{"s0":"NaN","s1":1e400,"s2":null}}`), 3)
	attackCardinality(t, ctx, c, attackers)

	wantTooMany := float64(attackers - (maxMachines - legit.Machines))
	var im, fm map[string]float64
	wctx, wcancel := context.WithTimeout(ctx, 90*time.Second)
	defer wcancel()
	_ = Poll(wctx, 500*time.Millisecond, func() bool {
		im, _ = ing.Metrics()
		fm, _ = inf.Metrics()
		return Sum(im, `faultline_ingest_rejections_total{reason="too_many_series"}`) >= wantTooMany &&
			Sum(fm, `infer_drops_total{reason="too_many_machines"}`) >= wantTooMany
	})
	ingPeak, infPeak := ingRSS.Stop(), infRSS.Stop()
	rej := func(reason string) float64 { return Sum(im, `faultline_ingest_rejections_total{reason="`+reason+`"}`) }
	drop := func(reason string) float64 { return Sum(fm, `infer_drops_total{reason="`+reason+`"}`) }
	t.Logf("hostile input: %d made-up machines (--max-machines %d); ingest rejections too_many_series=%v oversize=%v bad_json=%v wrong_type=%v not_finite=%v, peak RSS %.1f MB; infer drops too_many_machines=%v oversize=%v bad_json=%v, machines %v, peak RSS %.1f MB",
		attackers, maxMachines, rej("too_many_series"), rej("oversize"), rej("bad_json"), rej("wrong_type"), rej("not_finite"), ingPeak,
		drop("too_many_machines"), drop("oversize"), drop("bad_json"), Sum(fm, "infer_machines"), infPeak)

	checks := []struct {
		what      string
		got, want float64
	}{
		{"ingest too_many_series rejections", rej("too_many_series"), wantTooMany},
		{"ingest oversize rejections", rej("oversize"), 3},
		{"ingest bad_json rejections (deep nesting)", rej("bad_json"), 3},
		{"infer too_many_machines drops", drop("too_many_machines"), wantTooMany},
		{"infer oversize drops", drop("oversize"), 3},
		{"infer bad_json drops", drop("bad_json"), 3},
	}
	for _, c := range checks {
		if c.got < c.want {
			t.Errorf("%s: %v, want >= %v", c.what, c.got, c.want)
		}
	}
	if m := Sum(fm, "infer_machines"); m > maxMachines {
		t.Errorf("infer holds state for %v machines, bound %d", m, maxMachines)
	}
	for name, peak := range map[string]float64{"ingest": ingPeak, "infer": infPeak} {
		if peak > 100 {
			t.Errorf("%s RSS peaked at %.1f MB under hostile input; bound 100 MB", name, peak)
		}
	}
	for _, p := range []*Proc{ing, inf} {
		if done, err := p.Exited(); done {
			t.Errorf("%s exited under hostile input: %v", p.Name, err)
			continue
		}
		resp, err := http.Get("http://" + p.HTTPAddr + "/healthz")
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("%s /healthz after the attack: %v", p.Name, err)
		}
		if resp != nil {
			drain(resp)
		}
	}
}

// attackCardinality publishes one valid sample for each of n made-up machines.
func attackCardinality(t *testing.T, ctx context.Context, c *mqttclient.Client, n int) {
	t.Helper()
	payload := telemetry.EncodeTelemetry(nil, telemetry.Sample{Time: time.Now().Add(-time.Minute),
		Values: []telemetry.Value{{Sensor: "s0", V: 1}}})
	var pending []<-chan struct{}
	for i := range n {
		m := telemetry.Machine{Site: "evil", Line: "x", Machine: fmt.Sprintf("fake-%06d", i)}
		done, _ := c.PublishAsync(topics.Telemetry(m), 1, false, payload)
		pending = append(pending, done)
		if len(pending) >= 500 {
			waitAll(ctx, pending)
			pending = pending[:0]
		}
	}
	waitAll(ctx, pending)
}

func waitAll(ctx context.Context, chans []<-chan struct{}) {
	for _, ch := range chans {
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
	}
}

func mustClient(t *testing.T, ctx context.Context, cfg mqttclient.Config, id string) *mqttclient.Client {
	t.Helper()
	cfg.ClientID = id
	c, err := newClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}
