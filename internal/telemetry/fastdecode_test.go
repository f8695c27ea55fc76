package telemetry

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fastLimits are the limits FuzzDecodeTelemetry uses (small, to reach too_many_items)
// and the defaults: the fast path must agree with DecodeTelemetry under both.
func fastLimits() []Limits {
	small := DefaultLimits()
	small.MaxBatch, small.MaxValues = 4, 8
	zeroBatch := DefaultLimits()
	zeroBatch.MaxBatch = 0
	return []Limits{small, DefaultLimits(), zeroBatch}
}

// warmup fills a decoder's buffers and name cache so the comparison also covers reuse.
const warmup = `{"ts":"2025-06-01T11:00:00Z","values":{"temp":1,"vib":2,"a":3,"b":4,"c":5}}`

// sameDecode fails the test unless FastDecoder (fresh, reused) and DecodeTelemetryFast
// give exactly what DecodeTelemetry gives for payload.
func sameDecode(t *testing.T, payload []byte, lim Limits) {
	t.Helper()
	wantS, wantR, wantErr := DecodeTelemetry(payload, lim, fuzzNow)
	var d FastDecoder
	if _, _, err := d.Decode([]byte(warmup), DefaultLimits(), fuzzNow); err != nil {
		t.Fatal(err)
	}
	gotS, gotR, gotErr := d.Decode(payload, lim, fuzzNow)
	compareDecode(t, payload, "Decode", gotS, gotR, gotErr, wantS, wantR, wantErr)
	gotS, gotR, gotErr = DecodeTelemetryFast(payload, lim, fuzzNow)
	compareDecode(t, payload, "DecodeTelemetryFast", gotS, gotR, gotErr, wantS, wantR, wantErr)
}

func compareDecode(t *testing.T, payload []byte, name string, gotS []Sample, gotR []Rejection, gotErr error,
	wantS []Sample, wantR []Rejection, wantErr error) {
	t.Helper()
	if !reflect.DeepEqual(gotS, wantS) || !reflect.DeepEqual(gotR, wantR) || !sameErr(gotErr, wantErr) {
		t.Fatalf("%s(%q):\n got  %+v %+v %v\n want %+v %+v %v", name, payload, gotS, gotR, gotErr, wantS, wantR, wantErr)
	}
}

func sameErr(a, b error) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var ra, rb *RejectError
	return errors.As(a, &ra) && errors.As(b, &rb) && *ra == *rb
}

func TestFastDecodeTakesFastPath(t *testing.T) {
	cases := []struct{ payload, sensors string }{
		{`{"ts":"2025-06-01T11:59:59.5Z","values":{"temp":71.5,"vib":0.02}}`, "temp vib"},
		{` {"values":{"b":-0,"a":1e3,"c":-1.25E-2} , "ts":"2025-06-01T13:00:00+02:00"}` + "\n", "a b c"},
		{`{"ts":1748779200000,"values":{"x.y_z-1":0}}`, "x.y_z-1"},
		{`{"ts":"2025-06-01T11:00:00.123456789Z","values":{"s7":7,"s6":6,"s5":5,"s4":4,"s3":3,"s2":2,"s1":1,"s0":0}}`,
			"s0 s1 s2 s3 s4 s5 s6 s7"},
	}
	for _, tc := range cases {
		t.Run(tc.payload, func(t *testing.T) {
			var d FastDecoder
			s, ok := d.fast([]byte(tc.payload), DefaultLimits(), fuzzNow, true)
			if !ok || len(s) != 1 {
				t.Fatalf("fast path refused a canonical payload")
			}
			var names []string
			for _, v := range s[0].Values {
				names = append(names, v.Sensor)
			}
			if strings.Join(names, " ") != tc.sensors {
				t.Fatalf("sensors %v, want %s", names, tc.sensors)
			}
			sameDecode(t, []byte(tc.payload), DefaultLimits())
		})
	}
}

