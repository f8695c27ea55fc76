package telemetry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Reason names why a message or a value was rejected. The values are stable: they are
// metric label values and dead-letter fields.
type Reason string

// Rejection reasons. Every one has a test in payload_test.go.
const (
	ReasonOversize     Reason = "oversize"          // payload larger than Limits.MaxPayload
	ReasonEmpty        Reason = "empty"             // empty payload, empty batch or no values
	ReasonBadJSON      Reason = "bad_json"          // not JSON, or not the contract's shape
	ReasonWrongType    Reason = "wrong_type"        // a value is not a number (string, bool, object, null)
	ReasonNotFinite    Reason = "not_finite"        // NaN, +Inf, -Inf or a number out of float64 range
	ReasonMissingTS    Reason = "missing_timestamp" // no "ts" where one is required
	ReasonBadTS        Reason = "bad_timestamp"     // unparsable, or outside Limits' time window
	ReasonInvalidName  Reason = "invalid_name"      // sensor name breaks ValidateName
	ReasonTooManyItems Reason = "too_many_items"    // batch or value count above limits
	ReasonBadTopic     Reason = "bad_topic"         // topic not in the contract (used by callers)
)

// Reasons lists every reason, for pre-registering metric label values.
var Reasons = []Reason{ReasonOversize, ReasonEmpty, ReasonBadJSON, ReasonWrongType, ReasonNotFinite,
	ReasonMissingTS, ReasonBadTS, ReasonInvalidName, ReasonTooManyItems, ReasonBadTopic}

// RejectError is a whole-message rejection.
type RejectError struct {
	Reason Reason
	Detail string
}

func (e *RejectError) Error() string { return string(e.Reason) + ": " + e.Detail }

func reject(r Reason, format string, args ...any) *RejectError {
	return &RejectError{Reason: r, Detail: fmt.Sprintf(format, args...)}
}

// ReasonOf returns the reason of a rejection error, or "" when err is not one.
func ReasonOf(err error) Reason {
	var re *RejectError
	if errors.As(err, &re) {
		return re.Reason
	}
	return ""
}

// Rejection is one value dropped from a message whose other values were kept.
type Rejection struct {
	Reason Reason `json:"reason"`
	Sensor string `json:"sensor,omitempty"`
	Detail string `json:"detail"`
}

// Value is one sensor reading.
type Value struct {
	Sensor string
	V      float64
}

// Sample is one instant of one machine: every value shares the timestamp.
type Sample struct {
	Time   time.Time
	Values []Value
}

// Limits bound what a decoder accepts. The zero value is not useful; use DefaultLimits.
type Limits struct {
	MaxPayload int           // bytes
	MaxBatch   int           // samples in one array payload
	MaxValues  int           // sensors in one sample
	Earliest   time.Time     // timestamps before this are absurd
	MaxFuture  time.Duration // timestamps later than now+MaxFuture are absurd; 0 disables
}

// DefaultLimits fit real plants: 256 KiB messages, 10,000 samples a batch, 1,000 sensors a
// machine, timestamps from 1990 (old exports replayed) to a day ahead (clock skew).
func DefaultLimits() Limits {
	return Limits{
		MaxPayload: 256 << 10,
		MaxBatch:   10000,
		MaxValues:  1000,
		Earliest:   time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC),
		MaxFuture:  24 * time.Hour,
	}
}

type rawSample struct {
	TS     json.RawMessage            `json:"ts"`
	Values map[string]json.RawMessage `json:"values"`
	Value  json.RawMessage            `json:"value"`
}

