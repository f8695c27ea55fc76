package telemetry

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

// now anchors every decode in these tests: 2025-06-01T12:00:00Z = 1748779200000 ms.
var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

const nowMS = "1748779200000"

// render writes samples as "ts a=1 b=2 | ts c=3" so tables stay readable.
func render(samples []Sample) string {
	var parts []string
	for _, s := range samples {
		p := s.Time.Format(time.RFC3339Nano)
		for _, v := range s.Values {
			p += " " + v.Sensor + "=" + strconv.FormatFloat(v.V, 'g', -1, 64)
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " | ")
}

// renderRej writes rejections as "reason:sensor,reason:sensor".
func renderRej(rej []Rejection) string {
	var parts []string
	for _, r := range rej {
		parts = append(parts, string(r.Reason)+":"+r.Sensor)
	}
	return strings.Join(parts, ",")
}

func obj(ts, values string) string { return `{"ts":` + ts + `,"values":{` + values + `}}` }

func nested(depth int) string {
	return strings.Repeat("[", depth) + "1" + strings.Repeat("]", depth)
}

type decodeCase struct {
	name    string
	payload string
	lim     func(*Limits)
	err     Reason // "" = accepted
	want    string // render(samples)
	rej     string // renderRej(rejected)
}

var decodeCases = []decodeCase{
	// Accepted.
	{name: "object rfc3339nano", payload: obj(`"2025-06-01T11:59:59.5Z"`, `"temp":71.5,"vib":0.02`),
		want: "2025-06-01T11:59:59.5Z temp=71.5 vib=0.02"},
	{name: "rfc3339 with offset is stored as UTC", payload: obj(`"2025-06-01T14:00:00+02:00"`, `"a":1`),
		want: "2025-06-01T12:00:00Z a=1"},
	{name: "unix ms", payload: obj(nowMS, `"a":1`), want: "2025-06-01T12:00:00Z a=1"},
	{name: "unix ms fractional", payload: obj(nowMS+".25", `"a":1`), want: "2025-06-01T12:00:00.00025Z a=1"},
	{name: "unix ms exponent", payload: obj("1.7487792e12", `"a":1`), want: "2025-06-01T12:00:00Z a=1"},
	{name: "values sorted by sensor", payload: obj(nowMS, `"z":1,"a":2,"m":3`), want: "2025-06-01T12:00:00Z a=2 m=3 z=1"},
	{name: "number forms", payload: obj(nowMS, `"neg":-1.5e-3,"zero":0,"max":1.7976931348623157e308,"big":12345678901234567890`),
		want: "2025-06-01T12:00:00Z big=1.2345678901234567e+19 max=1.7976931348623157e+308 neg=-0.0015 zero=0"},
	{name: "whitespace around payload", payload: "\n\t " + obj(nowMS, `"a":1`) + " \r\n", want: "2025-06-01T12:00:00Z a=1"},
	{name: "unknown fields ignored", payload: `{"seq":5,"ts":` + nowMS + `,"values":{"a":1},"meta":{"fw":"1.2"}}`,
		want: "2025-06-01T12:00:00Z a=1"},
	{name: "earliest is inclusive", payload: obj(`"1990-01-01T00:00:00Z"`, `"a":1`), want: "1990-01-01T00:00:00Z a=1"},
	{name: "future limit is inclusive", payload: obj(`"2025-06-02T12:00:00Z"`, `"a":1`), want: "2025-06-02T12:00:00Z a=1"},
	{name: "future check disabled", payload: obj(`"2200-01-01T00:00:00Z"`, `"a":1`), lim: func(l *Limits) { l.MaxFuture = 0 },
		want: "2200-01-01T00:00:00Z a=1"},
	{name: "duplicate sensor key: last wins", payload: obj(nowMS, `"a":1,"a":2`), want: "2025-06-01T12:00:00Z a=2"},
	{name: "duplicate ts: last wins", payload: `{"ts":"garbage","ts":` + nowMS + `,"values":{"a":1}}`, want: "2025-06-01T12:00:00Z a=1"},
	{name: "one-sample batch", payload: "[" + obj(nowMS, `"a":1`) + "]", want: "2025-06-01T12:00:00Z a=1"},
	{name: "batch", payload: "[" + obj(nowMS, `"a":1`) + "," + obj(`"2025-06-01T12:00:01Z"`, `"a":2`) + "]",
		want: "2025-06-01T12:00:00Z a=1 | 2025-06-01T12:00:01Z a=2"},

	// Partly bad: good values kept, bad ones listed.
	{name: "partly bad values", payload: obj(nowMS,
		`"good":1,"s":"x","n":null,"b":true,"o":{},"arr":[1],"big":1e999,"nan":"NaN","bad name":2`),
		want: "2025-06-01T12:00:00Z good=1",
		rej:  "wrong_type:arr,wrong_type:b,invalid_name:bad name,not_finite:big,wrong_type:n,not_finite:nan,wrong_type:o,wrong_type:s"},
	{name: "deep nesting in one value", payload: obj(nowMS, `"a":1,"deep":`+nested(500)),
		want: "2025-06-01T12:00:00Z a=1", rej: "wrong_type:deep"},
	{name: "batch keeps good samples", payload: "[" + obj(nowMS, `"a":1`) + "," + obj(`"garbage"`, `"a":2`) + "," +
		`{"values":{"a":3}}` + "," + obj(`"2025-06-01T12:00:02Z"`, `"a":4,"b":"x"`) + "]",
		want: "2025-06-01T12:00:00Z a=1 | 2025-06-01T12:00:02Z a=4",
		rej:  "bad_timestamp:,missing_timestamp:,wrong_type:b"},
	{name: "batch with non-object elements", payload: "[5," + obj(nowMS, `"a":1`) + `,null,"x",[]]`,
		want: "2025-06-01T12:00:00Z a=1", rej: "bad_json:,bad_json:,bad_json:,bad_json:"},
	{name: "batch with wrongly shaped sample", payload: "[" + obj(nowMS, `"a":1`) + `,{"ts":` + nowMS + `,"values":[1]}]`,
		want: "2025-06-01T12:00:00Z a=1", rej: "bad_json:"},
	{name: "batch with a sample over MaxValues", payload: "[" + obj(nowMS, `"a":1`) + "," + obj(nowMS, `"a":1,"b":2,"c":3`) + "]",
		lim: func(l *Limits) { l.MaxValues = 2 }, want: "2025-06-01T12:00:00Z a=1", rej: "too_many_items:"},

	// Whole-message rejections, one group per reason.
	{name: "oversize", payload: obj(nowMS, `"a":1`), lim: func(l *Limits) { l.MaxPayload = 16 }, err: ReasonOversize},

	{name: "empty payload", payload: "", err: ReasonEmpty},
	{name: "whitespace payload", payload: " \n\t", err: ReasonEmpty},
	{name: "empty batch", payload: "[]", err: ReasonEmpty},
	{name: "empty values", payload: obj(nowMS, ``), err: ReasonEmpty},
	{name: "no values object", payload: `{"ts":` + nowMS + `}`, err: ReasonEmpty},
	{name: "null values", payload: `{"ts":` + nowMS + `,"values":null}`, err: ReasonEmpty},

	{name: "not json", payload: "temp=71.5", err: ReasonBadJSON},
	{name: "truncated object", payload: `{"ts":` + nowMS + `,"values":{"a":1}`, err: ReasonBadJSON},
	{name: "truncated array", payload: "[" + obj(nowMS, `"a":1`), err: ReasonBadJSON},
	{name: "trailing garbage", payload: obj(nowMS, `"a":1`) + " x", err: ReasonBadJSON},
	{name: "two objects", payload: obj(nowMS, `"a":1`) + obj(nowMS, `"a":1`), err: ReasonBadJSON},
	{name: "bare number", payload: "71.5", err: ReasonBadJSON},
	{name: "bare string", payload: `"x"`, err: ReasonBadJSON},
	{name: "null", payload: "null", err: ReasonBadJSON},
	{name: "values is an array", payload: `{"ts":` + nowMS + `,"values":[1,2]}`, err: ReasonBadJSON},
	{name: "unquoted NaN is not JSON", payload: obj(nowMS, `"a":NaN`), err: ReasonBadJSON},
	{name: "too deep", payload: obj(nowMS, `"a":`+nested(20000)), err: ReasonBadJSON},
	{name: "invalid utf-8 outside strings", payload: "{\xff}", err: ReasonBadJSON},

	{name: "only value is a string", payload: obj(nowMS, `"a":"1.5"`), err: ReasonWrongType, rej: "wrong_type:a"},
	{name: "only value is null", payload: obj(nowMS, `"a":null`), err: ReasonWrongType, rej: "wrong_type:a"},
	{name: "only value is bool", payload: obj(nowMS, `"a":false`), err: ReasonWrongType, rej: "wrong_type:a"},
	{name: "only value is object", payload: obj(nowMS, `"a":{"v":1}`), err: ReasonWrongType, rej: "wrong_type:a"},
	{name: "only value is array", payload: obj(nowMS, `"a":[1]`), err: ReasonWrongType, rej: "wrong_type:a"},

	{name: "1e999", payload: obj(nowMS, `"a":1e999`), err: ReasonNotFinite, rej: "not_finite:a"},
	{name: "-1e400", payload: obj(nowMS, `"a":-1e400`), err: ReasonNotFinite, rej: "not_finite:a"},
	{name: "NaN string", payload: obj(nowMS, `"a":"NaN"`), err: ReasonNotFinite, rej: "not_finite:a"},
	{name: "-Infinity string", payload: obj(nowMS, `"a":"-Infinity"`), err: ReasonNotFinite, rej: "not_finite:a"},
	{name: "inf string", payload: obj(nowMS, `"a":"inf"`), err: ReasonNotFinite, rej: "not_finite:a"},
	{name: "all bad: reason of first by sensor name", payload: obj(nowMS, `"b":"x","a":1e999`), err: ReasonNotFinite,
		rej: "not_finite:a,wrong_type:b"},

	{name: "no ts", payload: `{"values":{"a":1}}`, err: ReasonMissingTS},
	{name: "null ts", payload: obj("null", `"a":1`), err: ReasonMissingTS},

	{name: "ts words", payload: obj(`"yesterday"`, `"a":1`), err: ReasonBadTS},
	{name: "ts date only", payload: obj(`"2025-06-01"`, `"a":1`), err: ReasonBadTS},
	{name: "ts without zone", payload: obj(`"2025-06-01T12:00:00"`, `"a":1`), err: ReasonBadTS},
	{name: "ts with space", payload: obj(`"2025-06-01 12:00:00Z"`, `"a":1`), err: ReasonBadTS},
	{name: "ts bool", payload: obj("true", `"a":1`), err: ReasonBadTS},
	{name: "ts object", payload: obj(`{}`, `"a":1`), err: ReasonBadTS},
	{name: "ts seconds not ms (1970)", payload: obj("1748779200", `"a":1`), err: ReasonBadTS},
	{name: "ts zero", payload: obj("0", `"a":1`), err: ReasonBadTS},
	{name: "ts negative", payload: obj("-1", `"a":1`), err: ReasonBadTS},
	{name: "ts out of float range", payload: obj("1e999", `"a":1`), err: ReasonBadTS},
	{name: "ts beyond 1e15 ms", payload: obj("2e15", `"a":1`), lim: func(l *Limits) { l.MaxFuture = 0 }, err: ReasonBadTS},
	{name: "ts before earliest", payload: obj(`"1989-12-31T23:59:59.999Z"`, `"a":1`), err: ReasonBadTS},
	{name: "ts too far in future", payload: obj(`"2025-06-02T12:00:00.001Z"`, `"a":1`), err: ReasonBadTS},
	{name: "ts ms too far in future", payload: obj("1748865600001", `"a":1`), err: ReasonBadTS},

	{name: "invalid sensor name", payload: obj(nowMS, `"bad name":1`), err: ReasonInvalidName, rej: "invalid_name:bad name"},
	{name: "reserved sensor name", payload: obj(nowMS, `"_x":1`), err: ReasonInvalidName, rej: "invalid_name:_x"},
	{name: "empty sensor name", payload: obj(nowMS, `"":1`), err: ReasonInvalidName, rej: "invalid_name:"},
	{name: "wildcard sensor name", payload: obj(nowMS, `"#":1`), err: ReasonInvalidName, rej: "invalid_name:#"},
	// InfluxDB refuses a field named "time" and the whole point with it (issue 16.16).
	{name: "sensor named time", payload: obj(nowMS, `"time":1`), err: ReasonInvalidName, rej: "invalid_name:time"},

	{name: "batch too big", payload: "[" + obj(nowMS, `"a":1`) + "," + obj(nowMS, `"a":1`) + "," + obj(nowMS, `"a":1`) + "]",
		lim: func(l *Limits) { l.MaxBatch = 2 }, err: ReasonTooManyItems},
	{name: "too many values", payload: obj(nowMS, `"a":1,"b":2,"c":3`), lim: func(l *Limits) { l.MaxValues = 2 }, err: ReasonTooManyItems},
	{name: "every sample of a batch bad", payload: "[" + obj(`"x"`, `"a":1`) + "," + obj(nowMS, `"a":"y"`) + "]",
		err: ReasonBadTS, rej: "bad_timestamp:,wrong_type:a"},
}

func TestDecodeTelemetry(t *testing.T) {
	for _, c := range decodeCases {
		t.Run(c.name, func(t *testing.T) {
			lim := DefaultLimits()
			if c.lim != nil {
				c.lim(&lim)
			}
			samples, rej, err := DecodeTelemetry([]byte(c.payload), lim, now)
			if got := ReasonOf(err); got != c.err {
				t.Fatalf("reason = %q (err %v), want %q", got, err, c.err)
			}
			if err != nil {
				var re *RejectError
				if !errors.As(err, &re) || re.Detail == "" {
					t.Fatalf("err %v is not a *RejectError with detail", err)
				}
				if samples != nil {
					t.Fatalf("rejected message returned samples %s", render(samples))
				}
			}
			if got := render(samples); got != c.want {
				t.Errorf("samples:\n got %s\nwant %s", got, c.want)
			}
			if got := renderRej(rej); got != c.rej {
				t.Errorf("rejected:\n got %s\nwant %s", got, c.rej)
			}
		})
	}
}

func TestBatchRejectionsNameTheSample(t *testing.T) {
	payload := "[" + obj(nowMS, `"a":1`) + "," + obj(nowMS, `"a":1,"b":"x"`) + "," + obj(`"x"`, `"a":1`) + "]"
	_, rej, err := DecodeTelemetry([]byte(payload), DefaultLimits(), now)
	if err != nil || len(rej) != 2 {
		t.Fatalf("err %v, rejections %+v", err, rej)
	}
	for i, want := range []string{"sample 1: ", "sample 2: "} {
		if !strings.HasPrefix(rej[i].Detail, want) {
			t.Errorf("rejection %d detail %q does not start with %q", i, rej[i].Detail, want)
		}
	}
}

func TestOverlongSensorNameIsTruncatedInRejection(t *testing.T) {
	name := "x" + strings.Repeat("é", 100) // 201 bytes: too long; byte 64 is inside a rune
	_, rej, err := DecodeTelemetry([]byte(obj(nowMS, `"a":1,"`+name+`":2`)), DefaultLimits(), now)
	if err != nil || len(rej) != 1 || rej[0].Reason != ReasonInvalidName {
		t.Fatalf("err %v, rejections %+v", err, rej)
	}
	if s := rej[0].Sensor; len(s) > 70 || !strings.HasSuffix(s, "...") || !json.Valid([]byte(strconv.Quote(s))) {
		t.Fatalf("sensor in rejection %q: want <= 64 bytes of the name plus ...", s)
	}
	if b, _ := json.Marshal(rej[0]); strings.Contains(string(b), `\ufffd`) {
		t.Fatalf("truncation split a rune: %s", b)
	}
}

type sensorCase struct {
	name, sensor, payload string
	err                   Reason
	want                  string
}

var sensorCases = []sensorCase{
	{"bare number", "temp", "71.5", "", "2025-06-01T12:00:00Z temp=71.5"},
	{"bare number with space", "temp", " -2e3\n", "", "2025-06-01T12:00:00Z temp=-2000"},
	{"object with rfc3339", "temp", `{"ts":"2025-06-01T11:00:00Z","value":3}`, "", "2025-06-01T11:00:00Z temp=3"},
	{"object with ms", "temp", `{"ts":` + nowMS + `.5,"value":3}`, "", "2025-06-01T12:00:00.0005Z temp=3"},
	{"object without ts uses now", "temp", `{"value":3}`, "", "2025-06-01T12:00:00Z temp=3"},

	{"oversize", "temp", strings.Repeat(" ", 20) + "1", ReasonOversize, ""},
	{"bad sensor name", "bad name", "1", ReasonInvalidName, ""},
	{"empty sensor name", "", "1", ReasonInvalidName, ""},
	{"sensor named time", "time", "1", ReasonInvalidName, ""},
	{"empty", "temp", "  ", ReasonEmpty, ""},
	{"object without value", "temp", `{"ts":` + nowMS + `}`, ReasonEmpty, ""},
	{"truncated object", "temp", `{"value":`, ReasonBadJSON, ""},
	{"two numbers", "temp", "1 2", ReasonBadJSON, ""},
	{"hex float is not JSON", "temp", "0x1p3", ReasonBadJSON, ""},
	{"underscores are not JSON", "temp", "1_000", ReasonBadJSON, ""},
	{"leading plus is not JSON", "temp", "+1", ReasonWrongType, ""},
	{"string", "temp", `"abc"`, ReasonWrongType, ""},
	{"numeric string", "temp", `"1.5"`, ReasonWrongType, ""},
	{"bool", "temp", "true", ReasonWrongType, ""},
	{"null", "temp", "null", ReasonWrongType, ""},
	{"array", "temp", "[1]", ReasonWrongType, ""},
	{"object value string", "temp", `{"value":"1"}`, ReasonWrongType, ""},
	{"object value null", "temp", `{"value":null}`, ReasonWrongType, ""},
	{"1e999", "temp", "1e999", ReasonNotFinite, ""},
	{"bare NaN", "temp", "NaN", ReasonNotFinite, ""},
	{"bare -Inf", "temp", "-Inf", ReasonNotFinite, ""},
	{"NaN string", "temp", `"NaN"`, ReasonNotFinite, ""},
	{"object Infinity", "temp", `{"value":"Infinity"}`, ReasonNotFinite, ""},
	{"null ts", "temp", `{"ts":null,"value":1}`, ReasonMissingTS, ""},
	{"bad ts", "temp", `{"ts":"x","value":1}`, ReasonBadTS, ""},
	{"future ts", "temp", `{"ts":"2030-01-01T00:00:00Z","value":1}`, ReasonBadTS, ""},
}

func TestDecodeSensor(t *testing.T) {
	lim := DefaultLimits()
	lim.MaxPayload = 16
	for _, c := range sensorCases {
		t.Run(c.name, func(t *testing.T) {
			l := lim
			if c.err != ReasonOversize {
				l = DefaultLimits()
			}
			s, err := DecodeSensor([]byte(c.payload), c.sensor, l, now)
			if got := ReasonOf(err); got != c.err {
				t.Fatalf("reason = %q (err %v), want %q", got, err, c.err)
			}
			got := ""
			if err == nil {
				got = render([]Sample{s})
			}
			if got != c.want {
				t.Fatalf("sample %q, want %q", got, c.want)
			}
		})
	}
}

// TestEveryReasonTested keeps the promise in payload.go: every reason a decoder can give
// has a case above that asserts it exactly. bad_topic belongs to callers.
func TestEveryReasonTested(t *testing.T) {
	seen := map[Reason]bool{}
	for _, c := range decodeCases {
		seen[c.err] = true
	}
	seenSensor := map[Reason]bool{}
	for _, c := range sensorCases {
		seenSensor[c.err] = true
	}
	for _, r := range Reasons {
		if r == ReasonBadTopic {
			continue
		}
		if !seen[r] {
			t.Errorf("DecodeTelemetry: no case asserts reason %q", r)
		}
		if !seenSensor[r] && r != ReasonTooManyItems { // a single value cannot have too many items
			t.Errorf("DecodeSensor: no case asserts reason %q", r)
		}
	}
}

func TestReasonOf(t *testing.T) {
	re := &RejectError{Reason: ReasonBadJSON, Detail: "x"}
	if re.Error() != "bad_json: x" {
		t.Fatalf("Error() = %q", re.Error())
	}
	cases := []struct {
		err  error
		want Reason
	}{
		{nil, ""},
		{errors.New("other"), ""},
		{re, ReasonBadJSON},
		{fmt.Errorf("topic t: %w", re), ReasonBadJSON},
	}
	for _, c := range cases {
		if got := ReasonOf(c.err); got != c.want {
			t.Errorf("ReasonOf(%v) = %q, want %q", c.err, got, c.want)
		}
	}
	seen := map[Reason]bool{}
	for _, r := range Reasons {
		if seen[r] || r == "" || strings.ContainsAny(string(r), " -") {
			t.Errorf("reason %q: duplicate or not a metric-friendly label", r)
		}
		seen[r] = true
	}
}

func TestEncodeTelemetryRoundTrip(t *testing.T) {
	in := Sample{
		Time: time.Date(2025, 6, 1, 11, 59, 58, 123456789, time.FixedZone("CEST", 2*3600)),
		Values: []Value{{"a", 1.5}, {"b", -0.0001}, {"c", math.MaxFloat64}, {"d", 5e-324},
			{"nan", math.NaN()}, {"pinf", math.Inf(1)}, {"ninf", math.Inf(-1)}, {"z", 0}},
	}
	buf := EncodeTelemetry([]byte("prefix:"), in)
	payload, ok := strings.CutPrefix(string(buf), "prefix:")
	if !ok || !json.Valid([]byte(payload)) {
		t.Fatalf("EncodeTelemetry did not append valid JSON: %s", buf)
	}
	if strings.Contains(payload, "nan") || strings.Contains(payload, "inf") {
		t.Fatalf("non-finite values were written: %s", payload)
	}
	samples, rej, err := DecodeTelemetry([]byte(payload), DefaultLimits(), now)
	if err != nil || len(rej) != 0 || len(samples) != 1 {
		t.Fatalf("decode %s: %v %+v %d samples", payload, err, rej, len(samples))
	}
	got := samples[0]
	if !got.Time.Equal(in.Time) || got.Time.Location() != time.UTC {
		t.Errorf("time %v, want %v in UTC", got.Time, in.Time)
	}
	want := "a=1.5 b=-0.0001 c=1.7976931348623157e+308 d=5e-324 z=0"
	if r := render(samples); !strings.HasSuffix(r, " "+want) {
		t.Errorf("values %s, want %s", r, want)
	}
}

func TestEncodeTelemetryInvalidNameStaysValidJSON(t *testing.T) {
	in := Sample{Time: now, Values: []Value{{"ok", 1}, {"bad\"name\x01", 2}}}
	payload := EncodeTelemetry(nil, in)
	if !json.Valid(payload) {
		t.Fatalf("invalid JSON: %s", payload)
	}
	samples, rej, err := DecodeTelemetry(payload, DefaultLimits(), now)
	if err != nil || render(samples) != "2025-06-01T12:00:00Z ok=1" || renderRej(rej) != "invalid_name:bad\"name\x01" {
		t.Fatalf("got %s, %s, %v", render(samples), renderRej(rej), err)
	}
}

func TestParseNumberAndTimeDirect(t *testing.T) {
	if v, err := ParseNumber(json.RawMessage(" 42 ")); v != 42 || err != nil {
		t.Errorf("ParseNumber(42) = %v, %v", v, err)
	}
	if _, err := ParseNumber(nil); ReasonOf(err) != ReasonWrongType {
		t.Errorf("ParseNumber(nil) = %v", err)
	}
	if _, err := ParseTime(json.RawMessage("0x1p40"), Limits{}, now); ReasonOf(err) != ReasonBadTS {
		t.Errorf("ParseTime(hex) = %v, want bad_timestamp", err)
	}
	// Zero Limits: no window at all, so 1970 is fine.
	if ts, err := ParseTime(json.RawMessage("0"), Limits{}, now); err != nil || !ts.Equal(time.Unix(0, 0)) {
		t.Errorf("ParseTime(0, no limits) = %v, %v", ts, err)
	}
}
