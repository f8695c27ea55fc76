package evalcmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/cli"
	"github.com/faultline/faultline/internal/dataset"
	"github.com/faultline/faultline/internal/eval"
	"github.com/faultline/faultline/internal/scoring"
	"github.com/faultline/faultline/internal/trainer"
	"github.com/faultline/faultline/internal/trainer/trainflags"
)

// rulFlags are the rul family's flags. The training flags (with --train) are
// bin/train's, registered by trainflags: same names, env fallbacks and validation, so
// `bin/train --task rul` with the same flags trains the same model.
type rulFlags struct {
	model, train, csv, rul, out, save, ignore string
	assetCol, timeCol, dateOrder              string
	cmapss                                    bool
	cap                                       float64
	opts                                      trainer.Options
	tf                                        *trainflags.Flags
}

func (f *rulFlags) register(fs *flag.FlagSet, getenv func(string) string, errs *[]error) {
	fs.StringVar(&f.model, "model", "", "model file to evaluate (or --train)")
	fs.StringVar(&f.train, "train", "", "run-to-failure file to train a model on first (instead of --model)")
	fs.StringVar(&f.csv, "csv", "", "test file: each asset's rows up to some time before failure")
	fs.StringVar(&f.rul, "rul", "", "true RUL after each test asset's last row, one a line (C-MAPSS RUL_FD00x.txt)")
	fs.StringVar(&f.assetCol, "asset-column", "unit", "asset column (ignored with --cmapss)")
	fs.StringVar(&f.timeCol, "time-column", "cycle", "time column (ignored with --cmapss)")
	fs.StringVar(&f.dateOrder, "date-order", "", "read slashed dates like 03/01/2024 in the time column: dmy (day first) or mdy (month first), as bin/train does; default: refuse them")
	fs.BoolVar(&f.cmapss, "cmapss", false, "files are C-MAPSS: no header, whitespace separated, unit and cycle columns")
	fs.Float64Var(&f.cap, "cap", 125, "cap of the true RUL the predictions are scored against (piecewise-linear target); 0 = none")
	fs.StringVar(&f.out, "out", env(getenv, "FAULTLINE_EVAL_OUT", "eval-out"), "output directory for results.json and plots")
	fs.StringVar(&f.save, "save-model", "", "with --train: also save the trained model here")
	fs.StringVar(&f.ignore, "ignore", "", "columns to drop before training, comma separated")
	f.tf = trainflags.Register(fs, &f.opts, trainflags.RUL, cli.Getenv(getenv), errs)
}

// RULResult is results.json of the rul family.
type RULResult struct {
	Model     string         `json:"model"`
	Test      string         `json:"test"`
	Cap       float64        `json:"cap"`
	Last      eval.RULErrors `json:"last_cycle"`
	AllCycles eval.RULErrors `json:"all_cycles"`
	Unscored  int            `json:"unscored_assets"`
	// Band: the share of last-cycle truths inside [rul_lo, rul_hi] and the band's mean
	// width (models with a band, artifact.RULBand).
	BandCoverage float64         `json:"band_coverage,omitempty"`
	BandWidth    float64         `json:"band_width,omitempty"`
	Train        *trainer.Report `json:"train,omitempty"`
	Seconds      float64         `json:"seconds"`
	Pred, True   []float64       `json:"-"`
}

func runRUL(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, log zerolog.Logger) error {
	var f rulFlags
	var errs []error
	fs := flag.NewFlagSet("eval rul", flag.ContinueOnError)
	f.register(fs, getenv, &errs)
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if (f.model == "") == (f.train == "") || f.csv == "" || f.rul == "" {
		return fmt.Errorf("%w: give exactly one of --model and --train, plus --csv and --rul", ErrUsage)
	}
	f.opts.Task, f.opts.Name = artifact.TaskRUL, "eval-rul"
	// Every training option is checked before any file is read, as bin/train does.
	if err := errors.Join(append(append(errs, f.tf.Finish(f.cmapss)...), dataset.CheckDateOrder(f.dateOrder))...); err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	start := time.Now()
	opts := dataset.Options{Ignore: splitList(f.ignore), AssetColumn: f.assetCol, TimeColumn: f.timeCol, DateOrder: f.dateOrder}
	if f.cmapss {
		opts = dataset.CMAPSSOptions()
		opts.Ignore = splitList(f.ignore)
	}
	res := &RULResult{Model: f.model, Test: f.csv, Cap: f.cap}
	m, err := f.loadOrTrain(ctx, opts, res, log)
	if err != nil {
		return err
	}
	test, err := dataset.ReadFile(f.csv, opts)
	if err != nil {
		return fmt.Errorf("read test file: %w", err)
	}
	truth, err := dataset.ReadRULFile(f.rul)
	if err != nil {
		return err
	}
	d := trainer.FromTable(test)
	if len(truth) != len(d.Series) {
		return fmt.Errorf("%s has %d assets but %s has %d RUL values: give the matching pair", f.csv, len(d.Series), f.rul, len(truth))
	}
	if err := scoreRUL(m, d, truth, res); err != nil {
		return err
	}
	res.Seconds = time.Since(start).Seconds()
	printRUL(stdout, res)
	if err := writeJSON(f.out, "results.json", res); err != nil {
		return err
	}
	return plotRUL(filepath.Join(f.out, "rul_last_cycle.png"), res)
}

