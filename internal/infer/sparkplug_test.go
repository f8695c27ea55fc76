package infer

import (
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/telemetry"
)

type sentCmd struct{ topic string }

func spMsg(seq int, sec int, metrics ...telemetry.SparkplugMetric) []byte {
	p := telemetry.SparkplugPayload{Timestamp: uint64(t0.Add(time.Duration(sec) * time.Second).UnixMilli()), HasTimestamp: true,
		Seq: uint64(seq & 0xff), HasSeq: true, Metrics: metrics}
	return telemetry.AppendSparkplug(nil, &p)
}

func spVal(name string, alias uint64, v float64) telemetry.SparkplugMetric {
	return telemetry.SparkplugMetric{Name: name, HasName: name != "", Alias: alias, HasAlias: true,
		Datatype: telemetry.SPFloat, HasDatatype: name != "", Kind: telemetry.SPValueDouble, Double: v}
}

// TestSparkplugScoresLikeJSON: the drift scenario sent as Sparkplug B DDATA by alias
// raises and clears the same alerts as the JSON test (TestEngineDriftRaisesAndClears);
// DATA before BIRTH asks for a rebirth; NDEATH takes the machine's state away like an
// outage and carries its open alert.
func TestSparkplugScoresLikeJSON(t *testing.T) {
	p := writeModel(t, t.TempDir(), "pump", "")
	var col collector
	e, met := newTestEngine(t, EngineConfig{Model: p}, &col)
	var sent []sentCmd
	pub := func(topic string, qos byte, retained bool, payload []byte) (<-chan struct{}, func() error) {
		sent = append(sent, sentCmd{topic})
		return nil, nil
	}
	sc := telemetry.DefaultSparkplugConfig()
	sc.Mapping.Site = "plant" // machineID's site; line = node, machine = device
	lim := telemetry.DefaultLimits()
	lim.MaxFuture = 0
	in, err := newSparkplugIntake(sc, lim, e, nil, pub, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	in.handle("spBv1.0/g/DDATA/l1/pump-0001", spMsg(1, 0, spVal("", 1, 0)))
	if len(sent) != 1 || sent[0].topic != "spBv1.0/g/NCMD/l1" || value(met.Drops.WithLabelValues(string(telemetry.ReasonSPBeforeBirth))) != 1 {
		t.Fatalf("DATA before BIRTH: sent %v", sent)
	}
	in.handle("spBv1.0/g/NBIRTH/l1", spMsg(0, 0))
	var birth []telemetry.SparkplugMetric
	for i, s := range testSensors {
		birth = append(birth, spVal(s, uint64(i+1), driftValue(s, 0, true)))
	}
	in.handle("spBv1.0/g/DBIRTH/l1/pump-0001", spMsg(1, 0, birth...))
	seq := 2
	for sec := 1; sec < 40; sec++ {
		var data []telemetry.SparkplugMetric
		for i, s := range testSensors {
			data = append(data, spVal("", uint64(i+1), driftValue(s, sec, true)))
		}
		in.handle("spBv1.0/g/DDATA/l1/pump-0001", spMsg(seq, sec, data...))
		seq++
	}
	if got := states(col.get()); got != "pump-0001:raised" {
		t.Fatalf("alerts %q, want pump-0001 raised", got)
	}
	in.handle("spBv1.0/g/NDEATH/l1", spMsg(0, 40, telemetry.SparkplugMetric{Name: "bdSeq", HasName: true, Kind: telemetry.SPValueLong}))
	if e.Machines() != 0 || value(in.offline) != 1 {
		t.Fatalf("after NDEATH: %d machines, offline %v", e.Machines(), value(in.offline))
	}
	// Back with a new session, calm: the carried alert clears under its own id.
	in.handle("spBv1.0/g/NBIRTH/l1", spMsg(0, 41))
	in.handle("spBv1.0/g/DBIRTH/l1/pump-0001", spMsg(1, 41, birth...))
	seq = 2
	for sec := 45; sec < driftSeconds+20; sec++ {
		var data []telemetry.SparkplugMetric
		for i, s := range testSensors {
			data = append(data, spVal("", uint64(i+1), driftValue(s, 0, true)))
		}
		in.handle("spBv1.0/g/DDATA/l1/pump-0001", spMsg(seq, sec, data...))
		seq++
	}
	got := col.get()
	if states(got) != "pump-0001:raised pump-0001:cleared" || got[0].ID != got[1].ID {
		t.Fatalf("alerts %q (ids %v), want the raised alert cleared under its id after the rebirth", states(got), got)
	}
	if len(sent) != 1 {
		t.Fatalf("rebirth requests %v, want only the first", sent)
	}
}
