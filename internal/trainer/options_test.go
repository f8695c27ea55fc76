package trainer

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/faultline/faultline/internal/artifact"
)

// DefaultOptions resolve to exactly what zero options resolve to, for every task and
// with or without declared context (the anomaly detector's default depends on it), so
// flags that start from DefaultOptions train what Options{} trains.
func TestDefaultOptionsResolveLikeZero(t *testing.T) {
	for _, task := range []string{"", artifact.TaskAnomaly, artifact.TaskRUL} {
		for _, ctx := range [][]string{nil, {"load"}} {
			d := DefaultOptions()
			if task != "" {
				d.Task = task
			}
			d.Context, d.Version = ctx, "v"
			z := Options{Task: task, Context: ctx, Version: "v"}
			if got, want := d.Resolved(), z.Resolved(); !reflect.DeepEqual(got, want) {
				t.Errorf("task %q context %v:\n default %+v\n zero    %+v", task, ctx, got, want)
			}
		}
	}
	if err := DefaultOptions().Validate(); err != nil {
		t.Fatalf("the defaults are refused: %v", err)
	}
	if err := (Options{}).Validate(); err != nil {
		t.Fatalf("zero options are refused: %v", err)
	}
	// The monitor's false-alarm default must survive DefaultOptions (it applies only
	// while Quantile and Margin are unset).
	if r := DefaultOptions().Resolved(); r.Detector != DetectorMonitor || r.FalseAlarmsPerWeek != DefaultFalseAlarmsPerWeek {
		t.Fatalf("default detector %q at %v false alarms a week", r.Detector, r.FalseAlarmsPerWeek)
	}
}

// Each out-of-range value is refused with its flag and the range allowed, never
// replaced by a default (the trainer used to turn --val-frac 0.95 into 0.25).
func TestValidateRefusesOutOfRange(t *testing.T) {
	cases := []struct {
		name string
		set  func(*Options)
		want string
	}{
		{"val-frac 0.95", func(o *Options) { o.ValFrac = 0.95 }, "--val-frac 0.95: use a held-out share above 0 and below 0.9"},
		{"negative val-frac", func(o *Options) { o.ValFrac = -0.1 }, "--val-frac -0.1"},
		{"lr", func(o *Options) { o.LR = -1 }, "--lr -1: use a learning rate above 0 and at most 1"},
		{"lr NaN", func(o *Options) { o.LR = math.NaN() }, "--lr NaN"},
		{"quantile", func(o *Options) { o.Quantile = 1.5 }, "--quantile 1.5: use a quantile above 0 and below 1"},
		{"margin", func(o *Options) { o.Margin = -2 }, "--margin -2: use a factor above 0 and at most 100"},
		{"combine", func(o *Options) { o.Combine = "sum" }, `--combine "sum": use max or rms`},
		{"loss", func(o *Options) { o.Loss = "l1" }, `--loss "l1": use mse, huber, mae`},
		{"asym weight", func(o *Options) { o.Loss = "asym:0.5" }, "late weight W in asym:W must be a finite number >= 1"},
		{"task", func(o *Options) { o.Task = "forecast" }, `--task "forecast": use anomaly or rul`},
		{"window 1", func(o *Options) { o.Window = 1 }, "--window 1: use 0 (the default: 20 anomaly, 30 rul) or 2 to"},
		{"epochs", func(o *Options) { o.Epochs = -3 }, "--epochs -3: use 0 (the default) to 100000"},
		{"ensemble", func(o *Options) { o.Ensemble = 5000 }, "--ensemble 5000: use 0 (the default) to 1000"},
		{"detector", func(o *Options) { o.Detector = "pca" }, `--detector "pca": use monitor, nets or both`},
		{"false alarms", func(o *Options) { o.FalseAlarmsPerWeek = -1 }, "--false-alarms-per-week -1: use a rate from 0"},
		{"envelope", func(o *Options) { o.Envelope = math.Inf(1) }, "--envelope +Inf"},
		{"horizon over cap", func(o *Options) { o.Task, o.Horizon, o.RULCap = artifact.TaskRUL, 130, 100 }, "--horizon 130: use a horizon below --rul-cap 100"},
		{"history", func(o *Options) { o.Task, o.HistoryEWMA = artifact.TaskRUL, []float64{0.1, 2} }, "--history [0.1 2]: use smoothing factors above 0 and at most 1"},
		{"member window", func(o *Options) { o.Task, o.MemberWindows = artifact.TaskRUL, []int{1} }, "--member-windows [1]: use window lengths from 2"},
		{"age on anomaly", func(o *Options) { o.AgeFeature = true }, "--age: only for --task rul models"},
		{"k over m", func(o *Options) { o.K, o.M = 4, 3 }, "alert k of m 4 of 3"},
		{"features", func(o *Options) { o.Features = []string{"mean", "bogus"} }, "bogus"},
		{"hidden", func(o *Options) { o.Hidden = []int{64, 0} }, "--hidden [64 0]: layer sizes from 1 to 4096"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultOptions()
			tc.set(&o)
			err := o.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if !errors.Is(err, ErrOptions) || !errors.Is(err, ErrNamesFlag) {
				t.Fatalf("%v does not match ErrOptions and ErrNamesFlag", err)
			}
		})
	}
	// Every problem at once.
	o := Options{ValFrac: 2, LR: -1, Combine: "x"}
	if err := o.Validate(); err == nil || strings.Count(err.Error(), "\n") != 2 {
		t.Fatalf("want three problems, got %v", err)
	}
}

