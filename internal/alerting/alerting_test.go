package alerting

import (
	"math"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// run feeds scores one window per second and renders the transitions as a string such
// as "3:raised/warning 9:cleared/warning".
func run(t *testing.T, cfg Config, scores []float64) string {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i, v := range scores {
		ev := s.Observe(t0.Add(time.Duration(i)*time.Second), v)
		if ev.Transition != Nothing {
			out = append(out, itoa(i)+":"+ev.Transition.String()+"/"+ev.Severity.String())
		}
	}
	return strings.Join(out, " ")
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func TestStateMachine(t *testing.T) {
	anomaly := Config{Levels: Levels{Warn: 1, Critical: 2, Clear: 0.8, Above: true}, K: 3, M: 5, ClearAfter: 2}
	rul := Config{Levels: Levels{Warn: 50, Critical: 20, Clear: 60, Above: false}, K: 2, M: 3, ClearAfter: 2}
	cases := []struct {
		name   string
		cfg    Config
		scores []float64
		want   string
	}{
		{"quiet", anomaly, []float64{0, 0.5, 0.9, 0.1}, ""},
		{"single spikes never raise", anomaly, []float64{5, 0, 0, 5, 0, 0, 5, 0, 0}, ""},
		{"k of m raises on the kth bad window", anomaly, []float64{1.5, 0, 1.5, 0, 1.5}, "4:raised/warning"},
		{"k bad outside m do not raise", anomaly, []float64{1.5, 0, 0, 0, 0, 1.5, 0, 0, 0, 0, 1.5}, ""},
		{"critical from the start", anomaly, []float64{3, 3, 3}, "2:raised/critical"},
		{"escalates once", anomaly, []float64{1.5, 1.5, 1.5, 3, 3, 3, 3, 3}, "2:raised/warning 5:updated/critical"},
		// Between clear (0.8) and warn (1) the alert holds: hysteresis.
		{"hysteresis holds", anomaly, []float64{1.5, 1.5, 1.5, 0.9, 0.9, 0.9, 0.9}, "2:raised/warning"},
		{"clears after calm windows", anomaly, []float64{1.5, 1.5, 1.5, 0.5, 0.5}, "2:raised/warning 4:cleared/warning"},
		{"calm streak is reset by a bad window", anomaly, []float64{1.5, 1.5, 1.5, 0.5, 1.5, 0.5, 0.5}, "2:raised/warning 6:cleared/warning"},
		{"raises again after clear", anomaly, []float64{1.5, 1.5, 1.5, 0, 0, 1.5, 1.5, 1.5}, "2:raised/warning 4:cleared/warning 7:raised/warning"},
		{"NaN ignored", anomaly, []float64{1.5, math.NaN(), 1.5, math.NaN(), 1.5}, "4:raised/warning"},
		{"rul under horizon", rul, []float64{100, 80, 45, 40, 30, 15, 10, 70, 80}, "3:raised/warning 6:updated/critical 8:cleared/critical"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := run(t, tc.cfg, tc.scores); got != tc.want {
				t.Fatalf("transitions %q, want %q", got, tc.want)
			}
		})
	}
}

func TestReminder(t *testing.T) {
	cfg := Config{Levels: Levels{Warn: 1, Critical: 10, Clear: 0.5, Above: true}, K: 1, M: 1, ClearAfter: 1, Reminder: 3 * time.Second}
	scores := []float64{2, 2, 2, 2, 2, 2, 2}
	if got, want := run(t, cfg, scores), "0:raised/warning 3:updated/warning 6:updated/warning"; got != want {
		t.Fatalf("got %q want %q", got, want)
	}
}

func TestEventCarriesStartAndSeq(t *testing.T) {
	s, _ := New(Config{Levels: Levels{Warn: 1, Critical: 9, Clear: 0.5, Above: true}, K: 1, M: 1, ClearAfter: 1})
	ev := s.Observe(t0, 2)
	if ev.Seq != 1 || !ev.StartedAt.Equal(t0) {
		t.Fatalf("first alert %+v", ev)
	}
	ev = s.Observe(t0.Add(time.Second), 0)
	if ev.Transition != Cleared || !ev.StartedAt.Equal(t0) || !ev.At.Equal(t0.Add(time.Second)) {
		t.Fatalf("clear %+v", ev)
	}
	ev = s.Observe(t0.Add(2*time.Second), 2)
	if ev.Seq != 2 || !ev.StartedAt.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("second alert %+v", ev)
	}
}

func TestValidate(t *testing.T) {
	bad := []Config{
		{Levels: Levels{Warn: 1, Critical: 2, Clear: 0.5, Above: true}, K: 0, M: 5, ClearAfter: 1},
		{Levels: Levels{Warn: 1, Critical: 2, Clear: 0.5, Above: true}, K: 6, M: 5, ClearAfter: 1},
		{Levels: Levels{Warn: 1, Critical: 2, Clear: 0.5, Above: true}, K: 1, M: 65, ClearAfter: 1},
		{Levels: Levels{Warn: 1, Critical: 2, Clear: 0.5, Above: true}, K: 1, M: 1, ClearAfter: 0},
		{Levels: Levels{Warn: 1, Critical: 0.5, Clear: 0.5, Above: true}, K: 1, M: 1, ClearAfter: 1},
		{Levels: Levels{Warn: 1, Critical: 2, Clear: 1.5, Above: true}, K: 1, M: 1, ClearAfter: 1},
		{Levels: Levels{Warn: 50, Critical: 60, Clear: 70, Above: false}, K: 1, M: 1, ClearAfter: 1},
	}
	for i, c := range bad {
		if _, err := New(c); err == nil {
			t.Errorf("case %d: config %+v accepted", i, c)
		}
	}
}

// Cause turns a quiet window of an active alert into "updated, new cause"; it leaves
// raises, escalations and clears as they are and does nothing while idle.
func TestCause(t *testing.T) {
	s, _ := New(Config{Levels: Levels{Warn: 1, Critical: 5, Clear: 0.5, Above: true}, K: 1, M: 1, ClearAfter: 1})
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }
	if ev := s.Cause(s.Observe(at(0), 0), at(0), 0); ev.Transition != Nothing {
		t.Fatalf("idle: %+v", ev)
	}
	raised := s.Observe(at(1), 2)
	if ev := s.Cause(raised, at(1), 2); ev != raised {
		t.Fatalf("a raise must stay a raise: %+v", ev)
	}
	ev := s.Cause(s.Observe(at(2), 2), at(2), 2)
	want := Event{Transition: Updated, Reason: NewCause, Severity: Warning, StartedAt: at(1), At: at(2), Score: 2, Seq: 1}
	if ev != want {
		t.Fatalf("new cause %+v, want %+v", ev, want)
	}
	esc := s.Observe(at(3), 6)
	if esc.Reason != Escalated || s.Cause(esc, at(3), 6) != esc {
		t.Fatalf("escalation %+v", esc)
	}
	if ev := s.Cause(s.Observe(at(4), 0), at(4), 0); ev.Transition != Cleared {
		t.Fatalf("clear %+v", ev)
	}
	if NewCause.String() != "new_cause" || Escalated.String() != "escalated" || Reminder.String() != "reminder" {
		t.Fatal("reason names are part of the alert contract")
	}
}
