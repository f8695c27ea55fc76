// Package alerting turns a stream of scores into alert state changes the way operators
// expect from Kapacitor or ThingsBoard: raise only after k of the last m windows are bad,
// two severities, clear only after the score stays under a lower clear level for a while
// (hysteresis), one active alert per machine and kind, and only state changes (plus an
// optional reminder) leave the machine, so a flapping score never becomes a storm.
//
// It is pure: no clock (time comes with each observation), no I/O. The live daemon and
// offline scoring drive the same State, so they give the same alert sequence.
package alerting

import (
	"errors"
	"fmt"
	"time"
)

// Levels decide what a score means. For anomaly scores, higher is worse (Above=true):
// bad when score >= Warn, critical when >= Critical, calm when < Clear. For remaining
// useful life, lower is worse (Above=false): bad when rul <= Warn (the horizon),
// critical when <= Critical, calm when > Clear.
type Levels struct {
	Warn     float64 `json:"warn"`
	Critical float64 `json:"critical"`
	Clear    float64 `json:"clear"`
	Above    bool    `json:"above"`
}

// Config of one alert state machine.
type Config struct {
	Levels
	K, M int // raise after K of the last M windows are bad
	// ClearAfter consecutive calm windows clear an active alert.
	ClearAfter int
	// Reminder re-publishes an active alert as "updated" this often (0: never).
	Reminder time.Duration
	// Holdoff, when > 0, refuses a new raise until Holdoff windows have been observed
	// since the previous raise, however the alert cleared in between: one incident
	// gives one alert, not one per burst (0: off, the historical behaviour).
	Holdoff int `json:"holdoff,omitempty"`
}

// Validate checks that the levels are ordered and the window counts make sense.
func (c Config) Validate() error {
	if c.M < 1 || c.M > 64 || c.K < 1 || c.K > c.M {
		return fmt.Errorf("alerting: need 1 <= k (%d) <= m (%d) <= 64", c.K, c.M)
	}
	if c.Holdoff < 0 {
		return fmt.Errorf("alerting: holdoff %d must be >= 0 windows", c.Holdoff)
	}
	if c.ClearAfter < 1 {
		return errors.New("alerting: clear-after must be at least 1 window")
	}
	if c.Above && !(c.Clear <= c.Warn && c.Warn <= c.Critical) {
		return fmt.Errorf("alerting: need clear (%g) <= warn (%g) <= critical (%g)", c.Clear, c.Warn, c.Critical)
	}
	if !c.Above && !(c.Clear >= c.Warn && c.Warn >= c.Critical) {
		return fmt.Errorf("alerting: for lower-is-worse scores need clear (%g) >= warn (%g) >= critical (%g)", c.Clear, c.Warn, c.Critical)
	}
	return nil
}

// Severity of an active alert.
type Severity uint8

// Severities; None means no active alert.
const (
	None Severity = iota
	Warning
	Critical
)

func (s Severity) String() string {
	switch s {
	case Warning:
		return "warning"
	case Critical:
		return "critical"
	}
	return "none"
}

// Transition is what an observation changed.
type Transition uint8

// Transitions. Nothing is the common case.
const (
	Nothing Transition = iota
	Raised
	Updated
	Cleared
)

func (t Transition) String() string {
	return [...]string{"nothing", "raised", "updated", "cleared"}[t]
}

// Reason says why an Updated event was sent.
type Reason uint8

// Reasons for Updated.
const (
	NoReason  Reason = iota
	Escalated        // warning became critical
	Reminder         // Config.Reminder elapsed
	NewCause         // the caller found a different cause (Cause)
)

func (r Reason) String() string {
	return [...]string{"", "escalated", "reminder", "new_cause"}[r]
}

// Event is a state change to publish.
type Event struct {
	Transition Transition
	Reason     Reason   // Updated only
	Severity   Severity // severity after the change (the last one for Cleared)
	StartedAt  time.Time
	At         time.Time
	Score      float64
	Seq        int // 1 for the first alert of this State, then 2, 3...: part of the alert id
}

// State is one machine's state for one alert kind.
type State struct {
	cfg        Config
	bad        uint64 // bit i set: the i-th most recent window was bad
	seen       int
	severity   Severity
	calm       int
	startedAt  time.Time
	lastSent   time.Time
	seq        int
	critStreak int
	sinceRaise int // windows observed since the last raise (Holdoff)
}

