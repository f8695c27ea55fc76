package infer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/alertq"
	"github.com/faultline/faultline/internal/telemetry"
)

// fakeAlertPub is an in-process AlertPublisher: a broker connection that is up (takes
// and acknowledges every publish), down (not connected, publishes fail at once) or
// stalled (connected, but no PUBACK ever comes); failNext makes the next publishes of
// an up connection fail (a transient error). sent is what the broker acknowledged, in
// order.
type fakeAlertPub struct {
	mu       sync.Mutex
	mode     string // "up", "down", "stalled"
	failNext int
	sent     []alertq.Item
}

func (f *fakeAlertPub) set(mode string) {
	f.mu.Lock()
	f.mode = mode
	f.mu.Unlock()
}

func (f *fakeAlertPub) Connected() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mode != "down"
}

func (f *fakeAlertPub) Publish(ctx context.Context, topic string, _ byte, retained bool, payload []byte) error {
	done, errf := f.PublishAsync(topic, 1, retained, payload)
	select {
	case <-done:
		return errf()
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *fakeAlertPub) PublishAsync(topic string, _ byte, retained bool, payload []byte) (<-chan struct{}, func() error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	done := make(chan struct{})
	switch {
	case f.mode == "up" && f.failNext > 0:
		f.failNext--
		close(done)
		return done, func() error { return errors.New("fake: transient publish error") }
	case f.mode == "up":
		f.sent = append(f.sent, alertq.Item{Topic: topic, Retained: retained, Payload: append([]byte(nil), payload...)})
		close(done)
		return done, func() error { return nil }
	case f.mode == "stalled":
		return done, func() error { return errors.New("fake: no PUBACK") }
	default:
		close(done)
		return done, func() error { return errors.New("fake: not connected") }
	}
}

func (f *fakeAlertPub) delivered() []alertq.Item {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]alertq.Item(nil), f.sent...)
}

func testAlert(i int) telemetry.Alert {
	return telemetry.Alert{ID: fmt.Sprintf("plant/l1/pump-%d/anomaly/%d", i%3, i), Site: "plant", Line: "l1", Machine: fmt.Sprintf("pump-%d", i%3),
		Kind: "anomaly", State: telemetry.StateRaised, Severity: "warning", Score: float64(i), TS: t0.Add(time.Duration(i) * time.Second)}
}

func newTestPublisher(t *testing.T, pub AlertPublisher, dir string) (*publisher, *alertq.Queue, *Metrics) {
	t.Helper()
	q, err := alertq.Open(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })
	met := NewMetrics(prometheus.NewRegistry())
	return newPublisher(pub, q, testTopics, 50*time.Millisecond, met, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel)), q, met
}

// checkDelivered asserts the broker got alerts want in this order, each once, each as
// its alerts-topic event followed by its retained state.
func checkDelivered(t *testing.T, got []alertq.Item, want []int) {
	t.Helper()
	if len(got) != 2*len(want) {
		t.Fatalf("broker got %d messages, want %d (2 per alert)", len(got), 2*len(want))
	}
	for k, i := range want {
		a := testAlert(i)
		ev, st := got[2*k], got[2*k+1]
		var dec telemetry.Alert
		if err := json.Unmarshal(ev.Payload, &dec); err != nil {
			t.Fatal(err)
		}
		if dec.ID != a.ID || ev.Topic != testTopics.Alerts(a.MachineID()) || ev.Retained ||
			st.Topic != testTopics.AlertState(a.MachineID()) || !st.Retained || string(st.Payload) != string(ev.Payload) {
			t.Fatalf("message %d: got %s (retained %v) then %s (retained %v) for %s; want alert %d (%s) then its retained state",
				2*k, ev.Topic, ev.Retained, st.Topic, st.Retained, dec.ID, i, a.ID)
		}
	}
}

func seqFrom(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

// TestPublisherOrderAcrossOutage: alerts raised while the broker is away (not
// connected), and while it is connected but not acknowledging, wait on disk; once it is
// back the disk queue goes first, so the broker sees every alert once, in the order
// raised, and nothing raised after the recovery overtakes the queued ones.
func TestPublisherOrderAcrossOutage(t *testing.T) {
	fake := &fakeAlertPub{mode: "up"}
	p, q, met := newTestPublisher(t, fake, t.TempDir())
	ctx := context.Background()
	enqueue := func(from, to int) {
		for i := from; i < to; i++ {
			p.Enqueue(testAlert(i))
		}
	}
	enqueue(0, 10)
	p.flush(ctx)
	checkDelivered(t, fake.delivered(), seqFrom(0, 10))

	fake.set("down")
	enqueue(10, 20)
	p.flush(ctx)
	if q.Len() != 20 || len(fake.delivered()) != 20 {
		t.Fatalf("broker down: %d items on disk, %d messages delivered; want 20 queued, still 20 delivered", q.Len(), len(fake.delivered()))
	}
	fake.set("stalled")
	enqueue(20, 25)
	p.flush(ctx)
	if q.Len() != 30 {
		t.Fatalf("broker stalled: %d items on disk, want 30 (the new ones behind the queued)", q.Len())
	}
	if got := value(met.QueueDepth); got != 30 {
		t.Errorf("queue depth gauge %v, want 30", got)
	}
	if p.drain(50 * time.Millisecond) {
		t.Error("drain reported everything delivered while the broker does not acknowledge")
	}

	// Back, but the first publish fails (transient): the new alerts must not overtake
	// the queue although the broker would take them.
	fake.mu.Lock()
	fake.mode, fake.failNext = "up", 1
	fake.mu.Unlock()
	enqueue(25, 28)
	p.flush(ctx)
	if q.Len() != 36 || len(fake.delivered()) != 20 {
		t.Fatalf("after a failed publish of the queue's head: %d on disk, %d delivered; want 36 queued, 20 delivered", q.Len(), len(fake.delivered()))
	}

	enqueue(28, 30) // raised after recovery, before the next flush: must wait for the disk queue
	p.flush(ctx)
	checkDelivered(t, fake.delivered(), seqFrom(0, 30))
	if q.Len() != 0 || value(met.QueueDepth) != 0 {
		t.Errorf("after recovery: %d items on disk, depth gauge %v; want 0, 0", q.Len(), value(met.QueueDepth))
	}
	if n := value(met.Drops.WithLabelValues(DropQueueFull)); n != 0 {
		t.Errorf("%v alerts dropped", n)
	}
}

// TestPublisherDrainsPreviousRunFirst: alerts a previous run left in the on-disk queue
// go out before the alerts of this run, through the publisher's own loop.
func TestPublisherDrainsPreviousRunFirst(t *testing.T) {
	dir := t.TempDir()
	down := &fakeAlertPub{mode: "down"}
	prev, q, _ := newTestPublisher(t, down, dir)
	for i := range 4 {
		prev.Enqueue(testAlert(i))
	}
	prev.flush(context.Background())
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}

	fake := &fakeAlertPub{mode: "up"}
	p, q2, _ := newTestPublisher(t, fake, dir) // the next start, same queue directory
	if q2.Len() != 8 {
		t.Fatalf("reopened queue holds %d items, want 8", q2.Len())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.run(ctx) }()
	for i := 4; i < 8; i++ {
		p.Enqueue(testAlert(i))
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(fake.delivered()) < 16 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	checkDelivered(t, fake.delivered(), seqFrom(0, 8))
	if q2.Len() != 0 {
		t.Errorf("%d items left on disk", q2.Len())
	}
}
