package report

import (
	"fmt"
	"image/color"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/trainer"
)

const (
	width  = 8 * vg.Inch
	height = 4.5 * vg.Inch
)

var (
	warnColor  = color.RGBA{R: 230, G: 150, A: 255}
	critColor  = color.RGBA{R: 200, A: 255}
	scoreColor = color.RGBA{G: 90, B: 200, A: 255}
)

// lossPlot draws training (solid) and validation (dashed) loss by epoch for every
// network, on a log scale when every loss is positive (they span decades).
func lossPlot(path string, rep *trainer.Report) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Loss by epoch (%d networks; solid train, dashed validation)", len(rep.Histories))
	p.X.Label.Text, p.Y.Label.Text = "epoch", "loss (scaled units)"
	positive := true
	for i, h := range rep.Histories {
		tr, va := make(plotter.XYs, 0, len(h)), make(plotter.XYs, 0, len(h))
		for _, e := range h {
			if ok(e.TrainLoss) {
				tr = append(tr, plotter.XY{X: float64(e.Epoch), Y: e.TrainLoss})
				positive = positive && e.TrainLoss > 0
			}
			if ok(e.ValLoss) {
				va = append(va, plotter.XY{X: float64(e.Epoch), Y: e.ValLoss})
				positive = positive && e.ValLoss > 0
			}
		}
		c := plotutil.Color(i)
		if err := addLine(p, tr, c, false, legendFor(i, len(rep.Histories), "train")); err != nil {
			return err
		}
		if err := addLine(p, va, c, true, legendFor(i, len(rep.Histories), "val")); err != nil {
			return err
		}
	}
	if positive && len(rep.Histories) > 0 {
		p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	}
	return save(p, path)
}

// legendFor keeps the legend readable: with many networks only the first is named.
func legendFor(i, n int, what string) string {
	if n > 6 && i > 0 {
		return ""
	}
	if n == 1 {
		return what
	}
	return fmt.Sprintf("net %d %s", i, what)
}

// residualPlot: anomaly — histogram of normalised validation residuals of every
// target with the warn/critical score levels marked (a residual of that size on one
// sensor alone would reach the level when it persists); rul — histogram of validation
// errors (predicted - actual).
func residualPlot(path string, rep *trainer.Report) error {
	p := plot.New()
	vals := finiteValues(rep.Residuals)
	if rep.Task == artifact.TaskRUL {
		vals = nil
		for i := range min(len(rep.Pred), len(rep.Actual)) {
			if d := rep.Pred[i] - rep.Actual[i]; ok(d) {
				vals = append(vals, d)
			}
		}
		p.Title.Text = "Validation error (predicted - actual RUL)"
		p.X.Label.Text = "cycles"
	} else {
		p.Title.Text = "Normalised validation residuals (all sensors) and score thresholds"
		p.X.Label.Text = "residual / typical residual"
	}
	p.Y.Label.Text = "count"
	if err := addHist(p, vals); err != nil {
		return err
	}
	if rep.Task != artifact.TaskRUL {
		top := histTop(vals)
		for _, lv := range levels(rep) {
			if !(math.Abs(lv.v) < 1e9) {
				continue // a level far off the histogram would stretch the axis past plotting
			}
			for _, sign := range []float64{-1, 1} {
				name := lv.name
				if sign < 0 {
					name = ""
				}
				if err := addLine(p, plotter.XYs{{X: sign * lv.v, Y: 0}, {X: sign * lv.v, Y: top}}, lv.c, true, name); err != nil {
					return err
				}
			}
		}
	}
	return save(p, path)
}

// predictedPlot: rul — predicted against actual RUL with the ideal diagonal; anomaly —
// the distribution of validation scores with the alert levels.
func predictedPlot(path string, rep *trainer.Report) error {
	p := plot.New()
	if rep.Task != artifact.TaskRUL {
		p.Title.Text = "Validation anomaly scores (healthy data) and alert levels"
		p.X.Label.Text, p.Y.Label.Text = "score", "windows"
		vals := finiteValues(rep.ValScores)
		if err := addHist(p, vals); err != nil {
			return err
		}
		top := histTop(vals)
		for _, lv := range levels(rep) {
			if err := addLine(p, plotter.XYs{{X: lv.v, Y: 0}, {X: lv.v, Y: top}}, lv.c, true, lv.name); err != nil {
				return err
			}
		}
		return save(p, path)
	}
	p.Title.Text = "Predicted vs actual RUL (validation assets)"
	p.X.Label.Text, p.Y.Label.Text = "actual RUL (cycles)", "predicted RUL (cycles)"
	pts := make(plotter.XYs, 0, len(rep.Pred))
	hi := 1.0
	for i := range min(len(rep.Pred), len(rep.Actual)) {
		if ok(rep.Pred[i]) && ok(rep.Actual[i]) {
			pts = append(pts, plotter.XY{X: rep.Actual[i], Y: rep.Pred[i]})
			hi = math.Max(hi, math.Max(rep.Actual[i], rep.Pred[i]))
		}
	}
	if len(pts) > 0 {
		s, err := plotter.NewScatter(pts)
		if err != nil {
			return err
		}
		s.GlyphStyle.Radius = vg.Points(1.5)
		p.Add(s)
	}
	if err := addLine(p, plotter.XYs{{X: 0, Y: 0}, {X: hi, Y: hi}}, color.Black, true, "ideal"); err != nil {
		return err
	}
	return save(p, path)
}