// DecodeTelemetry decodes a telemetry payload: one JSON object or an array of them.
// A non-nil error is a whole-message rejection (*RejectError). Otherwise the samples hold
// every valid value, and rejected lists the values that were dropped, so a partly bad
// message still stores its good values. now anchors the future-timestamp check.
func DecodeTelemetry(payload []byte, lim Limits, now time.Time) (samples []Sample, rejected []Rejection, err error) {
	if len(payload) > lim.MaxPayload {
		return nil, nil, reject(ReasonOversize, "payload is %d bytes, limit %d", len(payload), lim.MaxPayload)
	}
	p := bytes.TrimSpace(payload)
	if len(p) == 0 {
		return nil, nil, reject(ReasonEmpty, "empty payload")
	}
	var elems []json.RawMessage
	switch p[0] {
	case '{':
		elems = []json.RawMessage{p}
	case '[':
		// Elements are decoded one by one so that one malformed sample in a batch
		// costs that sample only, not the whole batch.
		if err := json.Unmarshal(p, &elems); err != nil {
			return nil, nil, reject(ReasonBadJSON, "%v", err)
		}
	default:
		return nil, nil, reject(ReasonBadJSON, "payload must be a JSON object or array, starts with %q", p[0])
	}
	if len(elems) == 0 {
		return nil, nil, reject(ReasonEmpty, "empty batch")
	}
	if len(elems) > lim.MaxBatch {
		return nil, nil, reject(ReasonTooManyItems, "batch of %d samples, limit %d", len(elems), lim.MaxBatch)
	}
	if len(elems) == 1 {
		s, rej, err := decodeElem(elems[0], lim, now)
		if err != nil {
			return nil, nil, err
		}
		return finish(appendSample(nil, s), rej)
	}
	return decodeBatch(elems, lim, now)
}

func decodeBatch(elems []json.RawMessage, lim Limits, now time.Time) ([]Sample, []Rejection, error) {
	samples := make([]Sample, 0, len(elems))
	var rejected []Rejection
	for i, e := range elems {
		s, rej, err := decodeElem(e, lim, now)
		if err != nil {
			re := asReject(err)
			rejected = append(rejected, Rejection{Reason: re.Reason, Detail: fmt.Sprintf("sample %d: %s", i, re.Detail)})
			continue
		}
		for _, r := range rej {
			r.Detail = fmt.Sprintf("sample %d: %s", i, r.Detail)
			rejected = append(rejected, r)
		}
		samples = appendSample(samples, s)
	}
	return finish(samples, rejected)
}

// finish turns "nothing usable" into a whole-message rejection named after the first
// rejected value, so a message with only bad values is counted under a real reason.
func finish(samples []Sample, rejected []Rejection) ([]Sample, []Rejection, error) {
	if len(samples) > 0 {
		return samples, rejected, nil
	}
	if len(rejected) > 0 {
		r := rejected[0]
		return nil, rejected, &RejectError{Reason: r.Reason, Detail: "no valid value: " + r.Detail}
	}
	return nil, nil, reject(ReasonEmpty, "no values")
}

func appendSample(dst []Sample, s Sample) []Sample {
	if len(s.Values) > 0 {
		dst = append(dst, s)
	}
	return dst
}

func asReject(err error) *RejectError {
	var re *RejectError
	if errors.As(err, &re) {
		return re
	}
	return &RejectError{Reason: ReasonBadJSON, Detail: err.Error()}
}

func decodeElem(e json.RawMessage, lim Limits, now time.Time) (Sample, []Rejection, error) {
	if len(e) == 0 || e[0] != '{' {
		return Sample{}, nil, reject(ReasonBadJSON, "sample %s is not a JSON object", truncate(string(e)))
	}
	var r rawSample
	if err := json.Unmarshal(e, &r); err != nil {
		return Sample{}, nil, reject(ReasonBadJSON, "%v", err)
	}
	return decodeSample(&r, lim, now)
}

