package chaos

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"
)

// faultPlan is when each fault happens, in seconds of the load.
type faultPlan struct {
	machines, seconds  int
	influxAt, influxDn int
	ingestKills        []int
	brokerAt, inferAt  int
}

func currentFaultPlan() faultPlan {
	if longMode() {
		return faultPlan{machines: 1000, seconds: 300, influxAt: 30, influxDn: 60, ingestKills: []int{45, 120}, brokerAt: 150, inferAt: 200}
	}
	return faultPlan{machines: 100, seconds: 50, influxAt: 4, influxDn: 10, ingestKills: []int{8, 17}, brokerAt: 21, inferAt: 24}
}

// episodes picks drift starts every 30 s that keep clear of the broker and daemon
// restarts: the daemon's windows are in memory, so a restart begins them afresh (its
// persistent session queues the samples, but the new windows start later) and may shift
// an alert against `infer score`.
// (InfluxDB and ingest faults do not touch the daemon and are allowed anywhere.)
func (f faultPlan) episodes(driftLen int) []int {
	var out []int
	for s := 3; s+driftLen+10 <= f.seconds; s += 30 {
		lo, hi := s-8, s+driftLen+8
		if (f.brokerAt >= lo && f.brokerAt <= hi) || (f.inferAt >= lo && f.inferAt <= hi) {
			continue
		}
		out = append(out, s)
	}
	return out
}

type recovery struct {
	start time.Time
	fault string
	took  time.Duration
	what  string
}

// TestFaultsIntegration publishes a deterministic load while InfluxDB is stopped,
// ingest is SIGKILLed twice, the broker and the edge daemon are restarted, then checks
// that every point is stored once per series and timestamp and every alert that
// `infer score` computes on the same data was delivered, raised and cleared.
func TestFaultsIntegration(t *testing.T) {
	fp := currentFaultPlan()
	r := newRig(t, brokerExtra)
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(fp.seconds)*time.Second+5*time.Minute)
	defer cancel()

	const sensors, window, driftLen = 8, 5, 6
	model := anomalyModel(t, r.dir, sensors, window)
	ing := r.ingest("--writers", "2")
	inf := r.infer(model)
	mustStart(t, ctx, ing)
	mustStart(t, ctx, inf)
	alerts := &AlertLog{}
	sub := subscribeAlerts(t, ctx, r, alerts)
	defer sub.Disconnect(100 * time.Millisecond)
	ingRSS := WatchRSS(ing.PID)

	plan := &Plan{Topics: topics, Site: "chaos", Machines: fp.machines, Sensors: sensors, Seconds: fp.seconds,
		T0: time.Now().Truncate(time.Second).Add(3 * time.Second), DriftEvery: 20,
		Episodes: fp.episodes(driftLen), DriftLen: driftLen, DriftLevel: 5}
	pub, err := NewPublisher(ctx, plan, r.mqttConfig(), "chaos-pub", 4)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()

	var (
		wg      sync.WaitGroup
		pubErr  error
		recs    []recovery
		written float64 // values written by ingest runs that were killed
	)
	wg.Go(func() { pubErr = pub.Run(ctx) })
	at := func(sec int) { time.Sleep(time.Until(plan.T0.Add(time.Duration(sec) * time.Second))) }
	// Faults act in time order; each one's recovery is measured concurrently, so an
	// ingest kill can land while InfluxDB is down.
	var mu sync.Mutex
	for _, ev := range faultEvents(t, ctx, r, fp, ing, inf, &written) {
		at(ev.sec)
		measure := ev.act()
		if measure == nil {
			continue
		}
		wg.Go(func() {
			rec := measure()
			mu.Lock()
			recs = append(recs, rec)
			mu.Unlock()
		})
	}
	wg.Wait()
	if pubErr != nil {
		t.Fatalf("publisher: %v", pubErr)
	}

	want := int64(fp.machines * fp.seconds)
	r.waitStored(ctx, plan, want, 90*time.Second)
	counts := map[string]int64{}
	for s := range sensors {
		n, err := r.countSensor(ctx, plan, SensorName(s))
		if err != nil {
			t.Fatalf("count %s: %v", SensorName(s), err)
		}
		counts[SensorName(s)] = n
	}
	written += ing.Metric("faultline_ingest_values_written_total")
	rss := ingRSS.Stop()

	expected := expectedEpisodes(t, r.dir, plan, model)
	waitAlerts(ctx, alerts, expected)
	got, bad := alerts.Alerts()
	raised, unmatched := Episodes(got)

	printFaultTable(t, fp, plan, pub, counts, written, recs, rss, expected, raised, unmatched)
	for s, n := range counts {
		if n != want {
			t.Errorf("sensor %s: %d values stored, want %d (lost %d)", s, n, want, want-n)
		}
	}
	if bad > 0 {
		t.Errorf("%d alert payloads did not decode", bad)
	}
	if len(unmatched) > 0 {
		t.Errorf("alerts raised without cleared (or the reverse): %v", unmatched)
	}
	for m, n := range expected {
		if raised[m] != n {
			t.Errorf("machine %s: %d alerts raised, `infer score` raises %d", m, raised[m], n)
		}
	}
	for m, n := range raised {
		if expected[m] == 0 {
			t.Errorf("machine %s: %d alerts raised that `infer score` does not raise", m, n)
		}
	}
}

