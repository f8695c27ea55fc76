package trainer

import (
	"context"
	"fmt"
	"math"
	"runtime"
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
// rulLifeShare is the cap of a timestamped rul model's target as a share of the
// median life of the training assets, and rulHorizonShare its default horizon as a
// share of the cap: the cycle defaults' proportions (125 and 30 on C-MAPSS FD001, whose
// median life is 199 cycles: 5/8 of it is 124).
const (
	rulLifeShare    = 5.0 / 8
	rulHorizonShare = 30.0 / 125
)

// rulScale resolves the cap and horizon a timestamped history leaves at 0. The
// defaults 125 and 30 count the time column's unit: cycles on C-MAPSS, but seconds for
// timestamps, where a 125-second cap made every target the cap on minute data and the
// model learned nothing. For timestamps (or a numeric time column of Unix seconds) the cap is rulLifeShare of the median life
// (first to last row of each training asset), and the horizon rulHorizonShare of the
// cap. Values the user gave are kept; a horizon at or above the cap is refused.
func rulScale(d Data, cap, horizon float64) (float64, float64, error) {
	unit, how := "", "the default"
	seconds := d.Timestamps || unixTime(d)
	switch {
	case cap > 0:
		how = "--rul-cap"
	case !seconds:
		cap = 125
	default:
		var lives []float64
		for _, s := range d.Series {
			if len(s.T) > 1 {
				// First to last in time, whatever the order of the rows (late rows are
				// dropped later); an asset of one instant has no life to measure.
				if l := slices.Max(s.T) - slices.Min(s.T); l > 0 {
					lives = append(lives, l)
				}
			}
		}
		if len(lives) == 0 {
			return 0, 0, fmt.Errorf("%w: no asset spans any time (every row of each asset at one instant): the remaining life cannot be measured", ErrData)
		}
		slices.Sort(lives)
		cap, how = rulLifeShare*lives[len(lives)/2], "5/8 of the assets' median life"
	}
	if seconds {
		unit = " s"
	}
	if horizon <= 0 {
		horizon = 30
		if seconds {
			horizon = rulHorizonShare * cap
		}
	}
	if !(horizon < cap) {
		return 0, 0, namesFlag(fmt.Errorf("%w: --horizon %v%s is not below the remaining-life cap %v%s (%s): give a shorter --horizon or a larger --rul-cap", ErrOptions, horizon, unit, cap, unit, how))
	}
	return cap, horizon, nil
}

// unixTime says whether a numeric time column holds Unix seconds: no cycle or hour
// counter reaches a billion, the Unix time of 2001.
func unixTime(d Data) bool {
	for _, s := range d.Series {
		if len(s.T) > 0 {
			return s.T[0] >= 1e9
		}
	}
	return false
}

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
			if len(s.Rows) == 0 || len(s.Rows) < spec.Window && !padShort(spec) {
				continue
			}
			var age []float64
			if p.ageIdx >= 0 {
				age = agesOf(s, p.ageIdx)
			}
			m, err := rulWindows(spec, p.period, o, p.rowsFor(s), s.T, age, rep)
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
	tr.X, va.X = scaleInPlace(in, tr.X), scaleInPlace(in, va.X)
	probe := o
	if o.RefitAll {
		// The refit retrains the ensemble: early stopping only finds the epoch count
		// and fits the band (RefitProbe).
		probe.Ensemble = min(o.Ensemble, RefitProbe)
	}
	nets, err := trainNets(ctx, probe, hidden, tr.X, scaleY(tr.Y, tc, ts), va.X, scaleY(va.Y, tc, ts), rep)
	if err != nil {
		return nil, nil, err
	}
	m := &artifact.Model{
		Name: o.Name, Version: o.Version, Created: time.Now().UTC(), Task: o.Task, Match: o.Match,
		Spec: spec, Settings: p.settings, Regimes: p.regimes, Input: in,
		Targets: []string{"rul"}, TargetCenter: tc, TargetScale: ts, RULCap: o.RULCap, Period: p.period, Nets: nets,
		Modes: artifact.Modes{AgeFeature: o.AgeFeature, AgeColumn: o.AgeColumn, HistoryEWMA: o.HistoryEWMA, PadShort: padShort(spec)},
		Alert: alerting.Config{Levels: alerting.Levels{Warn: o.Horizon, Critical: o.Horizon / 2, Clear: o.Horizon * 1.2, Above: false}, K: 2, M: 3, ClearAfter: 3},
	}
	var band *artifact.RULBand
	if o.RefitAll {
		// The band comes from the early-stopped networks: after the refit the
		// held-out assets are training data, and their residuals too small. With
		// one network (RefitProbe) the residuals are those of one network, not of the
		// refit ensemble's mean: if anything the band is a little wide.
		if band, err = heldOutBand(m, p, valSet, o); err != nil {
			return nil, nil, err
		}
		if m.Nets, err = refitAll(ctx, o, hidden, tr, va, tc, ts, rep); err != nil {
			return nil, nil, err
		}
	}
	if err := fitMembers(ctx, d, o, m, rep); err != nil {
		return nil, nil, err
	}
	if err := m.Validate(); err != nil {
		return nil, nil, err
	}
	weight, err := evalRUL(m, p, valSet, o, rep)
	if err != nil {
		return nil, nil, err
	}
	if band == nil {
		band = bandOf(rep.Pred, rep.Actual, weight, RULBandCoverage)
	}
	m.Band = band
	if band != nil {
		rep.Metrics["band_val_coverage"], rep.Metrics["band_val_width"] = bandFit(m, rep.Pred, rep.Actual)
	}
	rep.Duration = time.Since(start)
	rep.Seconds = rep.Duration.Seconds()
	rep.Threshold = map[string]float64{"horizon": o.Horizon, "critical": o.Horizon / 2, "clear": o.Horizon * 1.2}
	m.Training = trainingMeta(o, rep, d)
	return m, rep, nil
}

