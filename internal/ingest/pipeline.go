package ingest

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/mqttclient"
	"github.com/faultline/faultline/internal/spool"
	"github.com/faultline/faultline/internal/telemetry"
)

// pending is the group being filled by the handlers while the committer makes the
// previous group durable. It is bounded: a full buffer blocks the handlers, which stops
// paho reading the connection, which makes the broker hold messages (backpressure).
type pending struct {
	mu     sync.Mutex
	space  *sync.Cond // signalled when a group is taken or on close
	buf    []byte     // recordHeader reserved bytes + line protocol
	acks   []mqttclient.Message
	maxTS  int64
	points int
	values int
	limit  int
	closed bool
	kick   chan struct{} // capacity 1: "there is something to commit"
}

func newPending(limit int) *pending {
	p := &pending{buf: make([]byte, recordHeader, 64<<10), limit: limit, kick: make(chan struct{}, 1)}
	p.space = sync.NewCond(&p.mu)
	return p
}

// add queues one message (and its lines, possibly none) for the next group commit.
// It returns false when the pipeline is closed: the message is then not acknowledged
// and the broker redelivers it to the next session.
func (p *pending) add(m mqttclient.Message, lines []byte, d decoded) bool {
	p.mu.Lock()
	for len(p.buf) >= p.limit && !p.closed {
		p.space.Wait()
	}
	if p.closed {
		p.mu.Unlock()
		return false
	}
	p.buf = append(p.buf, lines...)
	p.acks = append(p.acks, m)
	p.points += d.points
	p.values += d.values
	p.maxTS = max(p.maxTS, d.maxTS)
	p.mu.Unlock()
	select {
	case p.kick <- struct{}{}:
	default:
	}
	return true
}

// group is one swapped-out pending buffer.
type group struct {
	rec            []byte
	acks           []mqttclient.Message
	points, values int
}

// take swaps the pending group for the spare buffers and wakes blocked handlers.
func (p *pending) take(spare group) group {
	p.mu.Lock()
	defer p.mu.Unlock()
	g := group{rec: p.buf, acks: p.acks, points: p.points, values: p.values}
	putRecordHeader(g.rec, p.maxTS, p.points, p.values)
	p.buf, p.acks = spare.rec[:recordHeader], spare.acks[:0]
	p.maxTS, p.points, p.values = 0, 0, 0
	p.space.Broadcast()
	return g
}

func (p *pending) close() {
	p.mu.Lock()
	p.closed = true
	p.space.Broadcast()
	p.mu.Unlock()
}

// spoolWriter is what the committer needs from the spool (*spool.Spool has it); an
// interface so a unit test can check that no message is acknowledged before the
// fsync of its record.
type spoolWriter interface {
	Append(rec []byte) error
	Sync() error
	Changed() <-chan struct{}
	Size() int64
}

// committer makes groups durable (one spool record, one fsync) and then acknowledges
// their messages in arrival order.
type committer struct {
	p     *pending
	sp    spoolWriter
	c     *counters
	log   zerolog.Logger
	rlog  *rateLog
	spare group
}

// run commits until stop is closed, then commits what is pending one last time.
// ctx bounds only the final wait for spool space at shutdown.
func (cm *committer) run(ctx context.Context, stop <-chan struct{}) {
	cm.spare = group{rec: make([]byte, recordHeader, 64<<10)}
	for {
		select {
		case <-cm.p.kick:
			cm.commit(ctx, stop)
		case <-stop:
			cm.p.close()
			// The last group is committed if the spool takes it now; with the spool
			// full it stays unacknowledged (the broker redelivers it), so shutdown
			// never waits for InfluxDB.
			cm.commit(ctx, stop)
			return
		}
	}
}

func (cm *committer) commit(ctx context.Context, stop <-chan struct{}) {
	g := cm.p.take(cm.spare)
	if len(g.acks) == 0 {
		cm.spare = g
		return
	}
	if g.points > 0 {
		if err := cm.persistRetry(ctx, stop, g); err != nil {
			// Not acknowledged: the broker redelivers these messages to our next session.
			cm.log.Warn().Err(err).Int("messages", len(g.acks)).Msg("stopping with a group not made durable; it stays unacknowledged for redelivery")
			cm.spare = group{rec: g.rec[:recordHeader], acks: g.acks[:0]}
			return
		}
		cm.c.spooled.Add(int64(g.points))
	}
	for _, m := range g.acks {
		m.Ack()
	}
	cm.c.acked.Add(int64(len(g.acks)))
	clear(g.acks) // release the messages' payloads
	if cap(g.rec) > 8<<20 {
		g.rec = make([]byte, recordHeader, 64<<10) // do not keep a burst's buffer
	}
	cm.spare = group{rec: g.rec[:recordHeader], acks: g.acks[:0]}
}

