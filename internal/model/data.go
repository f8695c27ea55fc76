package model

import (
	"errors"
	"fmt"
	"math"
)

// ErrEmpty reports a data set without samples.
var ErrEmpty = errors.New("model: empty data set")

// checkData validates flat row-major inputs x and targets y against the
// network's widths and returns the number of samples.
func checkData[T Float](n *MLP[T], x, y []T, name string) (int, error) {
	if len(x) == 0 {
		return 0, fmt.Errorf("%s: %w", name, ErrEmpty)
	}
	if len(x)%n.inputs != 0 {
		return 0, fmt.Errorf("model: %s: %d input values is not a multiple of %d inputs", name, len(x), n.inputs)
	}
	rows := len(x) / n.inputs
	if len(y) != rows*n.Outputs() {
		return 0, fmt.Errorf("model: %s: %d target values, want %d (%d samples x %d outputs)",
			name, len(y), rows*n.Outputs(), rows, n.Outputs())
	}
	if i := firstNonFinite(x); i >= 0 {
		return 0, fmt.Errorf("model: %s: input sample %d feature %d is %v", name, i/n.inputs, i%n.inputs, x[i])
	}
	if i := firstNonFinite(y); i >= 0 {
		return 0, fmt.Errorf("model: %s: target sample %d output %d is %v", name, i/n.Outputs(), i%n.Outputs(), y[i])
	}
	return rows, nil
}

func firstNonFinite[T Float](s []T) int {
	for i, v := range s {
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			return i
		}
	}
	return -1
}
