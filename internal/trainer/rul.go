package trainer

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/faultline/faultline/internal/alerting"
	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/features"
	"github.com/faultline/faultline/internal/scoring"
)

// fitRUL trains remaining-useful-life regression on run-to-failure histories: each
// series ends at its asset's failure, so the target at a row is min(cap, tLast - t).
// Validation holds out the last ValFrac of the assets, never rows of a training asset.
func fitRUL(ctx context.Context, d Data, o Options) (*artifact.Model, *Report, error) {
	start := time.Now()
	rep := &Report{Task: o.Task, Windows: map[string]int{}, Metrics: map[string]float64{}}
	nVal := int(math.Round(float64(len(d.Series)) * o.ValFrac))
	if len(d.Series) < 2 {
		return nil, nil, namesFlag(fmt.Errorf("%w: rul needs several run-to-failure assets (got %d); give --asset-column", ErrData, len(d.Series)))
	}
	nVal = min(max(nVal, 1), len(d.Series)-1)
	trainSet, valSet := d.Series[:len(d.Series)-nVal], d.Series[len(d.Series)-nVal:]
	isTrain := map[string]bool{}
	for _, s := range trainSet {
		isTrain[s.Asset] = true
	}
	trainPart := func(s Series) Series {
		if isTrain[s.Asset] {
			return s
		}
		return Series{}
	}
	p, err := prepare(d, &o, trainPart, rep)
	if err != nil {
		return nil, nil, err
	}
	want := o.Window
	if want <= 0 {
		want = 30
	}
	spec := p.spec(&o, fitWindow(want, d))
	if err := spec.Validate(); err != nil {
		return nil, nil, fmt.Errorf("feature spec: %w", err)
	}
	var tr, va matrix
	for _, part := range []struct {
		set []Series
		dst *matrix
	}{{trainSet, &tr}, {valSet, &va}} {
		for _, s := range part.set {
			if len(s.Rows) < spec.Window {
				continue
			}
			m, err := rulWindows(spec, p.period, o, p.rowsFor(s), s.T, rep)
			if err != nil {
				return nil, nil, err
			}
			part.dst.add(m)
		}
	}
	rep.Windows["train"], rep.Windows["val"] = len(tr.X), len(va.X)
	if len(tr.X) < 20 || len(va.X) < 5 {
		return nil, nil, fmt.Errorf("%w: %d training and %d validation windows; need at least 20 and 5", ErrData, len(tr.X), len(va.X))
	}
	in := features.NewScaler(features.ZScore)
	if err := in.Fit(tr.X); err != nil {
		return nil, nil, err
	}
	// Scale the target by the cap, not its spread: outputs stay in [0, 1]-ish and the
	// cap is meaningful to readers of the model file.
	tc, ts := []float64{0}, []float64{o.RULCap}
	hidden := o.Hidden
	if len(hidden) == 0 {
		hidden = defaultHidden(len(tr.X[0]), len(tr.X))
	}
	rep.Hidden = hidden
	nets, err := trainNets(ctx, o, hidden, scaleRows(in, tr.X), scaleY(tr.Y, tc, ts), scaleRows(in, va.X), scaleY(va.Y, tc, ts), rep)
	if err != nil {
		return nil, nil, err
	}
	if o.RefitAll {
		if nets, err = refitAll(ctx, o, hidden, in, tr, va, tc, ts, rep); err != nil {
			return nil, nil, err
		}
	}
	m := &artifact.Model{
		Name: o.Name, Version: o.Version, Created: time.Now().UTC(), Task: o.Task, Match: o.Match,
		Spec: spec, Settings: p.settings, Regimes: p.regimes, Input: in,
		Targets: []string{"rul"}, TargetCenter: tc, TargetScale: ts, RULCap: o.RULCap, Period: p.period, Nets: nets,
		AgeFeature: o.AgeFeature, HistoryEWMA: o.HistoryEWMA,
		Alert: alerting.Config{Levels: alerting.Levels{Warn: o.Horizon, Critical: o.Horizon / 2, Clear: o.Horizon * 1.2, Above: false}, K: 2, M: 3, ClearAfter: 3},
	}
	if err := fitMembers(ctx, d, o, m, rep); err != nil {
		return nil, nil, err
	}
	if err := m.Validate(); err != nil {
		return nil, nil, err
	}
	if err := evalRUL(m, p, valSet, o, rep); err != nil {
		return nil, nil, err
	}
	rep.Duration = time.Since(start)
	rep.Seconds = rep.Duration.Seconds()
	rep.Threshold = map[string]float64{"horizon": o.Horizon, "critical": o.Horizon / 2, "clear": o.Horizon * 1.2}
	m.Training = trainingMeta(o, rep, d)
	return m, rep, nil
}

