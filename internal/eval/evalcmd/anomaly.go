package evalcmd

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"path/filepath"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/alerting"
	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/dataset"
	"github.com/faultline/faultline/internal/eval"
	"github.com/faultline/faultline/internal/scoring"
	"github.com/faultline/faultline/internal/trainer"
	"github.com/faultline/faultline/internal/trainsrc"
)

// AnomalyResult is results.json of the anomaly family.
type AnomalyResult struct {
	Model  string            `json:"model"`
	Data   string            `json:"data"`
	Labels string            `json:"labels"`
	Point  eval.PointMetrics `json:"pointwise"`
	Events eval.EventMetrics `json:"events"`
	Assets int               `json:"assets"`
	// Timestamps says the time column held timestamps (per-day rates are meaningful).
	Timestamps bool `json:"timestamps"`
}

func runAnomaly(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, log zerolog.Logger) error {
	fs := flag.NewFlagSet("eval anomaly", flag.ContinueOnError)
	model := fs.String("model", "", "anomaly model file")
	csv := fs.String("csv", "", "labelled data file")
	labels := fs.String("labels", "", "label column: non-zero = anomalous row")
	timeCol := fs.String("time-column", "", "time column (default: a column named ts, time, timestamp, datetime or date_time; none = row numbers)")
	ignore := fs.String("ignore", "", "comma-separated columns to skip (besides --labels)")
	assetCol := fs.String("asset-column", "", "asset column (empty = one asset)")
	dateOrder := fs.String("date-order", "", "read slashed dates like 03/01/2024: dmy (day first) or mdy (month first; 3/1/2024 7:05 PM is March 1), as given to train; default: refuse them")
	early := fs.Int("early", 0, "rows before a labelled event in which an alert still counts as detecting it")
	out := fs.String("out", env(getenv, "FAULTLINE_EVAL_OUT", "eval-out"), "output directory")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if *model == "" || *csv == "" || *labels == "" {
		return fmt.Errorf("%w: --model, --csv and --labels are required", ErrUsage)
	}
	if err := dataset.CheckDateOrder(*dateOrder); err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	m, err := artifact.Load(*model)
	if err != nil {
		return fmt.Errorf("load model: %w", err)
	}
	if *timeCol == "" {
		*timeCol = trainsrc.DetectTimeColumnOrder(*csv, *dateOrder)
	}
	tab, err := dataset.ReadFile(*csv, dataset.Options{TimeColumn: *timeCol, AssetColumn: *assetCol, Ignore: splitList(*ignore), DateOrder: *dateOrder})
	if err != nil {
		return fmt.Errorf("read data: %w", err)
	}
	lc := tab.Column(*labels)
	if lc < 0 {
		return fmt.Errorf("label column %q not in %v", *labels, tab.Sensors)
	}
	res, s, err := scoreAnomaly(ctx, m, tab, lc, *early)
	if err != nil {
		return err
	}
	res.Model, res.Data, res.Labels = *model, *csv, *labels
	printAnomaly(stdout, res)
	if err := writeJSON(*out, "results.json", res); err != nil {
		return err
	}
	log.Debug().Int("rows", len(tab.Rows)).Msg("done")
	return plotNAB(filepath.Join(*out, "anomaly_scores.png"), NABFileOut{NABFile: eval.NABFile{Name: *csv}}, s)
}

// scoreAnomaly streams each asset through the live scorer. Row flags are "an alert
// is active"; events are runs of labelled rows per asset.
func scoreAnomaly(ctx context.Context, m *artifact.Model, tab *dataset.Table, lc, early int) (*AnomalyResult, *nabSeries, error) {
	sc, err := scoring.New(m)
	if err != nil {
		return nil, nil, err
	}
	idx, err := columnIndex(sc.Columns(), tab.Sensors)
	if err != nil {
		return nil, nil, err
	}
	var allL, allA []bool
	var ev eval.EventMetrics
	var leadSum float64
	res := &AnomalyResult{Timestamps: tab.Timestamps}
	first := &nabSeries{}
	for gi, g := range tab.Groups() {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		st, err := sc.NewStream()
		if err != nil {
			return nil, nil, err
		}
		n := g.End - g.Start
		lab, act := make([]bool, n), make([]bool, n)
		var raises []int
		for i := 0; i < n; i++ {
			row := tab.Rows[g.Start+i]
			lab[i] = !math.IsNaN(row[lc]) && row[lc] != 0
			if gi == 0 {
				first.T, first.V = append(first.T, tab.T[g.Start+i]), append(first.V, row[idx[0]])
				first.Score = append(first.Score, 0)
			}
			r, ok, err := st.Push(trainer.TimeOf(tab.T[g.Start+i]), pickRow(row, idx))
			if err != nil || !ok {
				continue
			}
			act[i] = r.Active != alerting.None
			if r.Event.Transition == alerting.Raised {
				raises = append(raises, i)
			}
			if gi == 0 {
				first.Score[i] = r.Score
			}
		}
		days := 0.0
		if !tab.Timestamps {
			days = 0 // cycles or row numbers: per-day rates are not meaningful
		}
		e, err := eval.Events(eval.Spans(lab), raises, act, tab.T[g.Start:g.End], early, days)
		if err != nil {
			return nil, nil, err
		}
		ev.Events, ev.Detected, ev.Alerts, ev.FalseAlerts = ev.Events+e.Events, ev.Detected+e.Detected, ev.Alerts+e.Alerts, ev.FalseAlerts+e.FalseAlerts
		ev.LeadTimes = append(ev.LeadTimes, e.LeadTimes...)
		ev.MachineDays += e.MachineDays
		for _, l := range e.LeadTimes {
			leadSum += l
		}
		allL, allA = append(allL, lab...), append(allA, act...)
		res.Assets++
	}
	if ev.Detected > 0 {
		ev.MeanLead = leadSum / float64(ev.Detected)
	}
	if ev.MachineDays > 0 && tab.Timestamps {
		ev.FalsePerDay = float64(ev.FalseAlerts) / ev.MachineDays
	}
	first.Windows = eval.Spans(labelsOf(tab, lc, first))
	res.Events = ev
	res.Point, err = eval.Pointwise(allL, allA)
	return res, first, err
}

func labelsOf(tab *dataset.Table, lc int, s *nabSeries) []bool {
	out := make([]bool, len(s.T))
	for i := range out {
		v := tab.Rows[i][lc]
		out[i] = !math.IsNaN(v) && v != 0
	}
	return out
}

func printAnomaly(w io.Writer, r *AnomalyResult) {
	p, e := r.Point, r.Events
	fmt.Fprintf(w, "point-wise  precision %.3f  recall %.3f  F1 %.3f  false-alarm rate %.4f  missed-alarm rate %.3f  (TP %d FP %d FN %d TN %d)\n",
		p.Precision, p.Recall, p.F1, p.FalseAlarmRate, p.MissedRate, p.TP, p.FP, p.FN, p.TN)
	perDay := "n/a (no timestamps)"
	if e.FalsePerDay > 0 || e.MachineDays > 0 && r.Timestamps {
		perDay = fmt.Sprintf("%.3f", e.FalsePerDay)
	}
	fmt.Fprintf(w, "event-wise  events %d  detected %d (%d by an alert already open)  alerts %d  false alerts %d  mean lead %.0f s  false alerts/machine-day %s  (%d assets)\n",
		e.Events, e.Detected, e.DetectedOpen, e.Alerts, e.FalseAlerts, e.MeanLead, perDay, r.Assets)
}
