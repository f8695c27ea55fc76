package evalcmd

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/dataset"
	"github.com/faultline/faultline/internal/eval"
	"github.com/faultline/faultline/internal/scoring"
	"github.com/faultline/faultline/internal/trainer"
)

// rulFlags are the rul family's flags; training flags apply with --train.
type rulFlags struct {
	model, train, csv, rul, out, save, settings, ignore, hidden, features, loss string
	history, members                                                            string
	boostBelow                                                                  float64
	assetCol, timeCol                                                           string
	cmapss, age, refitAll                                                       bool
	cap, l2, lr                                                                 float64
	window, ensemble, epochs, patience, lastAvg                                 int
	seed                                                                        uint64
}

func (f *rulFlags) register(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&f.model, "model", "", "model file to evaluate (or --train)")
	fs.StringVar(&f.train, "train", "", "run-to-failure file to train a model on first (instead of --model)")
	fs.StringVar(&f.csv, "csv", "", "test file: each asset's rows up to some time before failure")
	fs.StringVar(&f.rul, "rul", "", "true RUL after each test asset's last row, one a line (C-MAPSS RUL_FD00x.txt)")
	fs.StringVar(&f.assetCol, "asset-column", "unit", "asset column (ignored with --cmapss)")
	fs.StringVar(&f.timeCol, "time-column", "cycle", "time column (ignored with --cmapss)")
	fs.BoolVar(&f.cmapss, "cmapss", false, "files are C-MAPSS: no header, whitespace separated, unit and cycle columns")
	fs.Float64Var(&f.cap, "cap", 125, "cap of the true RUL (piecewise-linear target); 0 = none")
	fs.StringVar(&f.out, "out", env(getenv, "FAULTLINE_EVAL_OUT", "eval-out"), "output directory for results.json and plots")
	fs.StringVar(&f.save, "save-model", "", "with --train: also save the trained model here")
	fs.StringVar(&f.settings, "settings", "", "operating-setting columns for regime normalisation (default with --cmapss: op_setting_1,op_setting_2,op_setting_3)")
	fs.StringVar(&f.ignore, "ignore", "", "columns to drop before training, comma separated")
	fs.StringVar(&f.hidden, "hidden", "", "hidden layer sizes, e.g. 64,32 (default: trainer's)")
	fs.StringVar(&f.features, "features", "", "window features (default: trainer's)")
	fs.StringVar(&f.loss, "loss", "", "mse, huber, mae, asym (squared error, late predictions weighted 2) or asym:W (late weight W >= 1) (default mse)")
	fs.Float64Var(&f.l2, "l2", 0, "L2 weight decay")
	fs.Float64Var(&f.lr, "lr", 0, "Adam learning rate (default 2e-3)")
	fs.IntVar(&f.window, "window", 0, "window length in rows (default 30)")
	fs.IntVar(&f.ensemble, "ensemble", 0, "networks averaged (default 5)")
	fs.IntVar(&f.epochs, "epochs", 0, "maximum epochs (default 200)")
	fs.IntVar(&f.patience, "patience", 0, "early-stopping patience in epochs (default 15)")
	fs.IntVar(&f.lastAvg, "last-avg", 1, "average the predictions of each test asset's last N windows (each shifted to the last row)")
	fs.Uint64Var(&f.seed, "seed", 1, "training seed")
	fs.BoolVar(&f.age, "age", false, "add the rows seen since the asset's stream began as an input")
	fs.BoolVar(&f.refitAll, "refit-all", false, "after early stopping, retrain on all training assets for the median best epoch count")
	fs.StringVar(&f.history, "history", "", "smoothing factors of whole-history per-sensor EWMA inputs, e.g. 0.1,0.03 (default none)")
	fs.StringVar(&f.members, "member-windows", "", "window lengths of further ensemble members averaged with the main model, e.g. 20,40")
	fs.Float64Var(&f.boostBelow, "boost-below", 0, "use training windows whose RUL target is below this twice (0 = off)")
}

