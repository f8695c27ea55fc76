package evalcmd

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/alerting"
	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/dataset"
	"github.com/faultline/faultline/internal/eval"
	"github.com/faultline/faultline/internal/scoring"
	"github.com/faultline/faultline/internal/trainer"
)

type nabFlags struct {
	dir, files, out, profile, hidden      string
	feats, likelihood, level              string
	trainFrac, quantile, margin, smooth   float64
	z, minStd, levelZ                     float64
	window, k, m, clear, epochs, ensemble int
	forecast, holdoff                     int
	seed                                  uint64
	levelLag                              time.Duration
	novelty                               string
	plots                                 bool
	detector                              string
	perWeek, envelope                     float64
	baseline                              time.Duration
}

func (f *nabFlags) register(fs *flag.FlagSet, getenv func(string) string) {
	def := env(getenv, "FAULTLINE_DATASETS", "../shared/datasets")
	fs.StringVar(&f.dir, "data-dir", filepath.Join(def, "nab"), "NAB data: category folders of CSVs and combined_windows.json (env FAULTLINE_DATASETS/nab)")
	fs.StringVar(&f.files, "files", "realKnownCause", "comma separated categories (folders) or category/file.csv names")
	fs.StringVar(&f.out, "out", env(getenv, "FAULTLINE_EVAL_OUT", "eval-out"), "output directory for results.json and plots")
	fs.StringVar(&f.profile, "profile", "standard", "NAB profile: standard, reward_low_FP_rate, reward_low_FN_rate")
	fs.Float64Var(&f.trainFrac, "train-frac", 0, "share of each file to train on; 0 = NAB's probationary rows exactly (15%, at most 750)")
	fs.IntVar(&f.window, "window", 0, "window length in rows (default: trainer's anomaly default)")
	fs.Float64Var(&f.quantile, "quantile", 0, "calibration quantile of validation scores (default: trainer's)")
	fs.Float64Var(&f.margin, "margin", 0, "warn level = quantile x margin (default: trainer's)")
	fs.Float64Var(&f.smooth, "smoothing", 0, "EWMA factor of the score (default: trainer's)")
	fs.IntVar(&f.k, "k", 0, "alert when k of the last m windows are bad (default: trainer's)")
	fs.IntVar(&f.m, "m", 0, "see -k")
	fs.IntVar(&f.clear, "clear", 0, "calm windows to clear an alert (default: trainer's)")
	fs.IntVar(&f.holdoff, "holdoff", 0, "windows after a raise before the alert may raise again (0 = off)")
	fs.IntVar(&f.epochs, "epochs", 0, "maximum epochs (default: trainer's)")
	fs.IntVar(&f.ensemble, "ensemble", 0, "networks averaged (default: trainer's)")
	fs.StringVar(&f.hidden, "hidden", "", "hidden layer sizes (default: trainer's)")
	fs.Uint64Var(&f.seed, "seed", 1, "training seed")
	fs.BoolVar(&f.plots, "plots", true, "write one PNG per file")
	fs.IntVar(&f.forecast, "forecast", 0, "forecast the mean of the next N rows instead of reconstructing the window mean (0 = off)")
	fs.StringVar(&f.feats, "features", "", "window features (default: trainer's)")
	fs.StringVar(&f.likelihood, "likelihood", "", "likelihood score: short,long[,min_history] windows in rows, e.g. 10,2000,300 (empty = EWMA score)")
	fs.StringVar(&f.level, "level", "", "with --likelihood: add a two-sided level score short,long[,min_history] on the window mean; score = max of the two")
	fs.DurationVar(&f.levelLag, "level-lag", 0, "with --level: score the change of level since this long ago (e.g. 24h, 168h) instead of the level")
	fs.StringVar(&f.novelty, "novelty", "", "with --likelihood: window,gap,ratio in rows: raise only above ratio x the highest score of the window ending gap rows ago (empty = off)")
	fs.Float64Var(&f.levelZ, "level-z", 0, "with --level: the level score's own warn z (0 = --z)")
	fs.Float64Var(&f.z, "z", 0, "with --likelihood: warn at this standard score (default: trainer's, 4)")
	fs.Float64Var(&f.minStd, "min-std", 0.05, "with --likelihood: floor of the long-term spread")
	fs.StringVar(&f.detector, "detector", "", "anomaly detector: monitor, nets or both (default: trainer's)")
	fs.Float64Var(&f.perWeek, "false-alarms-per-week", 0, "warn level from a tail model of held-out scores (default: trainer's)")
	fs.DurationVar(&f.baseline, "baseline-half-life", 0, "half-life of the baseline that follows a moving normal; negative = off (default: trainer's)")
	fs.Float64Var(&f.envelope, "envelope", 0, "healthy-range allowance; < 0 = off (default: trainer's)")
}

