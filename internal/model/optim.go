package model

import "math"

// Optimizer moves parameters against their gradient. Implementations keep
// per-parameter state, so one instance serves one parameter vector.
// params[:nw] are weights, the rest biases; only AdamW uses the split.
type Optimizer[T Float] interface {
	Step(params, grads []T, nw int, lr T)
}

// state returns s resized to n, allocating only on first use.
func state[T Float](s []T, n int) []T {
	if len(s) != n {
		return make([]T, n)
	}
	return s
}

func sqrt[T Float](x T) T { return T(math.Sqrt(float64(x))) }

// SGD is plain gradient descent: p -= lr·g.
type SGD[T Float] struct{}

func (SGD[T]) Step(params, grads []T, _ int, lr T) {
	g := grads[:len(params)]
	for i := range params {
		params[i] -= lr * g[i]
	}
}

// Momentum is heavy-ball SGD: v = mu·v + g; p -= lr·v.
type Momentum[T Float] struct {
	Mu T
	v  []T
}

func (o *Momentum[T]) Step(params, grads []T, _ int, lr T) {
	o.v = state(o.v, len(params))
	g, v := grads[:len(params)], o.v[:len(params)]
	for i := range params {
		v[i] = o.Mu*v[i] + g[i]
		params[i] -= lr * v[i]
	}
}

// Nesterov is Nesterov momentum in the form used by PyTorch:
// v = mu·v + g; p -= lr·(g + mu·v).
type Nesterov[T Float] struct {
	Mu T
	v  []T
}

func (o *Nesterov[T]) Step(params, grads []T, _ int, lr T) {
	o.v = state(o.v, len(params))
	g, v := grads[:len(params)], o.v[:len(params)]
	for i := range params {
		v[i] = o.Mu*v[i] + g[i]
		params[i] -= lr * (g[i] + o.Mu*v[i])
	}
}

// AdaGrad: s += g²; p -= lr·g/(√s + eps).
type AdaGrad[T Float] struct {
	Eps T
	s   []T
}

func (o *AdaGrad[T]) Step(params, grads []T, _ int, lr T) {
	o.s = state(o.s, len(params))
	g, s := grads[:len(params)], o.s[:len(params)]
	for i := range params {
		s[i] += g[i] * g[i]
		params[i] -= lr * g[i] / (sqrt(s[i]) + o.Eps)
	}
}

// RMSprop: s = rho·s + (1-rho)·g²; p -= lr·g/(√s + eps).
type RMSprop[T Float] struct {
	Rho, Eps T
	s        []T
}

func (o *RMSprop[T]) Step(params, grads []T, _ int, lr T) {
	o.s = state(o.s, len(params))
	g, s := grads[:len(params)], o.s[:len(params)]
	for i := range params {
		s[i] = o.Rho*s[i] + (1-o.Rho)*g[i]*g[i]
		params[i] -= lr * g[i] / (sqrt(s[i]) + o.Eps)
	}
}

// Adam (Kingma & Ba): m = b1·m + (1-b1)·g; v = b2·v + (1-b2)·g²;
// p -= lr·m̂/(√v̂ + eps) with m̂ = m/(1-b1^t), v̂ = v/(1-b2^t).
type Adam[T Float] struct {
	Beta1, Beta2, Eps T
	m, v              []T
	t                 int
}

// NewAdam returns Adam with the usual defaults b1=0.9, b2=0.999, eps=1e-8.
func NewAdam[T Float]() *Adam[T] { return &Adam[T]{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8} }

func (o *Adam[T]) Step(params, grads []T, _ int, lr T) {
	o.m, o.v = state(o.m, len(params)), state(o.v, len(params))
	o.t++
	// Bias corrections in float64: b^t underflows float32 precision early.
	c1 := T(1 / (1 - math.Pow(float64(o.Beta1), float64(o.t))))
	c2 := T(1 / (1 - math.Pow(float64(o.Beta2), float64(o.t))))
	if adamFast(params, grads, o.m, o.v, o.Beta1, o.Beta2, o.Eps, c1, c2, lr) {
		return
	}
	adamScalar(params, grads, o.m, o.v, o.Beta1, o.Beta2, o.Eps, c1, c2, lr)
}

// adamScalar is the loop of Adam.Step with the bias corrections c1, c2.
func adamScalar[T Float](params, grads, m, v []T, b1, b2, eps, c1, c2, lr T) {
	g, m, v := grads[:len(params)], m[:len(params)], v[:len(params)]
	for i := range params {
		gi := g[i]
		m[i] = b1*m[i] + (1-b1)*gi
		v[i] = b2*v[i] + (1-b2)*gi*gi
		params[i] -= lr * (m[i] * c1) / (sqrt(v[i]*c2) + eps)
	}
}

// AdamW is Adam with decoupled weight decay (Loshchilov & Hutter):
// weights first shrink by p -= lr·wd·p, then take the Adam step. Biases
// are not decayed.
type AdamW[T Float] struct {
	Adam[T]
	WeightDecay T
}

// NewAdamW returns AdamW with Adam's defaults and decay wd.
func NewAdamW[T Float](wd T) *AdamW[T] { return &AdamW[T]{Adam: *NewAdam[T](), WeightDecay: wd} }

func (o *AdamW[T]) Step(params, grads []T, nw int, lr T) {
	k := 1 - lr*o.WeightDecay
	for i := range params[:nw] {
		params[i] *= k
	}
	o.Adam.Step(params, grads, nw, lr)
}

// clipGlobalNorm rescales g so its Euclidean norm is at most c and returns
// the norm before clipping.
func clipGlobalNorm[T Float](g []T, c float64) float64 {
	var ss float64
	for _, v := range g {
		ss += float64(v) * float64(v)
	}
	norm := math.Sqrt(ss)
	if c > 0 && norm > c {
		s := T(c / norm)
		for i := range g {
			g[i] *= s
		}
	}
	return norm
}
