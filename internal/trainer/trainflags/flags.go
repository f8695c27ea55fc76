// Package trainflags puts trainer.Options on a command line, for bin/train and
// bin/eval alike: every option has one flag name, one environment fallback
// (FAULTLINE_TRAIN_*) and one validation (trainer.Options.Validate), so a figure
// measured with bin/eval is reproduced by training with bin/train and the same flags.
package trainflags

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/cli"
	"github.com/faultline/faultline/internal/trainer"
)

// Tasks selects the flags a program offers: bin/eval rul only trains rul models.
type Tasks int

// The task families whose flags are registered.
const (
	RUL Tasks = 1 << iota
	Anomaly
	All = RUL | Anomaly
)

// Flags holds the values that are parsed after flag.Parse.
type Flags struct {
	o                                                     *trainer.Options
	settings, context, hidden, features, history, members string
	ageColumn                                             string
	refitAll, refitAllSet                                 bool
	seed                                                  int
	sensorCheck                                           bool
	tasks                                                 Tasks
	fs                                                    *flag.FlagSet
}

// CMAPSSSettings are the operating-setting columns of C-MAPSS files, the --settings
// default with --cmapss.
var CMAPSSSettings = []string{"op_setting_1", "op_setting_2", "op_setting_3"}

// CMAPSSAgeColumn is the --age-column default with --cmapss: the format defines its
// second column as the unit's operating cycle since the start of its life, so it is
// the unit's age by definition, not a tuned setting.
const CMAPSSAgeColumn = "cycle"

