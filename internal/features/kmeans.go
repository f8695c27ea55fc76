package features

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
)

// kmeansResult is one clustering of the points.
type kmeansResult struct {
	centroids [][]float64
	labels    []int
	inertia   float64
}

// kmeans runs Lloyd's algorithm from `restarts` k-means++ seedings drawn
// from a PCG seeded with (seed, restart) and keeps the lowest inertia.
// Centroids are then sorted lexicographically so regime ids do not depend
// on which seeding won.
func kmeans(pts [][]float64, k, maxIter, restarts int, seed uint64) kmeansResult {
	best := kmeansResult{inertia: math.Inf(1)}
	for r := range restarts {
		rng := rand.New(rand.NewPCG(seed, uint64(r)))
		res := lloyd(pts, kmeansPP(pts, k, rng), maxIter)
		if res.inertia < best.inertia {
			best = res
		}
	}
	return sortClusters(pts, best)
}

func sqDist(a, b []float64) float64 {
	var d float64
	for i := range a {
		t := a[i] - b[i]
		d += t * t
	}
	return d
}

func nearest(p []float64, cents [][]float64) (int, float64) {
	bi, bd := 0, math.Inf(1)
	for j, c := range cents {
		if d := sqDist(p, c); d < bd {
			bi, bd = j, d
		}
	}
	return bi, bd
}

// kmeansPP picks initial centroids with probability proportional to the
// squared distance from the nearest centroid chosen so far.
func kmeansPP(pts [][]float64, k int, rng *rand.Rand) [][]float64 {
	cents := [][]float64{slices.Clone(pts[rng.IntN(len(pts))])}
	d := make([]float64, len(pts))
	for len(cents) < k {
		var total float64
		for i, p := range pts {
			_, d[i] = nearest(p, cents)
			total += d[i]
		}
		pick := len(pts) - 1
		if total > 0 {
			u := rng.Float64() * total
			for i, v := range d {
				if u -= v; u < 0 {
					pick = i
					break
				}
			}
		} else {
			pick = rng.IntN(len(pts))
		}
		cents = append(cents, slices.Clone(pts[pick]))
	}
	return cents
}

func lloyd(pts [][]float64, cents [][]float64, maxIter int) kmeansResult {
	labels := make([]int, len(pts))
	for i := range labels {
		labels[i] = -1
	}
	var inertia float64
	for range maxIter {
		changed := false
		inertia = 0
		for i, p := range pts {
			j, d := nearest(p, cents)
			inertia += d
			if labels[i] != j {
				labels[i], changed = j, true
			}
		}
		if !changed {
			break
		}
		updateCentroids(pts, labels, cents)
	}
	return kmeansResult{centroids: cents, labels: labels, inertia: inertia}
}

// updateCentroids moves each centroid to its members' mean; an empty
// cluster is re-seeded at the point farthest from its own centroid.
func updateCentroids(pts [][]float64, labels []int, cents [][]float64) {
	counts := make([]int, len(cents))
	for _, c := range cents {
		clear(c)
	}
	for i, p := range pts {
		counts[labels[i]]++
		for d, v := range p {
			cents[labels[i]][d] += v
		}
	}
	for j, c := range cents {
		if counts[j] == 0 {
			continue
		}
		for d := range c {
			c[d] /= float64(counts[j])
		}
	}
	for j, n := range counts {
		if n == 0 {
			copy(cents[j], farthest(pts, labels, cents))
		}
	}
}

func farthest(pts [][]float64, labels []int, cents [][]float64) []float64 {
	bi, bd := 0, -1.0
	for i, p := range pts {
		if d := sqDist(p, cents[labels[i]]); d > bd {
			bi, bd = i, d
		}
	}
	return pts[bi]
}

func sortClusters(pts [][]float64, r kmeansResult) kmeansResult {
	order := make([]int, len(r.centroids))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		return slices.CompareFunc(r.centroids[a], r.centroids[b], cmp.Compare[float64])
	})
	newID := make([]int, len(order))
	cents := make([][]float64, len(order))
	for n, old := range order {
		newID[old] = n
		cents[n] = r.centroids[old]
	}
	for i := range r.labels {
		r.labels[i] = newID[r.labels[i]]
	}
	r.centroids = cents
	return r
}

// silhouette is the mean silhouette coefficient over at most maxPts
// points taken at a fixed stride (O(m²) otherwise dominates on C-MAPSS
// sized data).
func silhouette(pts [][]float64, labels []int, k, maxPts int) float64 {
	step := max(1, len(pts)/maxPts)
	var idx []int
	for i := 0; i < len(pts); i += step {
		idx = append(idx, i)
	}
	var total float64
	sum := make([]float64, k)
	cnt := make([]int, k)
	for _, i := range idx {
		clear(sum)
		clear(cnt)
		for _, j := range idx {
			if i != j {
				sum[labels[j]] += math.Sqrt(sqDist(pts[i], pts[j]))
				cnt[labels[j]]++
			}
		}
		total += silhouetteOf(labels[i], sum, cnt)
	}
	return total / float64(len(idx))
}

func silhouetteOf(own int, sum []float64, cnt []int) float64 {
	if cnt[own] == 0 {
		return 0 // singleton cluster: defined as 0
	}
	a := sum[own] / float64(cnt[own])
	b := math.Inf(1)
	for c := range sum {
		if c != own && cnt[c] > 0 {
			b = min(b, sum[c]/float64(cnt[c]))
		}
	}
	if math.IsInf(b, 1) || max(a, b) == 0 {
		return 0
	}
	return (b - a) / max(a, b)
}