var errStopped = errors.New("stopped while the spool was full")

// persistRetry makes a group durable, retrying a failed write or fsync (a full disk, an
// I/O error) with backoff until it works or the service stops. Dropping the group
// instead would leave its messages unacknowledged on a live connection: the broker only
// redelivers after a reconnect, and with its in-flight window full it would send
// nothing more, a silent stall.
func (cm *committer) persistRetry(ctx context.Context, stop <-chan struct{}, g group) error {
	backoff := 100 * time.Millisecond
	for {
		err := cm.persist(ctx, stop, g.rec)
		if err == nil || errors.Is(err, errStopped) {
			cm.c.spoolStalled.Store(false)
			return err
		}
		cm.c.spoolStalled.Store(true) // not ready until a write works again
		cm.c.spoolErrors.Add(1)
		if e := cm.rlog.event(&cm.log, zerolog.ErrorLevel, "spool_error"); e != nil {
			e.Err(err).Int("messages", len(g.acks)).Msg("spool write failed; retrying the same group (its messages stay unacknowledged)")
		}
		select {
		case <-stop:
			return errStopped
		case <-ctx.Done():
			return errStopped
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// persist appends and fsyncs one record, waiting while the spool is full.
func (cm *committer) persist(ctx context.Context, stop <-chan struct{}, rec []byte) error {
	for {
		ch := cm.sp.Changed()
		err := cm.sp.Append(rec)
		if err == nil {
			return cm.sp.Sync()
		}
		if !errors.Is(err, spool.ErrFull) {
			return err
		}
		cm.c.spoolFull.Add(1)
		if e := cm.rlog.event(&cm.log, zerolog.WarnLevel, "spool_full"); e != nil {
			e.Int64("spool_bytes", cm.sp.Size()).Msg("spool full: not acknowledging until InfluxDB catches up (the broker holds the messages)")
		}
		select {
		case <-ch:
		case <-stop:
			return errStopped
		case <-ctx.Done():
			return errStopped
		case <-time.After(time.Second):
		}
	}
}

// handler is the per-connection MQTT handler: decode, count, queue for commit.
type handler struct {
	s       *Service
	broker  Broker
	scratch []byte
	st      decodeState // samples alias its decoder until the next message: lines are built first
}

func (h *handler) handle(m mqttclient.Message) {
	s := h.s
	s.c.messages.Add(1)
	lines, d := s.dec.decode(&h.st, h.scratch[:0], m.Topic(), m.Payload(), time.Now())
	if cap(lines) <= 1<<20 {
		h.scratch = lines
	}
	if d.rebirth.Topic != "" {
		h.rebirth(d.rebirth)
	}
	for _, r := range d.rejected {
		s.c.reject(r.Reason)
		s.logReject(m.Topic(), r.Reason, r.Detail)
	}
	if d.err != nil {
		s.c.rejected.Add(1)
		r := telemetry.ReasonOf(d.err)
		s.c.reject(r)
		s.logReject(m.Topic(), r, d.err.Error())
	}
	// Never dead-letter a dead letter: with a broad filter that would loop forever.
	if (d.err != nil || len(d.rejected) > 0) && s.cfg.DeadLetter && m.Topic() != s.deadTopic {
		h.deadLetter(m, d)
	}
	if d.stamped > 0 && m.Duplicate() {
		// The broker resends a message whose PUBACK it did not get (a crash, a lost
		// connection). If the first delivery was stored, a value without its own
		// timestamp is now stored a second time at a later receive time: no
		// deduplication can tell. Count it, so the duplicates are visible.
		s.c.redeliveredStamped.Add(int64(d.stamped))
		if e := s.rlog.event(&s.log, zerolog.WarnLevel, "redelivered_stamped"); e != nil {
			e.Str("topic", m.Topic()).Msg("redelivered per-sensor value without a timestamp: stamped with the receive time again, so it may be stored twice (send {\"ts\":...,\"value\":...} to make redelivery harmless)")
		}
	}
	s.pend.add(m, lines, d)
}

// deadLetter republishes a rejected message, QoS 0 and not awaited: it is a diagnostic
// and must never slow the data path or grow memory while the broker is away.
func (h *handler) deadLetter(m mqttclient.Message, d decoded) {
	dl, ok := telemetry.NewDeadLetter(m.Topic(), m.Payload(), d.err, d.rejected)
	if !ok {
		return
	}
	b, err := dl.Marshal()
	if err != nil {
		return
	}
	h.broker.PublishAsync(h.s.deadTopic, 0, false, b)
	h.s.c.deadLetters.Add(1)
}
