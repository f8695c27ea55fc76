package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/influxstore"
	"github.com/faultline/faultline/internal/mqttclient"
	"github.com/faultline/faultline/internal/telemetry"
)

var topics = telemetry.MustTopics("")

type result struct {
	published, stored int64 // messages (points per sensor)
	sensors           int
	elapsed           time.Duration // first publish to all stored
	lat               []time.Duration
	rssMB             float64
	cpuSeconds        float64 // ingest's user+system CPU over the run
	// The other processes' CPU over the run; loadCPU is this program (publishers, probe).
	brokerCPU, influxCPU, loadCPU float64
}

func (r result) line() string {
	q := func(p float64) float64 {
		if len(r.lat) == 0 {
			return 0
		}
		slices.Sort(r.lat)
		return float64(r.lat[int(p*float64(len(r.lat)-1))].Microseconds()) / 1000
	}
	vps := float64(r.stored*int64(r.sensors)) / r.elapsed.Seconds()
	cpuPerValue := 0.0
	if r.stored > 0 {
		cpuPerValue = r.cpuSeconds * 1e6 / float64(r.stored*int64(r.sensors))
	}
	return fmt.Sprintf("cpu_s ingest=%.2f mosquitto=%.2f influxd=%.2f publishers=%.2f elapsed_s=%.1f\n",
		r.cpuSeconds, r.brokerCPU, r.influxCPU, r.loadCPU, r.elapsed.Seconds()) + fmt.Sprintf("published=%d stored=%d lost=%d values_per_s=%.0f p50_latency_ms=%.1f p99_latency_ms=%.1f rss_mb=%.1f ingest_cpu_s=%.2f ingest_cpu_us_per_value=%.2f",
		r.published*int64(r.sensors), r.stored*int64(r.sensors), (r.published-r.stored)*int64(r.sensors), vps, q(0.5), q(0.99), r.rssMB,
		r.cpuSeconds, cpuPerValue)
}

// load publishes telemetry for machines from several QoS 1 connections.
type load struct {
	o       options
	pubs    []*mqttclient.Client
	sent    atomic.Int64
	lastTS  []int64 // per machine, so timestamps are strictly increasing per series
	machine []telemetry.Machine
	topic   []string // per machine: its DDATA topic (-format sparkplug)
}

func newLoad(ctx context.Context, url string, o options) (*load, error) {
	l := &load{o: o, lastTS: make([]int64, o.machines)}
	for i := range o.machines {
		l.machine = append(l.machine, telemetry.Machine{Site: "bench", Line: fmt.Sprintf("l%d", i%10), Machine: fmt.Sprintf("m%04d", i)})
		l.topic = append(l.topic, l.deviceTopic(i, "DDATA"))
	}
	for i := range o.publishers {
		cfg := mqttclient.DefaultConfig()
		cfg.URL, cfg.ClientID = url, fmt.Sprintf("bench-pub-%d", i)
		cfg.BatchIO = true
		c, err := mqttclient.New(cfg, zerolog.Nop())
		if err != nil {
			return nil, err
		}
		if err := c.Connect(ctx); err != nil {
			return nil, err
		}
		l.pubs = append(l.pubs, c)
	}
	return l, nil
}

func (l *load) close() {
	for _, p := range l.pubs {
		p.Disconnect(200 * time.Millisecond)
	}
}

// run publishes n messages (n < 0: until ctx ends) at rate msgs/s overall (0 = as fast
// as the broker acknowledges), each publisher with a window of unacknowledged messages.
func (l *load) run(ctx context.Context, n int64, rate float64) error {
	var wg sync.WaitGroup
	errc := make(chan error, len(l.pubs))
	var next atomic.Int64
	start := time.Now()
	for p, c := range l.pubs {
		wg.Go(func() {
			pub := func() error { return l.publisher(ctx, p, c, &next, n, rate, start) }
			if l.o.format == "sparkplug" {
				pub = func() error { return l.sparkplugPublisher(ctx, p, c, n, rate, start) }
			}
			if err := pub(); err != nil {
				errc <- err
			}
		})
	}
	wg.Wait()
	close(errc)
	return <-errc
}

