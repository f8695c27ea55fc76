package ingest

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/telemetry"
)

func TestDecodeLinesAndReasons(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxMachines = 1
	d := newDecoder(cfg)
	var st decodeState
	now := time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)
	cases := []struct {
		topic, payload string
		lines          string
		reason         telemetry.Reason
		rejected       int
	}{
		{"factory/s/l/m/telemetry", `{"ts":"2026-01-01T00:00:00Z","values":{"b":2,"a":1}}`,
			"telemetry,line=l,machine=m,site=s a=1,b=2 1767225600000000000\n", "", 0},
		{"factory/s/l/m/telemetry", `{"ts":"2026-01-01T00:00:00Z","values":{"a":1,"b":"x"}}`,
			"telemetry,line=l,machine=m,site=s a=1 1767225600000000000\n", "", 1},
		{"factory/s/l/m/sensors/t", `{"ts":"2026-01-01T00:00:00Z","value":3.5}`,
			"telemetry,line=l,machine=m,site=s t=3.5 1767225600000000000\n", "", 0},
		{"factory/s/l/m/alerts", `{}`, "", telemetry.ReasonBadTopic, 0},
		{"factory/s/l/m/telemetry", `{"ts":"2026-01-01T00:00:00Z","values":{"a":"x"}}`, "", telemetry.ReasonWrongType, 0},
		{"factory/s/l/other/telemetry", `{"ts":"2026-01-01T00:00:00Z","values":{"a":1}}`, "", telemetry.ReasonTooManySeries, 0},
	}
	for _, tc := range cases {
		t.Run(tc.topic+" "+tc.payload, func(t *testing.T) {
			lines, out := d.decode(&st, nil, tc.topic, []byte(tc.payload), now)
			if string(lines) != tc.lines || telemetry.ReasonOf(out.err) != tc.reason || len(out.rejected) != tc.rejected {
				t.Fatalf("decode = %q, err %v, rejected %v; want %q, reason %q, %d rejected", lines, out.err, out.rejected, tc.lines, tc.reason, tc.rejected)
			}
		})
	}
}

// With --tag-template, topics of the custom tree are read through telemetry.Template:
// a telemetry payload per machine, or one value per sensor level; a topic the template
// refuses is a bad topic, and the contract's own topics are not read.
func TestDecodeTagTemplate(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)
	for _, tc := range []struct {
		template, topic, payload string
		lines                    string
		reason                   telemetry.Reason
	}{
		{"plant/site/line/machine/data", "plant/s/l/m/data", `{"ts":"2026-01-01T00:00:00Z","values":{"a":1}}`,
			"telemetry,line=l,machine=m,site=s a=1 1767225600000000000\n", ""},
		{"plant/+/line/machine/sensor", "plant/gw/l/m/t", `{"ts":"2026-01-01T00:00:00Z","value":3.5}`,
			"telemetry,line=l,machine=m t=3.5 1767225600000000000\n", ""},
		{"plant/site/line/machine/data", "plant/s/l/_m/data", `{"ts":"2026-01-01T00:00:00Z","values":{"a":1}}`, "", telemetry.ReasonBadTopic},
		{"plant/site/line/machine/data", "factory/s/l/m/telemetry", `{"ts":"2026-01-01T00:00:00Z","values":{"a":1}}`, "", telemetry.ReasonBadTopic},
	} {
		t.Run(tc.template+" "+tc.topic, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.TagTemplate = tc.template
			if fs, err := cfg.filters(); err != nil || len(fs) != 1 {
				t.Fatalf("filters %v, %v: want the template's one filter", fs, err)
			}
			var st decodeState
			lines, out := newDecoder(cfg).decode(&st, nil, tc.topic, []byte(tc.payload), now)
			if string(lines) != tc.lines || telemetry.ReasonOf(out.err) != tc.reason {
				t.Fatalf("decode = %q, err %v; want %q, reason %q", lines, out.err, tc.lines, tc.reason)
			}
		})
	}
}