// evalRUL measures validation RMSE over all windows through the live scoring path.
// It returns each window's weight for the band: 1/(the asset's scored windows), so
// every held-out asset counts once whatever its length (bandOf).
func evalRUL(m *artifact.Model, p *prepared, val []Series, o Options, rep *Report) ([]float64, error) {
	sc, err := scoring.New(m)
	if err != nil {
		return nil, err
	}
	var se float64
	var n int
	var weight []float64
	for _, s := range val {
		st, err := sc.NewStream()
		if err != nil {
			return nil, err
		}
		last := s.T[len(s.T)-1]
		k := len(rep.Pred)
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
		for range len(rep.Pred) - k {
			weight = append(weight, 1/float64(len(rep.Pred)-k))
		}
	}
	if n > 0 {
		rep.Metrics["val_rmse_all_cycles"] = math.Sqrt(se / float64(n))
	}
	return weight, nil
}

// PredictLast runs a model over each series through the live path and returns the
// prediction at each series' last row (NaN when no window completed): the C-MAPSS test
// protocol.
func PredictLast(m *artifact.Model, d Data) ([]float64, error) {
	sc, err := scoring.New(m)
	if err != nil {
		return nil, err
	}
	if m.AgeColumn != "" {
		// Rows without a usable age stay: the scorer drops them (scoring.ErrBadAge).
		if d, err = WithAgeColumn(d, m.AgeColumn); err != nil {
			return nil, err
		}
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
func refitAll(ctx context.Context, o Options, hidden []int, tr, va matrix, tc, ts []float64, rep *Report) ([][]byte, error) {
	best := append([]int(nil), rep.BestEpochs...)
	slices.Sort(best)
	o.Epochs = max(1, best[len(best)/2]+1)
	o.Patience = 0
	var all matrix
	all.add(tr)
	all.add(va)
	// The early-stopped networks' float32 copies of the windows are garbage now:
	// collected before the refit makes its own, the peak memory stays that of one
	// copy.
	runtime.GC()
	sub := &Report{}
	nets, err := trainNets(ctx, o, hidden, all.X, scaleY(all.Y, tc, ts), nil, nil, sub)
	if err != nil {
		return nil, fmt.Errorf("refit on all assets: %w", err)
	}
	rep.Metrics["refit_epochs"] = float64(o.Epochs)
	return nets, nil
}

// rulWindows extracts one run-to-failure series' windows with the inputs
// scoring.Stream appends after the window features: the age (age[end] with an age
// column, else the row count end+1 with AgeFeature) and the whole-history EWMA after
// row end. The target is min(cap, tLast - t).
func rulWindows(spec features.Spec, period float64, o Options, rows [][]float64, t, age []float64, rep *Report) (matrix, error) {
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
	if padShort(spec) {
		if X, ends, err = addPadded(spec, period, rows, t, X, ends); err != nil {
			return matrix{}, err
		}
	}
	last := t[len(t)-1]
	m := matrix{X: make([][]float64, 0, len(ends)), Y: make([][]float64, 0, len(ends)), T: make([]float64, 0, len(ends))}
	extra := len(o.HistoryEWMA) * len(spec.Sensors)
	if o.AgeFeature || age != nil {
		extra++
	}
	// One exact-width block for the series' windows with their extra inputs:
	// appending to each window row instead doubled its capacity (Go's growth rule)
	// and made training with the history inputs take half again the memory.
	var block []float64
	if extra > 0 && len(X) > 0 {
		block = make([]float64, 0, len(X)*(len(X[0])+extra))
	}
	targets := make([]float64, len(ends))
	for i, e := range ends {
		x := X[i]
		if extra > 0 {
			n := len(block)
			block = append(block, X[i]...)
			switch {
			case age != nil:
				block = append(block, age[e])
			case o.AgeFeature:
				block = append(block, float64(e+1))
			}
			if hist != nil {
				block = append(block, hist[e]...)
			}
			x = block[n:len(block):len(block)]
		}
		targets[i] = math.Min(o.RULCap, last-t[e])
		m.X, m.Y, m.T = append(m.X, x), append(m.Y, targets[i:i+1:i+1]), append(m.T, t[e])
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
		mm.Band = nil // the model's band covers the mean of the model and its members
		m.Members = append(m.Members, mm)
		rep.BestEpochs = append(rep.BestEpochs, r.BestEpochs...)
		rep.Metrics[fmt.Sprintf("member_w%d_val_rmse_all_cycles", mm.Spec.Window)] = r.Metrics["val_rmse_all_cycles"]
	}
	return nil
}

// padShort says whether a model scores short histories by padding
// (artifact.Model.PadShort): every rul model with stride 1.
func padShort(spec features.Spec) bool { return spec.Stride == 1 }

// addPadded adds to one series' windows (X, ends: extractRuns) the padded windows of
// each run's first Window-1 rows (scoring.PadFeatures, as the stream makes them)
// and returns them all in row order.
func addPadded(spec features.Spec, period float64, rows [][]float64, t []float64, X [][]float64, ends []int) ([][]float64, []int, error) {
	ext, err := features.NewExtractor(spec)
	if err != nil {
		return nil, nil, err
	}
	type win struct {
		x   []float64
		end int
	}
	all := make([]win, 0, len(X)+spec.Window)
	for i := range X {
		all = append(all, win{X[i], ends[i]})
	}
	// Runs split where the stream restarts its window: a gap beyond MaxFill (extractRuns).
	start := 0
	for j := 1; j <= len(rows); j++ {
		if j < len(rows) && (period <= 0 || features.MissingSamples(t[j]-t[j-1], period) <= spec.MaxFill) {
			continue
		}
		for k := 1; k < spec.Window && start+k <= j; k++ {
			x := make([]float64, spec.NumFeatures())
			ok, err := scoring.PadFeatures(ext, rows[start:start+k], x)
			if err != nil {
				return nil, nil, err
			}
			if ok {
				all = append(all, win{x, start + k - 1})
			}
		}
		start = j
	}
	slices.SortStableFunc(all, func(a, b win) int { return a.end - b.end })
	X, ends = X[:0:0], ends[:0:0]
	for _, w := range all {
		X, ends = append(X, w.x), append(ends, w.end)
	}
	return X, ends, nil
}

// RULBandCoverage is the share of true RULs a rul model's band should hold.
const RULBandCoverage = 0.8

// The band has at most bandBins bins of predicted RUL; each holds at least
// bandMinPerBin held-out residuals and the weight of bandMinAssetsPerBin assets.
// The assets, not the windows, are what is exchangeable with a new asset: one
// asset's windows are strongly correlated, so a quantile from a bin that only a few
// assets reach is far noisier than its window count suggests.
const (
	bandBins            = 5
	bandMinPerBin       = 100
	bandMinAssetsPerBin = 8
)

// bandOf fits the split-conformal band (artifact.RULBand) from held-out predictions
// and truths: bins of equal weight by predicted RUL, in each the residual quantiles
// at (1-c)/2 and (1+c)/2 with the finite-sample correction. nil without residuals.
//
// weight (nil: equal) is each residual's share: evalRUL gives every held-out asset
// the same total weight. A new asset is scored at some moment of its life, so the
// exchangeable unit is (an asset, a moment of its life), not a window: counted by
// window, long-lived assets dominate, and with them the many windows near the cap
// whose residuals are small (on C-MAPSS FD003, whose assets live 145-525 cycles, the
// band by window held 69% of the test units' true RUL at their last cycle instead
// of 80%; weighted by asset 73%, same width).
func bandOf(pred, actual, weight []float64, coverage float64) *artifact.RULBand {
	n := len(pred)
	if n < 10 {
		return nil
	}
	bins := min(bandBins, n/bandMinPerBin)
	if weight == nil {
		weight = make([]float64, n)
		for i := range weight {
			weight[i] = 1
		}
	}
	idx := make([]int, n)
	var total float64
	for i := range idx {
		idx[i] = i
		total += weight[i]
	}
	if total < float64(n) {
		// Weights by asset (evalRUL) sum to the number of assets.
		bins = min(bins, int(math.Round(total))/bandMinAssetsPerBin)
	}
	bins = max(1, bins)
	slices.SortStableFunc(idx, func(a, b int) int { return cmpFloat(pred[a], pred[b]) })
	// Bin boundaries where the cumulative weight crosses k/bins of the total.
	cuts := []int{0}
	var acc float64
	for j, i := range idx {
		acc += weight[i]
		if len(cuts) < bins && acc >= float64(len(cuts))*total/float64(bins) && j+1 < n {
			cuts = append(cuts, j+1)
		}
	}
	cuts = append(cuts, n)
	b := &artifact.RULBand{Coverage: coverage}
	for k := range len(cuts) - 1 {
		lo, hi := cuts[k], cuts[k+1]
		res := make([]weighted, 0, hi-lo)
		for _, i := range idx[lo:hi] {
			res = append(res, weighted{actual[i] - pred[i], weight[i]})
		}
		m := float64(len(res))
		// Split conformal: the ceil((m+1)(1-a))/m empirical quantile.
		qHi := math.Min(1, math.Ceil((m+1)*(1+coverage)/2)/m)
		qLo := math.Max(0, 1-qHi)
		b.Lo, b.Hi = append(b.Lo, weightedQuantile(res, qLo)), append(b.Hi, weightedQuantile(res, qHi))
		if k < len(cuts)-2 {
			// The edge between two bins: midway between their neighbouring predictions.
			b.Edges = append(b.Edges, (pred[idx[hi-1]]+pred[idx[hi]])/2)
		}
	}
	// Equal predictions on both sides of a boundary make equal edges: keep the bins
	// but make the edges increase so the model validates.
	for i := 1; i < len(b.Edges); i++ {
		b.Edges[i] = math.Max(b.Edges[i], b.Edges[i-1])
	}
	return b
}

type weighted struct{ v, w float64 }

// weightedQuantile is the smallest value whose cumulative weight reaches q of the
// total (the empirical quantile of a weighted sample; sorts v).
func weightedQuantile(v []weighted, q float64) float64 {
	slices.SortFunc(v, func(a, b weighted) int { return cmpFloat(a.v, b.v) })
	var total float64
	for _, x := range v {
		total += x.w
	}
	var acc float64
	for _, x := range v {
		acc += x.w
		if acc >= q*total*(1-1e-12) {
			return x.v
		}
	}
	return v[len(v)-1].v
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// bandFit is the share of truths inside m's band and the band's mean width.
func bandFit(m *artifact.Model, pred, actual []float64) (coverage, width float64) {
	if len(pred) == 0 {
		return 0, 0
	}
	in := 0
	for i, p := range pred {
		lo, hi := m.Band.Bounds(p, m.RULCap)
		if actual[i] >= lo && actual[i] <= hi {
			in++
		}
		width += hi - lo
	}
	return float64(in) / float64(len(pred)), width / float64(len(pred))
}

// heldOutBand is the band of m as it is (its networks early-stopped on the
// held-out assets), from those assets' residuals.
func heldOutBand(m *artifact.Model, p *prepared, val []Series, o Options) (*artifact.RULBand, error) {
	r := &Report{Metrics: map[string]float64{}}
	weight, err := evalRUL(m, p, val, o, r)
	if err != nil {
		return nil, err
	}
	return bandOf(r.Pred, r.Actual, weight, RULBandCoverage), nil
}

// scaleInPlace scales every window in place and returns X. The rul trainer keeps one
// copy of its windows (the padded windows of short histories made them more): the
// rows are not shared and are used only scaled from here on, in the refit too.
func scaleInPlace(sc *features.Scaler, X [][]float64) [][]float64 {
	for _, x := range X {
		_ = sc.Transform(x, x)
	}
	return X
}