// New returns an idle state machine.
func New(cfg Config) (*State, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &State{cfg: cfg}, nil
}

// Active reports the current severity (None when idle).
func (s *State) Active() Severity { return s.severity }

// StartedAt of the active alert.
func (s *State) StartedAt() time.Time { return s.startedAt }

func (s *State) isBad(v float64) bool {
	if s.cfg.Above {
		return v >= s.cfg.Warn
	}
	return v <= s.cfg.Warn
}

func (s *State) isCritical(v float64) bool {
	if s.cfg.Above {
		return v >= s.cfg.Critical
	}
	return v <= s.cfg.Critical
}

func (s *State) isCalm(v float64) bool {
	if s.cfg.Above {
		return v < s.cfg.Clear
	}
	return v > s.cfg.Clear
}

// Restore makes the machine hold an alert raised before a restart (read back from the
// retained alert state), so the daemon clears it once the score calms instead of
// leaving it open forever. It does nothing when an alert is already active.
func (s *State) Restore(sev Severity, startedAt time.Time) {
	if s.severity != None || sev == None {
		return
	}
	mask := uint64(1)<<uint(s.cfg.M) - 1
	s.severity, s.startedAt, s.lastSent, s.calm = sev, startedAt, startedAt, 0
	s.bad, s.seen = mask, s.cfg.M
	s.seq++
}

// Observe feeds one window's score taken at time at and returns the transition.
// Non-finite scores are ignored (the caller counts them): they must neither raise nor
// clear an alert.
func (s *State) Observe(at time.Time, score float64) Event {
	if score != score || score > 1e308 || score < -1e308 {
		return Event{}
	}
	mask := uint64(1)<<uint(s.cfg.M) - 1
	s.bad = (s.bad << 1) & mask
	if s.isBad(score) {
		s.bad |= 1
	}
	if s.seen < s.cfg.M {
		s.seen++
	}
	nBad := popcount(s.bad)
	// Critical needs the same k-of-m evidence, judged on the critical level, so a
	// single spike cannot escalate either.
	if s.isCritical(score) {
		s.critStreak++
	} else {
		s.critStreak = 0
	}
	if s.sinceRaise < s.cfg.Holdoff {
		s.sinceRaise++
	}
	if s.severity == None {
		if nBad < s.cfg.K || (s.seq > 0 && s.sinceRaise < s.cfg.Holdoff) {
			return Event{}
		}
		s.seq++
		s.sinceRaise = 0
		s.severity, s.startedAt, s.lastSent, s.calm = Warning, at, at, 0
		if s.critStreak >= s.cfg.K {
			s.severity = Critical
		}
		return s.event(Raised, at, score)
	}
	if s.isCalm(score) {
		s.calm++
		if s.calm >= s.cfg.ClearAfter {
			ev := s.event(Cleared, at, score)
			s.severity, s.bad, s.calm, s.critStreak = None, 0, 0, 0
			return ev
		}
		return Event{}
	}
	s.calm = 0
	if s.severity == Warning && s.critStreak >= s.cfg.K {
		s.severity, s.lastSent = Critical, at
		return s.updated(Escalated, at, score)
	}
	if s.cfg.Reminder > 0 && at.Sub(s.lastSent) >= s.cfg.Reminder {
		s.lastSent = at
		return s.updated(Reminder, at, score)
	}
	return Event{}
}

// Cause turns ev, the event Observe just returned, into an Updated event with reason
// NewCause when the caller has found that a different cause now drives the active
// alert (for example another sensor took the blame). A raise, clear or escalation
// already goes out and is returned unchanged, as is anything while no alert is active.
// A second fault on a machine that is already in alarm would otherwise go unreported.
func (s *State) Cause(ev Event, at time.Time, score float64) Event {
	if s.severity == None || (ev.Transition != Nothing && ev.Reason != Reminder) {
		return ev
	}
	s.lastSent = at
	return s.updated(NewCause, at, score)
}

func (s *State) updated(r Reason, at time.Time, score float64) Event {
	ev := s.event(Updated, at, score)
	ev.Reason = r
	return ev
}

func (s *State) event(t Transition, at time.Time, score float64) Event {
	return Event{Transition: t, Severity: s.severity, StartedAt: s.startedAt, At: at, Score: score, Seq: s.seq}
}

func popcount(x uint64) int {
	n := 0
	for x != 0 {
		x &= x - 1
		n++
	}
	return n
}
