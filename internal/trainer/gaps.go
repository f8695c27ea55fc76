package trainer

import (
	"math"
	"slices"

	"github.com/faultline/faultline/internal/features"
)

// Outages in the training history are treated the way scoring.Stream treats them live,
// so the networks learn from the windows the daemon will compute. A gap of at most
// MaxFill missing periods is filled with missing rows (the window forward-fills or
// skips them); a longer one restarts the window, while the age and whole-history
// inputs run on. Without this a window across a two-hour outage is a step change to
// the trainer that the daemon never sees.

// fillGaps returns d with every gap of 1..maxFill missing periods filled by rows of
// NaN at the period, and how many rows it inserted. Series without such gaps are
// shared, not copied.
func fillGaps(d Data, period float64, maxFill int) (Data, int) {
	if period <= 0 {
		return d, 0
	}
	out, added := d, 0
	out.Series = slices.Clone(d.Series)
	for i, s := range d.Series {
		var t []float64
		var rows [][]float64
		for j := range s.T {
			miss := 0
			if j > 0 {
				miss = features.MissingSamples(s.T[j]-s.T[j-1], period)
			}
			if miss > 0 && miss <= maxFill {
				if t == nil {
					t, rows = slices.Clone(s.T[:j]), slices.Clone(s.Rows[:j])
				}
				for k := 1; k <= miss; k++ {
					t = append(t, s.T[j-1]+float64(k)*period)
					rows = append(rows, nanRow(len(s.Rows[j])))
				}
				added += miss
			}
			if t != nil {
				t, rows = append(t, s.T[j]), append(rows, s.Rows[j])
			}
		}
		if t != nil {
			out.Series[i] = Series{Asset: s.Asset, T: t, Rows: rows}
		}
	}
	return out, added
}

func nanRow(n int) []float64 {
	r := make([]float64, n)
	for i := range r {
		r[i] = math.NaN()
	}
	return r
}

// extractRuns is features.ExtractBatch on each run of rows between gaps longer than
// spec.MaxFill periods (after fillGaps no shorter ones are left): no window spans such
// a gap, as none does in scoring.Stream. ends index rows; runEnds[i] is the index just
// past the run of window i (a forecast target must not read beyond it: the stream's
// forecaster restarts there too); skipped counts the windows left out.
func extractRuns(spec features.Spec, period float64, rows [][]float64, t []float64) (X [][]float64, ends, runEnds []int, skipped int, err error) {
	for _, r := range runs(t, period, spec.MaxFill) {
		x, e, st, err := features.ExtractBatch(spec, rows[r[0]:r[1]])
		if err != nil {
			return nil, nil, nil, 0, err
		}
		for i := range e {
			e[i] += r[0]
			runEnds = append(runEnds, r[1])
		}
		X, ends, skipped = append(X, x...), append(ends, e...), skipped+st.Skipped()
	}
	return X, ends, runEnds, skipped, nil
}

// runs splits rows timed t into the runs scoring.Stream scores without a restart:
// [start, end) row ranges between gaps of more than maxFill periods (untimed rows,
// period 0, are one run).
func runs(t []float64, period float64, maxFill int) [][2]int {
	var out [][2]int
	start := 0
	for j := 1; j <= len(t); j++ {
		if j < len(t) && (period <= 0 || features.MissingSamples(t[j]-t[j-1], period) <= maxFill) {
			continue
		}
		out = append(out, [2]int{start, j})
		start = j
	}
	return out
}

// runHistory is the whole-history EWMA inputs of an anomaly model after each row,
// restarted at each run as scoring.Stream restarts them at an outage.
func runHistory(alphas []float64, rows [][]float64, t []float64, period float64, maxFill int) ([][]float64, error) {
	out := make([][]float64, 0, len(rows))
	for _, r := range runs(t, period, maxFill) {
		h, err := features.HistoryBatch(alphas, rows[r[0]:r[1]])
		if err != nil {
			return nil, err
		}
		out = append(out, h...)
	}
	return out, nil
}

// dropLate drops every row at or before the time of the last row kept, the rule
// scoring.Stream.Push applies to live samples (ErrOutOfOrder): a clock that steps back
// an hour (NAB's machine_temperature_system_failure.csv at row 10150) costs the rows
// until time passes the last one kept, in training as on the gateway, and a duplicate
// timestamp keeps its first row. It returns the data and the number of rows dropped.
func dropLate(d Data) (Data, int) {
	dropped := 0
	out := d // the columns and what the reader said about them
	out.Series = make([]Series, len(d.Series))
	for k, s := range d.Series {
		ns := Series{Asset: s.Asset, T: make([]float64, 0, len(s.T)), Rows: make([][]float64, 0, len(s.Rows))}
		for i, t := range s.T {
			if n := len(ns.T); n > 0 && t <= ns.T[n-1] {
				dropped++
				continue
			}
			ns.T, ns.Rows = append(ns.T, t), append(ns.Rows, s.Rows[i])
		}
		out.Series[k] = ns
	}
	return out, dropped
}
