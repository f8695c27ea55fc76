package eval

import (
	"fmt"
	"math"
)

// Profile is a NAB cost matrix.
type Profile struct {
	Name string  `json:"name"`
	TP   float64 `json:"tp"`
	FP   float64 `json:"fp"`
	FN   float64 `json:"fn"`
}

// NAB's three application profiles (config/profiles.json). TN carries no weight in
// the score, so it is not listed.
var (
	ProfileStandard    = Profile{Name: "standard", TP: 1, FP: 0.11, FN: 1}
	ProfileRewardLowFP = Profile{Name: "reward_low_FP_rate", TP: 1, FP: 0.22, FN: 1}
	ProfileRewardLowFN = Profile{Name: "reward_low_FN_rate", TP: 1, FP: 0.11, FN: 2}
)

// NABProfiles lists the profiles by name.
func NABProfiles() []Profile {
	return []Profile{ProfileStandard, ProfileRewardLowFP, ProfileRewardLowFN}
}

// ProbationPercent is NAB's share of each file given to the detector to learn.
const ProbationPercent = 0.15

// ProbationRows is NAB's probationary length for a file of n rows:
// min(floor(0.15 n), 0.15 * 5000).
func ProbationRows(n int) int {
	return int(math.Min(math.Floor(ProbationPercent*float64(n)), ProbationPercent*5000))
}

// ScaledSigmoid is NAB's weighting of a relative position: about +0.987 at a
// window's left edge (-1), 0 at its right edge, about -0.987 one window width after
// it, and -1 from three widths on.
func ScaledSigmoid(x float64) float64 {
	if x >= 3 {
		return -1
	}
	return 2/(1+math.Exp(5*x)) - 1
}

// NABFile is one file's outcome under one profile.
type NABFile struct {
	Name     string  `json:"name"`
	Rows     int     `json:"rows"`
	Windows  int     `json:"windows"` // windows scored (not wholly in probation)
	Detected int     `json:"detected"`
	FP       int     `json:"fp"` // detections outside every window
	Raw      float64 `json:"raw"`
	Null     float64 `json:"null"`
	Perfect  float64 `json:"perfect"`
	TPScore  float64 `json:"tp_score"`
	FPScore  float64 `json:"fp_score"`
	FNScore  float64 `json:"fn_score"`
}

// Normalized is this file's score alone on NAB's 0-100 scale.
func (f NABFile) Normalized() float64 { return Normalize(f.Raw, f.Null, f.Perfect) }

// Normalize maps raw onto 100 (raw - null) / (perfect - null); 0 when perfect = null
// (a file without scored windows, where the scale is undefined).
func Normalize(raw, null, perfect float64) float64 {
	if perfect == null {
		return 0
	}
	return 100 * (raw - null) / (perfect - null)
}

// NABScoreFile scores detections (row indexes; any order, duplicates ignored) on a
// file of n rows with anomaly windows given as closed row intervals in time order.
func NABScoreFile(name string, n int, windows []Span, detections []int, p Profile) (NABFile, error) {
	f := NABFile{Name: name, Rows: n}
	det := make([]bool, n)
	for _, d := range detections {
		if d < 0 || d >= n {
			return f, fmt.Errorf("nab %s: detection at row %d outside %d rows", name, d, n)
		}
		det[d] = true
	}
	for k, w := range windows {
		if w.Start < 0 || w.End >= n || w.Start > w.End || (k > 0 && w.Start <= windows[k-1].End) {
			return f, fmt.Errorf("nab %s: window %d [%d, %d] is empty, out of %d rows or overlaps the previous one", name, k, w.Start, w.End, n)
		}
	}
	prob := ProbationRows(n)
	maxTP := ScaledSigmoid(-1)
	best := make([]float64, len(windows))
	scored := make([]bool, len(windows))
	wi, prev := 0, -1 // next window to enter; index of the last window left
	for i := 0; i < n; i++ {
		for wi < len(windows) && windows[wi].End < i {
			prev, wi = wi, wi+1
		}
		in := wi < len(windows) && i >= windows[wi].Start
		if in && i >= prob && !scored[wi] {
			scored[wi], best[wi] = true, -p.FN
		}
		if !det[i] || i < prob {
			continue
		}
		if in {
			w := windows[wi]
			width := float64(w.End - w.Start + 1)
			v := p.TP * ScaledSigmoid(-float64(w.End-i+1)/width) / maxTP
			best[wi] = math.Max(best[wi], v)
			continue
		}
		f.FP++
		pos := 3.0
		if prev >= 0 {
			pw := windows[prev]
			pos = math.Abs(float64(i-pw.End)) / float64(pw.End-pw.Start) // width - 1
		}
		f.FPScore += p.FP * ScaledSigmoid(pos)
	}
	for k := range windows {
		if !scored[k] {
			continue
		}
		f.Windows++
		if best[k] > -p.FN {
			f.Detected++
			f.TPScore += best[k]
		} else {
			f.FNScore -= p.FN
		}
	}
	f.Raw = f.TPScore + f.FPScore + f.FNScore
	f.Null = -p.FN * float64(f.Windows)
	f.Perfect = p.TP * float64(f.Windows)
	return f, nil
}

// NABTotal sums raw, null and perfect over files and normalises the sums, as NAB
// does for a corpus.
func NABTotal(files []NABFile) (raw, null, perfect, normalized float64) {
	for _, f := range files {
		raw, null, perfect = raw+f.Raw, null+f.Null, perfect+f.Perfect
	}
	return raw, null, perfect, Normalize(raw, null, perfect)
}
