package evalcmd

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

func savePlot(p *plot.Plot, path string, w, h vg.Length) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	if err := p.Save(w, h, path); err != nil {
		return fmt.Errorf("write plot %s: %w", path, err)
	}
	return nil
}

// plotRUL draws predicted against true RUL at each asset's last cycle, assets sorted
// by true RUL.
func plotRUL(path string, r *RULResult) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("RUL at the last cycle: RMSE %.2f, PHM08 %.0f", r.Last.RMSE, r.Last.PHM08)
	p.X.Label.Text, p.Y.Label.Text = "asset (sorted by true RUL)", "RUL (cycles)"
	order := make([]int, len(r.True))
	for i := range order {
		order[i] = i
	}
	sortBy(order, r.True)
	tru, pred := make(plotter.XYs, len(order)), make(plotter.XYs, len(order))
	for k, i := range order {
		tru[k] = plotter.XY{X: float64(k), Y: r.True[i]}
		pred[k] = plotter.XY{X: float64(k), Y: r.Pred[i]}
	}
	lt, err := plotter.NewLine(tru)
	if err != nil {
		return err
	}
	lt.Color = color.Black
	sp, err := plotter.NewScatter(pred)
	if err != nil {
		return err
	}
	sp.Color, sp.Shape = color.RGBA{R: 200, A: 255}, draw.CircleGlyph{}
	p.Add(lt, sp)
	p.Legend.Add("true", lt)
	p.Legend.Add("predicted", sp)
	p.Legend.Top, p.Legend.Left = true, true
	return savePlot(p, path, 8*vg.Inch, 4*vg.Inch)
}

func sortBy(order []int, key []float64) {
	for i := 1; i < len(order); i++ {
		for j := i; j > 0 && key[order[j]] < key[order[j-1]]; j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
}

// plotNAB draws a file's values with its anomaly windows (shaded by vertical bars)
// and the detections as red points.
func plotNAB(path string, f NABFileOut, s *nabSeries) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: score %.1f, %d/%d windows, %d FP", filepath.Base(f.Name), f.Score, f.Detected, f.Windows, f.FP)
	p.X.Label.Text, p.Y.Label.Text = "row", "value"
	lo, hi := minMax(s.V)
	for _, w := range s.Windows {
		box := plotter.XYs{{X: float64(w.Start), Y: lo}, {X: float64(w.Start), Y: hi}, {X: float64(w.End), Y: hi}, {X: float64(w.End), Y: lo}}
		poly, err := plotter.NewPolygon(box)
		if err != nil {
			return err
		}
		poly.Color, poly.LineStyle.Width = color.RGBA{R: 255, G: 220, B: 150, A: 255}, 0
		p.Add(poly)
	}
	line := make(plotter.XYs, len(s.V))
	for i, v := range s.V {
		line[i] = plotter.XY{X: float64(i), Y: v}
	}
	l, err := plotter.NewLine(line)
	if err != nil {
		return err
	}
	l.Color, l.Width = color.RGBA{B: 160, A: 255}, vg.Points(0.5)
	p.Add(l)
	if len(f.Detections) > 0 {
		pts := make(plotter.XYs, len(f.Detections))
		for i, d := range f.Detections {
			pts[i] = plotter.XY{X: float64(d), Y: s.V[d]}
		}
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return err
		}
		sc.Color, sc.Shape, sc.Radius = color.RGBA{R: 220, A: 255}, draw.CircleGlyph{}, vg.Points(3)
		p.Add(sc)
	}
	return savePlot(p, path, 10*vg.Inch, 3.5*vg.Inch)
}

func minMax(v []float64) (lo, hi float64) {
	if len(v) == 0 {
		return 0, 1
	}
	lo, hi = v[0], v[0]
	for _, x := range v {
		if x == x { // skip NaN
			lo, hi = min(lo, x), max(hi, x)
		}
	}
	return lo, hi
}
