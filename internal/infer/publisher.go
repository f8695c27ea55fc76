package infer

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/alertq"
	"github.com/faultline/faultline/internal/telemetry"
)

// AlertPublisher is what the daemon needs from the MQTT client (mqttclient.Client
// satisfies it).
type AlertPublisher interface {
	Connected() bool
	Publish(ctx context.Context, topic string, qos byte, retained bool, payload []byte) error
	PublishAsync(topic string, qos byte, retained bool, payload []byte) (done <-chan struct{}, err func() error)
}

// maxBacklog bounds alerts held in memory between the engine and the publisher.
// Alerts are state changes, so even a plant-wide event stays far below it.
const maxBacklog = 100000

// publisher delivers alerts in order. The engine hands them over without blocking
// (the MQTT client's delivery goroutine must never wait on a PUBACK); one goroutine
// publishes them, and whatever the broker cannot take goes to the on-disk queue, which
// is always drained first so the order holds across an outage.
type publisher struct {
	pub     AlertPublisher
	q       *alertq.Queue
	topics  telemetry.Topics
	timeout time.Duration
	met     *Metrics
	log     zerolog.Logger

	mu   sync.Mutex
	mem  []alertq.Item
	wake chan struct{}
}

func newPublisher(pub AlertPublisher, q *alertq.Queue, topics telemetry.Topics, timeout time.Duration, met *Metrics, log zerolog.Logger) *publisher {
	p := &publisher{pub: pub, q: q, topics: topics, timeout: timeout, met: met, log: log.With().Str("component", "alerts").Logger(), wake: make(chan struct{}, 1)}
	p.met.QueueDepth.Set(float64(q.Len()))
	return p
}

// Enqueue queues an alert for its alerts topic and the retained current-state topic.
// It never blocks.
func (p *publisher) Enqueue(a telemetry.Alert) {
	b, err := json.Marshal(a)
	if err != nil { // an Alert always marshals; keep the guard so nothing panics
		p.log.Error().Err(err).Msg("encode alert")
		return
	}
	m := a.MachineID()
	p.mu.Lock()
	if len(p.mem)+2 > maxBacklog {
		p.mu.Unlock()
		p.met.Drops.WithLabelValues(DropAlertOverflow).Inc()
		return
	}
	p.mem = append(p.mem, alertq.Item{Topic: p.topics.Alerts(m), Payload: b},
		alertq.Item{Topic: p.topics.AlertState(m), Retained: true, Payload: b})
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// run publishes until ctx ends. It retries the disk queue every second, which is how
// queued alerts go out after a reconnect.
func (p *publisher) run(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		case <-tick.C:
		}
		// A batch already handed to the client is waited for even when ctx ends
		// (sendBatch bounds the wait by p.timeout): giving up on a PUBACK that is
		// on its way would queue the alert to disk and drain would send it twice.
		p.flush(context.WithoutCancel(ctx))
	}
}

// flush sends the disk queue, then the in-memory backlog; what cannot be sent goes
// to disk behind what is already there.
func (p *publisher) flush(ctx context.Context) {
	defer p.depth()
	for p.pub.Connected() {
		it, ok := p.q.Peek()
		if !ok {
			break
		}
		if err := p.send(ctx, it); err != nil {
			p.met.PublishErrors.Inc()
			p.log.Warn().Err(err).Int("queued", p.q.Len()).Msg("broker not taking queued alerts; retrying")
			break
		}
		if err := p.q.Pop(); err != nil {
			p.log.Error().Err(err).Msg("alert queue")
		}
	}
	for {
		batch := p.takeBatch()
		if len(batch) == 0 {
			return
		}
		if p.q.Len() > 0 || !p.pub.Connected() {
			for _, it := range batch {
				p.toDisk(it)
			}
			continue
		}
		p.sendBatch(ctx, batch)
	}
}

// sendBatch pipelines a batch (the client keeps their order on the connection) and
// waits for every PUBACK; one round trip per batch rather than per alert keeps latency
// flat when many machines change state at once. A failed item goes to disk; during an
// outage that can put it behind later ones of its batch, which receivers reorder by
// ts (each alert carries its episode id and time).
func (p *publisher) sendBatch(ctx context.Context, batch []alertq.Item) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	type pending struct {
		done <-chan struct{}
		err  func() error
	}
	ps := make([]pending, len(batch))
	for i, it := range batch {
		ps[i].done, ps[i].err = p.pub.PublishAsync(it.Topic, 1, it.Retained, it.Payload)
	}
	for i, pd := range ps {
		var err error
		select {
		case <-pd.done:
			err = pd.err()
		case <-ctx.Done():
			err = ctx.Err()
		}
		if err != nil {
			p.met.PublishErrors.Inc()
			p.log.Warn().Err(err).Str("topic", batch[i].Topic).Msg("alert publish failed; queued to disk")
			p.toDisk(batch[i])
		}
	}
}

// takeBatch takes up to 256 items from the in-memory backlog.
func (p *publisher) takeBatch() []alertq.Item {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := min(len(p.mem), 256)
	out := append([]alertq.Item(nil), p.mem[:n]...)
	clear(p.mem[:n])
	p.mem = p.mem[n:]
	if len(p.mem) == 0 {
		p.mem = nil
	}
	return out
}

func (p *publisher) send(ctx context.Context, it alertq.Item) error {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	return p.pub.Publish(ctx, it.Topic, 1, it.Retained, it.Payload)
}

func (p *publisher) toDisk(it alertq.Item) {
	if err := p.q.Append(it); err != nil {
		reason := DropQueueFull
		if !errors.Is(err, alertq.ErrFull) {
			reason = "queue_error"
		}
		p.met.Drops.WithLabelValues(reason).Inc()
		p.log.Error().Err(err).Str("topic", it.Topic).Msg("alert lost: cannot queue it to disk")
	}
}

func (p *publisher) depth() {
	p.mu.Lock()
	n := len(p.mem)
	p.mu.Unlock()
	p.met.QueueDepth.Set(float64(n + p.q.Len()))
}

// drain is the last flush at shutdown, bounded by timeout; anything not delivered by
// then is on disk for the next start.
func (p *publisher) drain(timeout time.Duration) (delivered bool) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	p.flush(ctx)
	return p.q.Len() == 0
}
