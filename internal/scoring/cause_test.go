package scoring

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/alerting"
	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/artifact/artifacttest"
)

// newTestStream is one machine's stream of model m.
func newTestStream(t *testing.T, m *artifact.Model) *Stream {
	t.Helper()
	sc, err := New(m)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sc.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// The zero network of artifacttest.Anomaly makes each residual its window mean (window
// 2 here) and the score their root mean square; the leader is the larger mean. Warn 1,
// clear 0.8, 2 of 3 windows, clear after 2. A sensor not yet blamed during the alert
// makes an update when its own residual has held the warn level for M = 3 windows,
// whether or not it leads; a return to a sensor already blamed is no news, and a new
// leader takes the cause back silently after M windows.
func TestCauseFollowsALastingNewLeader(t *testing.T) {
	m := artifacttest.Anomaly([]string{"a", "b"}, 2)
	st := newTestStream(t, m)
	runCauseSteps(t, st, []causeStep{
		{0, 0, causeWant{-1, alerting.Nothing, 0}},                // no window yet
		{0, 0, causeWant{-1, alerting.Nothing, 0}},                // means (0, 0)
		{2, 0, causeWant{-1, alerting.Nothing, 0}},                // (1, 0): score 0.71
		{2, 0, causeWant{-1, alerting.Nothing, 0}},                // (2, 0): 1.41, 1 bad window
		{2, 0, causeWant{0, alerting.Raised, 0}},                  // 2 of 3 bad: raised, a to blame
		{0, 2.2, causeWant{0, alerting.Nothing, 0}},               // (1, 1.1): b over warn, 1 window
		{0, 2.2, causeWant{0, alerting.Nothing, 0}},               // (0, 2.2): b, 2 windows
		{3, 0, causeWant{1, alerting.Updated, alerting.NewCause}}, // (1.5, 1.1): a leads, but b's own residual held 3 windows: news
		{3, 0, causeWant{1, alerting.Nothing, 0}},                 // (3, 0): a leads, 1
		{0, 2.2, causeWant{1, alerting.Nothing, 0}},               // (1.5, 1.1): a, 2
		{0, 2.2, causeWant{1, alerting.Nothing, 0}},               // (0, 2.2): b leads again, a's streak over
		{0, 2.2, causeWant{1, alerting.Nothing, 0}},               // b
		{0, 2.2, causeWant{1, alerting.Nothing, 0}},               // b
		{3, 0, causeWant{1, alerting.Nothing, 0}},                 // (1.5, 1.1): a leads, 1
		{3, 0, causeWant{1, alerting.Nothing, 0}},                 // (3, 0): a, 2
		{3, 0, causeWant{0, alerting.Nothing, 0}},                 // a, 3: back to a, no news
		{0, 2.2, causeWant{0, alerting.Nothing, 0}},               // (1.5, 1.1): a
		{0, 2.2, causeWant{0, alerting.Nothing, 0}},               // (0, 2.2): b, 1
		{0, 2.2, causeWant{0, alerting.Nothing, 0}},               // b, 2
		{0, 2.2, causeWant{1, alerting.Nothing, 0}},               // b, 3: b again, no news
		{0, 0, causeWant{1, alerting.Nothing, 0}},                 // (0, 1.1): 0.78, calm 1
		{0, 0, causeWant{-1, alerting.Cleared, 0}},                // calm 2: cleared, nobody to blame
	})
}

// A second fault whose residual stays far below the first's: b never leads (a's
// residual is ten warn levels) but holds its own over the warn level, so the alert is
// updated naming b once; a residual of b that reaches the warn level for fewer than M
// windows is not news. An overheating under an imbalance's alarm (vibration at 40
// warn levels, the bearing temperature at 4) was otherwise never reported.
func TestSecondCauseUnderALeader(t *testing.T) {
	st := newTestStream(t, artifacttest.Anomaly([]string{"a", "b"}, 2))
	runCauseSteps(t, st, []causeStep{
		{20, 0, causeWant{-1, alerting.Nothing, 0}},                // no window yet
		{20, 0, causeWant{-1, alerting.Nothing, 0}},                // (20, 0): 1 bad
		{20, 0, causeWant{0, alerting.Raised, 0}},                  // raised, a
		{20, 2.4, causeWant{0, alerting.Nothing, 0}},               // (20, 1.2): b over warn, 1
		{20, 0, causeWant{0, alerting.Nothing, 0}},                 // (20, 1.2): b, 2
		{20, 0, causeWant{0, alerting.Nothing, 0}},                 // (20, 0): b calm again, no news
		{20, 4, causeWant{0, alerting.Nothing, 0}},                 // (20, 2): b, 1
		{20, 4, causeWant{0, alerting.Nothing, 0}},                 // (20, 4): b, 2
		{20, 4, causeWant{1, alerting.Updated, alerting.NewCause}}, // (20, 4): b, 3: news, though a leads
		{20, 4, causeWant{1, alerting.Nothing, 0}},                 // a leads, 1
		{20, 4, causeWant{1, alerting.Nothing, 0}},                 // a leads, 2
		{20, 4, causeWant{0, alerting.Nothing, 0}},                 // a leads, 3: back to a, no news
		{20, 4, causeWant{0, alerting.Nothing, 0}},                 // b already told
	})
}

// After an outage that restarted the window (the machine was stopped, maybe repaired)
// a new leader is no second fault: the cause is held until the alert ends.
func TestCauseHeldAfterGap(t *testing.T) {
	m := artifacttest.Anomaly([]string{"a", "b"}, 2)
	st := newTestStream(t, m)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sec := 0
	push := func(a, b float64) *Result {
		t.Helper()
		r, ok, err := st.Push(t0.Add(time.Duration(sec)*time.Second), []float64{a, b})
		sec++
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return nil
		}
		return r
	}
	for range 4 {
		push(2, 0)
	}
	if r := push(2, 0); r.Active == alerting.None || r.Cause != 0 {
		t.Fatalf("before the gap: %+v", r)
	}
	sec += 60 // a stop of 60 periods (1 s each here); MaxFill is 3
	after := 0
	for i := range 10 {
		r := push(0, 3)
		if r == nil {
			continue
		}
		after++
		if r.Active == alerting.None || r.Cause != 0 || r.Event.Transition == alerting.Updated {
			t.Fatalf("row %d after the gap: active %v, cause %d, event %+v", i, r.Active, r.Cause, r.Event)
		}
	}
	if after < 5 {
		t.Fatalf("%d windows after the gap; the test needs b to lead for more than M = 3", after)
	}
	if st.C.Gaps != 1 {
		t.Fatalf("gaps %d, want 1", st.C.Gaps)
	}
	for range 3 {
		push(0, 0)
	}
	if r := push(0, 0); r.Active != alerting.None || r.Cause != -1 {
		t.Fatalf("not cleared: %+v", r)
	}
	for range 2 {
		push(0, 3)
	}
	if r := push(0, 3); r.Active == alerting.None || r.Cause != 1 {
		t.Fatalf("a new alert blames b: %+v", r)
	}
}

