package infer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/dataset"
	"github.com/faultline/faultline/internal/mqttclient"
	"github.com/faultline/faultline/internal/servers"
	"github.com/faultline/faultline/internal/telemetry"
	"github.com/faultline/faultline/internal/testenv"
)

// observer is a plain MQTT client recording alerts and status messages.
type observer struct {
	cl     *mqttclient.Client
	mu     sync.Mutex
	alerts []telemetry.Alert
	status []string
}

func newObserver(t *testing.T, url, id string, persistent bool) *observer {
	t.Helper()
	cfg := mqttclient.DefaultConfig()
	cfg.URL, cfg.ClientID, cfg.CleanSession = url, id, !persistent
	cfg.MaxReconnectInterval = 500 * time.Millisecond
	cl, err := mqttclient.New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	o := &observer{cl: cl}
	cl.Subscribe(testTopics.AlertsFilter(), 1, func(m mqttclient.Message) {
		var a telemetry.Alert
		if err := json.Unmarshal(m.Payload(), &a); err != nil {
			t.Errorf("alert payload %q: %v", m.Payload(), err)
			return
		}
		o.mu.Lock()
		o.alerts = append(o.alerts, a)
		o.mu.Unlock()
	})
	cl.Subscribe(testTopics.Status("infer", "+"), 1, func(m mqttclient.Message) {
		o.mu.Lock()
		o.status = append(o.status, string(m.Payload()))
		o.mu.Unlock()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Disconnect(100 * time.Millisecond) })
	return o
}

func (o *observer) get() []telemetry.Alert {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]telemetry.Alert(nil), o.alerts...)
}

func (o *observer) lastStatus() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.status) == 0 {
		return ""
	}
	return o.status[len(o.status)-1]
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type runningDaemon struct {
	d    *Daemon
	stop func() error
}

// driftScenario publishes the drift scenario for pump-0001 and calm data for
// pump-0002 on the broker at url, and returns the alerts obs saw once pump-0001 was
// raised and cleared, failing unless those two are all there is.
func driftScenario(t *testing.T, url string, obs *observer, within time.Duration) []telemetry.Alert {
	t.Helper()
	pub := publisherClient(t, url)
	sick, calm := machineID("pump-0001"), machineID("pump-0002")
	for sec := 0; sec < driftSeconds; sec++ {
		publish(t, pub, sick, sampleAt(sec, true))
		publish(t, pub, calm, sampleAt(sec, false))
	}
	waitFor(t, "raised and cleared", within, func() bool { return len(obs.get()) >= 2 })
	time.Sleep(200 * time.Millisecond) // anything extra (an alert for the calm machine) would show now
	got := obs.get()
	if states(got) != "pump-0001:raised pump-0001:cleared" {
		t.Fatalf("alerts = %q, want raised and cleared for pump-0001 only", states(got))
	}
	return got
}

func startDaemon(t *testing.T, broker *servers.Mosquitto, mutate func(*Config)) *runningDaemon {
	t.Helper()
	return startDaemonAt(t, broker.URL, mutate)
}

func publisherClient(t *testing.T, url string) *mqttclient.Client {
	t.Helper()
	cfg := mqttclient.DefaultConfig()
	cfg.URL = url
	cl, err := mqttclient.New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Disconnect(100 * time.Millisecond) })
	return cl
}

func publish(t *testing.T, cl *mqttclient.Client, m telemetry.Machine, s telemetry.Sample) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := cl.Publish(ctx, testTopics.Telemetry(m), 1, false, telemetry.EncodeTelemetry(nil, s)); err != nil {
		t.Fatal(err)
	}
}