// TestSharedFiltersAndRefusals: a share group prefixes every filter; values that
// cannot work are refused by New with the allowed range, before anything connects.
// (The flags and environment that fill these fields: cmd/ingest's tests.)
func TestSharedFiltersAndRefusals(t *testing.T) {
	cfg, err := checkConfig(t, func(c *Config) { c.ShareGroup, c.Connections = "g", 2 })
	if err != nil {
		t.Fatal(err)
	}
	fs, _ := cfg.filters()
	if len(fs) != 4 || fs[0] != "$share/g/factory/+/+/+/telemetry" || fs[2] != "$share/g/factory/+/+/+/alerts" || fs[3] != "$share/g/factory/+/+/+/maintenance" {
		t.Fatalf("filters = %v", fs)
	}
	for want, mutate := range map[string]func(*Config){
		"needs --share-group":                func(c *Config) { c.Connections = 2 },
		"--writers 0: use 1..64":             func(c *Config) { c.Writers = 0 },
		"--spool-max-mb 0: use 1..1048576":   func(c *Config) { c.SpoolMaxBytes = 0 },
		"--max-payload 0 bytes: use 64..":    func(c *Config) { c.Limits.MaxPayload = 0 },
		"--flush-interval 0s: use 1ms..1m0s": func(c *Config) { c.FlushInterval = 0 },
		"--client-id is empty":               func(c *Config) { c.ClientID = "" },
		"--spool-dir is empty":               func(c *Config) { c.SpoolDir = "" },
	} {
		if _, err := checkConfig(t, mutate); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New = %v, want an error containing %q", err, want)
		}
	}
	if _, err := checkConfig(t, func(c *Config) { c.TagTemplate = "site/line" }); err == nil {
		t.Error("a template without a machine level was accepted")
	}
}

func TestRateLogSuppresses(t *testing.T) {
	r := newRateLog(time.Hour)
	var buf bytes.Buffer
	log := zerologTo(&buf)
	n := 0
	for range 100 {
		if e := r.event(&log, 1, "k"); e != nil {
			e.Msg("x")
			n++
		}
	}
	if n != 1 || r.suppress["k"] != 99 {
		t.Fatalf("logged %d lines, suppressed %d; want 1 and 99", n, r.suppress["k"])
	}
}

// fakeMsg is an MQTT message as the adapter hands it over.
type fakeMsg struct {
	topic, payload string
	dup            bool
}

func (m fakeMsg) Topic() string   { return m.topic }
func (m fakeMsg) Payload() []byte { return []byte(m.payload) }
func (m fakeMsg) Duplicate() bool { return m.dup }
func (m fakeMsg) Retained() bool  { return false }
func (m fakeMsg) Ack()            {}

// TestRedeliveredReceiveStampedIsCounted (issue 16.12): a per-sensor bare value has no
// timestamp of its own and is stamped with the receive time, so a broker redelivery
// (DUP) after a crash stores it a second time, later. That is counted (metric and a
// warning) instead of being called harmless; values with their own timestamp and first
// deliveries are not counted.
func TestRedeliveredReceiveStampedIsCounted(t *testing.T) {
	cfg := DefaultConfig()
	s := &Service{cfg: cfg, c: newCounters(), dec: newDecoder(cfg), pend: newPending(1 << 20), rlog: newRateLog(time.Hour), log: zerologTo(&bytes.Buffer{})}
	h := &handler{s: s}
	for _, m := range []fakeMsg{
		{"factory/s/l/m/sensors/t", "3.5", true},                                            // counted
		{"factory/s/l/m/sensors/t", " 4 ", true},                                            // counted
		{"factory/s/l/m/sensors/t", "3.5", false},                                           // first delivery
		{"factory/s/l/m/sensors/t", `{"ts":"2026-01-01T00:00:00Z","value":3}`, true},        // own timestamp: idempotent
		{"factory/s/l/m/telemetry", `{"ts":"2026-01-01T00:00:00Z","values":{"a":1}}`, true}, // idempotent
		{"factory/s/l/m/sensors/t", "oops", true},                                           // rejected, not stored
	} {
		h.handle(m)
	}
	if got := s.c.redeliveredStamped.Load(); got != 2 {
		t.Fatalf("redelivered receive-stamped values = %d, want 2", got)
	}
}

