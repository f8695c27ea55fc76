package simulators

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/faultline/faultline/internal/telemetry"
)

// Publisher sends one MQTT message. mqttclient.Client satisfies it.
type Publisher interface {
	Publish(ctx context.Context, topic string, qos byte, retained bool, payload []byte) error
}

// AsyncPublisher is the optional fire-and-track form (mqttclient.Client has it). When the
// Publisher also implements it, Run keeps up to Window messages in flight instead of
// waiting for each acknowledgement.
type AsyncPublisher interface {
	PublishAsync(topic string, qos byte, retained bool, payload []byte) (done <-chan struct{}, err func() error)
}

// Stats counts what a run produced. Safe to read while the run goes on.
type Stats struct {
	Steps         atomic.Int64
	Samples       atomic.Int64 // telemetry samples generated (one per machine and step while up)
	Messages      atomic.Int64 // MQTT messages handed to the broker (telemetry, sensors, truth)
	TruthRecords  atomic.Int64
	PublishErrors atomic.Int64
	lastErr       atomic.Pointer[string]
}

// LastError is the most recent publish error, "" when none.
func (s *Stats) LastError() string {
	if p := s.lastErr.Load(); p != nil {
		return *p
	}
	return ""
}

func (s *Stats) publishFailed(err error) {
	s.PublishErrors.Add(1)
	msg := err.Error()
	s.lastErr.Store(&msg)
}

// RunOptions say where a run's output goes and how fast it goes.
type RunOptions struct {
	Topics          telemetry.Topics
	QoS             byte
	PerSensorTopics bool // publish each value on .../sensors/{sensor} instead of .../telemetry
	// Sparkplug, when set, publishes telemetry as Sparkplug B edge nodes instead of the
	// JSON contract (truth stays JSON on the contract's topics); see SparkplugEdges.
	Sparkplug *SparkplugEdges
	Window    int // async publishes in flight; default 1024
	CSVDir    string
	Truth     io.Writer // JSON lines; nil for none
	// Speed is simulated seconds per wall-clock second; <= 0 runs as fast as possible.
	Speed float64
	// Duration of simulated time; 0 runs until ctx ends.
	Duration time.Duration
	Stats    *Stats // optional
}

// Run steps the plant, pacing the steps to opt.Speed, and sends every emission to the
// publisher (nil: none), the CSV files and the truth writer. It returns nil when the
// duration is done or ctx is cancelled, after flushing files and waiting (up to 5 s) for
// messages in flight; an error means an output could not be written.
func (p *Plant) Run(ctx context.Context, pub Publisher, opt RunOptions) error {
	if opt.Stats == nil {
		opt.Stats = &Stats{}
	}
	var csv *csvSink
	if opt.CSVDir != "" {
		var err error
		if csv, err = newCSVSink(opt.CSVDir, p.Machines()); err != nil {
			return err
		}
	}
	var mq *mqttSink
	if pub != nil {
		mq = newMQTTSink(pub, opt, p.Machines())
	}
	tw := newTruthSink(opt.Truth)
	err := p.loop(ctx, opt, mq, csv, tw)
	if mq != nil {
		mq.drain()
	}
	if e := tw.flush(); err == nil {
		err = e
	}
	if csv != nil {
		if e := csv.close(); err == nil {
			err = e
		}
	}
	return err
}

func (p *Plant) loop(ctx context.Context, opt RunOptions, mq *mqttSink, csv *csvSink, tw *truthSink) error {
	total := int64(0)
	if opt.Duration > 0 {
		total = p.steps(opt.Duration.Seconds())
	}
	wall0 := time.Now()
	lastFlush := wall0
	for n := int64(0); total == 0 || n < total; n++ {
		if opt.Speed > 0 && !sleepUntil(ctx, wall0.Add(time.Duration(float64(n)*p.dt/opt.Speed*1e9))) {
			return nil
		}
		if ctx.Err() != nil {
			return nil
		}
		for i, e := range p.Step() {
			if err := p.output(ctx, i, &e, opt.Stats, mq, csv, tw); err != nil {
				return err
			}
		}
		opt.Stats.Steps.Add(1)
		// A paced (live) run flushes the truth file about once a second: unflushed, a
		// reader tailing it saw nothing for minutes (64 KiB buffered at ~100 records a
		// simulated minute). Runs as fast as possible leave it to the buffer.
		if opt.Speed > 0 && tw.pending() && time.Since(lastFlush) >= time.Second {
			if err := tw.flush(); err != nil {
				return err
			}
			lastFlush = time.Now()
		}
	}
	return nil
}

func (p *Plant) output(ctx context.Context, i int, e *Emission, st *Stats, mq *mqttSink, csv *csvSink, tw *truthSink) error {
	if mq != nil {
		for j := range e.Truth {
			if Announced(e.Truth[j]) {
				// The work is announced before the repaired machine's first sample, so
				// the daemon starts it afresh.
				m := telemetry.Maintenance{TS: e.Truth[j].TS, Action: "simulated repair", By: "simulator"}
				mq.send(ctx, mq.maintTopics[i], telemetry.EncodeMaintenance(nil, m))
			}
		}
	}
	if e.Sample.Values != nil {
		st.Samples.Add(1)
		if csv != nil {
			if err := csv.write(i, e.Sample); err != nil {
				return err
			}
		}
		if mq != nil {
			mq.telemetry(ctx, i, e.Sample)
		}
	}
	for j := range e.Truth {
		st.TruthRecords.Add(1)
		b, err := json.Marshal(&e.Truth[j])
		if err != nil {
			return fmt.Errorf("encode truth: %w", err)
		}
		if err := tw.write(b); err != nil {
			return err
		}
		if mq != nil {
			mq.send(ctx, mq.truthTopics[i], b)
		}
	}
	return nil
}

