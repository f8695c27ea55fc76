package telemetry

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// FastDecoder decodes telemetry payloads like DecodeTelemetry, with the same samples,
// rejections and errors for every input, at a fraction of the CPU and allocations.
//
// It scans the contract's common shape in one pass: a single object with exactly the
// keys "ts" (an RFC 3339 string or Unix milliseconds) and "values" (an object of plain
// sensor names to JSON numbers), no escapes, no nesting, ASCII strings, every value valid.
// Whenever it meets anything else (arrays, unknown or duplicate keys, escapes, non-ASCII,
// null, strings as values, out-of-window timestamps, invalid names, any syntax error)
// it hands the payload to DecodeTelemetry, so every rejection, reason and detail comes
// from the one reference decoder and the fast path only ever answers "all valid".
// FuzzFastDecodeMatches checks the equivalence.
//
// A FastDecoder is not safe for concurrent use: give each goroutine its own. The zero
// value is ready to use.
type FastDecoder struct {
	samples [1]Sample
	values  []Value
	names   map[string]string // interned sensor names: the same few names arrive all day
}

// maxInterned bounds the name cache; beyond it names are allocated per message.
const maxInterned = 4096

// DecodeTelemetryFast is DecodeTelemetry through a FastDecoder, with results that
// nothing else aliases. Long-running consumers should keep a FastDecoder and use Decode.
func DecodeTelemetryFast(payload []byte, lim Limits, now time.Time) ([]Sample, []Rejection, error) {
	var d FastDecoder
	return d.decode(payload, lim, now, false)
}

// Decode is DecodeTelemetry. On the fast path the returned samples and their Values
// share the decoder's buffers and are valid only until the next Decode call; copy
// what must outlive it. Sensor name strings are never overwritten.
func (d *FastDecoder) Decode(payload []byte, lim Limits, now time.Time) ([]Sample, []Rejection, error) {
	return d.decode(payload, lim, now, true)
}

func (d *FastDecoder) decode(payload []byte, lim Limits, now time.Time, reuse bool) ([]Sample, []Rejection, error) {
	if s, ok := d.fast(payload, lim, now, reuse); ok {
		return s, nil, nil
	}
	return DecodeTelemetry(payload, lim, now)
}

// fast decodes the common shape; ok is false whenever DecodeTelemetry must decide.
func (d *FastDecoder) fast(payload []byte, lim Limits, now time.Time, reuse bool) (_ []Sample, ok bool) {
	if len(payload) > lim.MaxPayload || lim.MaxBatch < 1 {
		return nil, false
	}
	sc := scanner{b: payload}
	sc.ws()
	if !sc.eat('{') {
		return nil, false
	}
	if !reuse {
		d.values = nil
	}
	d.values = d.values[:0]
	var ts time.Time
	var haveTS, haveValues bool
	for {
		sc.ws()
		key, ok := sc.str()
		if !ok || !sc.colon() {
			return nil, false
		}
		switch string(key) {
		case "ts":
			if haveTS {
				return nil, false
			}
			if ts, ok = sc.timestamp(lim, now); !ok {
				return nil, false
			}
			haveTS = true
		case "values":
			if haveValues || !d.valuesObject(&sc) {
				return nil, false
			}
			haveValues = true
		default:
			return nil, false
		}
		sc.ws()
		if sc.eat(',') {
			continue
		}
		if !sc.eat('}') {
			return nil, false
		}
		break
	}
	sc.ws()
	if !sc.done() || !haveTS || !haveValues || len(d.values) > lim.MaxValues || !sortUnique(d.values) {
		return nil, false
	}
	s := Sample{Time: ts, Values: d.values}
	if !reuse {
		return []Sample{s}, true
	}
	d.samples[0] = s
	return d.samples[:], true
}

// valuesObject reads {"name": number, ...} with at least one member into d.values.
func (d *FastDecoder) valuesObject(sc *scanner) bool {
	if !sc.eat('{') {
		return false
	}
	for {
		sc.ws()
		name, ok := sc.str()
		if !ok || !validName(name) || !sc.colon() {
			return false
		}
		lit, ok := sc.number()
		if !ok {
			return false
		}
		v, err := strconv.ParseFloat(string(lit), 64)
		if err != nil || math.IsInf(v, 0) {
			return false // ParseNumber's not_finite or wrong_type: let it say so
		}
		d.values = append(d.values, Value{Sensor: d.intern(name), V: v})
		sc.ws()
		if sc.eat(',') {
			continue
		}
		return sc.eat('}')
	}
}