func decodeSample(r *rawSample, lim Limits, now time.Time) (Sample, []Rejection, error) {
	if r.TS == nil {
		return Sample{}, nil, reject(ReasonMissingTS, `sample has no "ts"`)
	}
	ts, err := ParseTime(r.TS, lim, now)
	if err != nil {
		return Sample{}, nil, err
	}
	if r.Values == nil {
		return Sample{}, nil, reject(ReasonEmpty, `sample has no "values" object`)
	}
	if len(r.Values) > lim.MaxValues {
		return Sample{}, nil, reject(ReasonTooManyItems, "%d values, limit %d", len(r.Values), lim.MaxValues)
	}
	// Sorted names make values and rejections independent of map iteration order, so the
	// reason of an all-bad message is deterministic and line protocol is stable.
	names := make([]string, 0, len(r.Values))
	for name := range r.Values {
		names = append(names, name)
	}
	slices.Sort(names)
	s := Sample{Time: ts, Values: make([]Value, 0, len(r.Values))}
	var rej []Rejection
	for _, name := range names {
		if err := ValidateSensorName(name); err != nil {
			rej = append(rej, Rejection{Reason: ReasonInvalidName, Sensor: truncate(name), Detail: err.Error()})
			continue
		}
		v, err := ParseNumber(r.Values[name])
		if err != nil {
			re := asReject(err)
			rej = append(rej, Rejection{Reason: re.Reason, Sensor: name, Detail: re.Detail})
			continue
		}
		s.Values = append(s.Values, Value{Sensor: name, V: v})
	}
	if len(s.Values) == 0 && len(rej) == 0 {
		return Sample{}, nil, reject(ReasonEmpty, `"values" is empty`)
	}
	return s, rej, nil
}

// truncate shortens s for error details, cutting on a rune boundary so the detail stays
// valid UTF-8 when it is logged or republished as JSON.
func truncate(s string) string {
	if len(s) <= 64 {
		return s
	}
	n := 64
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// nonFiniteWord reports whether s spells NaN or an infinity, the way devices that cannot
// write them in JSON tend to send them ("NaN", "-Infinity", "inf").
func nonFiniteWord(s string) bool {
	s = strings.TrimLeft(s, "+-")
	return strings.EqualFold(s, "nan") || strings.EqualFold(s, "inf") || strings.EqualFold(s, "infinity")
}

// ParseNumber accepts a JSON number only. NaN and infinities cannot be written in JSON,
// but numbers beyond float64 range (1e999) overflow to Inf and are refused here, as are
// NaN and infinities spelled as strings or bare words.
func ParseNumber(raw json.RawMessage) (float64, error) {
	b := bytes.TrimSpace(raw)
	if len(b) == 0 {
		return 0, reject(ReasonWrongType, "empty value")
	}
	if nonFiniteWord(string(b)) {
		return 0, reject(ReasonNotFinite, "value %s is not finite", truncate(string(b)))
	}
	switch c := b[0]; {
	case c == '-' || c >= '0' && c <= '9':
	case c == '"':
		var s string
		if json.Unmarshal(b, &s) == nil && nonFiniteWord(s) {
			return 0, reject(ReasonNotFinite, "value %s is not finite", truncate(string(b)))
		}
		return 0, reject(ReasonWrongType, "value %s is a string, want a number", truncate(string(b)))
	default:
		return 0, reject(ReasonWrongType, "value %s is not a number", truncate(string(b)))
	}
	// strconv accepts more than JSON does (0x1p3, 1_000, Inf); callers may hand us
	// bytes that no JSON decoder has checked (bare per-sensor payloads).
	if !json.Valid(b) {
		return 0, reject(ReasonBadJSON, "value %s is not a JSON number", truncate(string(b)))
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if errors.Is(err, strconv.ErrRange) || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, reject(ReasonNotFinite, "value %s is out of float64 range", truncate(string(b)))
	}
	if err != nil {
		return 0, reject(ReasonWrongType, "value %s is not a number", truncate(string(b)))
	}
	return v, nil
}

// ParseTime accepts an RFC 3339 string (nanoseconds optional) or a number of Unix
// milliseconds, and checks it against the limits' window.
func ParseTime(raw json.RawMessage, lim Limits, now time.Time) (time.Time, error) {
	b := bytes.TrimSpace(raw)
	var ts time.Time
	switch {
	case len(b) == 0 || string(b) == "null":
		return time.Time{}, reject(ReasonMissingTS, `"ts" is null`)
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return time.Time{}, reject(ReasonBadTS, "ts %s: %v", truncate(string(b)), err)
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, reject(ReasonBadTS, "ts %q is not RFC 3339", truncate(s))
		}
		ts = t
	case b[0] == '-' || b[0] >= '0' && b[0] <= '9':
		ms, err := strconv.ParseFloat(string(b), 64)
		// json.Valid: strconv also takes 0x1p40 and 1_000, which are not JSON.
		if err != nil || !json.Valid(b) || math.IsNaN(ms) || math.Abs(ms) > 1e15 {
			return time.Time{}, reject(ReasonBadTS, "ts %s is not a Unix time in milliseconds", truncate(string(b)))
		}
		whole := math.Floor(ms)
		ts = time.UnixMilli(int64(whole)).Add(time.Duration((ms - whole) * 1e6))
	default:
		return time.Time{}, reject(ReasonBadTS, "ts %s must be an RFC 3339 string or Unix milliseconds", truncate(string(b)))
	}
	if !lim.Earliest.IsZero() && ts.Before(lim.Earliest) {
		return time.Time{}, reject(ReasonBadTS, "ts %s is before %s", ts.Format(time.RFC3339), lim.Earliest.Format(time.RFC3339))
	}
	if lim.MaxFuture > 0 && ts.After(now.Add(lim.MaxFuture)) {
		return time.Time{}, reject(ReasonBadTS, "ts %s is more than %s in the future", ts.Format(time.RFC3339), lim.MaxFuture)
	}
	return ts.UTC(), nil
}