// sleepUntil waits for the deadline; false when ctx ended first. Deadlines less than a
// millisecond away are not slept for: at high speed many steps share a millisecond.
func sleepUntil(ctx context.Context, deadline time.Time) bool {
	d := time.Until(deadline)
	if d < time.Millisecond {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// mqttSink encodes into reused buffers and publishes with a bounded window of
// in-flight messages. A buffer is only reused once its message is done, because paho
// keeps a reference to the payload until then.
type mqttSink struct {
	pub         Publisher
	async       AsyncPublisher
	qos         byte
	perSensor   bool
	stats       *Stats
	slots       []slot
	next        int
	buf         []byte
	telTopics   []string
	truthTopics []string
	maintTopics []string
	sensTopics  [][]string
	sp          *SparkplugEdges
	machines    []string   // machine names (Sparkplug device ids)
	sensors     [][]string // sensor names per machine (Sparkplug BIRTH)
}

type slot struct {
	buf  []byte
	done <-chan struct{}
	err  func() error
}

func newMQTTSink(pub Publisher, opt RunOptions, ms []MachineInfo) *mqttSink {
	s := &mqttSink{pub: pub, qos: opt.QoS, perSensor: opt.PerSensorTopics, stats: opt.Stats, sp: opt.Sparkplug}
	if a, ok := pub.(AsyncPublisher); ok {
		s.async = a
		s.slots = make([]slot, max(1, cmpOr(opt.Window, 1024)))
	}
	for _, m := range ms {
		s.telTopics = append(s.telTopics, opt.Topics.Telemetry(m.Machine))
		s.truthTopics = append(s.truthTopics, opt.Topics.Truth(m.Machine))
		s.maintTopics = append(s.maintTopics, opt.Topics.Maintenance(m.Machine))
		s.machines, s.sensors = append(s.machines, m.Machine.Machine), append(s.sensors, m.Sensors)
		if opt.PerSensorTopics {
			var ts []string
			for _, name := range m.Sensors {
				ts = append(ts, opt.Topics.Sensor(m.Machine, name))
			}
			s.sensTopics = append(s.sensTopics, ts)
		}
	}
	return s
}

func cmpOr(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

func (s *mqttSink) telemetry(ctx context.Context, i int, smp telemetry.Sample) {
	if s.sp != nil {
		s.sparkplug(ctx, i, smp, s.sensors[i])
		return
	}
	if !s.perSensor {
		s.publish(ctx, s.telTopics[i], func(dst []byte) []byte { return telemetry.EncodeTelemetry(dst, smp) })
		return
	}
	for j, v := range smp.Values {
		if v != v { // NaN: a dropped value is not published
			continue
		}
		s.publish(ctx, s.sensTopics[i][j], func(dst []byte) []byte { return encodeSensor(dst, smp.Time, v.V) })
	}
}

// encodeSensor writes the per-sensor payload {"ts":"...","value":v}.
func encodeSensor(dst []byte, t time.Time, v float64) []byte {
	dst = append(dst, `{"ts":"`...)
	dst = t.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","value":`...)
	dst = strconv.AppendFloat(dst, v, 'g', -1, 64)
	return append(dst, '}')
}

func (s *mqttSink) send(ctx context.Context, topic string, payload []byte) {
	s.publish(ctx, topic, func(dst []byte) []byte { return append(dst, payload...) })
}

func (s *mqttSink) publish(ctx context.Context, topic string, encode func([]byte) []byte) {
	s.publishVia(ctx, s.pub, topic, encode)
}

// publishVia publishes on pub (an edge node's own connection, or the sink's).
func (s *mqttSink) publishVia(ctx context.Context, pub Publisher, topic string, encode func([]byte) []byte) {
	async, _ := pub.(AsyncPublisher)
	if s.async == nil || async == nil {
		s.buf = encode(s.buf[:0])
		if err := pub.Publish(ctx, topic, s.qos, false, s.buf); err != nil {
			s.stats.publishFailed(err)
			return
		}
		s.stats.Messages.Add(1)
		return
	}
	sl := &s.slots[s.next]
	s.next = (s.next + 1) % len(s.slots)
	if !s.wait(ctx, sl) {
		return
	}
	sl.buf = encode(sl.buf[:0])
	sl.done, sl.err = async.PublishAsync(topic, s.qos, false, sl.buf)
	s.stats.Messages.Add(1)
}

// wait blocks until the slot's previous message is done; false when ctx ended.
func (s *mqttSink) wait(ctx context.Context, sl *slot) bool {
	if sl.done == nil {
		return true
	}
	select {
	case <-sl.done:
	case <-ctx.Done():
		return false
	}
	if err := sl.err(); err != nil {
		s.stats.publishFailed(err)
	}
	sl.done = nil
	return true
}

// drain waits up to 5 s for the messages in flight.
func (s *mqttSink) drain() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := range s.slots {
		if !s.wait(ctx, &s.slots[i]) {
			return
		}
	}
}
