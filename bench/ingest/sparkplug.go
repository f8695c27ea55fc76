package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/faultline/faultline/internal/mqttclient"
	"github.com/faultline/faultline/internal/telemetry"
)

// Sparkplug B load (-format sparkplug): each line is an edge node, each machine a device
// of it. A publisher owns whole lines, so every node's messages leave in order on one
// connection and its seq has no gaps: NBIRTH, a DBIRTH per device (sensor names, aliases),
// then DDATA with the sensors by alias only, as a real edge node sends them.

func lineOf(m int) int { return m % 10 }

// sparkplugPublisher is publisher's Sparkplug form.
func (l *load) sparkplugPublisher(ctx context.Context, p int, c *mqttclient.Client, n int64, rate float64, start time.Time) error {
	var mine []int // machines on this publisher's lines
	for m := range l.o.machines {
		if lineOf(m)%len(l.pubs) == p {
			mine = append(mine, m)
		}
	}
	if len(mine) == 0 {
		return nil
	}
	seq := map[int]uint64{}
	pw := newPubWindow(c, p)
	// Every message, BIRTHs included, takes its slot in the rate schedule: an unpaced
	// burst of a thousand DBIRTHs would overflow Mosquitto's queue for ingest (1,000
	// messages), the devices would stay unborn and their data be rejected.
	var k int64
	send := func(node int, topic string, pl *telemetry.SparkplugPayload) error {
		i := k*int64(len(l.pubs)) + int64(p)
		k++
		if rate > 0 {
			if d := time.Duration(float64(i)/rate*1e9) - time.Since(start); d > 0 {
				time.Sleep(d)
			}
		}
		pl.Seq, pl.HasSeq = seq[node], true
		seq[node] = (seq[node] + 1) & 0xff
		return pw.publish(topic, telemetry.AppendSparkplug(nil, pl))
	}
	ms := uint64(time.Now().UnixMilli())
	for line := range 10 {
		if line%len(l.pubs) != p {
			continue
		}
		seq[line] = 0
		m := l.machine[line] // any machine of the line names the node
		birth := telemetry.SparkplugPayload{Timestamp: ms, HasTimestamp: true, Metrics: []telemetry.SparkplugMetric{{Name: "bdSeq", HasName: true, Kind: telemetry.SPValueLong}}}
		if err := send(line, telemetry.SparkplugNamespace+"/"+m.Site+"/NBIRTH/"+m.Line, &birth); err != nil {
			return err
		}
	}
	metrics := make([]telemetry.SparkplugMetric, l.o.sensors)
	for _, m := range mine {
		for s := range metrics {
			metrics[s] = telemetry.SparkplugMetric{Name: fmt.Sprintf("s%d", s), HasName: true, Alias: uint64(m*l.o.sensors + s), HasAlias: true,
				Datatype: telemetry.SPDouble, HasDatatype: true, Kind: telemetry.SPValueDouble, Double: 0}
		}
		// A DBIRTH carries values too, stored like DATA: it counts as a published message.
		birth := telemetry.SparkplugPayload{Timestamp: ms, HasTimestamp: true, Metrics: metrics}
		if err := send(lineOf(m), l.deviceTopic(m, "DBIRTH"), &birth); err != nil {
			return err
		}
		l.lastTS[m] = int64(ms) * 1e6
		l.sent.Add(1)
	}
	for s := range metrics {
		metrics[s] = telemetry.SparkplugMetric{HasAlias: true, Kind: telemetry.SPValueDouble}
	}
	for j := int64(0); ctx.Err() == nil; j++ {
		if n >= 0 && k*int64(len(l.pubs))+int64(p) >= n {
			break
		}
		m := mine[int(j)%len(mine)]
		// Milliseconds, strictly increasing per machine: equal timestamps would be
		// one point in InfluxDB.
		tms := max(time.Now().UnixMilli(), l.lastTS[m]/1e6+1)
		l.lastTS[m] = tms * 1e6
		for s := range metrics {
			metrics[s].Alias, metrics[s].Double = uint64(m*l.o.sensors+s), float64(j%1000)+float64(s)/10
		}
		data := telemetry.SparkplugPayload{Timestamp: uint64(tms), HasTimestamp: true, Metrics: metrics}
		if err := send(lineOf(m), l.topic[m], &data); err != nil {
			return err
		}
		l.sent.Add(1)
	}
	return pw.drain()
}

func (l *load) deviceTopic(m int, kind string) string {
	mc := l.machine[m]
	return telemetry.SparkplugNamespace + "/" + mc.Site + "/" + kind + "/" + mc.Line + "/" + mc.Machine
}

// pubWindow keeps up to 500 QoS 1 messages in flight on one connection.
type pubWindow struct {
	c        *mqttclient.Client
	p        int
	inflight []pubTok
}

type pubTok struct {
	done <-chan struct{}
	err  func() error
}

func newPubWindow(c *mqttclient.Client, p int) *pubWindow { return &pubWindow{c: c, p: p} }

func (w *pubWindow) publish(topic string, payload []byte) error {
	d, e := w.c.PublishAsync(topic, 1, false, slices.Clip(payload))
	w.inflight = append(w.inflight, pubTok{d, e})
	if len(w.inflight) >= 500 {
		<-w.inflight[0].done
		if err := w.inflight[0].err(); err != nil {
			return fmt.Errorf("publisher %d: %w", w.p, err)
		}
		w.inflight = w.inflight[1:]
	}
	return nil
}

func (w *pubWindow) drain() error {
	for _, t := range w.inflight {
		<-t.done
		if err := t.err(); err != nil {
			return fmt.Errorf("publisher %d: %w", w.p, err)
		}
	}
	return nil
}