// NABResult is results.json of the nab family.
type NABResult struct {
	Profile    eval.Profile `json:"profile"`
	Detections string       `json:"detections"`
	TrainRows  string       `json:"train_rows"`
	Files      []NABFileOut `json:"files"`
	Raw        float64      `json:"raw"`
	Null       float64      `json:"null"`
	Perfect    float64      `json:"perfect"`
	Score      float64      `json:"score"`
	Seconds    float64      `json:"seconds"`
}

// NABFileOut is one file's outcome with its normalised score alone.
type NABFileOut struct {
	eval.NABFile
	Score      float64 `json:"score"`
	TrainRows  int     `json:"train_rows"`
	Detections []int   `json:"detections"`
	Warn       float64 `json:"warn"`
}

func runNAB(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, log zerolog.Logger) error {
	var f nabFlags
	fs := flag.NewFlagSet("eval nab", flag.ContinueOnError)
	f.register(fs, getenv)
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	prof, err := profileByName(f.profile)
	if err != nil {
		return err
	}
	start := time.Now()
	windows, err := readWindows(filepath.Join(f.dir, "combined_windows.json"))
	if err != nil {
		return err
	}
	names, err := selectFiles(windows, f.dir, splitList(f.files))
	if err != nil {
		return err
	}
	res := &NABResult{Profile: prof, Detections: "rows where the alert is raised (alerting transition none -> warn or critical)"}
	res.TrainRows = "NAB probationary rows: min(floor(0.15 n), 750)"
	if f.trainFrac > 0 {
		res.TrainRows = fmt.Sprintf("first %.0f%% of rows", 100*f.trainFrac)
	}
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		out, series, err := f.scoreFile(ctx, name, windows[name], prof)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		log.Info().Str("file", name).Float64("score", out.Score).Int("detections", len(out.Detections)).Int("fp", out.FP).Msg("scored")
		res.Files = append(res.Files, out)
		if f.plots {
			if err := plotNAB(filepath.Join(f.out, "nab_"+strings.TrimSuffix(filepath.Base(name), ".csv")+".png"), out, series); err != nil {
				return err
			}
		}
	}
	files := make([]eval.NABFile, len(res.Files))
	for i, x := range res.Files {
		files[i] = x.NABFile
	}
	res.Raw, res.Null, res.Perfect, res.Score = eval.NABTotal(files)
	res.Seconds = time.Since(start).Seconds()
	printNAB(stdout, res)
	return writeJSON(f.out, "results.json", res)
}

func profileByName(n string) (eval.Profile, error) {
	for _, p := range eval.NABProfiles() {
		if p.Name == n || strings.TrimSuffix(p.Name, "_rate") == n {
			return p, nil
		}
	}
	return eval.Profile{}, fmt.Errorf("%w: profile %q: use standard, reward_low_FP_rate or reward_low_FN_rate", ErrUsage, n)
}

// readWindows reads NAB's combined_windows.json: file -> [[start, end], ...].
func readWindows(path string) (map[string][][2]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read NAB windows (give --data-dir, the folder holding combined_windows.json): %w", err)
	}
	var w map[string][][2]string
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return w, nil
}

