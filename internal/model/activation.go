package model

import (
	"fmt"
	"math"
)

// Activation selects the element-wise function of a layer.
type Activation uint8

// The activations. Values are part of the binary encoding: never renumber.
const (
	Linear Activation = iota
	ReLU
	LeakyReLU
	Tanh
	Sigmoid
	numActivations
)

// leakySlope is fixed rather than configurable so the encoding needs no
// per-layer parameter; 0.01 matches PyTorch's default.
const leakySlope = 0.01

var activationNames = [...]string{"linear", "relu", "leaky_relu", "tanh", "sigmoid"}

func (a Activation) String() string {
	if a < numActivations {
		return activationNames[a]
	}
	return fmt.Sprintf("Activation(%d)", uint8(a))
}

func (a Activation) valid() bool { return a < numActivations }

// activate applies a in place. Kept as one switch outside the loops so the
// per-element work is a tight loop the compiler can keep in registers.
func activate[T Float](a Activation, z []T) {
	switch a {
	case ReLU:
		if reluFast(z) {
			return
		}
		for i, v := range z {
			if v < 0 {
				z[i] = 0
			}
		}
	case LeakyReLU:
		for i, v := range z {
			if v < 0 {
				z[i] = v * leakySlope
			}
		}
	case Tanh:
		for i, v := range z {
			z[i] = T(math.Tanh(float64(v)))
		}
	case Sigmoid:
		for i, v := range z {
			z[i] = T(1 / (1 + math.Exp(-float64(v))))
		}
	}
}

// scaleByDerivative multiplies g by f'(z), written in terms of the output
// y = f(z): every supported activation allows it, so the forward pass need
// not keep pre-activations.
func scaleByDerivative[T Float](a Activation, y, g []T) {
	g = g[:len(y)]
	switch a {
	case ReLU:
		if reluGradFast(y, g) {
			return
		}
		for i, v := range y {
			if v <= 0 {
				g[i] = 0
			}
		}
	case LeakyReLU:
		for i, v := range y {
			if v < 0 {
				g[i] *= leakySlope
			}
		}
	case Tanh:
		for i, v := range y {
			g[i] *= 1 - v*v
		}
	case Sigmoid:
		for i, v := range y {
			g[i] *= v * (1 - v)
		}
	}
}
