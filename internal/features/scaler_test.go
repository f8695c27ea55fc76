package features

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestScalerFit(t *testing.T) {
	tests := []struct {
		name       string
		kind       ScalerKind
		X          [][]float64
		wantCenter []float64
		wantScale  []float64
	}{{
		// Column 0: mean 2.5, population std sqrt(1.25) (hand computed).
		// Column 1 is constant: scale 1 by definition.
		name: "zscore", kind: ZScore,
		X:          [][]float64{{1, 10}, {2, 10}, {3, 10}, {4, 10}},
		wantCenter: []float64{2.5, 10}, wantScale: []float64{math.Sqrt(1.25), 1},
	}, {
		// numpy.percentile([1,2,3,4], [25,50,75]) = 1.75, 2.5, 3.25 -> IQR 1.5.
		// [1,2,3,4,100]: median 3, Q1 2, Q3 4 -> IQR 2; the outlier does not move it.
		name: "robust", kind: Robust,
		X:          [][]float64{{4, 100, 7}, {1, 1, 7}, {3, 3, 7}, {2, 2, 7}, {2.5, 4, 7}},
		wantCenter: []float64{2.5, 3, 7}, wantScale: []float64{1, 2, 1},
	}, {
		name: "robust even count", kind: Robust,
		X:          [][]float64{{4}, {1}, {3}, {2}},
		wantCenter: []float64{2.5}, wantScale: []float64{1.5},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewScaler(tc.kind)
			if err := s.Fit(tc.X); err != nil {
				t.Fatal(err)
			}
			for j := range tc.wantCenter {
				// Sums of a few small exact values: 1e-15 relative.
				if !near(s.Center[j], tc.wantCenter[j], 1e-15) || !near(s.Scale[j], tc.wantScale[j], 1e-15) {
					t.Errorf("col %d: center %v scale %v, want %v %v", j, s.Center[j], s.Scale[j], tc.wantCenter[j], tc.wantScale[j])
				}
			}
			checkRoundTrip(t, s, tc.X)
		})
	}
}

func near(a, b, rel float64) bool { return math.Abs(a-b) <= rel*math.Max(1, math.Abs(b)) }

func checkRoundTrip(t *testing.T, s *Scaler, X [][]float64) {
	t.Helper()
	z := make([]float64, s.Dim())
	back := make([]float64, s.Dim())
	for _, x := range X {
		if err := s.Transform(x, z); err != nil {
			t.Fatal(err)
		}
		if err := s.Inverse(z, back); err != nil {
			t.Fatal(err)
		}
		for j := range x {
			if want := (x[j] - s.Center[j]) / s.Scale[j]; z[j] != want {
				t.Fatalf("transform col %d = %v, want %v", j, z[j], want)
			}
			if !near(back[j], x[j], 1e-14) {
				t.Fatalf("inverse col %d = %v, want %v", j, back[j], x[j])
			}
		}
	}
}

func TestScalerErrors(t *testing.T) {
	if err := NewScaler(ZScore).Fit(nil); err == nil {
		t.Error("empty X: want error")
	}
	if err := NewScaler(ZScore).Fit([][]float64{{1, 2}, {1}}); err == nil {
		t.Error("ragged X: want error")
	}
	if err := NewScaler(Robust).Fit([][]float64{{math.NaN()}}); err == nil {
		t.Error("NaN in X: want error")
	}
	if err := NewScaler("minmax").Fit([][]float64{{1}}); err == nil {
		t.Error("unknown kind: want error")
	}
	s := NewScaler(ZScore)
	if err := s.Transform([]float64{1}, make([]float64, 1)); err == nil {
		t.Error("unfitted: want error")
	}
	s.Fit([][]float64{{1, 2}, {3, 4}})
	if err := s.Transform([]float64{1}, make([]float64, 2)); err == nil {
		t.Error("short x: want error")
	}
	if err := s.CheckSpec(DefaultSpec([]string{"a"}, 4)); err == nil {
		t.Error("dim mismatch with spec: want error")
	}
}

func TestScalerJSON(t *testing.T) {
	s := NewScaler(Robust)
	s.Fit([][]float64{{1, 5}, {2, 5}, {3, 5}})
	b, _ := json.Marshal(s)
	var got Scaler
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(&got)
	if string(b) != string(b2) {
		t.Fatalf("round trip:\n%s\n%s", b, b2)
	}
	for _, tc := range []struct{ name, json, want string }{
		{"version", `{"version":2,"kind":"zscore","center":[0],"scale":[1]}`, "version 2"},
		{"kind", `{"version":1,"kind":"minmax","center":[0],"scale":[1]}`, "unknown kind"},
		{"lengths", `{"version":1,"kind":"zscore","center":[0,1],"scale":[1]}`, "2 centers but 1 scales"},
		{"zero scale", `{"version":1,"kind":"zscore","center":[0],"scale":[0]}`, "must be > 0"},
		{"unknown key", `{"version":1,"kind":"zscore","center":[0],"scale":[1],"x":1}`, "unknown field"},
	} {
		var s Scaler
		if err := json.Unmarshal([]byte(tc.json), &s); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}