func (l *load) publisher(ctx context.Context, p int, c *mqttclient.Client, next *atomic.Int64, n int64, rate float64, start time.Time) error {
	const window = 500
	type tok struct {
		done <-chan struct{}
		err  func() error
	}
	var inflight []tok
	buf := make([]byte, 0, 512)
	vals := make([]telemetry.Value, l.o.sensors)
	for ctx.Err() == nil {
		i := next.Add(1) - 1
		if n >= 0 && i >= n {
			break
		}
		if rate > 0 {
			if d := time.Duration(float64(i)/rate*1e9) - time.Since(start); d > 0 {
				time.Sleep(d)
			}
		}
		m := int(i) % l.o.machines
		ts := time.Now().UnixNano()
		if last := atomic.LoadInt64(&l.lastTS[m]); ts <= last {
			ts = last + 1
		}
		atomic.StoreInt64(&l.lastTS[m], ts) // one publisher owns machine m per round: races only reorder
		for s := range vals {
			vals[s] = telemetry.Value{Sensor: "s" + strconv.Itoa(s), V: float64(i%1000) + float64(s)/10}
		}
		buf = telemetry.EncodeTelemetry(buf[:0], telemetry.Sample{Time: time.Unix(0, ts), Values: vals})
		d, e := c.PublishAsync(topics.Telemetry(l.machine[m]), 1, false, slices.Clone(buf))
		inflight = append(inflight, tok{d, e})
		if len(inflight) >= window {
			<-inflight[0].done
			if err := inflight[0].err(); err != nil {
				return fmt.Errorf("publisher %d: %w", p, err)
			}
			inflight = inflight[1:]
		}
		l.sent.Add(1)
	}
	for _, t := range inflight {
		<-t.done
		if err := t.err(); err != nil {
			return fmt.Errorf("publisher %d: %w", p, err)
		}
	}
	return nil
}

// stored counts the bench points of sensor s0 (one per message).
func stored(ctx context.Context, st *influxstore.Store) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	return st.CountPoints(ctx, influxstore.SeriesQuery{Site: "bench", Start: time.Now().Add(-time.Hour), Stop: time.Now().Add(time.Hour)}, "s0")
}

// waitStored polls until want points are stored or nothing changed for idle.
func waitStored(ctx context.Context, st *influxstore.Store, want int64, idle time.Duration) (int64, time.Time, error) {
	var last int64 = -1
	lastChange := time.Now()
	for {
		n, err := stored(ctx, st)
		if err != nil {
			return n, time.Now(), err
		}
		if n != last {
			last, lastChange = n, time.Now()
		}
		if n >= want || time.Since(lastChange) > idle {
			return n, time.Now(), nil
		}
		select {
		case <-ctx.Done():
			return n, time.Now(), ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// probe measures publish-to-queryable latency: every interval it publishes one sample
// for a dedicated machine and polls InfluxDB until that exact point is there.
func probe(ctx context.Context, c *mqttclient.Client, st *influxstore.Store, interval time.Duration) []time.Duration {
	m := telemetry.Machine{Site: "probe", Line: "p", Machine: "probe"}
	var lat []time.Duration
	for ctx.Err() == nil {
		ts := time.Now()
		payload := telemetry.EncodeTelemetry(nil, telemetry.Sample{Time: ts, Values: []telemetry.Value{{Sensor: "s0", V: 1}}})
		if err := c.Publish(ctx, topics.Telemetry(m), 1, false, payload); err != nil {
			return lat
		}
		q := influxstore.SeriesQuery{Site: "probe", Start: ts, Stop: ts.Add(time.Microsecond)}
		for ctx.Err() == nil {
			n, err := st.CountPoints(ctx, q, "s0")
			if err == nil && n > 0 {
				lat = append(lat, time.Since(ts))
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		select {
		case <-ctx.Done():
		case <-time.After(interval):
		}
	}
	return lat
}

// stall freezes influxd with SIGSTOP for d: a database that stops answering, not one
// that refuses connections.
func stall(pid int, d time.Duration) {
	_ = syscall.Kill(pid, syscall.SIGSTOP)
	time.Sleep(d)
	_ = syscall.Kill(pid, syscall.SIGCONT)
}
