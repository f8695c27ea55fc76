package scoring_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/alerting"
	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/artifact/artifacttest"
	"github.com/faultline/faultline/internal/scoring"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// The test model predicts 0 for each sensor's window mean with residual scale 1, so
// with constant inputs a and b the raw score is sqrt((a²+b²)/2) and b's share is
// b²/(a²+b²) — arithmetic we can check by hand.
func TestScoreArithmetic(t *testing.T) {
	sc, err := scoring.New(artifacttest.Anomaly([]string{"a", "b"}, 4))
	if err != nil {
		t.Fatal(err)
	}
	st, _ := sc.NewStream()
	var last *scoring.Result
	for i := 0; i < 4; i++ {
		r, ok, err := st.Push(t0.Add(time.Duration(i)*time.Second), []float64{0.3, 0.4})
		if err != nil {
			t.Fatal(err)
		}
		if ok != (i == 3) {
			t.Fatalf("sample %d: ready=%v; the first window completes at sample 4", i, ok)
		}
		last = r
	}
	if want := math.Sqrt((0.09 + 0.16) / 2); math.Abs(last.Score-want) > 1e-6 {
		t.Fatalf("score %v want %v", last.Score, want)
	}
	if math.Abs(last.Shares[1]-0.64) > 1e-6 || math.Abs(last.Shares[0]+last.Shares[1]-1) > 1e-9 {
		t.Fatalf("shares %v, want [0.36 0.64]", last.Shares)
	}
}

func TestAlertsRaiseAndClear(t *testing.T) {
	sc, _ := scoring.New(artifacttest.Anomaly([]string{"a"}, 2))
	st, _ := sc.NewStream()
	var events []alerting.Transition
	vals := []float64{0, 0, 0, 2, 2, 2, 2, 0, 0, 0, 0}
	for i, v := range vals {
		r, ok, err := st.Push(t0.Add(time.Duration(i)*time.Second), []float64{v})
		if err != nil {
			t.Fatal(err)
		}
		if ok && r.Event.Transition != alerting.Nothing {
			events = append(events, r.Event.Transition)
		}
	}
	if len(events) != 2 || events[0] != alerting.Raised || events[1] != alerting.Cleared {
		t.Fatalf("events %v, want [raised cleared]", events)
	}
}

func TestOutOfOrderGapsAndNaN(t *testing.T) {
	sc, _ := scoring.New(artifacttest.Anomaly([]string{"a"}, 3))
	st, _ := sc.NewStream()
	push := func(sec float64, v float64) (*scoring.Result, bool, error) {
		return st.Push(t0.Add(time.Duration(sec*float64(time.Second))), []float64{v})
	}
	push(0, 1)
	push(1, 1)
	if _, _, err := push(1, 1); !errors.Is(err, scoring.ErrOutOfOrder) {
		t.Fatalf("duplicate timestamp: %v", err)
	}
	if _, _, err := push(0.5, 1); !errors.Is(err, scoring.ErrOutOfOrder) {
		t.Fatalf("late sample: %v", err)
	}
	// A 3-second gap (2 missing samples) is within MaxFill 3: the rows are inserted
	// and forward-filled (windows with too many of them are skipped by the extractor),
	// and scoring carries on without a restart.
	if _, _, err := push(4, 1); err != nil {
		t.Fatal(err)
	}
	push(5, 1)
	if r, ok, err := push(6, 1); err != nil || !ok || math.IsNaN(r.Score) {
		t.Fatalf("after short gap: ok=%v err=%v r=%+v", ok, err, r)
	}
	if st.C.FilledRows != 2 || st.C.OutOfOrder != 2 {
		t.Fatalf("counters %+v", st.C)
	}
	// A long outage restarts the window: no result until it fills again.
	if _, ok, _ := push(100, 1); ok {
		t.Fatal("window must restart after an outage")
	}
	if st.C.Gaps != 1 {
		t.Fatalf("gaps %d", st.C.Gaps)
	}
	// NaN values never produce a NaN score.
	for i := 0; i < 10; i++ {
		if r, ok, _ := push(101+float64(i), math.NaN()); ok && (math.IsNaN(r.Score) || math.IsInf(r.Score, 0)) {
			t.Fatalf("non-finite score from NaN input")
		}
	}
	if _, _, err := st.Push(t0.Add(time.Hour), []float64{1, 2}); err == nil {
		t.Fatal("wrong row width accepted")
	}
}

