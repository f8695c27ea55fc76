package simulators

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/telemetry"
)

// discard is a Publisher that drops everything: the benchmarks measure generation and
// encoding, not a broker.
type discard struct{}

func (discard) Publish(context.Context, string, byte, bool, []byte) error { return nil }

func benchPlant(b *testing.B, machines int) *Plant {
	cfg := DefaultConfig()
	cfg.Machines, cfg.FaultRate = machines, 1
	p, err := NewPlant(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkStepEncode: one step of the plant plus encoding every sample into a reused
// buffer. msgs/s is samples generated and encoded per second of one core.
func BenchmarkStepEncode(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			p := benchPlant(b, n)
			var buf []byte
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				for _, e := range p.Step() {
					if e.Sample.Values != nil {
						buf = telemetry.EncodeTelemetry(buf[:0], e.Sample)
					}
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkRun: the whole Run path (truth JSON, topics, publisher calls) with a
// discarding publisher.
func BenchmarkRun(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			p := benchPlant(b, n)
			st := &Stats{}
			b.ReportAllocs()
			b.ResetTimer()
			err := p.Run(context.Background(), discard{}, RunOptions{Topics: telemetry.MustTopics(""), Stats: st,
				Duration: time.Duration(b.N) * p.Period()})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(st.Messages.Load())/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
