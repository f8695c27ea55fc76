package scoring

import (
	"math"

	"github.com/faultline/faultline/internal/artifact"
)

// novelty implements artifact.Novelty: the running maximum of past scores over a
// window that ends Gap rows before the current one, kept as a monotonic deque so a
// row costs O(1) amortised however long the window.
type novelty struct {
	cfg  artifact.Novelty
	past []float64 // ring of the last Gap+1 scores, waiting to enter the window
	n    int64     // scores seen
	dqV  []float64 // deque: decreasing scores of the window ...
	dqAt []int64   // ... and their row ordinals
}

func newNovelty(c *artifact.Novelty) *novelty {
	return &novelty{cfg: *c, past: make([]float64, c.Gap+1)}
}

func (v *novelty) reset() { *v = *newNovelty(&v.cfg) }

// scale records score and returns it scaled by warn / max(warn, ratio x window max).
func (v *novelty) scale(score, warn float64) float64 {
	g := int64(v.cfg.Gap)
	v.past[v.n%(g+1)] = score
	// The score of row n-Gap enters the window; rows before n-Gap-Window+1 leave it.
	if in := v.n - g; in >= 0 {
		s := v.past[in%(g+1)]
		if math.IsNaN(s) {
			s = 0
		}
		for len(v.dqV) > 0 && v.dqV[len(v.dqV)-1] <= s {
			v.dqV, v.dqAt = v.dqV[:len(v.dqV)-1], v.dqAt[:len(v.dqAt)-1]
		}
		v.dqV, v.dqAt = append(v.dqV, s), append(v.dqAt, in)
		for v.dqAt[0] <= in-int64(v.cfg.Window) {
			v.dqV, v.dqAt = v.dqV[1:], v.dqAt[1:]
		}
	}
	v.n++
	if len(v.dqV) == 0 || warn <= 0 {
		return score
	}
	return score * warn / math.Max(warn, v.cfg.Ratio*v.dqV[0])
}