// A second fault that also pushes the score over critical: the escalation and the new
// cause fall on the same window, and the new cause follows one window later rather
// than being lost. Critical 3 needs K = 2 windows in a row.
func TestCauseNotLostToEscalation(t *testing.T) {
	st := newTestStream(t, artifacttest.Anomaly([]string{"a", "b"}, 2))
	runCauseSteps(t, st, []causeStep{
		{2, 0, causeWant{-1, alerting.Nothing, 0}},                 // no window yet
		{2, 0, causeWant{-1, alerting.Nothing, 0}},                 // (2, 0): 1.41, 1 bad
		{2, 0, causeWant{0, alerting.Raised, 0}},                   // raised, a
		{0, 2.2, causeWant{0, alerting.Nothing, 0}},                // (1, 1.1): b, 1
		{0, 7, causeWant{0, alerting.Nothing, 0}},                  // (0, 4.6): 3.25 critical once; b, 2
		{0, 7, causeWant{0, alerting.Updated, alerting.Escalated}}, // (0, 7): critical twice; b, 3 but the window is taken
		{0, 7, causeWant{1, alerting.Updated, alerting.NewCause}},  // b, 4: the new cause
		{0, 7, causeWant{1, alerting.Nothing, 0}},
	})
}

type causeWant struct {
	cause  int
	tr     alerting.Transition
	reason alerting.Reason
}

// causeStep is one row (a, b) and what the stream must report for it.
type causeStep struct {
	a, b float64
	want causeWant
}

// runCauseSteps pushes the rows one second apart; only the first has no window.
func runCauseSteps(t *testing.T, st *Stream, steps []causeStep) {
	t.Helper()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, s := range steps {
		r, ok, err := st.Push(t0.Add(time.Duration(i)*time.Second), []float64{s.a, s.b})
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			if i > 0 {
				t.Fatalf("row %d: no window", i)
			}
			continue
		}
		if got := (causeWant{r.Cause, r.Event.Transition, r.Event.Reason}); got != s.want {
			t.Fatalf("row %d (%v, %v): score %.3f shares %v: got %+v, want %+v", i, s.a, s.b, r.Score, r.Shares, got, s.want)
		}
	}
}

// A target already blamed as the process's that then sticks is news again, as a faulty
// transmitter: a technician's job, not the first fault's. a and b both depart (a
// leads, b's own residual holds the warn level: an update naming b), then b freezes:
// after M windows of the stuck rule another update names b, once.
func TestCauseSensorAfterProcess(t *testing.T) {
	m := artifacttest.Anomaly([]string{"a", "b"}, 6)
	m.SensorCheck = checkOf(0.1, 1)
	st := newTestStream(t, m)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var updates []string
	for i := range 60 {
		a, b := 1.4+0.05*math.Sin(float64(i)), 1.2+0.05*math.Sin(1.7*float64(i))
		if i >= 30 {
			b = 1.2
		}
		r, ok, err := st.Push(t0.Add(time.Duration(i)*time.Second), []float64{a, b})
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			continue
		}
		if r.Event.Transition == alerting.Updated && r.Event.Reason == alerting.NewCause {
			kind := "process"
			if r.SensorIssue != "" {
				kind = "sensor " + r.SensorIssue
			}
			updates = append(updates, fmt.Sprintf("row %d: %s as %s", i, m.Targets[r.Cause], kind))
		}
		if i == 59 && (r.Active == alerting.None || r.SensorIssue != IssueStuck) {
			t.Fatalf("last row: active %v, issue %q; want the alert open and b stuck", r.Active, r.SensorIssue)
		}
	}
	if len(updates) != 2 || !strings.HasSuffix(updates[0], "b as process") || !strings.HasSuffix(updates[1], "b as sensor stuck") {
		t.Fatalf("updates %q, want b as the process's, then b as stuck", updates)
	}
	t.Log(updates)
}