// Register adds the training flags of tasks to fs, writing into o; defaults come from
// trainer.DefaultOptions (env, then flag, override them). Malformed env values are
// appended to errs.
func Register(fs *flag.FlagSet, o *trainer.Options, tasks Tasks, getenv cli.Getenv, errs *[]error) *Flags {
	d := trainer.DefaultOptions()
	f := &Flags{o: o, tasks: tasks}
	cli.Int(fs, &f.seed, "seed", "FAULTLINE_TRAIN_SEED", 1, "random seed (same seed and data give the same model)", getenv, errs)
	cli.String(fs, &f.settings, "settings", "FAULTLINE_TRAIN_SETTINGS", "", "comma-separated operating-setting columns (regime normalisation; default with --cmapss: "+strings.Join(CMAPSSSettings, ",")+")", getenv)
	cli.Int(fs, &o.Regimes, "regimes", "FAULTLINE_TRAIN_REGIMES", 0, "number of operating regimes (0 = choose)", getenv, errs)
	cli.Int(fs, &o.Window, "window", "FAULTLINE_TRAIN_WINDOW", 0, "samples per window (default 20 anomaly, 30 rul)", getenv, errs)
	cli.Int(fs, &o.Epochs, "epochs", "FAULTLINE_TRAIN_EPOCHS", d.Epochs, "maximum epochs per network (early stopping)", getenv, errs)
	cli.Int(fs, &o.Ensemble, "ensemble", "FAULTLINE_TRAIN_ENSEMBLE", 0, "networks averaged (default 1 anomaly, 5 rul); an anomaly model with leave-one-out networks gets this many per watched sensor", getenv, errs)
	cli.String(fs, &f.hidden, "hidden", "FAULTLINE_TRAIN_HIDDEN", "", "hidden layer sizes, e.g. 64,32 (default from the data size)", getenv)
	cli.Int(fs, &o.Patience, "patience", "FAULTLINE_TRAIN_PATIENCE", d.Patience, "early-stopping patience in epochs", getenv, errs)
	cli.Float(fs, &o.LR, "lr", "FAULTLINE_TRAIN_LR", d.LR, "Adam learning rate", getenv, errs)
	cli.Float(fs, &o.L2, "l2", "FAULTLINE_TRAIN_L2", d.L2, "L2 weight decay", getenv, errs)
	cli.String(fs, &o.Loss, "loss", "FAULTLINE_TRAIN_LOSS", d.Loss, "mse, huber, mae, asym (squared error, late predictions weighted 2) or asym:W (late weight W >= 1); default mse for anomaly, "+trainer.DefaultRULLoss+" for rul", getenv)
	cli.String(fs, &f.features, "features", "FAULTLINE_TRAIN_FEATURES", "", "comma-separated window features (default: the standard set)", getenv)
	cli.Float(fs, &o.ValFrac, "val-frac", "FAULTLINE_TRAIN_VAL_FRAC", d.ValFrac, "held-out share: the last part of each series (anomaly) or the last assets (rul)", getenv, errs)
	if tasks&RUL != 0 {
		cli.Float(fs, &o.RULCap, "rul-cap", "FAULTLINE_TRAIN_RUL_CAP", d.RULCap, "rul: cap of the remaining-life target, in the time column's unit (0 = 125; for timestamps, seconds: 5/8 of the training assets' median life)", getenv, errs)
		cli.Float(fs, &o.Horizon, "horizon", "FAULTLINE_TRAIN_HORIZON", d.Horizon, "rul: alert when the lower bound of the predicted RUL falls under this, in the time column's unit (0 = 30; for timestamps 0.24 x the cap)", getenv, errs)
		cli.String(fs, &f.ageColumn, "age-column", "FAULTLINE_TRAIN_AGE_COLUMN", "", "rul: the column holding each row's age, the asset's operating cycles or run hours since its start of life or last overhaul, as an input; scoring reads it from the same column or telemetry field of every row (default with --cmapss: "+CMAPSSAgeColumn+", the format's definition of the unit's age; none = no age input)", getenv)
		cli.Bool(fs, &o.AgeFeature, "age", "FAULTLINE_TRAIN_AGE", false, "rul: the rows seen since the asset's stream began as an input, for data without an age column; only when every stream starts at the asset's start of life or last overhaul (an asset first seen mid-life reads as young: a late RUL)", getenv, errs)
		cli.Bool(fs, &f.refitAll, "refit-all", "FAULTLINE_TRAIN_REFIT_ALL", true, fmt.Sprintf("rul: early stopping on the held-out assets (%d network) finds the epoch count and the band, then the ensemble trains on all assets; --refit-all=false keeps the early-stopped ensemble", trainer.RefitProbe), getenv, errs)
		f.refitAllSet = getenv("FAULTLINE_TRAIN_REFIT_ALL") != ""
		f.fs = fs
		cli.String(fs, &f.history, "history", "FAULTLINE_TRAIN_HISTORY", "", "smoothing factors of whole-history per-sensor EWMA inputs: rul (default "+floatList(trainer.DefaultRULHistory())+"), and anomaly with --context (default none; e.g. "+floatList(trainer.AnomalyHistoryExample)+" for time constants of 15 and 60 rows: a network that follows a lagging temperature better with the context sensors' means keeps them); none = no such inputs", getenv)
		cli.String(fs, &f.members, "member-windows", "FAULTLINE_TRAIN_MEMBER_WINDOWS", "", "rul: window lengths of further models averaged with the main one, e.g. 20,40", getenv)
	}
	if tasks&Anomaly != 0 {
		cli.String(fs, &f.context, "context", "FAULTLINE_TRAIN_CONTEXT", "", "anomaly: comma-separated operating-condition sensors every other sensor is predicted from", getenv)
		cli.Float(fs, &o.Quantile, "quantile", "FAULTLINE_TRAIN_QUANTILE", 0, "anomaly: validation-score quantile for the warn level (default 0.999)", getenv, errs)
		cli.Float(fs, &o.Margin, "margin", "FAULTLINE_TRAIN_MARGIN", 0, "anomaly: warn = quantile x margin (default 2)", getenv, errs)
		cli.String(fs, &o.Combine, "combine", "FAULTLINE_TRAIN_COMBINE", "", "anomaly: how residuals become a score: max (default with several sensors) or rms", getenv)
		cli.Float(fs, &o.Envelope, "envelope", "FAULTLINE_TRAIN_ENVELOPE", trainer.DefaultEnvelope, "anomaly: a latest value this share of its healthy range beyond that range scores the warn level (a learned limit alarm); 0 or less = off", getenv, errs)
		cli.String(fs, &o.Detector, "detector", "FAULTLINE_TRAIN_DETECTOR", "", "anomaly: monitor (PCA of the window features), nets (a normal-behaviour network per sensor) or both (the larger score); default nets with --context, monitor without", getenv)
		cli.Float(fs, &o.FalseAlarmsPerWeek, "false-alarms-per-week", "FAULTLINE_TRAIN_FALSE_ALARMS_PER_WEEK", 0, fmt.Sprintf("anomaly: how often healthy operation may cross the warn level, per machine and week (default %g, about one a month, for the monitor; the networks default to --quantile x --margin)", trainer.DefaultFalseAlarmsPerWeek), getenv, errs)
		cli.Duration(fs, &o.BaselineHalfLife, "baseline-half-life", "FAULTLINE_TRAIN_BASELINE_HALF_LIFE", 0, fmt.Sprintf("anomaly: the scorer follows a normal that moves, judging each window against the recent past whose weight halves this often (at least 24h); 0 = %v for the monitor, off for the networks; negative = off", trainer.DefaultBaselineHalfLife), getenv, errs)
		cli.Bool(fs, &f.sensorCheck, "sensor-check", "FAULTLINE_TRAIN_SENSOR_CHECK", true, "anomaly: learn each sensor's healthy signal limits, so a stuck, spiking or silent sensor raises an alert with fault sensor naming it", getenv, errs)
		cli.String(fs, &o.TargetFeature, "target-feature", "FAULTLINE_TRAIN_TARGET_FEATURE", "", "anomaly: the window feature every network predicts: mean, ewma or last (default: each sensor the one of mean and ewma it follows best on held-out data)", getenv)
	}
	return f
}

