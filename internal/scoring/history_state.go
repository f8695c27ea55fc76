package scoring

import (
	"errors"
	"fmt"
	"time"

	"github.com/faultline/faultline/internal/artifact"
)

// HistoryState is a rul stream's long memory as the edge daemon keeps it across a
// restart: the whole-history means (artifact.Model.HistoryEWMA) and the rows seen since
// the stream began (the row-count age, artifact.Model.AgeFeature), with the same for
// each member stream. Without it a restarted daemon judged a worn machine by its
// latest samples alone, as if it had always been like this: a late RUL until the means
// had warmed up again (about 33 samples with the default factors, which for an asset
// sampled once a cycle is 33 cycles of its life). The window itself is not kept: a
// stream restarts its window after an outage anyway, and pads short histories.
type HistoryState struct {
	Means   []float64      `json:"means,omitempty"`
	Seen    []bool         `json:"seen,omitempty"`
	Rows    int64          `json:"rows"`
	Last    time.Time      `json:"last"`
	Members []HistoryState `json:"members,omitempty"`
}

// HistoryState returns the stream's long memory; false for a model with none (no
// whole-history inputs and no row-count age) or a stream that has seen no row.
func (st *Stream) HistoryState() (HistoryState, bool) {
	m := st.s.M
	if !keepsHistory(m) || st.rows == 0 {
		return HistoryState{}, false
	}
	s := HistoryState{Rows: st.rows, Last: st.last}
	if h := st.historyStage(); h != nil {
		s.Means, s.Seen = h.h.State()
	}
	if st.mem != nil {
		for _, sub := range st.mem.st {
			ms, _ := sub.HistoryState()
			s.Members = append(s.Members, ms)
		}
	}
	return s, true
}

// RestoreHistory loads a state HistoryState returned into a fresh stream of the same
// model, before its first row. It refuses a state that does not fit (another number of
// sensors or factors, non-finite means, a negative row count, other members) and leaves
// the stream as it was.
func (st *Stream) RestoreHistory(s HistoryState) error {
	if st.rows != 0 {
		return errors.New("history: the stream has scored rows already")
	}
	if err := st.checkHistory(s); err != nil {
		return err
	}
	st.restoreHistory(s)
	return nil
}

func (st *Stream) checkHistory(s HistoryState) error {
	m := st.s.M
	if !keepsHistory(m) {
		return errors.New("history: the model keeps none")
	}
	if s.Rows < 0 {
		return fmt.Errorf("history: %d rows, want >= 0", s.Rows)
	}
	if h := st.historyStage(); h != nil {
		if err := h.h.CheckState(s.Means, s.Seen); err != nil {
			return err
		}
	} else if len(s.Means) > 0 || len(s.Seen) > 0 {
		return errors.New("history: the model has no whole-history inputs")
	}
	n := 0
	if st.mem != nil {
		n = len(st.mem.st)
	}
	if len(s.Members) != n {
		return fmt.Errorf("history: %d member states, the model has %d members", len(s.Members), n)
	}
	for i, ms := range s.Members {
		if err := st.mem.st[i].checkHistory(ms); err != nil {
			return fmt.Errorf("member %d: %w", i, err)
		}
	}
	return nil
}

func (st *Stream) restoreHistory(s HistoryState) {
	st.rows = s.Rows
	if h := st.historyStage(); h != nil {
		_ = h.h.Restore(s.Means, s.Seen) // checked by checkHistory
	}
	for i, ms := range s.Members {
		st.mem.st[i].restoreHistory(ms)
	}
}

// keepsHistory says whether a stream of m has a long memory worth keeping across a
// daemon restart: a rul model's history means or row-count age. An anomaly model's
// means restart with the stream, as at an outage: after a restart nobody knows what
// the machine did meanwhile.
func keepsHistory(m *artifact.Model) bool {
	return (len(m.HistoryEWMA) > 0 || m.AgeFeature) && m.Task != artifact.TaskAnomaly
}

// historyStage is the stream's whole-history stage, nil for a model without one.
func (st *Stream) historyStage() *historyStage { return st.hist }

// HistoryWarm says whether the networks that see the whole-history means are heard
// (an anomaly model's means have run long enough since the stream or its last outage
// began); true for models without them.
func (st *Stream) HistoryWarm() bool { return st.hist == nil || st.hist.warm() }