func TestDaemonDriftAlertsIntegration(t *testing.T) {
	broker := testenv.Mosquitto(t)
	model := writeModel(t, t.TempDir(), "pump", "")
	obs := newObserver(t, broker.URL, "observer", false)
	rd := startDaemon(t, broker, func(c *Config) { c.Model = model })
	waitFor(t, "daemon online", 10*time.Second, func() bool { return obs.lastStatus() == StatusOnline })
	got := driftScenario(t, broker.URL, obs, 10*time.Second)
	if got[0].Top[0].Sensor != "bearing_temp" || got[0].ID != got[1].ID || got[0].Site != "plant" || got[0].ModelVersion != "1" {
		t.Errorf("raised alert: %+v", got[0])
	}
	// A late viewer sees the current state on the retained state topic.
	late := publisherClient(t, broker.URL)
	st := make(chan telemetry.Alert, 1)
	late.Subscribe(testTopics.AlertState(machineID("pump-0001")), 1, func(m mqttclient.Message) {
		var a telemetry.Alert
		_ = json.Unmarshal(m.Payload(), &a)
		st <- a
	})
	select {
	case a := <-st:
		if a.State != telemetry.StateCleared || a.ID != got[0].ID {
			t.Errorf("retained state = %+v", a)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no retained alert state")
	}
	if err := rd.stop(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "offline status", 5*time.Second, func() bool { return obs.lastStatus() == StatusOffline })
}

func TestLiveMatchesOfflineIntegration(t *testing.T) {
	broker := testenv.Mosquitto(t)
	dir := t.TempDir()
	model := writeModel(t, dir, "pump", "")
	// Two episodes, a short gap and a NaN cell: the same rows through both paths.
	csv := filepath.Join(dir, "run.csv")
	var rows []telemetry.Sample
	writeCSV(t, csv, func(w func(string)) {
		w("ts," + strings.Join(testSensors, ","))
		for i := 0; i < 2*driftSeconds; i++ {
			sec := i
			if i >= 100 {
				sec = i + 2 // two missing seconds: forward-filled on both paths
			}
			s := sampleAt(i%driftSeconds, true)
			s.Time = t0.Add(time.Duration(sec) * time.Second)
			line := s.Time.Format(time.RFC3339)
			for k, v := range s.Values {
				if i == 50 && k == 1 {
					line += ","
					s.Values = append(s.Values[:1:1], s.Values[2:]...)
					continue
				}
				line += fmt.Sprintf(",%g", v.V)
			}
			w(line)
			rows = append(rows, s)
		}
	})
	var out bytes.Buffer
	if _, err := Score(ScoreOptions{Model: model, CSV: dataset.Options{TimeColumn: "ts"}}, csv, &out); err != nil {
		t.Fatal(err)
	}
	offline := alertTransitions(t, out.String())
	if len(offline) != 4 {
		t.Fatalf("offline transitions %v: want two episodes", offline)
	}
	obs := newObserver(t, broker.URL, "observer", false)
	startDaemon(t, broker, func(c *Config) { c.Model = model })
	waitFor(t, "daemon online", 10*time.Second, func() bool { return obs.lastStatus() == StatusOnline })
	pub := publisherClient(t, broker.URL)
	for _, s := range rows {
		publish(t, pub, machineID("pump-9"), s)
	}
	waitFor(t, "4 alerts", 10*time.Second, func() bool { return len(obs.get()) >= 4 })
	if live := liveTransitions(obs.get()); strings.Join(live, " ") != strings.Join(offline, " ") {
		t.Fatalf("live %v != offline %v", live, offline)
	}
}

func TestCorruptReloadKeepsScoringIntegration(t *testing.T) {
	broker := testenv.Mosquitto(t)
	model := writeModel(t, t.TempDir(), "pump", "")
	obs := newObserver(t, broker.URL, "observer", false)
	rd := startDaemon(t, broker, func(c *Config) { c.Model = model; c.ReloadInterval = 50 * time.Millisecond })
	waitFor(t, "daemon online", 10*time.Second, func() bool { return obs.lastStatus() == StatusOnline })
	pub := publisherClient(t, broker.URL)
	for sec := 0; sec < 20; sec++ {
		publish(t, pub, machineID("pump-1"), sampleAt(sec, true))
	}
	if err := os.WriteFile(model, []byte("FAULTLINE-MODEL 1 10 sha256:00\n{garbage}"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "refused reload", 5*time.Second, func() bool { return value(rd.d.met.Reloads.WithLabelValues("failed")) == 1 })
	rd.d.Reload() // SIGHUP on the same bad file: refused again
	waitFor(t, "refused SIGHUP reload", 5*time.Second, func() bool { return value(rd.d.met.Reloads.WithLabelValues("failed")) == 2 })
	for sec := 20; sec < driftSeconds; sec++ {
		publish(t, pub, machineID("pump-1"), sampleAt(sec, true))
	}
	waitFor(t, "alerts after the refused reload", 10*time.Second, func() bool { return len(obs.get()) >= 2 })
	if s := states(obs.get()); s != "pump-1:raised pump-1:cleared" {
		t.Fatalf("alerts = %q", s)
	}
}

func TestBrokerDownQueuesAlertsIntegration(t *testing.T) {
	broker := testenv.Mosquitto(t)
	model := writeModel(t, t.TempDir(), "pump", "")
	// A persistent session: the broker keeps the observer's subscription across its
	// restart and queues what the daemon sends before the observer is back.
	obs := newObserver(t, broker.URL, "observer-persistent", true)
	rd := startDaemon(t, broker, func(c *Config) { c.Model = model })
	waitFor(t, "daemon online", 10*time.Second, func() bool { return obs.lastStatus() == StatusOnline })
	broker.Stop()
	waitFor(t, "daemon sees the broker gone", 10*time.Second, func() bool { return !rd.d.deps.Broker.Connected() })
	// Telemetry the daemon already held (fed directly, as from its client's buffer).
	var want []string
	for _, id := range []string{"pump-1", "pump-2", "pump-3"} {
		for sec := 0; sec < driftSeconds; sec++ {
			rd.d.Engine().Ingest(testTopics.Telemetry(machineID(id)), telemetry.EncodeTelemetry(nil, sampleAt(sec, true)))
		}
		want = append(want, id+":raised", id+":cleared")
	}
	waitFor(t, "alerts on disk", 10*time.Second, func() bool { return rd.d.q.Len() == 12 })
	if st, err := os.Stat(filepath.Join(rd.d.cfg.QueueDir, "alerts.q")); err != nil || st.Size() == 0 {
		t.Fatalf("queue file: %v, %v", st, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := broker.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "queued alerts delivered", 20*time.Second, func() bool { return len(obs.get()) >= 6 })
	if got := states(obs.get()); got != strings.Join(want, " ") {
		t.Fatalf("after restart got %q, want in order %q", got, strings.Join(want, " "))
	}
	waitFor(t, "queue emptied", 5*time.Second, func() bool { return rd.d.q.Len() == 0 })
	if st, _ := os.Stat(filepath.Join(rd.d.cfg.QueueDir, "alerts.q")); st.Size() != 0 {
		t.Errorf("delivered alerts still on disk: %d bytes", st.Size())
	}
}

// TestRestartCarriesOpenAlertIntegration: an alert open when the daemon stops is read
// back from its retained state by the next run and cleared when the machine calms,
// under the same id, with no second "raised".
func TestRestartCarriesOpenAlertIntegration(t *testing.T) {
	broker := testenv.Mosquitto(t)
	model := writeModel(t, t.TempDir(), "pump", "")
	obs := newObserver(t, broker.URL, "observer", false)
	pub := publisherClient(t, broker.URL)
	sick := machineID("pump-0001")
	first := startDaemon(t, broker, func(c *Config) { c.Model = model })
	waitFor(t, "daemon online", 10*time.Second, func() bool { return obs.lastStatus() == StatusOnline })
	for sec := 0; sec < 40; sec++ { // into the drift plateau: raised, not cleared
		publish(t, pub, sick, sampleAt(sec, true))
	}
	waitFor(t, "raised", 10*time.Second, func() bool { return len(obs.get()) >= 1 })
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}
	second := startDaemon(t, broker, func(c *Config) { c.Model = model })
	waitFor(t, "second daemon online", 10*time.Second, func() bool { return obs.lastStatus() == StatusOnline })
	time.Sleep(300 * time.Millisecond) // retained states read
	for sec := 40; sec < driftSeconds; sec++ {
		publish(t, pub, sick, sampleAt(sec, true))
	}
	waitFor(t, "cleared after the restart", 10*time.Second, func() bool { return len(obs.get()) >= 2 })
	time.Sleep(200 * time.Millisecond)
	got := obs.get()
	if states(got) != "pump-0001:raised pump-0001:cleared" || got[0].ID != got[1].ID {
		t.Fatalf("alerts %q (ids %v), want one episode raised before and cleared after the restart", states(got), got)
	}
	_ = second.stop()
}

// The daemon saves each machine's baseline when it stops and the next run, on the same
// queue directory, starts from it (a real Mosquitto between them).
func TestDaemonKeepsBaselinesAcrossRestartIntegration(t *testing.T) {
	broker := testenv.Mosquitto(t)
	dir := t.TempDir()
	// The samples are stamped in March (t0) and the daemon reads its file at the wall
	// clock's now, which drops baselines four half-lives old: a year's half-life keeps
	// these.
	model := writeBaselineModelHalfLife(t, t.TempDir(), "1", 365*24*3600)
	obs := newObserver(t, broker.URL, "observer", false)
	pub := publisherClient(t, broker.URL)
	pump := machineID("pump-0001")
	topic := testTopics.Telemetry(pump)
	first := startDaemon(t, broker, func(c *Config) { c.Model, c.QueueDir = model, dir })
	waitFor(t, "daemon online", 10*time.Second, func() bool { return obs.lastStatus() == StatusOnline })
	for sec := range 60 {
		publish(t, pub, pump, movedSample(sec))
	}
	waitFor(t, "60 samples scored", 10*time.Second, func() bool {
		b, ok := first.d.Engine().Baselines(t0)[topic]
		return ok && b.State.Factor > 3
	})
	want := first.d.Engine().Baselines(t0)[topic].State
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}
	second := startDaemon(t, broker, func(c *Config) { c.Model, c.QueueDir = model, dir })
	waitFor(t, "second daemon online", 10*time.Second, func() bool { return obs.lastStatus() == StatusOnline })
	var s telemetry.Sample
	for sec := 60; sec < 60+testWindow; sec++ { // a window's worth: the new stream scores once
		s = movedSample(sec)
		publish(t, pub, pump, s)
	}
	// Adopted by the machine's new stream: its state has the next sample's time.
	waitFor(t, "the machine's stream takes its saved baseline", 10*time.Second, func() bool {
		b, ok := second.d.Engine().Baselines(t0)[topic]
		return ok && b.State.Last.Equal(s.Time) && b.State.Factor >= want.Factor
	})
	_ = second.stop()
}

// Work announced on the maintenance topic clears the open alert (event and retained
// state, reason maintenance); a malformed announcement changes nothing. Real Mosquitto.
func TestMaintenanceClearsAlertIntegration(t *testing.T) {
	broker := testenv.Mosquitto(t)
	model := writeModel(t, t.TempDir(), "pump", "")
	obs := newObserver(t, broker.URL, "observer", false)
	pub := publisherClient(t, broker.URL)
	sick := machineID("pump-0001")
	rd := startDaemon(t, broker, func(c *Config) { c.Model = model })
	waitFor(t, "daemon online", 10*time.Second, func() bool { return obs.lastStatus() == StatusOnline })
	for sec := 0; sec < 40; sec++ { // into the drift plateau: raised, not cleared
		publish(t, pub, sick, sampleAt(sec, true))
	}
	waitFor(t, "raised", 10*time.Second, func() bool { return len(obs.get()) >= 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := pub.Publish(ctx, testTopics.Maintenance(sick), 1, false, []byte(`{"ts":"last tuesday"}`)); err != nil {
		t.Fatal(err)
	}
	work := telemetry.EncodeMaintenance(nil, telemetry.Maintenance{TS: t0.Add(40 * time.Second), Action: "bearing replaced"})
	if err := pub.Publish(ctx, testTopics.Maintenance(sick), 1, false, work); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "cleared by maintenance", 10*time.Second, func() bool { return len(obs.get()) >= 2 })
	time.Sleep(200 * time.Millisecond)
	got := obs.get()
	if states(got) != "pump-0001:raised pump-0001:cleared" || got[1].ID != got[0].ID || got[1].Reason != telemetry.ReasonMaintenance {
		t.Fatalf("alerts %+v, want the raise cleared by maintenance, once", got)
	}
	late := publisherClient(t, broker.URL)
	st := make(chan telemetry.Alert, 1)
	late.Subscribe(testTopics.AlertState(sick), 1, func(m mqttclient.Message) {
		var a telemetry.Alert
		_ = json.Unmarshal(m.Payload(), &a)
		st <- a
	})
	select {
	case a := <-st:
		if a.State != telemetry.StateCleared || a.Reason != telemetry.ReasonMaintenance {
			t.Errorf("retained state %+v, want cleared by maintenance", a)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no retained alert state")
	}
	if n := value(rd.d.met.Drops.WithLabelValues(string(telemetry.ReasonBadTS))); n != 1 {
		t.Errorf("drops{bad_timestamp} %v, want the malformed announcement counted", n)
	}
	if n := value(rd.d.met.Maintenance); n != 1 {
		t.Errorf("maintenance_total %v, want 1", n)
	}
	_ = rd.stop()
}
