package simulators_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/mqttclient"
	"github.com/faultline/faultline/internal/telemetry"
	"github.com/faultline/faultline/internal/testenv"
	"github.com/faultline/faultline/simulators"
)

type inbox struct {
	mu   sync.Mutex
	msgs []msg
}

type msg struct {
	topic   string
	payload []byte
}

func (b *inbox) handle(m mqttclient.Message) {
	b.mu.Lock()
	b.msgs = append(b.msgs, msg{m.Topic(), append([]byte(nil), m.Payload()...)})
	b.mu.Unlock()
	m.Ack()
}

func (b *inbox) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.msgs)
}

func connect(t *testing.T, ctx context.Context, url, id string) *mqttclient.Client {
	t.Helper()
	cfg := mqttclient.DefaultConfig()
	cfg.URL, cfg.ClientID, cfg.OrderMatters = url, id, false
	c, err := mqttclient.New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Disconnect(100 * time.Millisecond) })
	return c
}

func subscribe(t *testing.T, ctx context.Context, url string, filters ...string) *inbox {
	t.Helper()
	in := &inbox{}
	c := connect(t, ctx, url, "sim-test-sub")
	for _, f := range filters {
		c.Subscribe(f, 1, in.handle)
	}
	time.Sleep(300 * time.Millisecond) // subscriptions are acknowledged asynchronously
	return in
}

func waitCount(t *testing.T, in *inbox, want int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for in.len() < want && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // anything extra would arrive now
	if got := in.len(); got != want {
		t.Fatalf("received %d messages, want %d", got, want)
	}
}

