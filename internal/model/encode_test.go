package model

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"testing"
)

func testNet() *MLP[float32] {
	n, _ := New[float32](3, []Layer{{4, ReLU}, {2, Sigmoid}}, 42)
	return n
}

func TestMarshalRoundTrip(t *testing.T) {
	n := testNet()
	b, err := n.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var got MLP[float32]
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if got.Inputs() != 3 || !slices.Equal(got.Layers(), n.Layers()) || !slices.Equal(got.Params(), n.Params()) {
		t.Fatal("round trip changed the network")
	}
	// float32 bytes widen exactly into a float64 network and back.
	var wide MLP[float64]
	if err := wide.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	b64, _ := wide.MarshalBinary()
	var back MLP[float32]
	if err := back.UnmarshalBinary(b64); err != nil || !slices.Equal(back.Params(), n.Params()) {
		t.Fatalf("float64 round trip: %v", err)
	}
}

// Every proper prefix of a valid encoding must be refused, not panic.
func TestUnmarshalTruncated(t *testing.T) {
	b, _ := testNet().MarshalBinary()
	for i := range len(b) {
		var n MLP[float32]
		if err := n.UnmarshalBinary(b[:i]); !errors.Is(err, ErrFormat) {
			t.Fatalf("prefix of %d bytes: err = %v", i, err)
		}
	}
}

func TestUnmarshalCorrupt(t *testing.T) {
	good, _ := testNet().MarshalBinary()
	paramStart := headerLen + 2*layerLen + 8
	cases := []struct {
		name string
		edit func(b []byte) []byte
	}{
		{"magic", func(b []byte) []byte { b[0] = 'X'; return b }},
		{"future version", func(b []byte) []byte { b[4] = FormatVersion + 1; return b }},
		{"element size", func(b []byte) []byte { b[5] = 2; return b }},
		{"zero layers", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[10:], 0); return b }},
		{"huge layer count", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[10:], math.MaxUint32); return b }},
		{"huge width", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[headerLen:], MaxWidth); return b }},
		{"unknown activation", func(b []byte) []byte { b[headerLen+4] = 200; return b }},
		{"param count", func(b []byte) []byte { b[headerLen+2*layerLen]++; return b }},
		{"trailing byte", func(b []byte) []byte { return append(b, 0) }},
		{"nan weight", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[paramStart:], math.Float32bits(float32(math.NaN())))
			return b
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var n MLP[float32]
			if err := n.UnmarshalBinary(c.edit(bytes.Clone(good))); !errors.Is(err, ErrFormat) {
				t.Errorf("err = %v, want ErrFormat", err)
			}
		})
	}
}

// A float64 weight beyond float32's range becomes +Inf in a float32
// network and must be refused rather than loaded.
func TestUnmarshalOutOfRangeForFloat32(t *testing.T) {
	n64 := Convert[float64](testNet())
	n64.Params()[0] = 1e300
	b, _ := n64.MarshalBinary()
	var n MLP[float32]
	if err := n.UnmarshalBinary(b); !errors.Is(err, ErrFormat) {
		t.Errorf("err = %v, want ErrFormat", err)
	}
}

func FuzzUnmarshal(f *testing.F) {
	good, _ := testNet().MarshalBinary()
	f.Add(good)
	f.Add(good[:headerLen])
	f.Fuzz(func(t *testing.T, data []byte) {
		var n MLP[float32]
		if err := n.UnmarshalBinary(data); err != nil {
			return
		}
		// Anything accepted must re-encode to the same bytes (float32 source)
		// or at least decode again, and must be usable.
		b, _ := n.MarshalBinary()
		var again MLP[float32]
		if err := again.UnmarshalBinary(b); err != nil {
			t.Fatalf("re-encoding of an accepted input refused: %v", err)
		}
		n.NewPredictor().Predict(make([]float32, n.Inputs()), nil)
	})
}
