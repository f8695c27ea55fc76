package chaos

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/mqttclient"
	"github.com/faultline/faultline/internal/telemetry"
)

// Plan is a deterministic load: machine m sends one sample a second for Seconds
// seconds, sample k stamped T0 + k s, Sensors values each. Drifting machines add
// DriftLevel to sensor s0 for DriftLen seconds from each of Episodes, so an anomaly
// model raises and clears alerts at known samples.
type Plan struct {
	Topics     telemetry.Topics
	Site       string
	Machines   int
	Sensors    int
	Seconds    int
	T0         time.Time
	DriftEvery int   // machines m with m%DriftEvery == 0 drift (0 = none)
	Episodes   []int // start seconds of the drifts
	DriftLen   int
	DriftLevel float64
}

// Machine returns machine m's identity.
func (p *Plan) Machine(m int) telemetry.Machine {
	return telemetry.Machine{Site: p.Site, Line: "l" + strconv.Itoa(m%4), Machine: fmt.Sprintf("m%04d", m)}
}

// SensorName of sensor s.
func SensorName(s int) string { return "s" + strconv.Itoa(s) }

// Value of sensor s of machine m at second k: a small wave well under the anomaly
// model's clear level, plus the drift.
func (p *Plan) Value(m, k, s int) float64 {
	v := 0.05 * math.Sin(0.7*float64(k)+float64(m)+float64(s))
	if s == 0 && p.drifting(m, k) {
		v += p.DriftLevel
	}
	return math.Round(v*1e6) / 1e6
}

func (p *Plan) drifting(m, k int) bool {
	if p.DriftEvery == 0 || m%p.DriftEvery != 0 {
		return false
	}
	for _, e := range p.Episodes {
		if k >= e && k < e+p.DriftLen {
			return true
		}
	}
	return false
}

// Sample builds machine m's sample k.
func (p *Plan) Sample(m, k int, vals []telemetry.Value) telemetry.Sample {
	vals = vals[:0]
	for s := range p.Sensors {
		vals = append(vals, telemetry.Value{Sensor: SensorName(s), V: p.Value(m, k, s)})
	}
	return telemetry.Sample{Time: p.T0.Add(time.Duration(k) * time.Second), Values: vals}
}

// WriteCSV writes the whole plan as `infer score` input: ts,asset,s0..; one asset's
// rows in time order, assets one after the other.
func (p *Plan) WriteCSV(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("ts,asset")
	for s := range p.Sensors {
		bw.WriteString("," + SensorName(s))
	}
	bw.WriteByte('\n')
	for m := range p.Machines {
		for k := range p.Seconds {
			bw.WriteString(strconv.FormatInt(p.T0.Unix()+int64(k), 10) + "," + p.Machine(m).Machine)
			for s := range p.Sensors {
				bw.WriteString("," + strconv.FormatFloat(p.Value(m, k, s), 'g', -1, 64))
			}
			bw.WriteByte('\n')
		}
	}
	return bw.Flush()
}

// Publisher sends a plan over QoS 1 from several persistent connections; machine m
// always goes through connection m % n, so each machine's samples stay in order. A
// publish that fails or gets no PUBACK is sent again: duplicates are harmless (a
// point's identity is series + timestamp) and the suite counts them.
type Publisher struct {
	Plan      *Plan
	Published atomic.Int64 // messages acknowledged by the broker
	Resent    atomic.Int64
	clients   []*mqttclient.Client
}

// NewPublisher connects n publishers with ids prefix-0.. to url.
func NewPublisher(ctx context.Context, plan *Plan, cfg mqttclient.Config, prefix string, n int) (*Publisher, error) {
	pub := &Publisher{Plan: plan}
	for i := range n {
		c := cfg
		c.ClientID, c.CleanSession = fmt.Sprintf("%s-%d", prefix, i), false
		cl, err := mqttclient.New(c, zerolog.Nop())
		if err != nil {
			return nil, err
		}
		if err := cl.Connect(ctx); err != nil {
			return nil, err
		}
		pub.clients = append(pub.clients, cl)
	}
	return pub, nil
}