// TestPlantPublishesToMosquittoIntegration: every sample and truth record arrives at a
// real broker on a contract topic, decodes with zero rejections, and a failed machine
// goes silent.
func TestPlantPublishesToMosquittoIntegration(t *testing.T) {
	broker := testenv.Mosquitto(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	topics := telemetry.MustTopics("")
	in := subscribe(t, ctx, broker.URL, topics.TelemetryFilter(), topics.TruthFilter())
	pub := connect(t, ctx, broker.URL, "sim-test-pub")

	cfg := simulators.DefaultConfig()
	cfg.Machines, cfg.FaultRate, cfg.Downtime = 20, 0, time.Hour
	cfg.Start = time.Now().Add(-time.Hour).Truncate(time.Second)
	cfg.Schedule, _ = simulators.ParseSchedule("pump-0001=bearing_wear@1m+1m")
	plant, err := simulators.NewPlant(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st := &simulators.Stats{}
	if err := plant.Run(ctx, pub, simulators.RunOptions{Topics: topics, QoS: 1, Duration: 3 * time.Minute, Stats: st, Window: 64}); err != nil {
		t.Fatal(err)
	}
	// 20 machines x 180 s, minus pump-0001's last 60 s after its failure at 2 min.
	if got, want := st.Samples.Load(), int64(20*180-60); got != want {
		t.Errorf("generated %d samples, want %d", got, want)
	}
	waitCount(t, in, int(st.Samples.Load()+st.TruthRecords.Load()))
	if st.PublishErrors.Load() != 0 {
		t.Errorf("%d publish errors: %s", st.PublishErrors.Load(), st.LastError())
	}
	checkMessages(t, in, topics, cfg.Start)
}

func checkMessages(t *testing.T, in *inbox, topics telemetry.Topics, start time.Time) {
	t.Helper()
	perMachine := map[string]int{}
	var failure time.Time
	var pumpLast time.Time
	for _, m := range in.msgs {
		tp, err := topics.Parse(m.topic)
		if err != nil {
			t.Fatalf("topic %q: %v", m.topic, err)
		}
		typ := simulators.TypeOf(tp.Machine.Machine)
		if typ == "" || tp.Machine.Site != "site1" || tp.Machine.Line != "line1" && tp.Machine.Line != "line2" {
			t.Fatalf("machine %+v does not follow the naming", tp.Machine)
		}
		if tp.Kind == telemetry.KindTruth {
			var tr telemetry.Truth
			if err := json.Unmarshal(m.payload, &tr); err != nil {
				t.Fatalf("truth %s: %v", m.payload, err)
			}
			if tr.Event == "failure" {
				failure = tr.TS
			}
			continue
		}
		samples, rej, err := telemetry.DecodeTelemetry(m.payload, telemetry.DefaultLimits(), time.Now())
		if err != nil || len(rej) > 0 || len(samples) != 1 {
			t.Fatalf("payload %s: err %v rejections %v", m.payload, err, rej)
		}
		if got, want := len(samples[0].Values), len(simulators.Sensors(typ)); got != want {
			t.Errorf("%s: %d values, want %d", tp.Machine.Machine, got, want)
		}
		perMachine[tp.Machine.Machine]++
		if tp.Machine.Machine == "pump-0001" && samples[0].Time.After(pumpLast) {
			pumpLast = samples[0].Time
		}
	}
	if len(perMachine) != 20 || perMachine["motor-0001"] != 180 || perMachine["pump-0001"] != 120 {
		t.Errorf("per machine counts %v, want 20 machines, 180 samples each, pump-0001 120", perMachine)
	}
	if want := start.Add(2 * time.Minute); !failure.Equal(want) || !pumpLast.Equal(want.Add(-time.Second)) {
		t.Errorf("failure at %s, last pump sample %s; want failure at %s right after the last sample", failure, pumpLast, want)
	}
}

// TestReplayCSVIntegration replays a small semicolon CSV through a real broker and checks
// count, timestamps and values.
func TestReplayCSVIntegration(t *testing.T) {
	broker := testenv.Mosquitto(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	topics := telemetry.MustTopics("plant")
	in := subscribe(t, ctx, broker.URL, topics.TelemetryFilter())
	pub := connect(t, ctx, broker.URL, "sim-test-replay")

	path := filepath.Join(t.TempDir(), "m.csv")
	base := time.Date(2013, 12, 2, 21, 15, 0, 0, time.UTC)
	text := "timestamp;temp (C);pressure\n"
	for i := 0; i < 50; i++ {
		press := fmt.Sprint(1 + float64(i)/100)
		if i == 7 {
			press = "" // a missing value is left out of that sample
		}
		text += fmt.Sprintf("%s;%v;%s\n", base.Add(time.Duration(i)*5*time.Minute).Format("2006-01-02 15:04:05"), 70+float64(i)/4, press)
	}
	os.WriteFile(path, []byte(text), 0o644)
	f, _ := os.Open(path)
	table, err := simulators.ReadCSV(f, simulators.CSVOptions{})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	m := telemetry.Machine{Site: "site1", Line: "line1", Machine: "pump-0042"}
	if err := simulators.Replay(ctx, table, pub, simulators.ReplayOptions{Machine: m, Topics: topics, QoS: 1}); err != nil {
		t.Fatal(err)
	}
	waitCount(t, in, 50)
	// The subscriber handles messages concurrently (OrderMatters off): order by timestamp.
	slices.SortFunc(in.msgs, func(a, b msg) int { return bytes.Compare(a.payload, b.payload) })
	for i, msg := range in.msgs {
		if msg.topic != topics.Telemetry(m) {
			t.Fatalf("topic %q", msg.topic)
		}
		s, rej, err := telemetry.DecodeTelemetry(msg.payload, telemetry.DefaultLimits(), time.Now())
		if err != nil || len(rej) > 0 {
			t.Fatalf("%s: %v %v", msg.payload, err, rej)
		}
		want := map[string]float64{"temp__C_": 70 + float64(i)/4, "pressure": 1 + float64(i)/100}
		if i == 7 {
			delete(want, "pressure")
		}
		if !s[0].Time.Equal(base.Add(time.Duration(i)*5*time.Minute)) || len(s[0].Values) != len(want) {
			t.Fatalf("row %d: %s", i, msg.payload)
		}
		for _, v := range s[0].Values {
			if math.Abs(v.V-want[v.Sensor]) > 1e-12 {
				t.Errorf("row %d %s = %v, want %v", i, v.Sensor, v.V, want[v.Sensor])
			}
		}
	}
}
