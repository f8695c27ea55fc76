package artifact

import (
	"math"
	"strings"

	"github.com/faultline/faultline/internal/features"
)

// Modes are a model's optional modes: the inputs beyond the window features (age,
// whole-history EWMA), the rul ensemble, padding and band, and the anomaly score's
// stages (forecast, likelihood, level, novelty, envelope, monitor, sensor checks,
// baseline). Model embeds it, so each field keeps its JSON name at the top level of
// the model file (the format and old files are unchanged) and reads as m.Forecast.
// The zero value is none of them.
type Modes struct {
	// AgeFeature appends one input after the window features: the number of rows the
	// stream has processed since it began (or since Stream.Reset), counting the
	// window's last row, so the i-th row (0-based) of a series has age i+1. Engines
	// and bearings degrade with operating time; the input lets a model use it.
	AgeFeature bool `json:"age_feature,omitempty"`
	// AgeColumn (rul), when set, is the input column holding the asset's age in each
	// row: its operating cycles or run hours since the start of life or the last
	// overhaul, the counter real assets carry (C-MAPSS's cycle column is defined so).
	// Its value is appended after the window features, where AgeFeature's row count
	// goes; the two exclude each other. The column is the scorer's last input column,
	// after the settings. Unlike the row count, it is right for a stream that starts
	// mid-life or restarts. A row whose age is missing, not finite or negative is not
	// scored (scoring.ErrBadAge). Format 5.
	AgeColumn string `json:"age_column,omitempty"`
	// HistoryEWMA appends, after the age input, per sensor and per smoothing factor
	// an exponentially weighted mean of the (regime-normalised) sensor over the
	// stream's history (features.History), sensor-major. A rul stream's history
	// spans outages (the asset's whole life). An anomaly model's (format 8; only
	// leave-one-out networks with context columns, which see the context sensors'
	// means alone) restarts at an outage as the window does: the means stand for the
	// conditions a lagging temperature still remembers, and after an outage nobody
	// knows what those were.
	HistoryEWMA []float64 `json:"history_ewma,omitempty"`
	// Members (rul) are further complete rul models, typically on other window
	// lengths, scored on the same rows; the prediction is the mean of this model's
	// and every member's whose window is complete. They share this model's sensors,
	// settings and period, and have no members of their own.
	Members []*Model `json:"members,omitempty"`
	// PadShort (rul) scores a history shorter than the window: until the window is
	// full, it is the rows so far preceded by copies of the first one (training
	// made such windows from every asset's first rows), so every asset has a RUL from
	// its first sample. Needs stride 1.
	PadShort bool `json:"pad_short,omitempty"`
	// Band (rul) gives each prediction a lower and upper bound (RULBand).
	Band *RULBand `json:"rul_band,omitempty"`
	// Forecast > 0 makes an anomaly model a forecaster: the networks predict the mean
	// of each target's next Forecast rows from the window, and the residual at a row
	// compares the mean of the last Forecast rows with the prediction made Forecast
	// rows earlier. 0 keeps the window-mean reconstruction. Needs stride 1.
	Forecast int `json:"forecast,omitempty"`
	// Likelihood, when set, replaces the EWMA score of an anomaly model by a
	// standard score of the short-term mean of the raw score against the raw score's
	// long-term distribution (Numenta's anomaly likelihood, as a z value).
	Likelihood *Likelihood `json:"likelihood,omitempty"`
	// Level, with Likelihood, adds a second standard score computed the same way on
	// the targets' standardised window means (their level, not a residual), taken
	// two-sided; the anomaly score is the larger of the two. A forecaster follows a
	// level shift within a few rows; the level score does not.
	Level *Likelihood `json:"level,omitempty"`
	// Novelty, with Likelihood, raises the bar for scores no higher than what the
	// stream already showed recently (see Novelty).
	Novelty *Novelty `json:"novelty,omitempty"`
	// Envelope (anomaly) is each target's healthy operating range: a latest value
	// outside it is abnormal whatever the operating conditions say (see Envelope).
	Envelope *Envelope `json:"envelope,omitempty"`
	// Monitor (anomaly) is the multivariate PCA monitor of the window features; its
	// score joins the residual score by the maximum. A model may have a monitor and no
	// networks.
	Monitor *Monitor `json:"monitor,omitempty"`
	// SensorCheck (anomaly) holds each spec sensor's healthy signal limits (context
	// sensors too): a stuck, spiking or silent sensor raises a sensor-fault alert
	// naming it.
	SensorCheck *SensorCheck `json:"sensor_check,omitempty"`
	// Baseline (anomaly) divides the process score by how far the recent past's typical
	// score has moved above the held-out one (see Baseline).
	Baseline *Baseline `json:"baseline,omitempty"`
}

// Likelihood configures the likelihood score: Score = (mean of the last Short raw
// scores - mean of the last Long raw scores) / max(std of the last Long, MinStd),
// and 0 until MinHistory raw scores were seen.
type Likelihood struct {
	Short      int     `json:"short"`
	Long       int     `json:"long"`
	MinHistory int     `json:"min_history"`
	MinStd     float64 `json:"min_std"`
	// Lag (level score only), when > 0, scores the change of the level against Lag
	// rows earlier (the same time yesterday or last week) instead of the level.
	Lag int `json:"lag,omitempty"`
	// Weight (level score only), when > 0, multiplies the level score's |z| before it
	// meets the residual score, so the level has its own threshold: warn / Weight.
	// 0 means 1.
	Weight float64 `json:"weight,omitempty"`
}