type faultEvent struct {
	sec int
	// act applies the fault and returns how to measure the recovery (nil: none).
	act func() func() recovery
}

// faultEvents returns the faults in time order.
func faultEvents(t *testing.T, ctx context.Context, r *rig, fp faultPlan, ing, inf *Proc, written *float64) []faultEvent {
	points := func() float64 { return ing.Metric("faultline_ingest_points_written_total") }
	ev := []faultEvent{
		{fp.influxAt, func() func() recovery { r.influx.Stop(); return nil }},
		{fp.influxAt + fp.influxDn, func() func() recovery {
			if err := r.influx.Start(ctx); err != nil {
				t.Errorf("restart influxd: %v", err)
			}
			return measurer(ctx, fmt.Sprintf("InfluxDB stopped %d s, restarted", fp.influxDn), "next write", points)
		}},
	}
	for i, sec := range fp.ingestKills {
		ev = append(ev, faultEvent{sec, func() func() recovery {
			// Counters die with the process: take them just before the kill.
			*written += ing.Metric("faultline_ingest_values_written_total")
			ing.Kill()
			if err := ing.Start(); err != nil {
				t.Errorf("restart ingest: %v", err)
			}
			name := fmt.Sprintf("ingest SIGKILL #%d + restart", i+1)
			if sec >= fp.influxAt && sec < fp.influxAt+fp.influxDn {
				name += " (InfluxDB down)"
			}
			return measurer(ctx, name, "first write", points)
		}})
	}
	ev = append(ev, faultEvent{fp.brokerAt, func() func() recovery {
		if err := r.broker.Restart(ctx); err != nil {
			t.Errorf("restart mosquitto: %v", err)
		}
		return measurer(ctx, "Mosquitto restart", "next message in ingest", func() float64 {
			return ing.Metric("faultline_ingest_messages_total")
		})
	}}, faultEvent{fp.inferAt, func() func() recovery {
		inf.Kill()
		if err := inf.Start(); err != nil {
			t.Errorf("restart infer: %v", err)
		}
		return measurer(ctx, "infer SIGKILL + restart", "first scored sample", func() float64 {
			return inf.Metric("infer_samples_total")
		})
	}})
	slices.SortStableFunc(ev, func(a, b faultEvent) int { return a.sec - b.sec })
	return ev
}

// measurer snapshots metric now and returns a func that waits until it grows.
func measurer(ctx context.Context, fault, what string, metric func() float64) func() recovery {
	start, base := time.Now(), max(metric(), 0)
	return func() recovery { return measure(ctx, start, base, fault, what, metric) }
}

