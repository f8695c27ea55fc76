// Command train measures training throughput of internal/model on the
// synthetic task used for the scikit-learn and PyTorch references:
// x ~ N(0,1), y = tanh(x·W) + 0.1·N(0,1) with W ~ N(0, 1/inputs) fixed,
// 65,536 samples, Adam lr 1e-3, ReLU hidden layers, linear output, MSE.
//
// After every epoch it evaluates the mean squared error over the whole
// training set (the figure PyTorch's reference prints), outside the timed
// span: the running average of batch losses over an epoch is higher than
// the loss of the weights at its end, so the two are not comparable.
//
//	go run ./bench/train [-epochs 3] [-samples 65536]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"syscall"
	"time"

	"github.com/faultline/faultline/internal/model"
)

type shape struct {
	widths []int // inputs, hidden..., outputs
	batch  int
}

var shapes = []shape{
	{[]int{64, 64, 32, 8}, 64},
	{[]int{128, 256, 256, 8}, 256},
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "train:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	epochs := fs.Int("epochs", 3, "passes over the data per shape")
	samples := fs.Int("samples", 65536, "training samples")
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintf(out, "# GOMAXPROCS=%d GOARCH=%s %s\n", runtime.GOMAXPROCS(0), runtime.GOARCH, runtime.Version())
	for _, s := range shapes {
		if err := bench(out, s, *samples, *epochs); err != nil {
			return err
		}
	}
	return nil
}

func bench(out io.Writer, s shape, n, epochs int) error {
	in, outs := s.widths[0], s.widths[len(s.widths)-1]
	data := synth(n, in, outs, 1)
	var layers []model.Layer
	for _, w := range s.widths[1 : len(s.widths)-1] {
		layers = append(layers, model.Layer{Size: w, Act: model.ReLU})
	}
	layers = append(layers, model.Layer{Size: outs, Act: model.Linear})
	net, err := model.New[float32](in, layers, 1)
	if err != nil {
		return err
	}
	cfg := model.TrainConfig[float32]{Epochs: epochs, BatchSize: s.batch, Schedule: model.ConstantLR(1e-3), Seed: 1}
	var mse []float64
	var evalTime, evalCPU time.Duration
	start, cpu0 := time.Now(), cpuTime()
	_, err = model.Train(context.Background(), net, data, model.Dataset[float32]{}, cfg, func(model.EpochStats) {
		t, c := time.Now(), cpuTime()
		m, err := net.Objective(data.X, data.Y, model.Loss{Kind: model.MSE}, 0, nil)
		if err != nil {
			panic(err) // shapes were checked by Train
		}
		mse = append(mse, m)
		evalTime += time.Since(t)
		evalCPU += cpuTime() - c
	})
	if err != nil {
		return err
	}
	sec := (time.Since(start) - evalTime).Seconds()
	cpu := (cpuTime() - cpu0 - evalCPU).Seconds()
	sps := float64(n*epochs) / sec
	fmt.Fprintf(out, "shape=%s batch=%d samples_per_s=%.0f gflops=%.2f samples_per_cpu_s=%.0f full_mse_per_epoch=%s\n",
		name(s.widths), s.batch, sps, sps*flopsPerSample(s.widths)/1e9, float64(n*epochs)/cpu, fmtList(mse))
	return nil
}

// cpuTime is the process's CPU time: on a shared machine samples per
// CPU-second is steadier than per wall second, which also counts the time
// other processes held the core.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func fmtList(v []float64) string {
	s := ""
	for i, x := range v {
		if i > 0 {
			s += ","
		}
		s += fmt.Sprintf("%.4f", x)
	}
	return s
}

// flopsPerSample counts 2 flops per multiply-add executed in one training
// step: forward W·x, the weight gradient, and the input gradient of every
// layer except the first (which the trainer skips).
func flopsPerSample(w []int) float64 {
	var macs int
	for l := 1; l < len(w); l++ {
		macs += 2 * w[l-1] * w[l]
		if l > 1 {
			macs += w[l-1] * w[l]
		}
	}
	return 2 * float64(macs)
}

func synth(n, in, outs int, seed uint64) model.Dataset[float32] {
	rng := rand.New(rand.NewPCG(seed, 99))
	w := make([]float64, in*outs)
	for i := range w {
		w[i] = rng.NormFloat64() / math.Sqrt(float64(in))
	}
	d := model.Dataset[float32]{X: make([]float32, n*in), Y: make([]float32, n*outs)}
	for i := range d.X {
		d.X[i] = float32(rng.NormFloat64())
	}
	for r := range n {
		x := d.X[r*in : (r+1)*in]
		for j := range outs {
			var s float64
			for k, xv := range x {
				s += float64(xv) * w[k*outs+j]
			}
			d.Y[r*outs+j] = float32(math.Tanh(s) + 0.1*rng.NormFloat64())
		}
	}
	return d
}

func name(w []int) string {
	s := fmt.Sprint(w[0])
	for _, v := range w[1:] {
		s += fmt.Sprintf("-%d", v)
	}
	return s
}