// Close disconnects every publisher.
func (pub *Publisher) Close() {
	for _, c := range pub.clients {
		c.Disconnect(100 * time.Millisecond)
	}
}

// Run publishes second k of the plan at wall time T0 + k s (or at once when late)
// until the plan ends or ctx does.
func (pub *Publisher) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, len(pub.clients))
	for i, c := range pub.clients {
		wg.Go(func() { errs[i] = pub.runOne(ctx, i, c) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

type pending struct {
	topic   string
	payload []byte
	done    <-chan struct{}
	err     func() error
}

func (pub *Publisher) runOne(ctx context.Context, idx int, c *mqttclient.Client) error {
	p, n := pub.Plan, len(pub.clients)
	var window []pending
	vals := make([]telemetry.Value, 0, p.Sensors)
	for k := range p.Seconds {
		if d := time.Until(p.T0.Add(time.Duration(k) * time.Second)); d > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d):
			}
		}
		for m := idx; m < p.Machines; m += n {
			payload := telemetry.EncodeTelemetry(nil, p.Sample(m, k, vals))
			topic := p.Topics.Telemetry(p.Machine(m))
			d, e := c.PublishAsync(topic, 1, false, payload)
			window = append(window, pending{topic, payload, d, e})
			for len(window) > 400 {
				if err := pub.settle(ctx, c, window[0]); err != nil {
					return err
				}
				window = window[1:]
			}
		}
	}
	for _, w := range window {
		if err := pub.settle(ctx, c, w); err != nil {
			return err
		}
	}
	return nil
}

// settle waits for one PUBACK and sends the message again until the broker takes it.
func (pub *Publisher) settle(ctx context.Context, c *mqttclient.Client, w pending) error {
	for {
		select {
		case <-w.done:
			if w.err() == nil {
				pub.Published.Add(1)
				return nil
			}
		case <-time.After(30 * time.Second):
		case <-ctx.Done():
			return fmt.Errorf("publish %s: %w", w.topic, ctx.Err())
		}
		pub.Resent.Add(1)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		w.done, w.err = c.PublishAsync(w.topic, 1, false, w.payload)
	}
}

// AlertLog collects alerts from a subscription.
type AlertLog struct {
	mu     sync.Mutex
	alerts []telemetry.Alert
	bad    int
	last   time.Time
}

// Handle is an mqttclient.Handler.
func (l *AlertLog) Handle(m mqttclient.Message) {
	var a telemetry.Alert
	err := json.Unmarshal(m.Payload(), &a)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.bad++
		return
	}
	l.alerts, l.last = append(l.alerts, a), time.Now()
}

// Alerts returns a copy of what arrived, and how many payloads did not decode.
func (l *AlertLog) Alerts() ([]telemetry.Alert, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.alerts), l.bad
}

// Len is the number of alerts so far.
func (l *AlertLog) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.alerts)
}

// Episodes folds alerts into machine -> distinct alert ids raised, and reports ids
// raised without a cleared (or cleared without a raised).
func Episodes(alerts []telemetry.Alert) (raised map[string]int, unmatched []string) {
	state := map[string][2]bool{} // id -> raised, cleared
	machineOf := map[string]string{}
	for _, a := range alerts {
		s := state[a.ID]
		switch a.State {
		case telemetry.StateRaised:
			s[0] = true
		case telemetry.StateCleared:
			s[1] = true
		}
		state[a.ID], machineOf[a.ID] = s, a.Machine
	}
	raised = map[string]int{}
	for id, s := range state {
		if s[0] {
			raised[machineOf[id]]++
		}
		if s[0] != s[1] {
			unmatched = append(unmatched, id)
		}
	}
	slices.Sort(unmatched)
	return raised, unmatched
}