func (f *rulFlags) loadOrTrain(ctx context.Context, opts dataset.Options, res *RULResult, log zerolog.Logger) (*artifact.Model, error) {
	if f.model != "" {
		m, err := artifact.Load(f.model)
		if err != nil {
			return nil, fmt.Errorf("load model: %w", err)
		}
		if m.Task != artifact.TaskRUL {
			return nil, fmt.Errorf("model %s is a %q model; rul evaluation needs a rul model", f.model, m.Task)
		}
		return m, nil
	}
	tab, err := dataset.ReadFile(f.train, opts)
	if err != nil {
		return nil, fmt.Errorf("read training file: %w", err)
	}
	o := f.opts
	log.Info().Str("file", f.train).Int("rows", len(tab.Rows)).Msg("training")
	m, rep, err := trainer.Fit(ctx, trainer.FromTable(tab), o)
	if err != nil {
		return nil, fmt.Errorf("train on %s: %w", f.train, err)
	}
	log.Info().Float64("seconds", rep.Seconds).Float64("val_rmse_all_cycles", rep.Metrics["val_rmse_all_cycles"]).Ints("best_epochs", rep.BestEpochs).Msg("trained")
	res.Train, res.Model = rep, "trained on "+f.train
	if f.save != "" {
		if err := m.Save(f.save); err != nil {
			return nil, fmt.Errorf("save model: %w", err)
		}
	}
	return m, nil
}

// scoreRUL streams every test asset through the live scorer, as `infer score` does;
// the last-cycle figure is each asset's prediction at its last row. An asset the model
// gives no RUL at its last row (a model file without short-history scoring, and a
// history shorter than its window) is counted in Unscored and left out of the figures.
func scoreRUL(m *artifact.Model, d trainer.Data, truth []float64, res *RULResult) error {
	sc, err := scoring.New(m)
	if err != nil {
		return err
	}
	if m.AgeColumn != "" {
		// The age is read from its column or the time column, as `infer score` does.
		if d, err = trainer.WithAgeColumn(d, m.AgeColumn); err != nil {
			return err
		}
	}
	idx, err := columnIndex(sc.Columns(), d.Columns)
	if err != nil {
		return err
	}
	var allP, allT []float64
	for j, s := range d.Series {
		st, err := sc.NewStream()
		if err != nil {
			return err
		}
		last := s.T[len(s.T)-1]
		var pred, lo, hi float64
		scored := false
		for i, row := range s.Rows {
			r, ok, err := st.Push(trainer.TimeOf(s.T[i]), pickRow(row, idx))
			scored = err == nil && ok
			if !scored {
				continue
			}
			pred, lo, hi = r.RUL, r.RULLo, r.RULHi
			allP = append(allP, r.RUL)
			allT = append(allT, capAt(truth[j]+last-s.T[i], res.Cap))
		}
		if !scored {
			res.Unscored++
			continue
		}
		res.Pred = append(res.Pred, pred)
		res.True = append(res.True, capAt(truth[j], res.Cap))
		if m.Band != nil {
			if tr := capAt(truth[j], res.Cap); tr >= lo && tr <= hi {
				res.BandCoverage++
			}
			res.BandWidth += hi - lo
		}
	}
	if n := float64(len(res.Pred)); m.Band != nil && n > 0 {
		res.BandCoverage, res.BandWidth = res.BandCoverage/n, res.BandWidth/n
	}
	if res.Last, err = eval.RUL(res.Pred, res.True); err != nil {
		return err
	}
	if len(allP) > 0 {
		res.AllCycles, err = eval.RUL(allP, allT)
	}
	return err
}

func capAt(v, c float64) float64 {
	if c > 0 {
		return math.Min(v, c)
	}
	return v
}

func columnIndex(want, have []string) ([]int, error) {
	idx := make([]int, len(want))
	for i, c := range want {
		idx[i] = -1
		for k, h := range have {
			if h == c {
				idx[i] = k
			}
		}
		if idx[i] < 0 {
			return nil, fmt.Errorf("column %q the model needs is missing from the data (have %v)", c, have)
		}
	}
	return idx, nil
}

func pickRow(r []float64, idx []int) []float64 {
	out := make([]float64, len(idx))
	for i, k := range idx {
		out[i] = r[k]
	}
	return out
}

func printRUL(w io.Writer, r *RULResult) {
	fmt.Fprintf(w, "%-22s %8s %10s %8s %8s %6s\n", "rul", "RMSE", "PHM08", "MAE", "bias", "n")
	fmt.Fprintf(w, "%-22s %8.2f %10.1f %8.2f %8.2f %6d\n", "last cycle", r.Last.RMSE, r.Last.PHM08, r.Last.MAE, r.Last.Bias, r.Last.N)
	fmt.Fprintf(w, "%-22s %8.2f %10.1f %8.2f %8.2f %6d\n", "all cycles", r.AllCycles.RMSE, r.AllCycles.PHM08, r.AllCycles.MAE, r.AllCycles.Bias, r.AllCycles.N)
	if r.BandWidth > 0 {
		fmt.Fprintf(w, "80%% band at the last cycle: holds %.0f%% of the true RULs, mean width %.1f\n", 100*r.BandCoverage, r.BandWidth)
	}
	if r.Unscored > 0 {
		fmt.Fprintf(w, "%d assets got no RUL at their last row (a model without short-history scoring): left out of the figures above\n", r.Unscored)
	}
}