// selectFiles expands categories into the labelled files present on disk.
func selectFiles(w map[string][][2]string, dir string, sel []string) ([]string, error) {
	var out []string
	for name := range w {
		for _, s := range sel {
			if name == s || strings.HasPrefix(name, strings.TrimSuffix(s, "/")+"/") {
				if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
					out = append(out, name)
				}
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no labelled NAB file under %s matches %v", dir, sel)
	}
	sort.Strings(out)
	return out, nil
}

// windowRows maps NAB's timestamp windows onto row indexes: the first row at or after
// the start to the last row at or before the end.
func windowRows(t []float64, ws [][2]string) ([]eval.Span, error) {
	var out []eval.Span
	for _, w := range ws {
		var lim [2]float64
		for k, s := range w {
			tm, err := time.Parse("2006-01-02 15:04:05.999999", s)
			if err != nil {
				return nil, fmt.Errorf("window time %q: %w", s, err)
			}
			lim[k] = float64(tm.Unix())
		}
		a := sort.SearchFloat64s(t, lim[0])
		b := sort.Search(len(t), func(i int) bool { return t[i] > lim[1] }) - 1
		if a <= b {
			out = append(out, eval.Span{Start: a, End: b})
		}
	}
	return out, nil
}

type nabSeries struct {
	T, V, Score []float64
	Windows     []eval.Span
}

func (f *nabFlags) scoreFile(ctx context.Context, name string, ws [][2]string, prof eval.Profile) (NABFileOut, *nabSeries, error) {
	tab, err := dataset.ReadFile(filepath.Join(f.dir, name), dataset.Options{TimeColumn: "timestamp", Sep: ','})
	if err != nil {
		return NABFileOut{}, nil, err
	}
	spans, err := windowRows(tab.T, ws)
	if err != nil {
		return NABFileOut{}, nil, err
	}
	n := len(tab.Rows)
	nTrain := eval.ProbationRows(n)
	if f.trainFrac > 0 {
		nTrain = int(f.trainFrac * float64(n))
	}
	m, err := f.train(ctx, tab, nTrain)
	if err != nil {
		return NABFileOut{}, nil, err
	}
	dets, series, err := detect(m, tab)
	if err != nil {
		return NABFileOut{}, nil, err
	}
	series.Windows = spans
	nf, err := eval.NABScoreFile(name, n, spans, dets, prof)
	if err != nil {
		return NABFileOut{}, nil, err
	}
	return NABFileOut{NABFile: nf, Score: nf.Normalized(), TrainRows: nTrain, Detections: dets, Warn: m.Alert.Warn}, series, nil
}

func (f *nabFlags) train(ctx context.Context, tab *dataset.Table, nTrain int) (*artifact.Model, error) {
	hidden, err := intList(f.hidden)
	if err != nil {
		return nil, err
	}
	d := trainer.Data{Columns: tab.Sensors, Series: []trainer.Series{{Asset: "nab", T: tab.T[:nTrain], Rows: tab.Rows[:nTrain]}}}
	o := trainer.Options{
		Task: artifact.TaskAnomaly, Name: "eval-nab", Window: f.window, Quantile: f.quantile, Margin: f.margin,
		Smoothing: f.smooth, K: f.k, M: f.m, Clear: f.clear, Holdoff: f.holdoff, Epochs: f.epochs, Ensemble: f.ensemble,
		Hidden: hidden, Seed: f.seed, Forecast: f.forecast, Features: splitList(f.feats), LikelihoodZ: f.z,
		Envelope: f.envelope, Detector: f.detector, FalseAlarmsPerWeek: f.perWeek, BaselineHalfLife: f.baseline,
	}
	if f.likelihood != "" {
		w, err := intList(f.likelihood)
		if err != nil || len(w) < 2 || len(w) > 3 {
			return nil, fmt.Errorf("%w: --likelihood %q: want short,long[,min_history] like 10,2000,300", ErrUsage, f.likelihood)
		}
		l := &artifact.Likelihood{Short: w[0], Long: w[1], MinHistory: w[1] / 4, MinStd: f.minStd}
		if len(w) == 3 {
			l.MinHistory = w[2]
		}
		o.Likelihood = l
	}
	if f.level != "" {
		w, err := intList(f.level)
		if err != nil || len(w) < 2 || len(w) > 3 {
			return nil, fmt.Errorf("%w: --level %q: want short,long[,min_history] like 10,2000,300", ErrUsage, f.level)
		}
		l := &artifact.Likelihood{Short: w[0], Long: w[1], MinHistory: w[1] / 4, MinStd: f.minStd}
		if len(w) == 3 {
			l.MinHistory = w[2]
		}
		if f.levelLag > 0 {
			l.Lag = lagRows(f.levelLag, tab.T[:nTrain])
		}
		if f.levelZ > 0 {
			l.Weight = o.LikelihoodZ / f.levelZ
			if o.LikelihoodZ <= 0 {
				l.Weight = 4 / f.levelZ // trainer's default z
			}
		}
		o.Level = l
	}
	m, _, err := trainer.Fit(ctx, d, o)
	if err != nil {
		return nil, fmt.Errorf("train on the first %d rows: %w", nTrain, err)
	}
	if f.novelty != "" {
		if m.Novelty, err = parseNovelty(f.novelty); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// detect streams the whole file through the live scorer; a detection is a row where
// the alert is raised.
func detect(m *artifact.Model, tab *dataset.Table) ([]int, *nabSeries, error) {
	sc, err := scoring.New(m)
	if err != nil {
		return nil, nil, err
	}
	idx, err := columnIndex(sc.Columns(), tab.Sensors)
	if err != nil {
		return nil, nil, err
	}
	st, err := sc.NewStream()
	if err != nil {
		return nil, nil, err
	}
	s := &nabSeries{T: tab.T, V: make([]float64, len(tab.Rows)), Score: make([]float64, len(tab.Rows))}
	var dets []int
	for i, row := range tab.Rows {
		s.V[i] = row[0]
		r, ok, err := st.Push(trainer.TimeOf(tab.T[i]), pickRow(row, idx))
		if err != nil || !ok {
			continue
		}
		s.Score[i] = r.Score
		if r.Event.Transition == alerting.Raised {
			dets = append(dets, i)
		}
	}
	return dets, s, nil
}

func printNAB(w io.Writer, r *NABResult) {
	fmt.Fprintf(w, "NAB %s profile; detections: %s; training: %s\n", r.Profile.Name, r.Detections, r.TrainRows)
	fmt.Fprintf(w, "%-58s %6s %4s %4s %4s %8s %8s\n", "file", "rows", "win", "det", "FP", "raw", "score")
	for _, f := range r.Files {
		fmt.Fprintf(w, "%-58s %6d %4d %4d %4d %8.3f %8.1f\n", f.Name, f.Rows, f.Windows, f.Detected, f.FP, f.Raw, f.Score)
	}
	fmt.Fprintf(w, "%-58s %6s %4s %4s %4s %8.3f %8.1f\n", "total (raw, null, perfect summed)", "", "", "", "", r.Raw, r.Score)
	fmt.Fprintf(w, "null %.3f perfect %.3f\n", r.Null, r.Perfect)
}

// lagRows converts a duration into rows at the median sampling step of t (seconds).
func lagRows(d time.Duration, t []float64) int {
	var steps []float64
	for i := 1; i < len(t); i++ {
		steps = append(steps, t[i]-t[i-1])
	}
	if len(steps) == 0 {
		return 1
	}
	sort.Float64s(steps)
	step := steps[len(steps)/2]
	if step <= 0 {
		return 1
	}
	return max(1, int(math.Round(d.Seconds()/step)))
}

// parseNovelty reads --novelty window,gap,ratio.
func parseNovelty(s string) (*artifact.Novelty, error) {
	p := splitList(s)
	var v artifact.Novelty
	if len(p) == 3 {
		_, e1 := fmt.Sscan(p[0], &v.Window)
		_, e2 := fmt.Sscan(p[1], &v.Gap)
		_, e3 := fmt.Sscan(p[2], &v.Ratio)
		if e1 == nil && e2 == nil && e3 == nil && v.Window > 0 && v.Gap >= 0 && v.Ratio > 0 {
			return &v, nil
		}
	}
	return nil, fmt.Errorf("%w: --novelty %q: want window,gap,ratio like 2000,100,1", ErrUsage, s)
}