// scorePlot draws the output over the validation period: the anomaly score with its
// warn and critical lines, or predicted and actual RUL with the alert horizon.
func scorePlot(path string, rep *trainer.Report) error {
	p := plot.New()
	if rep.Task == artifact.TaskRUL {
		p.Title.Text = "RUL over the validation windows (assets one after another)"
		p.X.Label.Text, p.Y.Label.Text = "validation window", "RUL (cycles)"
		if err := addLine(p, indexed(rep.Actual), color.Gray{Y: 120}, false, "actual"); err != nil {
			return err
		}
		if err := addLine(p, indexed(rep.Pred), scoreColor, false, "predicted"); err != nil {
			return err
		}
		if h, found := rep.Threshold["horizon"]; found && len(rep.Pred) > 0 {
			if err := addLine(p, plotter.XYs{{X: 0, Y: h}, {X: float64(len(rep.Pred) - 1), Y: h}}, warnColor, true, "alert horizon"); err != nil {
				return err
			}
		}
		return save(p, path)
	}
	p.Title.Text = "Anomaly score over the validation period"
	p.Y.Label.Text = "score"
	pts, xlabel := timeAxis(rep.ValTimes, rep.ValScores)
	p.X.Label.Text = xlabel
	if err := addLine(p, pts, scoreColor, false, "score"); err != nil {
		return err
	}
	if len(pts) > 0 {
		x0, x1 := pts[0].X, pts[len(pts)-1].X
		for _, lv := range levels(rep) {
			if err := addLine(p, plotter.XYs{{X: x0, Y: lv.v}, {X: x1, Y: lv.v}}, lv.c, true, lv.name); err != nil {
				return err
			}
		}
	}
	return save(p, path)
}

// timeAxis plots against hours since the first validation time when times are Unix
// seconds in order (one machine), else against the window index (several series
// one after another, or cycles).
func timeAxis(times, vals []float64) (plotter.XYs, string) {
	if len(times) == len(vals) && len(times) > 1 && times[0] > 1e8 && slices.IsSorted(times) {
		pts := make(plotter.XYs, 0, len(vals))
		for i, v := range vals {
			if ok(v) {
				pts = append(pts, plotter.XY{X: (times[i] - times[0]) / 3600, Y: v})
			}
		}
		return pts, "hours into the validation period"
	}
	return indexed(vals), "validation window"
}

func indexed(vals []float64) plotter.XYs {
	pts := make(plotter.XYs, 0, len(vals))
	for i, v := range vals {
		if ok(v) {
			pts = append(pts, plotter.XY{X: float64(i), Y: v})
		}
	}
	return pts
}

type level struct {
	name string
	v    float64
	c    color.Color
}

func levels(rep *trainer.Report) []level {
	var out []level
	for _, l := range []level{{"warn", rep.Threshold["warn"], warnColor}, {"critical", rep.Threshold["critical"], critColor}} {
		if ok(l.v) && l.v > 0 {
			out = append(out, l)
		}
	}
	return out
}

func ok(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func finiteValues(v []float64) plotter.Values {
	out := make(plotter.Values, 0, len(v))
	for _, x := range v {
		if ok(x) {
			out = append(out, x)
		}
	}
	return out
}

// addLine adds a line (skipped when empty: gonum refuses no points) with a legend
// entry when name is set.
func addLine(p *plot.Plot, pts plotter.XYs, c color.Color, dashed bool, name string) error {
	if len(pts) == 0 {
		return nil
	}
	l, err := plotter.NewLine(pts)
	if err != nil {
		return err
	}
	l.Color = c
	if dashed {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	}
	p.Add(l)
	if name != "" {
		p.Legend.Add(name, l)
	}
	return nil
}

const bins = 60

func addHist(p *plot.Plot, vals []float64) error {
	if len(vals) == 0 {
		p.Title.Text += " (no validation data)"
		return nil
	}
	h, err := plotter.NewHist(plotter.Values(vals), bins)
	if err != nil {
		return err
	}
	h.FillColor = color.RGBA{R: 90, G: 130, B: 200, A: 255}
	p.Add(h)
	return nil
}

// histTop is a height for threshold markers: the tallest bin of the histogram.
func histTop(vals []float64) float64 {
	if len(vals) == 0 {
		return 1
	}
	h, err := plotter.NewHist(plotter.Values(vals), bins)
	if err != nil {
		return 1
	}
	top := 1.0
	for _, b := range h.Bins {
		top = math.Max(top, b.Weight)
	}
	return top
}

func save(p *plot.Plot, path string) error {
	p.Legend.Top = true
	return p.Save(width, height, path)
}
