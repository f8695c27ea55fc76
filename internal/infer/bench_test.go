package infer

import (
	"fmt"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/telemetry"
)

// BenchmarkIngest is the daemon's per-message cost without the broker: decode one
// 4-sensor JSON message, map it, score it.
func BenchmarkIngest(b *testing.B) {
	p := writeModel(b, b.TempDir(), "pump", "")
	var col collector
	e, _ := newTestEngine(b, EngineConfig{Model: p}, &col)
	var topics []string
	for m := 0; m < 100; m++ {
		topics = append(topics, testTopics.Telemetry(machineID(fmt.Sprintf("pump-%03d", m))))
	}
	msgs := make([][]byte, 1000)
	for i := range msgs {
		s := sampleAt(0, false)
		s.Time = t0.Add(time.Duration(i) * time.Second)
		msgs[i] = telemetry.EncodeTelemetry(nil, s)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Each machine sees strictly increasing times: message i/100 of the list.
		e.Ingest(topics[i%100], msgs[(i/100)%len(msgs)])
	}
}
