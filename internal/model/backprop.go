package model

// workspace holds every buffer one forward/backward pass over a batch of up
// to rows samples needs, so the training loop allocates nothing.
type workspace[T Float] struct {
	net   *MLP[T]
	rows  int
	acts  [][]T // acts[0] is the input batch, acts[l+1] the output of layer l
	delta [][]T // delta[l]: dLoss/d(output of layer l), then dLoss/dz in place
	grad  []T
	buf   gemmBuf[T]
}

func newWorkspace[T Float](n *MLP[T], rows int) *workspace[T] {
	w := &workspace[T]{net: n, rows: rows, grad: make([]T, len(n.params))}
	w.acts = append(w.acts, make([]T, rows*n.inputs))
	for _, l := range n.layers {
		w.acts = append(w.acts, make([]T, rows*l.Size))
		w.delta = append(w.delta, make([]T, rows*l.Size))
	}
	return w
}

// forward runs the batch already in acts[0] (rows samples) and returns the
// output activations.
func (w *workspace[T]) forward(rows int) []T {
	n := w.net
	for l, ly := range n.layers {
		in, out := n.inWidth(l), ly.Size
		z := w.acts[l+1][:rows*out]
		// z (rows x out) = b + x (rows x in) · Wᵀ, W stored out x in.
		gemmBias(rows, out, in, w.acts[l][:rows*in], false, n.weights(l), true, n.biases(l), z, &w.buf)
		activate(ly.Act, z)
	}
	return w.acts[len(n.layers)][:rows*n.Outputs()]
}

// lossAndGrad runs forward and backward on the batch in acts[0] with
// targets t and leaves d(mean loss over norm elements)/dparams in w.grad.
// It returns the summed loss; L2 is not included (see addL2).
func (w *workspace[T]) lossAndGrad(rows int, t []T, loss Loss, norm int) float64 {
	n := w.net
	y := w.forward(rows)
	last := len(n.layers) - 1
	sum := lossGrad(loss, y, t, w.delta[last][:len(y)], 1/T(norm))
	for l := last; l >= 0; l-- {
		in, out := n.inWidth(l), n.layers[l].Size
		dz := w.delta[l][:rows*out]
		scaleByDerivative(n.layers[l].Act, w.acts[l+1][:rows*out], dz)
		x := w.acts[l][:rows*in]
		// dW (out x in) = dzᵀ · x ; reduction over the batch rows.
		gemm(out, in, rows, dz, true, x, false, w.grad[n.wOff[l]:n.wOff[l]+out*in], false, &w.buf)
		db := w.grad[n.bOff[l] : n.bOff[l]+out]
		clear(db)
		if !addRowsFast(db, dz, rows) {
			for r := 0; r < rows; r++ {
				for j, v := range dz[r*out : (r+1)*out] {
					db[j] += v
				}
			}
		}
		if l > 0 {
			// dx (rows x in) = dz · W.
			gemm(rows, in, out, dz, false, n.weights(l), false, w.delta[l-1][:rows*in], false, &w.buf)
		}
	}
	return sum
}

// addL2 adds the gradient of (lambda/2)·||weights||² to grad and returns
// the penalty. Biases are not regularised: penalising them only shifts
// outputs without reducing capacity.
func addL2[T Float](params, grad []T, nw int, lambda T) float64 {
	if lambda == 0 {
		return 0
	}
	var ss float64
	g := grad[:nw]
	for i, p := range params[:nw] {
		g[i] += lambda * p
		ss += float64(p) * float64(p)
	}
	return 0.5 * float64(lambda) * ss
}

// Objective returns the mean loss of the network on the samples in x (flat,
// row-major, Inputs() per row) against targets y, plus the L2 penalty
// (l2/2)·||weights||², and writes its gradient with respect to Params into
// grad when grad is not nil. It is the function Train minimises; exported
// so callers can check or optimise it directly.
func (n *MLP[T]) Objective(x, y []T, loss Loss, l2 T, grad []T) (float64, error) {
	rows, err := checkData(n, x, y, "data")
	if err != nil {
		return 0, err
	}
	if err := loss.validate(); err != nil {
		return 0, err
	}
	w := newWorkspace(n, rows)
	copy(w.acts[0], x)
	norm := rows * n.Outputs()
	sum := w.lossAndGrad(rows, y, loss, norm)
	pen := addL2(n.params, w.grad, n.nWeight, l2)
	if grad != nil {
		copy(grad, w.grad)
	}
	return sum/float64(norm) + pen, nil
}
