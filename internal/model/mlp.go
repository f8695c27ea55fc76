package model

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// Float is the element type of a network: float32 for speed, float64 for
// reference computations and gradient checks.
type Float interface {
	~float32 | ~float64
}

// Layer describes one dense layer: its output width and activation.
type Layer struct {
	Size int
	Act  Activation
}

// Limits that keep a decoded or constructed network from demanding
// unbounded memory.
const (
	MaxLayers    = 64
	MaxWidth     = 1 << 16
	MaxParams    = 1 << 26
	maxBatchRows = 1 << 20
)

// MLP is a fully connected feed-forward network. Parameters live in one
// flat slice, all weight matrices first and all biases after, so optimizers
// see one vector and L2/weight decay applies to the prefix [0, NumWeights).
type MLP[T Float] struct {
	inputs  int
	layers  []Layer
	params  []T
	wOff    []int // start of layer l's weights (out x in, row-major)
	bOff    []int // start of layer l's biases
	nWeight int
}

// New builds a network with inputs inputs and the given layers, initialised
// from seed as PyTorch initialises nn.Linear: weights and biases uniform
// on ±1/√fan_in.
func New[T Float](inputs int, layers []Layer, seed uint64) (*MLP[T], error) {
	n, err := newShape[T](inputs, layers)
	if err != nil {
		return nil, err
	}
	n.init(seed)
	return n, nil
}

func newShape[T Float](inputs int, layers []Layer) (*MLP[T], error) {
	if err := checkShape(inputs, layers); err != nil {
		return nil, err
	}
	n := &MLP[T]{inputs: inputs, layers: append([]Layer(nil), layers...)}
	in := inputs
	for _, l := range layers {
		n.wOff = append(n.wOff, n.nWeight)
		n.nWeight += in * l.Size
		in = l.Size
	}
	off := n.nWeight
	for _, l := range layers {
		n.bOff = append(n.bOff, off)
		off += l.Size
	}
	n.params = make([]T, off)
	return n, nil
}

func checkShape(inputs int, layers []Layer) error {
	if inputs < 1 || inputs > MaxWidth {
		return fmt.Errorf("model: inputs %d out of range [1, %d]", inputs, MaxWidth)
	}
	if len(layers) < 1 || len(layers) > MaxLayers {
		return fmt.Errorf("model: %d layers, want 1 to %d", len(layers), MaxLayers)
	}
	total, in := 0, inputs
	for i, l := range layers {
		if l.Size < 1 || l.Size > MaxWidth {
			return fmt.Errorf("model: layer %d size %d out of range [1, %d]", i, l.Size, MaxWidth)
		}
		if !l.Act.valid() {
			return fmt.Errorf("model: layer %d: unknown activation %d", i, l.Act)
		}
		total += (in + 1) * l.Size
		if total > MaxParams {
			return errors.New("model: too many parameters")
		}
		in = l.Size
	}
	return nil
}

func (n *MLP[T]) init(seed uint64) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	in := n.inputs
	for l := range n.layers {
		// PyTorch's nn.Linear default (kaiming_uniform with a=√5, which is
		// U(±1/√fan_in), and the same bound for biases), whatever the
		// activation. He-uniform (±√(6/fan_in), 2.4 times wider) with zero
		// biases, used before, ended 3 epochs of the bench/train task at
		// 2.3x (64-64-32-8) and 4x (128-256-256-8) PyTorch's full-data MSE
		// with the same Adam; with this init both are within 5%.
		limit := 1 / math.Sqrt(float64(in))
		for i := range n.weights(l) {
			n.params[n.wOff[l]+i] = T((2*rng.Float64() - 1) * limit)
		}
		for i := range n.biases(l) {
			n.params[n.bOff[l]+i] = T((2*rng.Float64() - 1) * limit)
		}
		in = n.layers[l].Size
	}
}

// paramCount is the parameter count of a shape accepted by checkShape.
func paramCount(inputs int, layers []Layer) int {
	total, in := 0, inputs
	for _, l := range layers {
		total += (in + 1) * l.Size
		in = l.Size
	}
	return total
}

// Inputs returns the input width.
func (n *MLP[T]) Inputs() int { return n.inputs }

// Outputs returns the output width.
func (n *MLP[T]) Outputs() int { return n.layers[len(n.layers)-1].Size }

// Layers returns a copy of the layer descriptions.
func (n *MLP[T]) Layers() []Layer { return append([]Layer(nil), n.layers...) }

// Params returns the parameter vector itself (not a copy): weights of every
// layer (out x in, row-major) followed by every bias vector.
func (n *MLP[T]) Params() []T { return n.params }

// NumWeights is the length of the weight prefix of Params.
func (n *MLP[T]) NumWeights() int { return n.nWeight }

func (n *MLP[T]) inWidth(l int) int {
	if l == 0 {
		return n.inputs
	}
	return n.layers[l-1].Size
}

func (n *MLP[T]) weights(l int) []T {
	return n.params[n.wOff[l] : n.wOff[l]+n.inWidth(l)*n.layers[l].Size]
}

func (n *MLP[T]) biases(l int) []T {
	return n.params[n.bOff[l] : n.bOff[l]+n.layers[l].Size]
}

// maxWidth is the widest layer including the input.
func (n *MLP[T]) maxWidth() int {
	w := n.inputs
	for _, l := range n.layers {
		w = max(w, l.Size)
	}
	return w
}

// Clone returns a deep copy.
func (n *MLP[T]) Clone() *MLP[T] {
	c, _ := newShape[T](n.inputs, n.layers)
	copy(c.params, n.params)
	return c
}

// Convert copies a network into another precision, e.g. a float32 network
// into float64 for checking.
func Convert[D, S Float](src *MLP[S]) *MLP[D] {
	dst, _ := newShape[D](src.inputs, src.layers)
	for i, v := range src.params {
		dst.params[i] = D(v)
	}
	return dst
}