// TestCardinalityGuardFieldsAndRestart (issue 16.14): new sensor names are bounded per
// machine and in total, each refused value is a counted too_many_fields rejection (the
// admitted values of the same message are kept), and what was admitted survives a
// restart through the spool directory. Before, only machines were bounded, and only
// for the process lifetime.
func TestCardinalityGuardFieldsAndRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.MaxMachines, cfg.MaxFieldsPerMachine, cfg.MaxFields = 2, 3, 4
	now := time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)
	msg := func(sensors ...string) string {
		var kv []string
		for i, s := range sensors {
			kv = append(kv, fmt.Sprintf("%q:%d", s, i))
		}
		return `{"ts":"2026-01-01T00:00:00Z","values":{` + strings.Join(kv, ",") + `}}`
	}
	run := func(d *decoder, topic, payload string) (string, []telemetry.Rejection, error) {
		var st decodeState
		lines, out := d.decode(&st, nil, topic, []byte(payload), now)
		return string(lines), out.rejected, out.err
	}
	d := newDecoder(cfg)
	if _, _, err := d.guard.load(dir); err != nil {
		t.Fatal(err)
	}
	lines, rej, err := run(d, "factory/s/l/m1/telemetry", msg("a", "b", "c", "d", "e"))
	if err != nil || strings.Count(lines, "\n") != 1 || !strings.Contains(lines, "a=0,b=1,c=2 ") || len(rej) != 2 || rej[0].Reason != telemetry.ReasonTooManyFields {
		t.Fatalf("5 new sensors, 3 allowed: lines %q, rejections %v, err %v", lines, rej, err)
	}
	// Total bound: m2 may add one name (4 in total), not two.
	if _, rej, _ = run(d, "factory/s/l/m2/telemetry", msg("a", "b")); len(rej) != 1 || !strings.Contains(rej[0].Detail, "--max-fields") {
		t.Fatalf("total bound: rejections %v", rej)
	}
	if _, _, err = run(d, "factory/s/l/m3/telemetry", msg("a")); telemetry.ReasonOf(err) != telemetry.ReasonTooManySeries {
		t.Fatalf("third machine: err %v, want too_many_series", err)
	}
	// A per-sensor value of a refused name is a rejection too, with no line.
	if lines, rej, _ = run(d, "factory/s/l/m1/sensors/zz", "1"); lines != "" || len(rej) != 1 {
		t.Fatalf("per-sensor new name over the bound: %q %v", lines, rej)
	}
	d.guard.close()

	// A restart remembers m1, m2 and their sensors: no new machine, no new names.
	d = newDecoder(cfg)
	machines, fields, err := d.guard.load(dir)
	if err != nil || machines != 2 || fields != 4 {
		t.Fatalf("after restart: %d machines, %d fields, %v; want 2, 4", machines, fields, err)
	}
	defer d.guard.close()
	if _, _, err = run(d, "factory/s/l/m9/telemetry", msg("a")); telemetry.ReasonOf(err) != telemetry.ReasonTooManySeries {
		t.Fatalf("new machine after a restart: err %v, want too_many_series", err)
	}
	if lines, rej, err = run(d, "factory/s/l/m1/telemetry", msg("a", "b", "c")); err != nil || len(rej) != 0 || lines == "" {
		t.Fatalf("known sensors after a restart: %q %v %v", lines, rej, err)
	}
}