// measure returns the time until metric grows past its value now (a failed scrape of
// a process still starting counts as no progress).
func measure(ctx context.Context, start time.Time, base float64, fault, what string, metric func() float64) recovery {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	err := Poll(ctx, 50*time.Millisecond, func() bool { return metric() > base })
	rec := recovery{start: start, fault: fault, took: time.Since(start), what: what}
	if err != nil {
		rec.what += " (not seen)"
	}
	return rec
}

func subscribeAlerts(t *testing.T, ctx context.Context, r *rig, log *AlertLog) interface{ Disconnect(time.Duration) } {
	t.Helper()
	cfg := r.mqttConfig()
	// A persistent session: alerts published while the broker restarts or while this
	// client reconnects are queued for it.
	cfg.ClientID, cfg.CleanSession = "chaos-alert-viewer", false
	c, err := newClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.Subscribe(topics.AlertsFilter(), 1, log.Handle)
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // SUBACK
	return c
}

// expectedEpisodes runs `infer score` on the plan's data and counts, per machine, the
// alerts it raises (alert column going 0 -> 1).
func expectedEpisodes(t *testing.T, dir string, p *Plan, model string) map[string]int {
	t.Helper()
	in := filepath.Join(dir, "plan.csv")
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WriteCSV(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(filepath.Join(binDir, "infer"), "score", "--model", model, "--csv", in, "--time-column", "ts", "--asset-column", "asset")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("infer score: %v\n%s", err, stderr.String())
	}
	rows, err := csv.NewReader(&stdout).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("infer score output: %v (%d rows)", err, len(rows))
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	out := map[string]int{}
	prev := map[string]string{}
	for _, row := range rows[1:] {
		a, v := row[col["asset"]], row[col["alert"]]
		if v == "1" && prev[a] != "1" {
			out[a]++
		}
		prev[a] = v
	}
	return out
}

func waitAlerts(ctx context.Context, log *AlertLog, expected map[string]int) {
	total := 0
	for _, n := range expected {
		total += 2 * n // raised + cleared, updates come on top
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_ = Poll(ctx, 200*time.Millisecond, func() bool { return log.Len() >= total })
	time.Sleep(2 * time.Second) // stragglers and duplicates
}

func printFaultTable(t *testing.T, fp faultPlan, p *Plan, pub *Publisher, counts map[string]int64,
	written float64, recs []recovery, rss float64, expected, raised map[string]int, unmatched []string) {
	var b strings.Builder
	fmt.Fprintf(&b, "fault run: %d machines x %d sensors at 1 Hz for %d s, QoS 1, 4 publishers; broker max_queued_messages 100000 (deploy value; Mosquitto's default 1000 would overflow while ingest is down)\n",
		fp.machines, p.Sensors, fp.seconds)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	want := int64(fp.machines * fp.seconds)
	var lost, total int64
	for _, n := range counts {
		lost += want - n
		total += n
	}
	fmt.Fprintf(tw, "points published (messages acked by broker, resent %d)\t%d\n", pub.Resent.Load(), pub.Published.Load())
	fmt.Fprintf(tw, "values published\t%d\n", want*int64(p.Sensors))
	fmt.Fprintf(tw, "values stored (distinct series+timestamp, Flux count per sensor)\t%d\n", total)
	fmt.Fprintf(tw, "values lost\t%d\n", lost)
	fmt.Fprintf(tw, "duplicate values delivered and collapsed (ingest written - stored, approx.)\t%.0f\n", written-float64(total))
	slices.SortFunc(recs, func(a, b recovery) int { return a.start.Compare(b.start) })
	for _, rc := range recs {
		fmt.Fprintf(tw, "recovery: %s\t%.2f s to %s\n", rc.fault, rc.took.Seconds(), rc.what)
	}
	exp, got := 0, 0
	for _, n := range expected {
		exp += n
	}
	for _, n := range raised {
		got += n
	}
	fmt.Fprintf(tw, "alerts raised: expected by `infer score` / delivered / without cleared\t%d / %d / %d\n", exp, got, len(unmatched))
	fmt.Fprintf(tw, "ingest peak RSS\t%.1f MB\n", rss)
	tw.Flush()
	t.Log("\n" + b.String())
	if longMode() {
		fmt.Print(b.String())
	}
}
