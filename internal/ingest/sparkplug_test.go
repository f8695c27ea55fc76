package ingest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/telemetry"
)

func spPayload(seq uint64, ms uint64, metrics ...telemetry.SparkplugMetric) []byte {
	p := telemetry.SparkplugPayload{Timestamp: ms, HasTimestamp: true, Seq: seq, HasSeq: true, Metrics: metrics}
	return telemetry.AppendSparkplug(nil, &p)
}

func spMetric(name string, alias uint64, v float64) telemetry.SparkplugMetric {
	return telemetry.SparkplugMetric{Name: name, HasName: name != "", Alias: alias, HasAlias: true,
		Datatype: telemetry.SPDouble, HasDatatype: name != "", Kind: telemetry.SPValueDouble, Double: v}
}

// TestDecodeSparkplugLines: Sparkplug messages become the same line protocol as JSON
// telemetry of the mapped machine; bad input is counted by reason; a rebirth request
// comes out for an unknown alias.
func TestDecodeSparkplugLines(t *testing.T) {
	cfg := DefaultConfig()
	sc := telemetry.DefaultSparkplugConfig()
	cfg.Sparkplug = &sc
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	d := newDecoder(cfg)
	var st decodeState
	now := time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)
	ms := uint64(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli())
	cases := []struct {
		name, topic string
		payload     []byte
		lines       string
		reason      telemetry.Reason
		rejected    int
		rebirth     bool
	}{
		{"DATA before BIRTH", "spBv1.0/s/DDATA/l/m", spPayload(1, ms, spMetric("", 1, 1)), "", telemetry.ReasonSPBeforeBirth, 0, true},
		{"NBIRTH", "spBv1.0/s/NBIRTH/l", spPayload(0, ms, spMetric("speed", 1, 2)),
			"telemetry,line=l,machine=l,site=s speed=2 1767225600000000000\n", "", 0, false},
		{"DBIRTH", "spBv1.0/s/DBIRTH/l/m", spPayload(1, ms, spMetric("b", 2, 2), spMetric("a/x", 3, 1)),
			"telemetry,line=l,machine=m,site=s b=2,a-x=1 1767225600000000000\n", "", 0, false},
		// No second rebirth request: the first was sent less than the interval ago.
		{"DDATA by alias, one unknown", "spBv1.0/s/DDATA/l/m", spPayload(2, ms+1000, spMetric("", 3, 5), spMetric("", 9, 1)),
			"telemetry,line=l,machine=m,site=s a-x=5 1767225601000000000\n", "", 1, false},
		{"malformed", "spBv1.0/s/DDATA/l/m", []byte{0xff}, "", telemetry.ReasonSPBadProtobuf, 0, false},
		{"too few levels", "spBv1.0/s/DDATA", spPayload(3, ms), "", telemetry.ReasonBadTopic, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lines, out := d.decode(&st, nil, tc.topic, tc.payload, now)
			if string(lines) != tc.lines || telemetry.ReasonOf(out.err) != tc.reason || len(out.rejected) != tc.rejected || (out.rebirth.Topic != "") != tc.rebirth {
				t.Fatalf("decode = %q, err %v, rejected %v, rebirth %q; want %q, reason %q, %d rejected, rebirth %v",
					lines, out.err, out.rejected, out.rebirth.Topic, tc.lines, tc.reason, tc.rejected, tc.rebirth)
			}
		})
	}
}

// TestSparkplugFilters: with Sparkplug on, the contract's filters are followed by
// the group's BIRTH/DATA/DEATH filters; a bad Sparkplug setting is refused by New.
func TestSparkplugFilters(t *testing.T) {
	sc := telemetry.DefaultSparkplugConfig()
	cfg, err := checkConfig(t, func(c *Config) { c.Sparkplug, c.SparkplugGroup = &sc, "plant1" })
	if err != nil {
		t.Fatal(err)
	}
	fs, _ := cfg.filters()
	if len(fs) != 10 || fs[2] != "factory/+/+/+/alerts" || fs[3] != "factory/+/+/+/maintenance" || fs[4] != "spBv1.0/plant1/NBIRTH/+" || fs[8] != "spBv1.0/plant1/DDATA/+/+" {
		t.Fatalf("filters %v", fs)
	}
	for want, mutate := range map[string]func(*Config){
		"--mqtt-connections 1": func(c *Config) { c.Sparkplug, c.Connections, c.ShareGroup = &sc, 2, "g" },
		"--sparkplug-group":    func(c *Config) { c.Sparkplug, c.SparkplugGroup = &sc, "a/b" },
	} {
		if _, err := checkConfig(t, mutate); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New = %v, want an error mentioning %q", err, want)
		}
	}
}

// BenchmarkDecodeSparkplug is BenchmarkDecode's message as Sparkplug B DDATA: 8
// metrics by alias, seq in order.
func BenchmarkDecodeSparkplug(b *testing.B) {
	cfg := DefaultConfig()
	sc := telemetry.DefaultSparkplugConfig()
	cfg.Sparkplug = &sc
	d := newDecoder(cfg)
	var st decodeState
	now := time.Now()
	ms := uint64(now.UnixMilli())
	var birth, data []telemetry.SparkplugMetric
	for s := range 8 {
		birth = append(birth, spMetric(fmt.Sprintf("s%d", s), uint64(s+1), 0))
		data = append(data, spMetric("", uint64(s+1), float64(s)+1.5))
	}
	if _, out := d.decode(&st, nil, "spBv1.0/bench/NBIRTH/l3", spPayload(0, ms), now); out.err != nil {
		b.Fatal(out.err)
	}
	if _, out := d.decode(&st, nil, "spBv1.0/bench/DBIRTH/l3/m0042", spPayload(1, ms, birth...), now); out.err != nil {
		b.Fatal(out.err)
	}
	payloads := make([][]byte, 256)
	for i := range payloads {
		payloads[i] = spPayload(uint64(i), ms, data...)
	}
	var dst []byte
	seq := 2
	b.ReportAllocs()
	for b.Loop() {
		var out decoded
		dst, out = d.decode(&st, dst[:0], "spBv1.0/bench/DDATA/l3/m0042", payloads[seq&0xff], now)
		if out.err != nil || out.values != 8 || len(out.rejected) != 0 {
			b.Fatalf("decoded %+v", out)
		}
		seq++
	}
}