// Fit refuses bad options before it looks at the data (here: none at all).
func TestFitValidatesFirst(t *testing.T) {
	_, _, err := Fit(t.Context(), Data{}, Options{ValFrac: 0.95})
	if !errors.Is(err, ErrOptions) || errors.Is(err, ErrData) {
		t.Fatalf("got %v, want the option error before any data error", err)
	}
}

// The remaining-life cap and horizon count the time column's unit: 125 and 30 cycles,
// but for timestamps (seconds) shares of the assets' life; a horizon at or above the
// cap the data gives is refused naming the flags.
func TestRULScale(t *testing.T) {
	lives := func(timestamps bool, start float64, lengths ...float64) Data {
		d := Data{Timestamps: timestamps}
		for i, l := range lengths {
			d.Series = append(d.Series, Series{Asset: string(rune('a' + i)), T: []float64{start, start + l/2, start + l}})
		}
		return d
	}
	for _, c := range []struct {
		name             string
		d                Data
		cap, horizon     float64
		wantCap, wantHor float64
		err              string
	}{
		{"cycles", lives(false, 1, 150, 200, 300), 0, 0, 125, 30, ""},
		{"cycles, horizon given", lives(false, 1, 150, 200, 300), 0, 50, 125, 50, ""},
		{"cycles, horizon over the default cap", lives(false, 1, 150, 200, 300), 0, 130, 0, 0, "--horizon 130 is not below the remaining-life cap 125 (the default)"},
		{"timestamps", lives(true, 1.7e9, 36000, 72000, 144000), 0, 0, 45000, 10800, ""},
		{"unix seconds as numbers", lives(false, 1.7e9, 36000, 72000, 144000), 0, 0, 45000, 10800, ""},
		{"timestamps, cap given", lives(true, 1.7e9, 36000, 72000, 144000), 7200, 0, 7200, 1728, ""},
		{"timestamps, horizon over the cap", lives(true, 1.7e9, 36000, 72000, 144000), 0, 50000, 0, 0, "--horizon 50000 s is not below the remaining-life cap 45000 s (5/8 of the assets' median life)"},
		{"timestamps, a small cap given", lives(true, 1.7e9, 36000, 72000, 144000), 20, 0, 20, 4.8, ""},
		{"cycles, a cap under the default horizon", lives(false, 1, 150, 200, 300), 20, 0, 0, 0, "--horizon 30 is not below the remaining-life cap 20 (--rul-cap)"},
		{"timestamps, no asset spans time", lives(true, 1.7e9, 0, 0), 0, 0, 0, 0, "no asset spans any time"},
	} {
		cp, hor, err := rulScale(c.d, c.cap, c.horizon)
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) || !errors.Is(err, ErrOptions) && !errors.Is(err, ErrData) {
				t.Errorf("%s: err %v, want %q", c.name, err, c.err)
			}
		case err != nil || math.Abs(cp-c.wantCap) > 1e-9 || math.Abs(hor-c.wantHor) > 1e-9:
			t.Errorf("%s: cap %v horizon %v (%v), want %v and %v", c.name, cp, hor, err, c.wantCap, c.wantHor)
		}
	}
}