// Finish parses the list flags into the options and validates them
// (trainer.Options.Validate); with cmapss and no --settings the settings are the
// C-MAPSS ones. It returns every problem at once and reads no data.
func (f *Flags) Finish(cmapss bool) []error {
	o := f.o
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	o.Settings, o.Context, o.Features = list(f.settings), list(f.context), list(f.features)
	if cmapss && len(o.Settings) == 0 {
		o.Settings = CMAPSSSettings
	}
	switch ac := strings.TrimSpace(f.ageColumn); {
	case ac == "none":
		o.AgeColumn = ""
	case ac != "":
		o.AgeColumn = f.ageColumn // Validate refuses spaces around the name
	case cmapss && o.Task == artifact.TaskRUL && !o.AgeFeature:
		o.AgeColumn = CMAPSSAgeColumn
	}
	var err error
	o.Hidden, err = ints("--hidden", f.hidden, "positive layer sizes like 64,32")
	add(err)
	o.MemberWindows, err = ints("--member-windows", f.members, "window lengths like 20,40")
	add(err)
	if strings.TrimSpace(f.history) == "none" {
		o.HistoryEWMA = []float64{} // not nil: nil is the default
	} else {
		o.HistoryEWMA, err = floats("--history", f.history)
		add(err)
	}
	if f.tasks&RUL != 0 {
		f.fs.Visit(func(fl *flag.Flag) { f.refitAllSet = f.refitAllSet || fl.Name == "refit-all" })
		switch {
		case o.Task == artifact.TaskRUL:
			// The rul default is on; off is the trainer's NoRefit.
			o.RefitAll, o.NoRefit = false, !f.refitAll
		case f.refitAllSet:
			o.RefitAll, o.NoRefit = f.refitAll, !f.refitAll // Validate refuses either for anomaly
		}
	}
	if f.seed < 0 {
		add(fmt.Errorf("--seed %d: use a non-negative integer", f.seed))
	}
	o.Seed = uint64(max(0, f.seed))
	if f.tasks&Anomaly != 0 {
		o.NoSensorCheck = !f.sensorCheck
		if o.Envelope <= 0 {
			o.Envelope = -1 // the flag's 0 is "off"; the trainer's 0 is "default"
		}
	}
	if err := o.Validate(); err != nil {
		// Validate joins its problems: list them one by one like the other flags'.
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			errs = append(errs, j.Unwrap()...)
		} else {
			errs = append(errs, err)
		}
	}
	return errs
}

func list(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func ints(flagName, s, want string) ([]int, error) {
	var out []int
	for _, f := range list(s) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%s %q: give %s", flagName, s, want)
		}
		out = append(out, n)
	}
	return out, nil
}

func floats(flagName, s string) ([]float64, error) {
	var out []float64
	for _, f := range list(s) {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %q is not a number", flagName, s, f)
		}
		out = append(out, v)
	}
	return out, nil
}

func floatList(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatFloat(x, 'g', -1, 64)
	}
	return strings.Join(s, ",")
}
