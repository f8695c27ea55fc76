package evalcmd

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/alerting"
	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/dataset"
	"github.com/faultline/faultline/internal/scoring"
	"github.com/faultline/faultline/internal/trainer"
)

// TEPResult is results.json of the tep family: the Tennessee Eastman protocol
// (../shared/datasets/tep/README.md). Train on d00.csv (normal) only; the false alarm
// rate is the share of rows with an active alert in d00_te.csv and before each fault's
// onset, the detection rate the share of rows with an active alert from the onset on.
type TEPResult struct {
	Model      string     `json:"model"`
	FARNormal  float64    `json:"far_d00_te"`
	FARPre     float64    `json:"far_pre_onset"`
	MeanFDR18  float64    `json:"mean_fdr_detectable"`
	Faults     []TEPFault `json:"faults"`
	Components int        `json:"monitor_components,omitempty"`
	Window     int        `json:"window"`
}

// TEPFault is one fault run's figures.
type TEPFault struct {
	Fault     int     `json:"fault"`
	FDR       float64 `json:"fdr"`
	FARPre    float64 `json:"far_pre_onset"`
	DelayRows int     `json:"first_alert_delay_rows"` // -1: never alerted after onset
}

// tepUndetectable are the faults the literature treats as practically undetectable.
var tepUndetectable = []int{3, 9, 15}

func runTEP(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, log zerolog.Logger) error {
	fs := flag.NewFlagSet("eval tep", flag.ContinueOnError)
	def := env(getenv, "FAULTLINE_DATASETS", "../shared/datasets")
	dir := fs.String("data-dir", filepath.Join(def, "tep"), "TEP files d00.csv, d00_te.csv, d01_te.csv..d21_te.csv (env FAULTLINE_DATASETS/tep)")
	modelPath := fs.String("model", "", "score this model file instead of training one on d00.csv with the trainer's defaults")
	out := fs.String("out", env(getenv, "FAULTLINE_EVAL_OUT", "eval-out"), "output directory for results.json")
	seed := fs.Uint64("seed", 1, "training seed")
	var o trainer.Options
	fs.StringVar(&o.Detector, "detector", "", "anomaly detector: monitor, nets or both (default: trainer's)")
	fs.Float64Var(&o.Envelope, "envelope", 0, "healthy-range allowance; < 0 = off (default: trainer's)")
	fs.Float64Var(&o.FalseAlarmsPerWeek, "false-alarms-per-week", 0, "warn level from a tail model of held-out scores (default: trainer's)")
	fs.DurationVar(&o.BaselineHalfLife, "baseline-half-life", 0, "half-life of the baseline that follows a moving normal; negative = off (default: trainer's)")
	fs.Float64Var(&o.Smoothing, "smoothing", 0, "EWMA factor of the score (default: trainer's)")
	fs.IntVar(&o.Window, "window", 0, "window length in rows (default: trainer's)")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	read := func(name string) (*dataset.Table, error) {
		t, err := dataset.ReadFile(filepath.Join(*dir, name), dataset.Options{TimeColumn: "minute", Ignore: []string{"fault"}})
		if err != nil {
			return nil, fmt.Errorf("read TEP file (get the data set into %s or set FAULTLINE_DATASETS): %w", *dir, err)
		}
		return t, nil
	}
	var m *artifact.Model
	var err error
	if *modelPath != "" {
		if m, err = artifact.Load(*modelPath); err != nil {
			return fmt.Errorf("load model: %w", err)
		}
	} else {
		tab, err := read("d00.csv")
		if err != nil {
			return err
		}
		o.Name, o.Version, o.Seed = "eval-tep", "eval-tep", *seed
		d := trainer.Data{Columns: tab.Sensors, Series: []trainer.Series{{Asset: "tep", T: minutesToSeconds(tab.T), Rows: tab.Rows}}}
		if m, _, err = trainer.Fit(ctx, d, o); err != nil {
			return fmt.Errorf("train on d00.csv: %w", err)
		}
		log.Info().Int("window", m.Spec.Window).Float64("warn", m.Alert.Warn).Msg("trained on d00.csv")
	}
	res := &TEPResult{Model: *modelPath, Window: m.Spec.Window}
	if m.Monitor != nil {
		res.Components = len(m.Monitor.Components)
	}
	normal, err := read("d00_te.csv")
	if err != nil {
		return err
	}
	flags, err := tepAlerted(m, normal)
	if err != nil {
		return err
	}
	res.FARNormal = share(flags, 0, len(flags))
	var pre, fdr float64
	for f := 1; f <= 21; f++ {
		tab, err := read(fmt.Sprintf("d%02d_te.csv", f))
		if err != nil {
			return err
		}
		flags, err := tepAlerted(m, tab)
		if err != nil {
			return err
		}
		const onset = 160
		tf := TEPFault{Fault: f, FDR: share(flags, onset, len(flags)), FARPre: share(flags, 0, onset), DelayRows: -1}
		if i := slices.Index(flags[onset:], true); i >= 0 {
			tf.DelayRows = i
		}
		res.Faults = append(res.Faults, tf)
		pre += tf.FARPre / 21
		if !slices.Contains(tepUndetectable, f) {
			fdr += tf.FDR / float64(21-len(tepUndetectable))
		}
	}
	res.FARPre, res.MeanFDR18 = pre, fdr
	printTEP(stdout, res)
	return writeJSON(*out, "results.json", res)
}

// minutesToSeconds turns TEP's minute column into the seconds the trainer expects.
func minutesToSeconds(t []float64) []float64 {
	out := make([]float64, len(t))
	for i, v := range t {
		out[i] = 60 * v
	}
	return out
}

// tepAlerted streams a file through the live scorer: true where an alert is active.
func tepAlerted(m *artifact.Model, tab *dataset.Table) ([]bool, error) {
	sc, err := scoring.New(m)
	if err != nil {
		return nil, err
	}
	idx, err := columnIndex(sc.Columns(), tab.Sensors)
	if err != nil {
		return nil, err
	}
	st, err := sc.NewStream()
	if err != nil {
		return nil, err
	}
	t := minutesToSeconds(tab.T)
	flags := make([]bool, len(tab.Rows))
	for i, row := range tab.Rows {
		r, ok, err := st.Push(trainer.TimeOf(t[i]), pickRow(row, idx))
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", i, err)
		}
		flags[i] = ok && r.Active != alerting.None
	}
	return flags, nil
}

func share(flags []bool, from, to int) float64 {
	if to <= from {
		return 0
	}
	n := 0
	for _, f := range flags[from:to] {
		if f {
			n++
		}
	}
	return float64(n) / float64(to-from)
}

func printTEP(w io.Writer, r *TEPResult) {
	fmt.Fprintf(w, "Tennessee Eastman: trained on d00.csv, window %d rows", r.Window)
	if r.Components > 0 {
		fmt.Fprintf(w, ", monitor %d components", r.Components)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%5s %7s %9s %11s\n", "fault", "FDR", "FAR pre", "delay rows")
	for _, f := range r.Faults {
		mark := ""
		if slices.Contains(tepUndetectable, f.Fault) {
			mark = "  (undetectable)"
		}
		fmt.Fprintf(w, "%5d %6.1f%% %8.1f%% %11d%s\n", f.Fault, 100*f.FDR, 100*f.FARPre, f.DelayRows, mark)
	}
	fmt.Fprintf(w, "FAR d00_te %.1f%%, FAR before onset %.1f%%, mean FDR over the 18 detectable faults %.1f%%\n", 100*r.FARNormal, 100*r.FARPre, 100*r.MeanFDR18)
}