// DecodeSensor decodes a per-sensor topic payload: a bare JSON number (timestamped with
// now, the receive time) or {"ts":..., "value": number}.
func DecodeSensor(payload []byte, sensor string, lim Limits, now time.Time) (Sample, error) {
	if len(payload) > lim.MaxPayload {
		return Sample{}, reject(ReasonOversize, "payload is %d bytes, limit %d", len(payload), lim.MaxPayload)
	}
	if err := ValidateSensorName(sensor); err != nil {
		return Sample{}, reject(ReasonInvalidName, "%v", err)
	}
	p := bytes.TrimSpace(payload)
	if len(p) == 0 {
		return Sample{}, reject(ReasonEmpty, "empty payload")
	}
	if p[0] != '{' {
		v, err := ParseNumber(p)
		if err != nil {
			return Sample{}, err
		}
		return Sample{Time: now.UTC(), Values: []Value{{Sensor: sensor, V: v}}}, nil
	}
	var r rawSample
	if err := json.Unmarshal(p, &r); err != nil {
		return Sample{}, reject(ReasonBadJSON, "%v", err)
	}
	ts := now.UTC()
	if r.TS != nil {
		t, err := ParseTime(r.TS, lim, now)
		if err != nil {
			return Sample{}, err
		}
		ts = t
	}
	if r.Value == nil {
		return Sample{}, reject(ReasonEmpty, `object has no "value"`)
	}
	v, err := ParseNumber(r.Value)
	if err != nil {
		return Sample{}, err
	}
	return Sample{Time: ts, Values: []Value{{Sensor: sensor, V: v}}}, nil
}

// EncodeTelemetry writes one sample in the contract's object form with an RFC 3339 timestamp.
// It appends to dst so publishers can reuse a buffer. Non-finite values are left out
// (JSON cannot carry them): a missing sensor is how a dropout looks on the wire.
func EncodeTelemetry(dst []byte, s Sample) []byte {
	dst = append(dst, `{"ts":"`...)
	dst = s.Time.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","values":{`...)
	first := true
	for _, v := range s.Values {
		if math.IsNaN(v.V) || math.IsInf(v.V, 0) {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendName(dst, v.Sensor)
		dst = append(dst, ':')
		dst = strconv.AppendFloat(dst, v.V, 'g', -1, 64)
	}
	return append(dst, "}}"...)
}

// appendName quotes a sensor name as a JSON string. Valid names need no escaping; any
// other name is escaped by encoding/json so the payload stays valid JSON and the decoder
// rejects that one value (invalid_name) rather than the whole message.
func appendName(dst []byte, name string) []byte {
	if ValidateName(name) == nil {
		return append(append(append(dst, '"'), name...), '"')
	}
	b, _ := json.Marshal(name)
	return append(dst, b...)
}