// RULResult is results.json of the rul family.
type RULResult struct {
	Model      string          `json:"model"`
	Test       string          `json:"test"`
	Cap        float64         `json:"cap"`
	LastAvg    int             `json:"last_avg"`
	Last       eval.RULErrors  `json:"last_cycle"`
	AllCycles  eval.RULErrors  `json:"all_cycles"`
	Unscored   int             `json:"unscored_assets"`
	Train      *trainer.Report `json:"train,omitempty"`
	Seconds    float64         `json:"seconds"`
	Pred, True []float64       `json:"-"`
}

func runRUL(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, log zerolog.Logger) error {
	var f rulFlags
	fs := flag.NewFlagSet("eval rul", flag.ContinueOnError)
	f.register(fs, getenv)
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if (f.model == "") == (f.train == "") || f.csv == "" || f.rul == "" {
		return fmt.Errorf("%w: give exactly one of --model and --train, plus --csv and --rul", ErrUsage)
	}
	start := time.Now()
	opts := dataset.Options{Ignore: splitList(f.ignore), AssetColumn: f.assetCol, TimeColumn: f.timeCol}
	if f.cmapss {
		opts = dataset.CMAPSSOptions()
		opts.Ignore = splitList(f.ignore)
		if f.settings == "" {
			f.settings = "op_setting_1,op_setting_2,op_setting_3"
		}
	}
	res := &RULResult{Model: f.model, Test: f.csv, Cap: f.cap, LastAvg: max(1, f.lastAvg)}
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
	hidden, err := intList(f.hidden)
	if err != nil {
		return nil, err
	}
	history, err := floatList(f.history)
	if err != nil {
		return nil, err
	}
	members, err := intList(f.members)
	if err != nil {
		return nil, err
	}
	o := trainer.Options{
		Task: artifact.TaskRUL, Name: "eval-rul", Window: f.window, Settings: splitList(f.settings),
		Hidden: hidden, Features: splitList(f.features), Loss: f.loss, L2: f.l2, LR: f.lr,
		Ensemble: f.ensemble, Epochs: f.epochs, Patience: f.patience, Seed: f.seed, RULCap: f.cap,
		AgeFeature: f.age, RefitAll: f.refitAll, HistoryEWMA: history, RULBoostBelow: f.boostBelow,
		MemberWindows: members,
	}
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

// scoreRUL streams every test asset through the live scorer. The last-cycle figure
// averages the last LastAvg windows' predictions, each moved to the last row by
// subtracting the cycles elapsed since it.
func scoreRUL(m *artifact.Model, d trainer.Data, truth []float64, res *RULResult) error {
	sc, err := scoring.New(m)
	if err != nil {
		return err
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
		var preds, at []float64
		last := s.T[len(s.T)-1]
		for i, row := range s.Rows {
			r, ok, err := st.Push(trainer.TimeOf(s.T[i]), pickRow(row, idx))
			if err != nil || !ok {
				continue
			}
			preds, at = append(preds, r.RUL), append(at, s.T[i])
			allP = append(allP, r.RUL)
			allT = append(allT, capAt(truth[j]+last-s.T[i], res.Cap))
		}
		if len(preds) == 0 {
			res.Unscored++
			preds, at = []float64{meanOr(allP, res.Cap/2)}, []float64{last}
		}
		var sum float64
		k := min(res.LastAvg, len(preds))
		for i := len(preds) - k; i < len(preds); i++ {
			sum += math.Max(0, preds[i]-(last-at[i]))
		}
		res.Pred = append(res.Pred, sum/float64(k))
		res.True = append(res.True, capAt(truth[j], res.Cap))
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

func meanOr(v []float64, def float64) float64 {
	if len(v) == 0 {
		return def
	}
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
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
	if r.Unscored > 0 {
		fmt.Fprintf(w, "%d assets had no complete window: predicted the mean\n", r.Unscored)
	}
}

// floatList parses "0.1,0.03" (empty: nil).
func floatList(s string) ([]float64, error) {
	var out []float64
	for _, p := range splitList(s) {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: %q is not a number in list %q", ErrUsage, p, s)
		}
		out = append(out, v)
	}
	return out, nil
}