// TestFastDecodeMatchesTable lists the unusual inputs the fast path must hand over (or
// get right): each is compared with DecodeTelemetry under every limit set.
func TestFastDecodeMatchesTable(t *testing.T) {
	ts := `"ts":"2025-06-01T11:59:59Z"`
	cases := []string{
		``, `   `, `{}`, `[]`, `null`, `{`, `}`, `{"ts":`, `x`,
		`{` + ts + `}`,
		`{` + ts + `,"values":{}}`,
		`{` + ts + `,"values":null}`,
		`{` + ts + `,"values":{"a":1}}x`,
		`{` + ts + `,"values":{"a":1},}`,
		`{` + ts + `,"values":{"a":1,}}`,
		`{` + ts + `,"values":{"a":1,"a":2}}`,               // duplicate sensor: last wins
		`{` + ts + `,` + ts + `,"values":{"a":1}}`,          // duplicate key
		`{"TS":"2025-06-01T11:59:59Z","values":{"a":1}}`,    // case-insensitive field match
		`{` + ts + `,"Values":{"a":1}}`,                     // same
		`{` + ts + `,"values":{"a":1},"extra":[1,{"x":2}]}`, // unknown field ignored
		`{` + ts + `,"values":{"a":1},"value":3}`,
		`{` + ts + `,"values":{"\u0061":1}}`, // escape in a name
		`{"ts":"2025-06-01T11:59:59\u005a","values":{"a":1}}`,
		`{` + ts + `,"values":{"é":1}}`,
		`{` + ts + `,"values":{"_a":1,"$b":2,"":3,"a b":4}}`,
		`{` + ts + `,"values":{"a":"1"}}`,
		`{` + ts + `,"values":{"a":"NaN","b":NaN,"c":Infinity,"d":-inf}}`,
		`{` + ts + `,"values":{"a":null,"b":true,"c":{},"d":[]}}`,
		`{` + ts + `,"values":{"a":1e999,"b":-1e400,"c":1e-400}}`,
		`{` + ts + `,"values":{"a":01}}`,
		`{` + ts + `,"values":{"a":1.}}`,
		`{` + ts + `,"values":{"a":.5}}`,
		`{` + ts + `,"values":{"a":+1}}`,
		`{` + ts + `,"values":{"a":1e}}`,
		`{` + ts + `,"values":{"a":0x10}}`,
		`{` + ts + `,"values":{"a":1_000}}`,
		`{` + ts + `,"values":{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9}}`, // > 8 values
		`{"ts":null,"values":{"a":1}}`,
		`{"ts":"yesterday","values":{"a":1}}`,
		`{"ts":"1980-01-01T00:00:00Z","values":{"a":1}}`,
		`{"ts":"2025-06-03T00:00:00Z","values":{"a":1}}`,
		`{"ts":1e300,"values":{"a":1}}`,
		`{"ts":-5,"values":{"a":1}}`,
		`{"ts":1748779200000.5,"values":{"a":1}}`,
		`{"values":{"a":1}}`,
		"\v{" + ts + `,"values":{"a":1}}`,
		"{" + ts + `,"values":{"a":1}}` + "\u00a0",
		`[{` + ts + `,"values":{"a":1}}]`,
		`[{` + ts + `,"values":{"a":1}},{` + ts + `,"values":{"b":"x"}},5]`,
		`{` + ts + `,"values":{"a":1}}{}`,
		`{` + ts + "\x00" + `,"values":{"a":1}}`,
		`{` + ts + `,"values":{"a":1}` + strings.Repeat(" ", 300<<10) + `}`, // oversize
	}
	for i, c := range cases {
		for _, lim := range fastLimits() {
			t.Run(strconv.Itoa(i), func(t *testing.T) { sameDecode(t, []byte(c), lim) })
		}
	}
}

// FuzzFastDecodeMatches is the differential test: FastDecoder must give exactly what
// DecodeTelemetry gives. The seeds are FuzzDecodeTelemetry's corpus plus canonical shapes.
func FuzzFastDecodeMatches(f *testing.F) {
	for _, s := range decodeCorpus(f) {
		f.Add(s)
	}
	f.Add([]byte(warmup))
	f.Add([]byte(`{"values":{"b":2,"a":1},"ts":1748779200000}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		for _, lim := range fastLimits() {
			sameDecode(t, payload, lim)
		}
	})
}

// decodeCorpus reads testdata/fuzz/FuzzDecodeTelemetry (go test fuzz v1, one []byte each).
func decodeCorpus(f *testing.F) [][]byte {
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzDecodeTelemetry", "*"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no FuzzDecodeTelemetry corpus: %v", err)
	}
	var out [][]byte
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[1], "[]byte(") {
			f.Fatalf("%s: unexpected corpus format", name)
		}
		s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
		if err != nil {
			f.Fatalf("%s: %v", name, err)
		}
		out = append(out, []byte(s))
	}
	return out
}

func BenchmarkDecodeTelemetry(b *testing.B) {
	p := []byte(`{"ts":"2025-06-01T11:59:59.123456789Z","values":{"s0":1.5,"s1":2.5,"s2":3.5,"s3":4.5,"s4":5.5,"s5":6.5,"s6":7.5,"s7":8.5}}`)
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	b.Run("encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := DecodeTelemetry(p, DefaultLimits(), now); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fast_reused", func(b *testing.B) {
		b.ReportAllocs()
		var d FastDecoder
		for b.Loop() {
			if _, _, err := d.Decode(p, DefaultLimits(), now); err != nil {
				b.Fatal(err)
			}
		}
	})
}
