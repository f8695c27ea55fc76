package ingest

import (
	"testing"
	"time"

	"github.com/faultline/faultline/internal/telemetry"
)

// BenchmarkDecode is the handler's CPU per message without MQTT and disk: route,
// cardinality guard, payload decoding and line protocol (8 sensors, as bench/ingest).
func BenchmarkDecode(b *testing.B) {
	d := newDecoder(DefaultConfig())
	var st decodeState
	topic := "factory/bench/l3/m0042/telemetry"
	now := time.Now()
	p := telemetry.EncodeTelemetry(nil, telemetry.Sample{Time: now, Values: []telemetry.Value{
		{Sensor: "s0", V: 1.5}, {Sensor: "s1", V: 2.5}, {Sensor: "s2", V: 3.5}, {Sensor: "s3", V: 4.5},
		{Sensor: "s4", V: 5.5}, {Sensor: "s5", V: 6.5}, {Sensor: "s6", V: 7.5}, {Sensor: "s7", V: 8.5}}})
	var dst []byte
	b.ReportAllocs()
	for b.Loop() {
		var out decoded
		dst, out = d.decode(&st, dst[:0], topic, p, now)
		if out.err != nil || out.values != 8 {
			b.Fatalf("decoded %+v", out)
		}
	}
}
