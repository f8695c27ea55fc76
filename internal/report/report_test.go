package report

import (
	"bytes"
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/model"
	"github.com/faultline/faultline/internal/trainer"
)

func history(n int, val bool) []model.EpochStats {
	h := make([]model.EpochStats, n)
	for i := range h {
		h[i] = model.EpochStats{Epoch: i, TrainLoss: 1 / float64(i+1), ValLoss: math.NaN()}
		if val {
			h[i].ValLoss = 1.2 / float64(i+1)
		}
	}
	return h
}

func TestWriteBothTasks(t *testing.T) {
	anomaly := &trainer.Report{
		Task: artifact.TaskAnomaly, Histories: [][]model.EpochStats{history(30, true), history(20, false)}, BestEpochs: []int{25, -1},
		Metrics:   map[string]float64{"val_score_p99": 1.5, "undefined": math.NaN()},
		Threshold: map[string]float64{"warn": 3, "critical": 6},
		Residuals: []float64{-1, 0, 0.5, 1, 2, math.NaN()}, ValScores: []float64{0.5, 1, 1.2, 0.8},
		ValTimes: []float64{1.7e9, 1.7e9 + 10, 1.7e9 + 20, 1.7e9 + 30},
	}
	rul := &trainer.Report{
		Task: artifact.TaskRUL, Histories: [][]model.EpochStats{history(10, true)}, BestEpochs: []int{9},
		Metrics: map[string]float64{"val_rmse_all_cycles": 14}, Threshold: map[string]float64{"horizon": 30},
		Pred: []float64{100, 80, 20, 5}, Actual: []float64{125, 90, 25, 0},
	}
	empty := &trainer.Report{Task: artifact.TaskAnomaly} // no validation data at all: plots still render
	for name, rep := range map[string]*trainer.Report{"anomaly": anomaly, "rul": rul, "empty": empty} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "nested", "report")
			m := &artifact.Model{Name: "m", Version: "v1", Task: rep.Task, Targets: []string{"x"}}
			if err := Write(dir, rep, Info{Model: m, ModelPath: "/tmp/m.model", Data: map[string]int{"rows": 4}}); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{LossPNG, ResidualsPNG, PredictedPNG, ScorePNG} {
				b, err := os.ReadFile(filepath.Join(dir, f))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := png.Decode(bytes.NewReader(b)); err != nil || len(b) < 2000 {
					t.Fatalf("%s: %d bytes, %v", f, len(b), err)
				}
			}
			b, _ := os.ReadFile(filepath.Join(dir, MetricsJSON))
			var got Metrics
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("metrics.json: %v\n%s", err, b)
			}
			if got.Model.Path != "/tmp/m.model" || len(got.Plots) != 4 || len(got.Networks) != len(rep.Histories) {
				t.Fatalf("metrics %+v", got)
			}
			if _, ok := got.Report.Metrics["undefined"]; ok {
				t.Fatal("NaN metric written")
			}
		})
	}
	if err := Write(t.TempDir(), nil, Info{}); err == nil {
		t.Fatal("nil report accepted")
	}
}

func TestNetworksSummary(t *testing.T) {
	n := networks(&trainer.Report{Histories: [][]model.EpochStats{history(5, true), history(3, false)}, BestEpochs: []int{4, -1}})
	if n[0].Epochs != 5 || *n[0].BestVal != 1.2/5 || n[1].FinalVal != nil || n[1].BestVal != nil || *n[1].FinalTrain != 1.0/3 {
		t.Fatalf("%+v %+v", n[0], n[1])
	}
}

func TestProgressLog(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf, false, zerolog.New(&buf), "pump", 2, 50)
	clock := time.Unix(0, 0)
	p.now = func() time.Time { clock = clock.Add(time.Second); return clock }
	// Two networks, both reported as net 0 (leave-one-out calls the trainer once per
	// sensor): the restart of the epoch count marks the second.
	for net := 0; net < 2; net++ {
		for e := 0; e < 25; e++ {
			p.Epoch(0, model.EpochStats{Epoch: e, TrainLoss: 0.5, ValLoss: math.NaN()})
		}
	}
	p.Done()
	out := buf.String()
	if strings.Count(out, `"message":"network trained"`) != 2 || strings.Count(out, `"message":"training"`) != 4 {
		t.Fatalf("log lines:\n%s", out)
	}
	if !strings.Contains(out, `"net":2,"nets":2,"epochs":25`) || !strings.Contains(out, `"val_loss":-1`) {
		t.Fatalf("last network summary missing:\n%s", out)
	}
}

func TestProgressTTY(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf, true, zerolog.Nop(), "pump", 3, 10)
	clock := time.Unix(0, 0)
	p.now = func() time.Time { clock = clock.Add(time.Second); return clock }
	for e := 0; e < 10; e++ {
		p.Epoch(0, model.EpochStats{Epoch: e, TrainLoss: 0.25, ValLoss: 0.5})
	}
	p.Epoch(1, model.EpochStats{Epoch: 0, TrainLoss: 0.2, ValLoss: 0.4})
	p.Done()
	out := buf.String()
	if !strings.HasPrefix(out, "\r") || !strings.HasSuffix(out, "\n") {
		t.Fatalf("want \\r-rewritten line ending in a newline: %q", out)
	}
	// After net 1 (10 epochs, 10 s) and 1 epoch of net 2: net 2 has about 9 s left,
	// net 3 about 10 s.
	last := out[strings.LastIndex(out, "\r"):]
	if !strings.Contains(last, "pump net 2/3 epoch 1/10 train 0.2 val 0.4 ETA 19s") {
		t.Fatalf("last line %q", last)
	}
}
