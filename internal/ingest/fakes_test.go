package ingest

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/faultline/faultline/internal/influxstore"
	"github.com/faultline/faultline/internal/mqttclient"
)

// In-process fakes of the interfaces in Deps (Broker, PointWriter) and of the
// committer's spoolWriter, for unit tests of the service's own logic. The real-server
// integration tests (*_integration_test.go) stay the proof against Mosquitto and
// InfluxDB.

// fakeWriter is an InfluxDB that keeps lines in memory. While down, every call fails
// the way an unreachable server does (retryable); refuse marks lines it never accepts
// (a field type conflict): it keeps the others and reports a partial write, as 1.8 does.
type fakeWriter struct {
	mu       sync.Mutex
	down     bool
	refuse   func(line string) bool
	maxBody  int // > 0: bodies larger than this get HTTP 413, as behind a proxy's limit
	stored   []string
	calls    int
	failures int
}

func (w *fakeWriter) setDown(down bool) {
	w.mu.Lock()
	w.down = down
	w.mu.Unlock()
}

func (w *fakeWriter) WriteLines(_ context.Context, body []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls++
	if w.down {
		w.failures++
		return &influxstore.WriteError{Status: http.StatusServiceUnavailable, Retryable: true, Dropped: -1, Err: errors.New("fake: unavailable")}
	}
	if w.maxBody > 0 && len(body) > w.maxBody {
		w.failures++
		return &influxstore.WriteError{Status: http.StatusRequestEntityTooLarge, Dropped: -1, Err: errors.New("fake: body too large")}
	}
	dropped := 0
	for _, l := range strings.SplitAfter(string(body), "\n") {
		if l == "" {
			continue
		}
		if w.refuse != nil && w.refuse(l) {
			dropped++
			continue
		}
		w.stored = append(w.stored, l)
	}
	if dropped > 0 {
		return &influxstore.WriteError{Status: http.StatusBadRequest, Dropped: dropped, Err: errors.New("fake: partial write: field type conflict")}
	}
	return nil
}

func (w *fakeWriter) EnsureBucket(ctx context.Context) error { return w.Ping(ctx) }

func (w *fakeWriter) Ping(context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.down {
		return errors.New("fake: unavailable")
	}
	return nil
}

// lines returns a copy of the stored lines in write order.
func (w *fakeWriter) lines() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.stored...)
}

// fakeBroker is one MQTT connection: deliver calls the subscribed handler on the
// caller's goroutine, as the client's ordered delivery goroutine does.
type fakeBroker struct {
	mu        sync.Mutex
	handler   mqttclient.Handler
	filters   []string
	connects  int64
	connected bool
	published []fakePublish
}

type fakePublish struct {
	topic    string
	retained bool
	payload  string
}

func (b *fakeBroker) Subscribe(filter string, _ byte, h mqttclient.Handler) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.filters = append(b.filters, filter)
	b.handler = h // one handler per connection: every filter of it shares it
}

func (b *fakeBroker) Connect(context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.connects++
	b.connected = true
	return nil
}

func (b *fakeBroker) Connected() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.connected
}

func (b *fakeBroker) Connects() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.connects
}

func (b *fakeBroker) Unmatched() int64 { return 0 }

func (b *fakeBroker) PublishAsync(topic string, _ byte, retained bool, payload []byte) (<-chan struct{}, func() error) {
	b.mu.Lock()
	b.published = append(b.published, fakePublish{topic, retained, string(payload)})
	b.mu.Unlock()
	done := make(chan struct{})
	close(done)
	return done, func() error { return nil }
}

func (b *fakeBroker) Disconnect(time.Duration) {
	b.mu.Lock()
	b.connected = false
	b.mu.Unlock()
}

func (b *fakeBroker) deliver(m mqttclient.Message) {
	b.mu.Lock()
	h := b.handler
	b.mu.Unlock()
	h(m)
}

// ackMsg is a delivered message that reports its acknowledgement.
type ackMsg struct {
	topic   string
	payload []byte
	onAck   func()
}

func (m ackMsg) Topic() string   { return m.topic }
func (m ackMsg) Payload() []byte { return m.payload }
func (m ackMsg) Duplicate() bool { return false }
func (m ackMsg) Retained() bool  { return false }
func (m ackMsg) Ack()            { m.onAck() }

// fakeSpool records the committer's calls in one event log shared with the messages'
// acknowledgements; Sync fails while syncFailures > 0 (a failing disk).
type fakeSpool struct {
	mu           sync.Mutex
	events       []spoolEvent
	syncFailures int
	changed      chan struct{}
}

type spoolEvent struct {
	kind string // "append", "sync", "sync-failed", "ack"
	rec  string // append: the record's line protocol
	msg  int    // ack: the message's index
}

func newFakeSpool(syncFailures int) *fakeSpool {
	return &fakeSpool{syncFailures: syncFailures, changed: make(chan struct{})}
}

func (f *fakeSpool) log(e spoolEvent) {
	f.mu.Lock()
	f.events = append(f.events, e)
	f.mu.Unlock()
}

func (f *fakeSpool) Append(rec []byte) error {
	f.log(spoolEvent{kind: "append", rec: string(rec[recordHeader:])})
	return nil
}

func (f *fakeSpool) Sync() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.syncFailures > 0 {
		f.syncFailures--
		f.events = append(f.events, spoolEvent{kind: "sync-failed"})
		return errors.New("fake: fsync: input/output error")
	}
	f.events = append(f.events, spoolEvent{kind: "sync"})
	return nil
}

func (f *fakeSpool) Changed() <-chan struct{} { return f.changed }
func (f *fakeSpool) Size() int64              { return 0 }

func (f *fakeSpool) snapshot() []spoolEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]spoolEvent(nil), f.events...)
}
