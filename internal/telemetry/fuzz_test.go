package telemetry

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"
)

// Seed corpora live in testdata/fuzz/<Name>/ and run as ordinary tests on every
// `go test`; `make fuzz` (scripts/fuzz.sh) explores further for 30 s per target.

func FuzzParseTopic(f *testing.F) {
	f.Fuzz(func(t *testing.T, root, topic string) {
		tp, err := NewTopics(root)
		if err != nil {
			return
		}
		p, err := tp.Parse(topic)
		if err != nil {
			if !errors.Is(err, ErrTopic) {
				t.Fatalf("Parse(%q) error %v does not wrap ErrTopic", topic, err)
			}
			return
		}
		if back := rebuild(tp, p); back != topic {
			t.Fatalf("Parse(%q) = %+v rebuilds to %q", topic, p, back)
		}
		checkTopicNames(t, p)
	})
}

func checkTopicNames(t *testing.T, p Topic) {
	t.Helper()
	var names []string
	switch p.Kind {
	case KindStatus:
		names = []string{p.Service, p.Name}
	case KindDeadLetter:
		names = []string{p.Service}
	case KindSensor:
		names = []string{p.Machine.Site, p.Machine.Line, p.Machine.Machine, p.Sensor}
	default:
		names = []string{p.Machine.Site, p.Machine.Line, p.Machine.Machine}
	}
	for _, n := range names {
		if err := ValidateName(n); err != nil {
			t.Fatalf("parsed %+v holds invalid name: %v", p, err)
		}
	}
}

// fuzzNow is fixed so a corpus entry means the same thing on every run.
var fuzzNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func FuzzDecodeTelemetry(f *testing.F) {
	// Small batch and value limits so the fuzzer reaches too_many_items with small inputs.
	lim := DefaultLimits()
	lim.MaxBatch, lim.MaxValues = 4, 8
	f.Fuzz(func(t *testing.T, payload []byte) {
		samples, rej, err := DecodeTelemetry(payload, lim, fuzzNow)
		checkRejections(t, rej)
		if err != nil {
			checkRejectError(t, err)
			if samples != nil {
				t.Fatalf("error %v with %d samples", err, len(samples))
			}
			return
		}
		if len(samples) == 0 || len(samples) > lim.MaxBatch {
			t.Fatalf("accepted with %d samples", len(samples))
		}
		for _, s := range samples {
			checkSample(t, s, lim)
			roundTrip(t, s, lim)
		}
	})
}

func FuzzDecodeSensor(f *testing.F) {
	lim := DefaultLimits()
	f.Fuzz(func(t *testing.T, payload []byte, sensor string) {
		s, err := DecodeSensor(payload, sensor, lim, fuzzNow)
		if err != nil {
			checkRejectError(t, err)
			return
		}
		if len(s.Values) != 1 || s.Values[0].Sensor != sensor {
			t.Fatalf("sample %+v, want one value of %q", s, sensor)
		}
		checkSample(t, s, lim)
	})
}

// checkSample asserts what every consumer relies on: finite values, valid unique names in
// order, a timestamp inside the limits' window, in UTC.
func checkSample(t *testing.T, s Sample, lim Limits) {
	t.Helper()
	if len(s.Values) == 0 || len(s.Values) > lim.MaxValues {
		t.Fatalf("sample with %d values", len(s.Values))
	}
	for i, v := range s.Values {
		if math.IsNaN(v.V) || math.IsInf(v.V, 0) {
			t.Fatalf("non-finite value %v for %q", v.V, v.Sensor)
		}
		if err := ValidateName(v.Sensor); err != nil {
			t.Fatalf("accepted invalid sensor name: %v", err)
		}
		if i > 0 && s.Values[i-1].Sensor >= v.Sensor {
			t.Fatalf("values not strictly ordered by name: %q then %q", s.Values[i-1].Sensor, v.Sensor)
		}
	}
	if s.Time.Before(lim.Earliest) || s.Time.After(fuzzNow.Add(lim.MaxFuture)) {
		t.Fatalf("timestamp %v outside [%v, now+%v]", s.Time, lim.Earliest, lim.MaxFuture)
	}
	if s.Time.Location() != time.UTC {
		t.Fatalf("timestamp %v not in UTC", s.Time)
	}
}

// roundTrip: what the decoder accepted, the encoder writes so the decoder gets it back.
func roundTrip(t *testing.T, s Sample, lim Limits) {
	t.Helper()
	enc := EncodeTelemetry(nil, s)
	back, rej, err := DecodeTelemetry(enc, lim, fuzzNow)
	if err != nil || len(rej) != 0 || len(back) != 1 {
		t.Fatalf("re-decode of %s: %v, %+v", enc, err, rej)
	}
	if !back[0].Time.Equal(s.Time) || !slices.Equal(back[0].Values, s.Values) {
		t.Fatalf("round trip changed the sample: %+v -> %s -> %+v", s, enc, back[0])
	}
}

func checkRejectError(t *testing.T, err error) {
	t.Helper()
	var re *RejectError
	if !errors.As(err, &re) {
		t.Fatalf("error %T %v is not a *RejectError", err, err)
	}
	if !knownReason(re.Reason) || re.Reason == ReasonBadTopic {
		t.Fatalf("unknown or caller-only reason %q", re.Reason)
	}
}

func checkRejections(t *testing.T, rej []Rejection) {
	t.Helper()
	for _, r := range rej {
		if !knownReason(r.Reason) || r.Reason == ReasonBadTopic || r.Detail == "" {
			t.Fatalf("bad rejection %+v", r)
		}
	}
}

func knownReason(r Reason) bool { return slices.Contains(Reasons, r) }

// FuzzDecodeMaintenance: a maintenance message decodes or is rejected with a reason,
// never panics, and what it accepts is bounded and survives a round trip.
func FuzzDecodeMaintenance(f *testing.F) {
	for _, seed := range []string{``, `{}`, `{"ts":"2026-03-01T14:00:00Z","action":"bearing replaced","by":"WO-1234"}`,
		`{"ts":5}`, `{"action":null}`, `[1]`, `{"ts":"yesterday"}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		m, err := DecodeMaintenance(payload)
		if err != nil {
			checkRejectError(t, err)
			return
		}
		if len(m.Action) > MaxMaintenanceText || len(m.By) > MaxMaintenanceText {
			t.Fatalf("accepted %d and %d bytes of text", len(m.Action), len(m.By))
		}
		back, err := DecodeMaintenance(EncodeMaintenance(nil, m))
		if err != nil || !back.TS.Equal(m.TS) || back.Action != m.Action || back.By != m.By {
			t.Fatalf("round trip of %+v: %+v, %v", m, back, err)
		}
	})
}
