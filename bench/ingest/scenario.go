package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/mqttclient"
)

// startLoad connects the publishers and starts the latency probe, the common start of
// every scenario; the caller closes the load and stops the probe.
func startLoad(ctx context.Context, r *rig, o options) (*load, func() []time.Duration, error) {
	l, err := newLoad(ctx, r.broker.URL, o)
	if err != nil {
		return nil, nil, err
	}
	stopProbe, err := startProbe(ctx, r)
	if err != nil {
		l.close()
		return nil, nil, err
	}
	return l, stopProbe, nil
}

// throughput publishes as fast as the broker takes it for o.duration while probing latency.
func throughput(ctx context.Context, r *rig, o options) (result, error) {
	l, stopProbe, err := startLoad(ctx, r, o)
	if err != nil {
		return result{}, err
	}
	defer l.close()
	start := time.Now()
	waitProfile := startCPUProfile(ctx, r, o.cpuProfile, o.duration)
	pctx, cancel := context.WithTimeout(ctx, o.duration)
	err = l.run(pctx, -1, o.rate)
	cancel()
	if perr := waitProfile(); perr != nil {
		fmt.Fprintln(os.Stderr, perr)
	}
	if err != nil && ctx.Err() == nil && pctx.Err() == nil {
		return result{}, err
	}
	pub := l.sent.Load()
	fmt.Fprintf(os.Stderr, "published %d messages in %s (%.0f msg/s); waiting for InfluxDB\n", pub, time.Since(start).Round(time.Millisecond), float64(pub)/time.Since(start).Seconds())
	n, end, err := waitStored(ctx, r.store, pub, 20*time.Second)
	lats := stopProbe()
	return result{published: pub, stored: n, sensors: o.sensors, elapsed: end.Sub(start), lat: lats}, err
}

// burst: 20,000 messages as fast as possible, then 5,000 msg/s for 12 s with InfluxDB
// frozen for 6 s in the middle; Mosquitto keeps its default limits.
func burst(ctx context.Context, r *rig, o options) (result, error) {
	l, stopProbe, err := startLoad(ctx, r, o)
	if err != nil {
		return result{}, err
	}
	defer l.close()
	start := time.Now()
	if err := l.run(ctx, 20000, 0); err != nil {
		return result{}, err
	}
	fmt.Fprintf(os.Stderr, "burst of 20000 published in %s\n", time.Since(start).Round(time.Millisecond))
	var wg sync.WaitGroup
	wg.Go(func() {
		time.Sleep(3 * time.Second)
		fmt.Fprintln(os.Stderr, "stalling InfluxDB (SIGSTOP) for 6s")
		stall(r.influx.PID(), 6*time.Second)
	})
	l.sent.Store(0)
	err = l.run(ctx, 60000, 5000)
	wg.Wait()
	if err != nil {
		return result{}, err
	}
	pub := 20000 + l.sent.Load()
	n, end, err := waitStored(ctx, r.store, pub, 30*time.Second)
	return result{published: pub, stored: n, sensors: o.sensors, elapsed: end.Sub(start), lat: stopProbe()}, err
}

// startProbe runs the latency probe on its own connection until the returned func is called.
func startProbe(ctx context.Context, r *rig) (func() []time.Duration, error) {
	cfg := mqttclient.DefaultConfig()
	cfg.URL, cfg.ClientID = r.broker.URL, "bench-probe"
	c, err := mqttclient.New(cfg, zerolog.Nop())
	if err != nil {
		return nil, err
	}
	if err := c.Connect(ctx); err != nil {
		return nil, err
	}
	pctx, cancel := context.WithCancel(ctx)
	var lat []time.Duration
	done := make(chan struct{})
	go func() { defer close(done); lat = probe(pctx, c, r.store, 200*time.Millisecond) }()
	return func() []time.Duration {
		cancel()
		<-done
		c.Disconnect(100 * time.Millisecond)
		return lat
	}, nil
}
