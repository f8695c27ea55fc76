package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/faultline/faultline/internal/alerting"
	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/trainer"
)

// Plot file names written by Write.
const (
	LossPNG      = "loss.png"
	ResidualsPNG = "residuals.png"
	PredictedPNG = "predicted.png"
	ScorePNG     = "score.png"
	MetricsJSON  = "metrics.json"
)

// Info identifies what was trained, for metrics.json.
type Info struct {
	Model     *artifact.Model
	ModelPath string
	// Data is a summary of the training data (trainsrc.Summary); any JSON value.
	Data any
}

// Metrics is the content of metrics.json.
type Metrics struct {
	Model    ModelInfo       `json:"model"`
	Data     any             `json:"data,omitempty"`
	Report   *trainer.Report `json:"report"`
	Networks []NetworkInfo   `json:"networks"`
	Plots    []string        `json:"plots"`
}

// ModelInfo is the model's identity and decision settings.
type ModelInfo struct {
	Name     string          `json:"name"`
	Version  string          `json:"version"`
	Path     string          `json:"path"`
	Task     string          `json:"task"`
	Match    string          `json:"match,omitempty"`
	Created  time.Time       `json:"created"`
	Targets  []string        `json:"targets"`
	Window   int             `json:"window"`
	Features int             `json:"features"`
	Nets     int             `json:"networks"`
	Alert    alerting.Config `json:"alert"`
}

// NetworkInfo summarises one network's training history. Losses are nil when
// undefined (no validation data), since JSON has no NaN.
type NetworkInfo struct {
	Index      int      `json:"index"`
	Epochs     int      `json:"epochs"`
	BestEpoch  int      `json:"best_epoch"`
	FinalTrain *float64 `json:"final_train_loss"`
	FinalVal   *float64 `json:"final_val_loss"`
	BestVal    *float64 `json:"best_val_loss"`
}

// Write creates dir and writes metrics.json and the four plots into it. A plot that
// fails does not stop the others; every failure is returned.
func Write(dir string, rep *trainer.Report, info Info) error {
	if rep == nil || info.Model == nil {
		return errors.New("report: nothing to write (no model or report)")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create report dir: %w (check --report)", err)
	}
	var errs []error
	plots := []struct {
		name string
		draw func(string, *trainer.Report) error
	}{{LossPNG, lossPlot}, {ResidualsPNG, residualPlot}, {PredictedPNG, predictedPlot}, {ScorePNG, scorePlot}}
	var written []string
	for _, p := range plots {
		if err := p.draw(filepath.Join(dir, p.name), rep); err != nil {
			errs = append(errs, fmt.Errorf("plot %s: %w", p.name, err))
			continue
		}
		written = append(written, p.name)
	}
	m := Metrics{Model: modelInfo(info), Data: info.Data, Report: clean(rep), Networks: networks(rep), Plots: written}
	b, err := json.MarshalIndent(m, "", "  ")
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, MetricsJSON), append(b, '\n'), 0o644)
	}
	if err != nil {
		errs = append(errs, fmt.Errorf("write %s: %w", MetricsJSON, err))
	}
	return errors.Join(errs...)
}

func modelInfo(info Info) ModelInfo {
	m := info.Model
	return ModelInfo{
		Name: m.Name, Version: m.Version, Path: info.ModelPath, Task: m.Task, Match: m.Match,
		Created: m.Created, Targets: m.Targets, Window: m.Spec.Window, Features: len(m.Spec.FeatureNames()),
		Nets: len(m.Nets), Alert: m.Alert,
	}
}

// clean returns a copy of rep whose maps hold no NaN or infinity (JSON cannot encode
// them); undefined metrics are left out.
func clean(rep *trainer.Report) *trainer.Report {
	c := *rep
	c.Metrics, c.Threshold = finite(rep.Metrics), finite(rep.Threshold)
	return &c
}

func finite(m map[string]float64) map[string]float64 {
	if m == nil {
		return nil
	}
	out := make(map[string]float64, len(m))
	for k, v := range m {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			out[k] = v
		}
	}
	return out
}

func ptr(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func networks(rep *trainer.Report) []NetworkInfo {
	out := make([]NetworkInfo, 0, len(rep.Histories))
	for i, h := range rep.Histories {
		n := NetworkInfo{Index: i, Epochs: len(h), BestEpoch: -1}
		if i < len(rep.BestEpochs) {
			n.BestEpoch = rep.BestEpochs[i]
		}
		if len(h) > 0 {
			last := h[len(h)-1]
			n.FinalTrain, n.FinalVal = ptr(last.TrainLoss), ptr(last.ValLoss)
			best := math.Inf(1)
			for _, e := range h {
				if e.ValLoss < best {
					best = e.ValLoss
				}
			}
			n.BestVal = ptr(best)
		}
		out = append(out, n)
	}
	return out
}
