package trainer

import (
	"bytes"
	"context"
	"math"
	"testing"

	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/scoring"
)

// --ensemble on a leave-one-out model gives each watched sensor that many networks
// (before session 11 the option was silently ignored there): the file holds them
// target by target (format 8), and the scorer's residual is the mean of what each
// member alone would give.
func TestLeaveOneOutEnsembleAverages(t *testing.T) {
	d := Data{Columns: []string{"load", "current", "temp"}, Series: []Series{slowLag(2000, math.MaxInt, 3)}}
	m, _, err := Fit(context.Background(), d, Options{Seed: 4, Epochs: 5, Window: 30, Context: []string{"load"}, Ensemble: 3})
	if err != nil {
		t.Fatal(err)
	}
	nt := len(m.Targets)
	if len(m.Nets) != 3*nt || m.TargetNets() != 3 || m.FormatVersion() != 8 {
		t.Fatalf("%d networks for %d targets (%d each), format %d; want 3 each, format 8", len(m.Nets), nt, m.TargetNets(), m.FormatVersion())
	}
	var buf bytes.Buffer
	if err := m.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	if _, err := artifact.Decode(&buf); err != nil {
		t.Fatalf("read back: %v", err)
	}
	// Member e alone: target k's e-th network.
	members := make([]*scoring.Stream, 3)
	for e := range members {
		one := *m
		one.Nets = nil
		for k := 0; k < nt; k++ {
			one.Nets = append(one.Nets, m.Nets[3*k+e])
		}
		sc, err := scoring.New(&one)
		if err != nil {
			t.Fatal(err)
		}
		members[e], _ = sc.NewStream()
	}
	sc, err := scoring.New(m)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := sc.NewStream()
	live := slowLag(400, math.MaxInt, 8)
	compared := 0
	for i, row := range live.Rows {
		at := TimeOf(live.T[i])
		r, ok, err := all.Push(at, row)
		if err != nil {
			t.Fatal(err)
		}
		mean := make([]float64, nt)
		for _, st := range members {
			rm, okm, err := st.Push(at, row)
			if err != nil || okm != ok {
				t.Fatalf("row %d: member scored %v (%v), ensemble %v", i, okm, err, ok)
			}
			if ok {
				for k := range mean {
					mean[k] += rm.Residual[k] / 3
				}
			}
		}
		if !ok {
			continue
		}
		for k := range mean {
			if math.Abs(r.Residual[k]-mean[k]) > 1e-9*(1+math.Abs(mean[k])) {
				t.Fatalf("row %d target %d: residual %v, members' mean %v", i, k, r.Residual[k], mean[k])
			}
		}
		compared++
	}
	if compared < 300 {
		t.Fatalf("%d windows compared", compared)
	}
	bad := *m
	bad.Nets = m.Nets[:len(m.Nets)-1]
	if err := bad.Validate(); err == nil {
		t.Fatal("a leave-one-out model with an uneven number of networks per target accepted")
	}
}
