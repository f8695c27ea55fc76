package model

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Binary layout, all integers little-endian:
//
//	magic    "FMLP"
//	version  u8 (FormatVersion)
//	elemSize u8, 4 (float32) or 8 (float64) per stored parameter
//	inputs   u32
//	nLayers  u32
//	layers   nLayers x {size u32, activation u8}
//	nParams  u64, must equal the count implied by the layers
//	params   nParams x elemSize bytes, IEEE 754, in Params() order
//
// Nothing else may follow. Checksums belong to the enclosing artifact.
const (
	FormatVersion = 1
	magic         = "FMLP"
	headerLen     = len(magic) + 2 + 4 + 4
	layerLen      = 5
)

// ErrFormat reports bytes that are not a valid encoded network.
var ErrFormat = errors.New("model: invalid encoding")

// MarshalBinary encodes the architecture and weights in T's precision.
func (n *MLP[T]) MarshalBinary() ([]byte, error) {
	es := elemSize[T]()
	b := make([]byte, 0, headerLen+layerLen*len(n.layers)+8+es*len(n.params))
	b = append(b, magic...)
	b = append(b, FormatVersion, byte(es))
	b = binary.LittleEndian.AppendUint32(b, uint32(n.inputs))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(n.layers)))
	for _, l := range n.layers {
		b = binary.LittleEndian.AppendUint32(b, uint32(l.Size))
		b = append(b, byte(l.Act))
	}
	b = binary.LittleEndian.AppendUint64(b, uint64(len(n.params)))
	for _, p := range n.params {
		if es == 4 {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(p)))
		} else {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(float64(p)))
		}
	}
	return b, nil
}

func elemSize[T Float]() int {
	// Decide by precision rather than type name so named float types work.
	big := float64(math.MaxFloat32) * 2
	if math.IsInf(float64(T(big)), 1) {
		return 4
	}
	return 8
}

// UnmarshalBinary replaces n with the network encoded in data. Either
// precision decodes into either T; float64 weights outside T's range are
// refused. Every size is checked against the data length before any
// allocation, so corrupt input costs no more memory than its own length.
func (n *MLP[T]) UnmarshalBinary(data []byte) error {
	inputs, layers, es, rest, err := decodeHeader(data)
	if err != nil {
		return err
	}
	if err := checkShape(inputs, layers); err != nil {
		return fmt.Errorf("%w: %w", ErrFormat, err)
	}
	want := paramCount(inputs, layers)
	if len(rest) < 8 {
		return fmt.Errorf("%w: truncated before parameter count", ErrFormat)
	}
	count, rest := binary.LittleEndian.Uint64(rest), rest[8:]
	if count != uint64(want) {
		return fmt.Errorf("%w: %d parameters recorded, layers imply %d", ErrFormat, count, want)
	}
	if len(rest) != es*want {
		return fmt.Errorf("%w: %d parameter bytes, want %d", ErrFormat, len(rest), es*want)
	}
	m, _ := newShape[T](inputs, layers) // allocation now bounded by len(data)
	for i := range m.params {
		var v float64
		if es == 4 {
			v = float64(math.Float32frombits(binary.LittleEndian.Uint32(rest[4*i:])))
		} else {
			v = math.Float64frombits(binary.LittleEndian.Uint64(rest[8*i:]))
		}
		m.params[i] = T(v)
		if f := float64(m.params[i]); math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("%w: parameter %d is %v", ErrFormat, i, v)
		}
	}
	*n = *m
	return nil
}

func decodeHeader(data []byte) (inputs int, layers []Layer, es int, rest []byte, err error) {
	if len(data) < headerLen {
		return 0, nil, 0, nil, fmt.Errorf("%w: %d bytes is shorter than the header", ErrFormat, len(data))
	}
	if string(data[:4]) != magic {
		return 0, nil, 0, nil, fmt.Errorf("%w: bad magic %q", ErrFormat, data[:4])
	}
	if v := data[4]; v != FormatVersion {
		return 0, nil, 0, nil, fmt.Errorf("%w: format version %d, this build reads %d", ErrFormat, v, FormatVersion)
	}
	es = int(data[5])
	if es != 4 && es != 8 {
		return 0, nil, 0, nil, fmt.Errorf("%w: element size %d", ErrFormat, es)
	}
	in := binary.LittleEndian.Uint32(data[6:])
	nl := binary.LittleEndian.Uint32(data[10:])
	rest = data[headerLen:]
	if nl < 1 || nl > MaxLayers || uint64(len(rest)) < uint64(nl)*layerLen {
		return 0, nil, 0, nil, fmt.Errorf("%w: %d layers", ErrFormat, nl)
	}
	if in > MaxWidth {
		return 0, nil, 0, nil, fmt.Errorf("%w: %d inputs", ErrFormat, in)
	}
	layers = make([]Layer, nl)
	for i := range layers {
		size := binary.LittleEndian.Uint32(rest)
		if size > MaxWidth {
			return 0, nil, 0, nil, fmt.Errorf("%w: layer %d size %d", ErrFormat, i, size)
		}
		layers[i] = Layer{Size: int(size), Act: Activation(rest[4])}
		rest = rest[layerLen:]
	}
	return int(in), layers, es, rest, nil
}