// Envelope is the range of each target's latest value over the healthy training
// data. A value beyond it by Allowance x (Max - Min) scores the warn level, and
// proportionally more beyond: the limit alarm an engineer would set by hand, learned.
// It catches what a normal-behaviour model is slow to: a machine that overheats within
// the hour after its load rises has left its window means behind, but not its last
// reading (docs/benchmarks.md, simulated plant). The score is
// max(score, warn x excess / (Allowance x W)), after smoothing, with W the range
// Max - Min but at least the target's ResidualScale (a sensor that barely moved in
// healthy operation must not turn every departure into a critical alert).
type Envelope struct {
	Min       []float64 `json:"min"`
	Max       []float64 `json:"max"`
	Allowance float64   `json:"allowance"`
	// Allowances, when set, is each target's own allowance (format 3); 0 means no
	// limit alarm for that target. The trainer sets 0 where the history has not
	// established the range: the held-out healthy part went beyond the range of the
	// part before it by more than the allowance, so a short history that has not seen
	// a sensor's whole range does not turn its normal wandering into limit alarms.
	Allowances []float64 `json:"allowances,omitempty"`
}

// AllowanceOf is target k's allowance.
func (e *Envelope) AllowanceOf(k int) float64 {
	if len(e.Allowances) > 0 {
		return e.Allowances[k]
	}
	return e.Allowance
}

// Novelty scales the anomaly score by warn / max(warn, Ratio x M), where M is the
// highest score of the Window rows that ended Gap rows ago: an excursion only raises
// an alert when it beats, by Ratio, the largest one of the recent past (the current
// excursion's own rows are inside the Gap, so it does not compete with itself).
type Novelty struct {
	Window int     `json:"window"`
	Gap    int     `json:"gap"`
	Ratio  float64 `json:"ratio"`
}

// validateModes checks the optional forecast and likelihood settings.
func (m *Model) validateModes(add func(string, ...any)) {
	if m.Forecast < 0 || m.Forecast > 10000 {
		add("forecast %d not in [0,10000]", m.Forecast)
	}
	if m.Forecast > 0 && (m.Task != TaskAnomaly || m.Spec.Stride != 1 || m.LeaveOneOut) {
		add("forecast needs an anomaly model with stride 1 and no leave-one-out networks")
	}
	for i, mm := range m.Members {
		switch {
		case mm == nil || m.Task != TaskRUL || mm.Task != TaskRUL || len(mm.Members) > 0:
			add("member %d: members need a rul model and a rul member without members", i)
		case strings.Join(mm.Spec.Sensors, ",") != strings.Join(m.Spec.Sensors, ",") || strings.Join(mm.Settings, ",") != strings.Join(m.Settings, ",") || mm.Period != m.Period:
			add("member %d: sensors, settings and period must equal the model's", i)
		default:
			if err := mm.Validate(); err != nil {
				add("member %d: %w", i, err)
			}
		}
	}
	m.validateRUL(add)
	if c := m.AgeColumn; c != "" {
		switch {
		case m.Task != TaskRUL:
			add("age_column needs a rul model")
		case m.AgeFeature:
			add("age_column %q and age_feature exclude each other: the age is the column's value or the rows counted, not both", c)
		case indexOf(m.Spec.Sensors, c) >= 0 || indexOf(m.Settings, c) >= 0:
			add("age_column %q is also a sensor or setting column", c)
		}
	}
	for i, mm := range m.Members {
		if mm != nil && (mm.AgeColumn != m.AgeColumn || mm.AgeFeature != m.AgeFeature) {
			add("member %d: its age input (column %q, row count %v) must be the model's (column %q, row count %v)", i, mm.AgeColumn, mm.AgeFeature, m.AgeColumn, m.AgeFeature)
		}
	}
	if len(m.HistoryEWMA) > 0 {
		if err := features.ValidateHistory(m.HistoryEWMA); err != nil {
			add("%w", err)
		}
		if m.Task != TaskRUL && (m.Task != TaskAnomaly || !m.LeaveOneOut || len(m.Context) == 0) {
			add("history_ewma needs a rul model, or an anomaly model with leave-one-out networks and context columns")
		}
	}
	if l := m.Likelihood; l != nil {
		if m.Task != TaskAnomaly {
			add("likelihood score needs an anomaly model")
		}
		if l.Short < 1 || l.Long < 2 || l.Short > l.Long || l.Long > 1<<20 || l.MinHistory < 0 {
			add("likelihood windows short %d, long %d, min_history %d: want 1 <= short <= long <= 2^20, long >= 2", l.Short, l.Long, l.MinHistory)
		}
		if !(l.MinStd > 0) || math.IsInf(l.MinStd, 0) {
			add("likelihood min_std %v must be finite and > 0", l.MinStd)
		}
	}
	if v := m.Novelty; v != nil && (m.Likelihood == nil || v.Window < 1 || v.Gap < 0 || v.Window > 1<<20 || v.Gap > 1<<20 || !(v.Ratio > 0) || math.IsInf(v.Ratio, 0)) {
		add("novelty window %d, gap %d, ratio %v: needs the likelihood score, 1 <= window <= 2^20, 0 <= gap <= 2^20, ratio > 0", v.Window, v.Gap, v.Ratio)
	}
	if l := m.Level; l != nil {
		if m.Likelihood == nil {
			add("level score needs the likelihood score")
		}
		if l.Short < 1 || l.Long < 2 || l.Short > l.Long || l.Long > 1<<20 || l.MinHistory < 0 || !(l.MinStd > 0) || math.IsInf(l.MinStd, 0) || l.Lag < 0 || l.Lag > 1<<20 || !(l.Weight >= 0) || math.IsInf(l.Weight, 0) {
			add("level windows short %d, long %d, min_history %d, min_std %v: want 1 <= short <= long <= 2^20, long >= 2, min_std > 0", l.Short, l.Long, l.MinHistory, l.MinStd)
		}
	}
}