func (d *FastDecoder) intern(b []byte) string {
	if s, ok := d.names[string(b)]; ok {
		return s
	}
	s := string(b)
	if d.names == nil {
		d.names = make(map[string]string)
	}
	if len(d.names) < maxInterned {
		d.names[s] = s
	}
	return s
}

// sortUnique sorts by sensor name, as DecodeTelemetry does, and reports false on a
// duplicate name (a JSON object decoded into a map keeps only the last one).
func sortUnique(v []Value) bool {
	if len(v) <= 32 {
		for i := 1; i < len(v); i++ { // insertion sort: senders usually sort already
			for j := i; j > 0 && v[j].Sensor < v[j-1].Sensor; j-- {
				v[j], v[j-1] = v[j-1], v[j]
			}
		}
	} else {
		slices.SortFunc(v, func(a, b Value) int { return strings.Compare(a.Sensor, b.Sensor) })
	}
	for i := 1; i < len(v); i++ {
		if v[i].Sensor == v[i-1].Sensor {
			return false
		}
	}
	return true
}

// validName is ValidateSensorName for bytes, without building an error.
func validName(b []byte) bool {
	if len(b) == 0 || len(b) > MaxNameLen || b[0] == '_' || b[0] == '$' || string(b) == "time" {
		return false
	}
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// scanner reads a strict subset of JSON: every token it accepts is valid JSON meaning
// the same as encoding/json reads it; everything else is a refusal, not an error.
type scanner struct {
	b []byte
	i int
}

func (sc *scanner) ws() {
	for sc.i < len(sc.b) {
		switch sc.b[sc.i] {
		case ' ', '\t', '\n', '\r':
			sc.i++
		default:
			return
		}
	}
}

func (sc *scanner) eat(c byte) bool {
	if sc.i < len(sc.b) && sc.b[sc.i] == c {
		sc.i++
		return true
	}
	return false
}

func (sc *scanner) done() bool { return sc.i == len(sc.b) }

// colon reads optional whitespace, ':' and optional whitespace.
func (sc *scanner) colon() bool {
	sc.ws()
	if !sc.eat(':') {
		return false
	}
	sc.ws()
	return true
}

// str reads a string of printable ASCII without escapes and returns its content, which
// is then exactly what encoding/json would decode.
func (sc *scanner) str() ([]byte, bool) {
	if !sc.eat('"') {
		return nil, false
	}
	start := sc.i
	for sc.i < len(sc.b) {
		c := sc.b[sc.i]
		switch {
		case c == '"':
			sc.i++
			return sc.b[start : sc.i-1], true
		case c < 0x20 || c >= 0x7f || c == '\\':
			return nil, false
		}
		sc.i++
	}
	return nil, false
}

// number reads a JSON number literal: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (sc *scanner) number() ([]byte, bool) {
	start := sc.i
	sc.eat('-')
	switch {
	case sc.eat('0'):
	case sc.i < len(sc.b) && sc.b[sc.i] >= '1' && sc.b[sc.i] <= '9':
		sc.digits()
	default:
		return nil, false
	}
	if sc.eat('.') && sc.digits() == 0 {
		return nil, false
	}
	if sc.eat('e') || sc.eat('E') {
		if !sc.eat('+') {
			sc.eat('-')
		}
		if sc.digits() == 0 {
			return nil, false
		}
	}
	return sc.b[start:sc.i], true
}

func (sc *scanner) digits() int {
	start := sc.i
	for sc.i < len(sc.b) && sc.b[sc.i] >= '0' && sc.b[sc.i] <= '9' {
		sc.i++
	}
	return sc.i - start
}

// timestamp reads "ts"'s value and accepts it only when ParseTime would.
func (sc *scanner) timestamp(lim Limits, now time.Time) (time.Time, bool) {
	if sc.i < len(sc.b) && sc.b[sc.i] == '"' {
		s, ok := sc.str()
		if !ok {
			return time.Time{}, false
		}
		t, err := time.Parse(time.RFC3339Nano, string(s))
		if err != nil {
			return time.Time{}, false
		}
		// The same window as ParseTime; out of it, ParseTime words the rejection.
		if !lim.Earliest.IsZero() && t.Before(lim.Earliest) || lim.MaxFuture > 0 && t.After(now.Add(lim.MaxFuture)) {
			return time.Time{}, false
		}
		return t.UTC(), true
	}
	lit, ok := sc.number()
	if !ok {
		return time.Time{}, false
	}
	// Unix milliseconds are rare on the wire: ParseTime itself decides them.
	t, err := ParseTime(lit, lim, now)
	return t, err == nil
}
