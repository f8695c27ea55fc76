package scoring

import "time"

// Members (artifact.Model.Members) are further rul models, usually on other window
// lengths, that see the same rows. Each gets its own Stream; the model's prediction
// at a row is the mean of its own RUL and that of every member whose window
// completed at the row, so a member with a longer window joins once the history is
// long enough and a short history is still scored.

func (s *Scorer) newMembers() error {
	for _, mm := range s.M.Members {
		sub, err := New(mm)
		if err != nil {
			return err
		}
		s.members = append(s.members, sub)
	}
	return nil
}

// memberStreams is nil for a model without members; its methods accept nil.
type memberStreams struct {
	st  []*Stream
	rul []float64
	ok  []bool
}

func (s *Scorer) newMemberStreams() (*memberStreams, error) {
	if len(s.members) == 0 {
		return nil, nil
	}
	m := &memberStreams{rul: make([]float64, len(s.members)), ok: make([]bool, len(s.members))}
	for _, sub := range s.members {
		st, err := sub.NewStream()
		if err != nil {
			return nil, err
		}
		m.st = append(m.st, st)
	}
	return m, nil
}

// push feeds one row to every member (they share the model's columns and period,
// so each handles gaps as the model does) and keeps their results for mean.
func (m *memberStreams) push(ts time.Time, row []float64) {
	if m == nil {
		return
	}
	for i, st := range m.st {
		r, ok, err := st.Push(ts, row)
		m.ok[i] = ok && err == nil
		if m.ok[i] {
			m.rul[i] = r.RUL
		}
	}
}

// mean averages own with the RUL of the members that completed a window at the row.
func (m *memberStreams) mean(own float64) float64 {
	if m == nil {
		return own
	}
	sum, n := own, 1.0
	for i, ok := range m.ok {
		if ok {
			sum, n = sum+m.rul[i], n+1
		}
		// Used once: rows the model inserts for a short gap are scored alone.
		m.ok[i] = false
	}
	return sum / n
}

func (m *memberStreams) reset() {
	if m == nil {
		return
	}
	for i, st := range m.st {
		st.Reset()
		m.ok[i] = false
	}
}