func TestPushAllocs(t *testing.T) {
	sc, _ := scoring.New(artifacttest.Anomaly([]string{"a", "b", "c"}, 8))
	st, _ := sc.NewStream()
	i := 0
	row := []float64{1, 2, 3}
	allocs := testing.AllocsPerRun(1000, func() {
		i++
		_, _, _ = st.Push(t0.Add(time.Duration(i)*time.Second), row)
	})
	if allocs != 0 {
		t.Fatalf("Push allocates %v times per sample", allocs)
	}
}

func BenchmarkPush8Sensors(b *testing.B) {
	sc, _ := scoring.New(artifacttest.Anomaly([]string{"a", "b", "c", "d", "e", "f", "g", "h"}, 16))
	st, _ := sc.NewStream()
	row := []float64{1, 2, 3, 4, 5, 6, 7, 8}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_, _, _ = st.Push(t0.Add(time.Duration(i)*time.Second), row)
	}
}

// TestGapFilledWindowKeepsTransition: when a row inserted for a short gap completes
// the window that raises the alert, the raise is returned with the real sample, not
// lost (found in review: the alert became active and was never published).
func TestGapFilledWindowKeepsTransition(t *testing.T) {
	m := artifacttest.Anomaly([]string{"a"}, 4)
	m.Spec.MaxMissingFrac = 1 // windows of filled rows count, as with a lenient spec
	m.Alert.K, m.Alert.M = 1, 1
	sc, err := scoring.New(m)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := sc.NewStream()
	for i := 0; i < 4; i++ {
		if _, _, err := st.Push(t0.Add(time.Duration(i)*time.Second), []float64{0}); err != nil {
			t.Fatal(err)
		}
	}
	// Window means: [0 0 0 2] = 0.5, calm. Then two missing seconds: the filled rows
	// carry 2 forward, [0 0 2 2] = 1 reaches warn and raises; the real sample 20 makes
	// [2 2 2 20] = 6.5, critical.
	if _, _, err := st.Push(t0.Add(4*time.Second), []float64{2}); err != nil {
		t.Fatal(err)
	}
	r, ok, err := st.Push(t0.Add(7*time.Second), []float64{20})
	if err != nil || !ok {
		t.Fatalf("ok=%v err=%v", ok, err)
	}
	if st.ActiveAlert() == alerting.None {
		t.Fatal("no active alert after the filled windows")
	}
	// The raise on a filled row and the escalation on the real one both reach the
	// caller, in order, with this sample.
	if len(r.Earlier) != 1 || r.Earlier[0].Transition != alerting.Raised || r.Event.Transition != alerting.Updated {
		t.Fatalf("earlier %v, event %v; want [raised] then updated", r.Earlier, r.Event.Transition)
	}
}

// BenchmarkPush8SensorsEnvelope is BenchmarkPush8Sensors with the envelope on: the
// limit check is one comparison per target and must stay allocation-free.
func BenchmarkPush8SensorsEnvelope(b *testing.B) {
	names := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	m := artifacttest.Anomaly(names, 16)
	m.Envelope = &artifact.Envelope{Min: make([]float64, len(m.Targets)), Max: make([]float64, len(m.Targets)), Allowance: 0.05}
	for k := range m.Targets {
		m.Envelope.Max[k] = 4 // half the sensors are out of range: the blaming path runs too
	}
	sc, err := scoring.New(m)
	if err != nil {
		b.Fatal(err)
	}
	st, _ := sc.NewStream()
	row := []float64{1, 2, 3, 4, 5, 6, 7, 8}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_, _, _ = st.Push(t0.Add(time.Duration(i)*time.Second), row)
	}
}