// evalRUL measures validation RMSE over all windows through the live scoring path.
func evalRUL(m *artifact.Model, p *prepared, val []Series, o Options, rep *Report) error {
	sc, err := scoring.New(m)
	if err != nil {
		return err
	}
	var se float64
	var n int
	for _, s := range val {
		st, err := sc.NewStream()
		if err != nil {
			return err
		}
		last := s.T[len(s.T)-1]
		for i, row := range s.Rows {
			r, ok, err := st.Push(secondsToTime(s.T[i]), p.scorerRow(row))
			if err != nil || !ok {
				continue
			}
			truth := math.Min(o.RULCap, last-s.T[i])
			rep.Pred = append(rep.Pred, r.RUL)
			rep.Actual = append(rep.Actual, truth)
			se += (r.RUL - truth) * (r.RUL - truth)
			n++
		}
	}
	if n > 0 {
		rep.Metrics["val_rmse_all_cycles"] = math.Sqrt(se / float64(n))
	}
	return nil
}

// PredictLast runs a model over each series through the live path and returns the
// prediction at each series' last row (NaN when no window completed): the C-MAPSS test
// protocol.
func PredictLast(m *artifact.Model, d Data) ([]float64, error) {
	sc, err := scoring.New(m)
	if err != nil {
		return nil, err
	}
	cols := sc.Columns()
	idx := make([]int, len(cols))
	for i, c := range cols {
		idx[i] = -1
		for k, dc := range d.Columns {
			if dc == c {
				idx[i] = k
			}
		}
		if idx[i] < 0 {
			return nil, fmt.Errorf("%w: column %q the model needs is missing", ErrData, c)
		}
	}
	out := make([]float64, len(d.Series))
	for j, s := range d.Series {
		st, err := sc.NewStream()
		if err != nil {
			return nil, err
		}
		out[j] = math.NaN()
		for i, row := range s.Rows {
			r, ok, err := st.Push(secondsToTime(s.T[i]), pick(row, idx))
			if err == nil && ok {
				out[j] = r.RUL
				if m.Task == artifact.TaskAnomaly {
					out[j] = r.Score
				}
			}
		}
	}
	return out, nil
}

// refitAll trains the ensemble again on training and held-out assets together for
// the median epoch count early stopping chose, without validation: the held-out
// assets then teach the model too. Validation figures measured afterwards are
// optimistic (the model has seen those assets).
func refitAll(ctx context.Context, o Options, hidden []int, in *features.Scaler, tr, va matrix, tc, ts []float64, rep *Report) ([][]byte, error) {
	best := append([]int(nil), rep.BestEpochs...)
	slices.Sort(best)
	o.Epochs = max(1, best[len(best)/2]+1)
	o.Patience = 0
	var all matrix
	all.add(tr)
	all.add(va)
	sub := &Report{}
	nets, err := trainNets(ctx, o, hidden, scaleRows(in, all.X), scaleY(all.Y, tc, ts), nil, nil, sub)
	if err != nil {
		return nil, fmt.Errorf("refit on all assets: %w", err)
	}
	rep.Metrics["refit_epochs"] = float64(o.Epochs)
	return nets, nil
}

// rulWindows extracts one run-to-failure series' windows with the inputs
// scoring.Stream appends after the window features: the age (end+1) and the
// whole-history EWMA after row end. The target is min(cap, tLast - t).
func rulWindows(spec features.Spec, period float64, o Options, rows [][]float64, t []float64, rep *Report) (matrix, error) {
	X, ends, _, skipped, err := extractRuns(spec, period, rows, t)
	if err != nil {
		return matrix{}, err
	}
	rep.Skipped += skipped
	var hist [][]float64
	if len(o.HistoryEWMA) > 0 && len(ends) > 0 {
		if hist, err = features.HistoryBatch(o.HistoryEWMA, rows); err != nil {
			return matrix{}, err
		}
	}
	last := t[len(t)-1]
	var m matrix
	for i, e := range ends {
		x := X[i][:len(X[i]):len(X[i])]
		if o.AgeFeature {
			x = append(x, float64(e+1))
		}
		if hist != nil {
			x = append(x, hist[e]...)
		}
		m.X, m.Y, m.T = append(m.X, x), append(m.Y, []float64{math.Min(o.RULCap, last-t[e])}), append(m.T, t[e])
	}
	return m, nil
}

// fitMembers trains one model per o.MemberWindows entry with the same options (the
// seed offset so the networks differ) and attaches them to m.
func fitMembers(ctx context.Context, d Data, o Options, m *artifact.Model, rep *Report) error {
	for i, w := range o.MemberWindows {
		oo := o
		oo.Window, oo.MemberWindows, oo.Seed = w, nil, o.Seed+uint64(i+1)*7777
		mm, r, err := fitRUL(ctx, d, oo)
		if err != nil {
			return fmt.Errorf("member with window %d: %w", w, err)
		}
		mm.Name = fmt.Sprintf("%s-w%d", o.Name, mm.Spec.Window)
		m.Members = append(m.Members, mm)
		rep.BestEpochs = append(rep.BestEpochs, r.BestEpochs...)
		rep.Metrics[fmt.Sprintf("member_w%d_val_rmse_all_cycles", mm.Spec.Window)] = r.Metrics["val_rmse_all_cycles"]
	}
	return nil
}