// TestDecodeAlert (issue 16.17): an alert event becomes one point of measurement
// "alerts" with the tags and fields the Grafana dashboard queries; mismatches are
// rejected with a reason.
func TestDecodeAlert(t *testing.T) {
	d := newDecoder(DefaultConfig())
	var st decodeState
	now := time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC)
	good := `{"id":"s/l/pump-1/anomaly/1","site":"s","line":"l","machine":"pump-1","kind":"anomaly","state":"raised","severity":"warning",` +
		`"score":3.5,"threshold":2,"started_at":"2026-01-01T00:00:00Z","ts":"2026-01-01T00:00:00Z","model":"m","model_version":"1",` +
		`"message":"pump-1: anomaly \"raised\""}`
	lines, out := d.decode(&st, nil, "factory/s/l/pump-1/alerts", []byte(good), now)
	want := `alerts,kind=anomaly,line=l,machine=pump-1,severity=warning,site=s,state=raised id="s/l/pump-1/anomaly/1",message="pump-1: anomaly \"raised\"",model="m",score=3.5,threshold=2 1767225600000000000` + "\n"
	if out.err != nil || string(lines) != want || out.points != 1 {
		t.Fatalf("decode = %q (%v, %d points), want %q", lines, out.err, out.points, want)
	}
	for name, tc := range map[string]struct{ topic, payload string }{
		"other machine's topic": {"factory/s/l/pump-2/alerts", good},
		"not JSON":              {"factory/s/l/pump-1/alerts", "raised"},
		"bad state":             {"factory/s/l/pump-1/alerts", strings.Replace(good, `"state":"raised"`, `"state":"a b"`, 1)},
		"no timestamp":          {"factory/s/l/pump-1/alerts", strings.Replace(good, `"ts":"2026-01-01T00:00:00Z",`, "", 1)},
	} {
		if lines, out := d.decode(&st, nil, tc.topic, []byte(tc.payload), now); out.err == nil || len(lines) != 0 {
			t.Errorf("%s: accepted: %q", name, lines)
		}
	}
}

// A maintenance message becomes one point of measurement "maintenance" at its ts, or
// at its receive time when it has none (counted as stamped, as a bare per-sensor
// value: a redelivery would be stored again); bad messages are rejected with a reason.
func TestDecodeMaintenance(t *testing.T) {
	d := newDecoder(DefaultConfig())
	var st decodeState
	now := time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		payload, want string
		stamped       int
	}{
		{`{"ts":"2026-01-01T00:00:00Z","action":"bearing \"6205\" replaced","by":"WO-17"}`,
			`maintenance,line=l,machine=pump-1,site=s action="bearing \"6205\" replaced",done_by="WO-17" 1767225600000000000` + "\n", 0},
		{``, `maintenance,line=l,machine=pump-1,site=s action="",done_by="" 1767229200000000000` + "\n", 1},
	} {
		lines, out := d.decode(&st, nil, "factory/s/l/pump-1/maintenance", []byte(tc.payload), now)
		if out.err != nil || string(lines) != tc.want || out.points != 1 || out.stamped != tc.stamped {
			t.Fatalf("%q: decode = %q (%v, %d points, %d stamped), want %q, %d stamped", tc.payload, lines, out.err, out.points, out.stamped, tc.want, tc.stamped)
		}
	}
	// A sensor named maintenance is a value, not work done.
	if lines, out := d.decode(&st, nil, "factory/s/l/pump-1/sensors/maintenance", []byte(`{"ts":"2026-01-01T00:00:00Z","value":2}`), now); out.err != nil ||
		string(lines) != "telemetry,line=l,machine=pump-1,site=s maintenance=2 1767225600000000000\n" {
		t.Fatalf("sensor named maintenance: %q (%v)", lines, out.err)
	}
	for name, tc := range map[string]struct {
		topic, payload string
		reason         telemetry.Reason
	}{
		"not JSON":      {"factory/s/l/pump-1/maintenance", "done", telemetry.ReasonBadJSON},
		"bad ts":        {"factory/s/l/pump-1/maintenance", `{"ts":"yesterday"}`, telemetry.ReasonBadTS},
		"ts far ahead":  {"factory/s/l/pump-1/maintenance", `{"ts":"2027-01-01T00:00:00Z"}`, telemetry.ReasonBadTS},
		"too long":      {"factory/s/l/pump-1/maintenance", `{"action":"` + strings.Repeat("x", 300) + `"}`, telemetry.ReasonBadJSON},
		"not a machine": {"factory/s/l/maintenance", `{}`, telemetry.ReasonBadTopic},
	} {
		if lines, out := d.decode(&st, nil, tc.topic, []byte(tc.payload), now); telemetry.ReasonOf(out.err) != tc.reason || len(lines) != 0 {
			t.Errorf("%s: lines %q, err %v; want reason %q", name, lines, out.err, tc.reason)
		}
	}
}
