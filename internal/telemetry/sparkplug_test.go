package telemetry

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

var spNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func spMs(t time.Time) uint64 { return uint64(t.UnixMilli()) }

// spBuild encodes a payload with seq (negative: none) and metrics.
func spBuild(seq int, ms uint64, metrics ...SparkplugMetric) []byte {
	p := SparkplugPayload{Timestamp: ms, HasTimestamp: ms != 0, Metrics: metrics}
	if seq >= 0 {
		p.Seq, p.HasSeq = uint64(seq), true
	}
	return AppendSparkplug(nil, &p)
}

func spDouble(name string, alias uint64, v float64) SparkplugMetric {
	return SparkplugMetric{Name: name, HasName: name != "", Alias: alias, HasAlias: alias != 0,
		Datatype: SPDouble, HasDatatype: name != "", Kind: SPValueDouble, Double: v}
}

func spByAlias(alias uint64, v float64) SparkplugMetric {
	return SparkplugMetric{Alias: alias, HasAlias: true, Kind: SPValueDouble, Double: v}
}

func spBdSeq(v uint64) SparkplugMetric {
	return SparkplugMetric{Name: "bdSeq", HasName: true, Datatype: SPUInt64, HasDatatype: true, Kind: SPValueLong, Long: v}
}

func newSPDecoder(t *testing.T) *SparkplugDecoder {
	t.Helper()
	d, err := NewSparkplugDecoder(DefaultSparkplugConfig(), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// spValues flattens a result to "site/line/machine sensor=value@ms" lines.
func spValues(r *SparkplugResult) []string {
	var out []string
	for _, s := range r.Samples {
		for _, v := range s.Values {
			out = append(out, fmt.Sprintf("%s %s=%g@%d", s.Machine.Key(), v.Sensor, v.V, s.Time.UnixMilli()))
		}
	}
	return out
}

func spReasons(r *SparkplugResult) []Reason {
	var out []Reason
	for _, x := range r.Rejected {
		out = append(out, x.Reason)
	}
	return out
}

func TestParseSparkplugTopic(t *testing.T) {
	ok := []struct {
		topic string
		want  SparkplugTopic
	}{
		{"spBv1.0/plant1/NBIRTH/line-a", SparkplugTopic{Group: "plant1", Node: "line-a", Type: SPNBirth}},
		{"spBv1.0/plant1/NDATA/line-a", SparkplugTopic{Group: "plant1", Node: "line-a", Type: SPNData}},
		{"spBv1.0/plant1/NDEATH/line-a", SparkplugTopic{Group: "plant1", Node: "line-a", Type: SPNDeath}},
		{"spBv1.0/plant1/DBIRTH/line-a/pump_1", SparkplugTopic{Group: "plant1", Node: "line-a", Device: "pump_1", Type: SPDBirth}},
		{"spBv1.0/plant1/DDATA/line-a/pump_1", SparkplugTopic{Group: "plant1", Node: "line-a", Device: "pump_1", Type: SPDData}},
		{"spBv1.0/plant1/DDEATH/line-a/pump_1", SparkplugTopic{Group: "plant1", Node: "line-a", Device: "pump_1", Type: SPDDeath}},
	}
	for _, c := range ok {
		got, err := ParseSparkplugTopic(c.topic)
		if err != nil || got != c.want {
			t.Errorf("ParseSparkplugTopic(%q) = %+v, %v; want %+v", c.topic, got, err, c.want)
		}
	}
	bad := map[string]string{
		"spBv1.0/plant1/NDATA":                "too few levels",
		"spBv1.0/plant1":                      "too few levels",
		"spBv1.0":                             "too few levels",
		"spBv1.0/plant1/DDATA/line-a":         "have 5 levels",
		"spBv1.0/plant1/NDATA/line-a/pump":    "have 4 levels",
		"spBv1.0/plant1/DDATA/a/b/c":          "too many levels",
		"spBv1.0/plant1/NCMD/line-a":          "not one Faultline consumes",
		"spBv1.0/plant1/STATE/line-a":         "not one Faultline consumes",
		"spAv1.0/plant1/NDATA/line-a":         "namespace",
		"spBv1.0/plant 1/NDATA/line-a":        "group",
		"spBv1.0/plant1/NDATA/":               "edge node",
		"spBv1.0/plant1/DDATA/line-a/_hidden": "device",
		"factory/s/l/m/telemetry":             "namespace",
	}
	for topic, want := range bad {
		_, err := ParseSparkplugTopic(topic)
		if !errors.Is(err, ErrTopic) || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSparkplugTopic(%q) error %v, want ErrTopic mentioning %q", topic, err, want)
		}
	}
}

func TestSparkplugMapping(t *testing.T) {
	dev := SparkplugTopic{Group: "g", Node: "n", Device: "d", Type: SPDData}
	node := SparkplugTopic{Group: "g", Node: "n", Type: SPNData}
	cases := []struct {
		spec          string
		dev, node     Machine
		wantErrSubstr string
	}{
		{"", Machine{"g", "n", "d"}, Machine{"g", "n", "n"}, ""},
		{"site=plant1,line=group,machine=device", Machine{"plant1", "g", "d"}, Machine{"plant1", "g", "n"}, ""},
		{"line=node,machine=node", Machine{"g", "n", "n"}, Machine{"g", "n", "n"}, ""},
		{"site=group,line=node,machine=fixed", Machine{}, Machine{}, "every edge node would be one machine"},
		{"rack=group", Machine{}, Machine{}, "use site, line or machine"},
		{"site", Machine{}, Machine{}, "not level=source"},
		{"site=a b", Machine{}, Machine{}, "fixed name"},
	}
	for _, c := range cases {
		m, err := ParseSparkplugMapping(c.spec)
		if c.wantErrSubstr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErrSubstr) {
				t.Errorf("ParseSparkplugMapping(%q) error %v, want %q", c.spec, err, c.wantErrSubstr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("ParseSparkplugMapping(%q): %v", c.spec, err)
		}
		if got := m.Map(dev); got != c.dev {
			t.Errorf("%q: device maps to %+v, want %+v", c.spec, got, c.dev)
		}
		if got := m.Map(node); got != c.node {
			t.Errorf("%q: node maps to %+v, want %+v", c.spec, got, c.node)
		}
		if back, err := ParseSparkplugMapping(m.String()); err != nil || back != m {
			t.Errorf("%q: String %q does not parse back: %+v %v", c.spec, m.String(), back, err)
		}
	}
}

func TestSparkplugSensorName(t *testing.T) {
	cases := map[string]string{
		"temp_c":           "temp_c",
		"Motor 1/Temp (C)": "Motor_1-Temp__C_",
		"Temp.C":           "Temp_C",
		"_x":               "m_x",
		"Pump/Flow":        "Pump-Flow",
		"Grüße":            "Gr____e", // per byte: ü and ß are two bytes each
	}
	for in, want := range cases {
		if got, ok := SparkplugSensorName(in); !ok || got != want {
			t.Errorf("SparkplugSensorName(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", strings.Repeat("a", MaxNameLen+1)} {
		if _, ok := SparkplugSensorName(in); ok {
			t.Errorf("SparkplugSensorName(%q) accepted", in)
		}
	}
}

// TestSparkplugSession walks one edge node through BIRTH, DATA by alias, a device, a seq
// gap, an unknown alias and DEATH, checking values, machines, reasons and rebirths.
func TestSparkplugSession(t *testing.T) {
	d := newSPDecoder(t)
	var r SparkplugResult
	t0 := spNow.Add(-time.Minute)
	now := spNow
	step := func(topic string, payload []byte) error {
		t.Helper()
		now = now.Add(time.Second)
		return d.Decode(&r, topic, payload, now)
	}
	// DATA before any BIRTH: rejected whole, and a rebirth is requested.
	err := step("spBv1.0/plant1/DDATA/line-a/pump_1", spBuild(5, spMs(t0), spByAlias(1, 1)))
	if ReasonOf(err) != ReasonSPBeforeBirth || r.Rebirth.Topic != "spBv1.0/plant1/NCMD/line-a" {
		t.Fatalf("DATA before BIRTH: err %v, rebirth %q", err, r.Rebirth.Topic)
	}
	checkRebirthPayload(t, r.Rebirth.Payload)

	// NBIRTH: node metrics with aliases, a control metric and bdSeq (not stored).
	err = step("spBv1.0/plant1/NBIRTH/line-a", spBuild(0, spMs(t0),
		SparkplugMetric{Name: "Node Control/Rebirth", HasName: true, Datatype: SPBoolean, HasDatatype: true, Kind: SPValueBool},
		spDouble("Line/Speed", 1, 2.5), spBdSeq(7)))
	if err != nil || r.Rebirth.Topic != "" {
		t.Fatalf("NBIRTH: %v rebirth %q", err, r.Rebirth.Topic)
	}
	if got := spValues(&r); !slices.Equal(got, []string{fmt.Sprintf("plant1/line-a/line-a Line-Speed=2.5@%d", t0.UnixMilli())}) {
		t.Fatalf("NBIRTH values %q", got)
	}
	// DBIRTH of pump_1 with three metrics by alias, one a string (skipped, counted).
	err = step("spBv1.0/plant1/DBIRTH/line-a/pump_1", spBuild(1, spMs(t0),
		spDouble("temp_c", 10, 40), spDouble("Motor/rpm", 11, 1450),
		SparkplugMetric{Name: "serial", HasName: true, Alias: 12, HasAlias: true, Datatype: SPString, HasDatatype: true, Kind: SPValueString, Str: "A1"}))
	if err != nil || !slices.Equal(spReasons(&r), []Reason{ReasonSPUnsupportedType}) || len(spValues(&r)) != 2 {
		t.Fatalf("DBIRTH: err %v, reasons %v, values %q", err, spReasons(&r), spValues(&r))
	}
	// DDATA by alias, with per-metric timestamps: two samples.
	t1, t2 := t0.Add(time.Second), t0.Add(2*time.Second)
	a, b := spByAlias(10, 41.5), spByAlias(11, 1460)
	a.Timestamp, a.HasTimestamp, b.Timestamp, b.HasTimestamp = spMs(t1), true, spMs(t2), true
	if err = step("spBv1.0/plant1/DDATA/line-a/pump_1", spBuild(2, spMs(t0), a, b, spByAlias(10, 42))); err != nil {
		t.Fatal(err)
	}
	want := []string{
		fmt.Sprintf("plant1/line-a/pump_1 temp_c=41.5@%d", t1.UnixMilli()),
		fmt.Sprintf("plant1/line-a/pump_1 Motor-rpm=1460@%d", t2.UnixMilli()),
		fmt.Sprintf("plant1/line-a/pump_1 temp_c=42@%d", t0.UnixMilli()),
	}
	if got := spValues(&r); !slices.Equal(got, want) {
		t.Fatalf("DDATA values\n got %q\nwant %q", got, want)
	}
	// seq 4 after 2 (and past the rate limit of the first request): the gap is counted, the values kept, a rebirth requested.
	now = now.Add(DefaultSparkplugConfig().RebirthInterval)
	err = step("spBv1.0/plant1/DDATA/line-a/pump_1", spBuild(4, spMs(t2), spByAlias(10, 43)))
	if err != nil || !slices.Equal(spReasons(&r), []Reason{ReasonSPSeqGap}) || len(spValues(&r)) != 1 || r.Rebirth.Topic == "" {
		t.Fatalf("seq gap: err %v reasons %v values %q rebirth %q", err, spReasons(&r), spValues(&r), r.Rebirth.Topic)
	}
	// An unknown alias right after: counted, the good metric kept, no second rebirth
	// inside the rate limit.
	err = step("spBv1.0/plant1/DDATA/line-a/pump_1", spBuild(5, spMs(t2.Add(time.Second)), spByAlias(99, 1), spByAlias(10, 44)))
	if err != nil || !slices.Equal(spReasons(&r), []Reason{ReasonSPUnknownAlias}) || len(spValues(&r)) != 1 || r.Rebirth.Topic != "" {
		t.Fatalf("unknown alias: err %v reasons %v values %q rebirth %q", err, spReasons(&r), spValues(&r), r.Rebirth.Topic)
	}
	// After the interval, the next unknown alias asks again.
	now = now.Add(DefaultSparkplugConfig().RebirthInterval)
	err = step("spBv1.0/plant1/DDATA/line-a/pump_1", spBuild(6, spMs(t2.Add(2*time.Second)), spByAlias(99, 1)))
	if ReasonOf(err) != ReasonSPUnknownAlias || r.Rebirth.Topic == "" {
		t.Fatalf("unknown alias only: err %v rebirth %q", err, r.Rebirth.Topic)
	}
	// A stale NDEATH (another session's bdSeq) is ignored.
	if err = step("spBv1.0/plant1/NDEATH/line-a", spBuild(-1, 0, spBdSeq(6))); ReasonOf(err) != ReasonSPStaleDeath || len(r.Offline) != 0 {
		t.Fatalf("stale NDEATH: %v offline %v", err, r.Offline)
	}
	// The real NDEATH takes the node and its device offline.
	if err = step("spBv1.0/plant1/NDEATH/line-a", spBuild(-1, 0, spBdSeq(7))); err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, m := range r.Offline {
		got = append(got, m.Key())
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"plant1/line-a/line-a", "plant1/line-a/pump_1"}) {
		t.Fatalf("offline %q", got)
	}
	// After death, DATA is DATA before BIRTH again.
	if err = step("spBv1.0/plant1/DDATA/line-a/pump_1", spBuild(7, 0, spByAlias(10, 1))); ReasonOf(err) != ReasonSPBeforeBirth {
		t.Fatalf("DATA after NDEATH: %v", err)
	}
}

func checkRebirthPayload(t *testing.T, b []byte) {
	t.Helper()
	var p SparkplugPayload
	if err := UnmarshalSparkplug(b, &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Metrics) != 1 || p.Metrics[0].Name != "Node Control/Rebirth" || p.Metrics[0].Kind != SPValueBool || !p.Metrics[0].Bool || p.Metrics[0].Datatype != SPBoolean {
		t.Fatalf("rebirth payload %+v", p)
	}
}

func TestSparkplugDeviceDeathAndRebirthOfDevices(t *testing.T) {
	d := newSPDecoder(t)
	var r SparkplugResult
	must := func(topic string, payload []byte) {
		t.Helper()
		if err := d.Decode(&r, topic, payload, spNow); err != nil {
			t.Fatalf("%s: %v", topic, err)
		}
	}
	must("spBv1.0/g/NBIRTH/n", spBuild(0, 0, spBdSeq(0)))
	must("spBv1.0/g/DBIRTH/n/d1", spBuild(1, 0, spDouble("x", 1, 1)))
	must("spBv1.0/g/DDEATH/n/d1", spBuild(2, 0))
	if len(r.Offline) != 1 || r.Offline[0] != (Machine{"g", "n", "d1"}) {
		t.Fatalf("DDEATH offline %v", r.Offline)
	}
	if err := d.Decode(&r, "spBv1.0/g/DDATA/n/d1", spBuild(3, 0, spByAlias(1, 2)), spNow); ReasonOf(err) != ReasonSPBeforeBirth {
		t.Fatalf("DDATA after DDEATH: %v", err)
	}
	// A new NBIRTH ends the device's BIRTH too: the node's new session must rebirth it.
	must("spBv1.0/g/DBIRTH/n/d1", spBuild(4, 0, spDouble("x", 1, 1)))
	must("spBv1.0/g/NBIRTH/n", spBuild(0, 0, spBdSeq(1)))
	if err := d.Decode(&r, "spBv1.0/g/DDATA/n/d1", spBuild(1, 0, spByAlias(1, 2)), spNow); ReasonOf(err) != ReasonSPBeforeBirth {
		t.Fatalf("DDATA after a new NBIRTH without DBIRTH: %v", err)
	}
}

// TestSparkplugBadInput: each bad input of issue 19 is counted by its reason, nothing
// panics, and valid metrics in the same payload are kept.
func TestSparkplugBadInput(t *testing.T) {
	good := spDouble("ok", 1, 1)
	cases := []struct {
		name    string
		topic   string
		payload []byte
		err     Reason
		reasons []Reason
		values  int
	}{
		{"malformed protobuf", "spBv1.0/g/NBIRTH/n", []byte{0x12, 0x05, 0x01}, ReasonSPBadProtobuf, nil, 0},
		{"not protobuf at all", "spBv1.0/g/NBIRTH/n", []byte(`{"ts":1}`), ReasonSPBadProtobuf, nil, 0},
		{"too few levels", "spBv1.0/g/NBIRTH", spBuild(0, 0, good), ReasonBadTopic, nil, 0},
		{"unknown datatype", "spBv1.0/g/NBIRTH/n", spBuild(0, 0, good,
			SparkplugMetric{Name: "weird", HasName: true, Datatype: 77, HasDatatype: true, Kind: SPValueLong, Long: 1}), "", []Reason{ReasonSPUnknownDatatype}, 1},
		{"duplicate alias in BIRTH", "spBv1.0/g/NBIRTH/n", spBuild(0, 0, good, spDouble("a", 5, 1), spDouble("b", 5, 2)), "", []Reason{ReasonSPDuplicateAlias}, 3},
		{"null value", "spBv1.0/g/NBIRTH/n", spBuild(0, 0, good,
			SparkplugMetric{Name: "n", HasName: true, Datatype: SPFloat, HasDatatype: true, IsNull: true}), "", []Reason{ReasonSPNull}, 1},
		{"dataset", "spBv1.0/g/NBIRTH/n", spBuild(0, 0, good,
			SparkplugMetric{Name: "ds", HasName: true, Datatype: SPDataSet, HasDatatype: true, Kind: SPValueDataset}), "", []Reason{ReasonSPUnsupportedType}, 1},
		{"NaN", "spBv1.0/g/NBIRTH/n", spBuild(0, 0, good, spDouble("nan", 3, math.NaN())), "", []Reason{ReasonNotFinite}, 1},
		{"timestamp out of window", "spBv1.0/g/NBIRTH/n", spBuild(0, 0, good,
			SparkplugMetric{Name: "old", HasName: true, Datatype: SPDouble, HasDatatype: true, Kind: SPValueDouble, Timestamp: 1000, HasTimestamp: true}), "", []Reason{ReasonBadTS}, 1},
		{"metric without name in BIRTH", "spBv1.0/g/NBIRTH/n", spBuild(0, 0, good, spByAlias(9, 1)), "", []Reason{ReasonEmpty}, 1},
		{"oversize", "spBv1.0/g/NBIRTH/n", make([]byte, DefaultLimits().MaxPayload+1), ReasonOversize, nil, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := newSPDecoder(t)
			var r SparkplugResult
			err := d.Decode(&r, c.topic, c.payload, spNow)
			if ReasonOf(err) != c.err || (err != nil) != (c.err != "") {
				t.Fatalf("err %v, want reason %q", err, c.err)
			}
			if !slices.Equal(spReasons(&r), c.reasons) {
				t.Fatalf("rejected %v, want %v", spReasons(&r), c.reasons)
			}
			if n := len(spValues(&r)); n != c.values {
				t.Fatalf("%d values kept (%q), want %d", n, spValues(&r), c.values)
			}
		})
	}
}

// TestSparkplugDuplicateAliasNotGuessed: DATA by an alias the BIRTH gave twice is
// dropped, not stored under either name.
func TestSparkplugDuplicateAliasNotGuessed(t *testing.T) {
	d := newSPDecoder(t)
	var r SparkplugResult
	if err := d.Decode(&r, "spBv1.0/g/NBIRTH/n", spBuild(0, 0, spDouble("a", 5, 1), spDouble("b", 5, 2), spDouble("c", 6, 3)), spNow); err != nil {
		t.Fatal(err)
	}
	err := d.Decode(&r, "spBv1.0/g/NDATA/n", spBuild(1, 0, spByAlias(5, 9), spByAlias(6, 4)), spNow)
	if err != nil || !slices.Equal(spReasons(&r), []Reason{ReasonSPDuplicateAlias}) || !slices.Equal(spValues(&r)[0:1], []string{fmt.Sprintf("g/n/n c=4@%d", spNow.UnixMilli())}) {
		t.Fatalf("err %v reasons %v values %q", err, spReasons(&r), spValues(&r))
	}
}

// TestSparkplugNumericTypes: every numeric datatype, encoded as Tahu JavaScript does
// (Int8..Int32 sign-extended in int_value, UInt32 and 64-bit types in long_value) and as
// the 3.0 text describes (narrow two's complement), decodes to the sent number.
func TestSparkplugNumericTypes(t *testing.T) {
	m := func(dt SparkplugDataType, kind SparkplugValueKind, i uint32, l uint64) SparkplugMetric {
		return SparkplugMetric{Datatype: dt, HasDatatype: true, Kind: kind, Int: i, Long: l}
	}
	neg1 := uint32(math.MaxUint32)
	cases := []struct {
		m    SparkplugMetric
		want float64
	}{
		{m(SPInt8, SPValueInt, neg1, 0), -1},
		{m(SPInt8, SPValueInt, 0xFF, 0), -1},
		{m(SPInt8, SPValueInt, 100, 0), 100},
		{m(SPInt16, SPValueInt, uint32(0xFFFF8000), 0), -32768},
		{m(SPInt16, SPValueInt, 0x8000, 0), -32768},
		{m(SPInt32, SPValueInt, uint32(0x80000000), 0), math.MinInt32},
		{m(SPInt64, SPValueLong, 0, math.MaxUint64), -1},
		{m(SPUInt8, SPValueInt, 255, 0), 255},
		{m(SPUInt16, SPValueInt, 65535, 0), 65535},
		{m(SPUInt32, SPValueLong, 0, 4294967295), 4294967295},
		{m(SPUInt32, SPValueInt, neg1, 0), 4294967295},
		{m(SPUInt64, SPValueLong, 0, 1<<40), 1 << 40},
		{SparkplugMetric{Datatype: SPFloat, Kind: SPValueFloat, Float: 1.5}, 1.5},
		{SparkplugMetric{Datatype: SPDouble, Kind: SPValueDouble, Double: -2.25}, -2.25},
		{SparkplugMetric{Datatype: SPBoolean, Kind: SPValueBool, Bool: true}, 1},
		{SparkplugMetric{Datatype: SPBoolean, Kind: SPValueBool}, 0},
	}
	for _, c := range cases {
		v, r, detail := c.m.value(c.m.Datatype)
		if r != "" || v != c.want {
			t.Errorf("%s %+v: %v (%s %s), want %v", c.m.Datatype, c.m, v, r, detail, c.want)
		}
	}
}

// TestSparkplugBigData: a 300-metric DATA, as from a node at 10 Hz, is decoded whole.
func TestSparkplugBigData(t *testing.T) {
	d := newSPDecoder(t)
	var r SparkplugResult
	var birth, data []SparkplugMetric
	for i := range 300 {
		birth = append(birth, spDouble(fmt.Sprintf("m%03d", i), uint64(i+1), 0))
		data = append(data, spByAlias(uint64(i+1), float64(i)))
	}
	if err := d.Decode(&r, "spBv1.0/g/NBIRTH/n", spBuild(0, 0, birth...), spNow); err != nil {
		t.Fatal(err)
	}
	for k := 1; k <= 20; k++ {
		if err := d.Decode(&r, "spBv1.0/g/NDATA/n", spBuild(k, spMs(spNow)+uint64(k*100), data...), spNow); err != nil {
			t.Fatal(err)
		}
		if len(r.Samples) != 1 || len(r.Samples[0].Values) != 300 || r.Samples[0].Values[299].V != 299 || len(r.Rejected) != 0 {
			t.Fatalf("message %d: %d samples, rejected %v", k, len(r.Samples), r.Rejected)
		}
	}
}

func TestSparkplugRoundTrip(t *testing.T) {
	in := SparkplugPayload{Timestamp: 1700000000000, HasTimestamp: true, Seq: 255, HasSeq: true, Metrics: []SparkplugMetric{
		{Name: "a/b c", HasName: true, Alias: 0, HasAlias: true, Timestamp: 1, HasTimestamp: true, Datatype: SPFloat, HasDatatype: true, Kind: SPValueFloat, Float: 3.5, IsHistorical: true, IsTransient: true},
		{Alias: 1 << 40, HasAlias: true, Kind: SPValueLong, Long: math.MaxUint64},
		{Name: strings.Repeat("x", 300), HasName: true, Kind: SPValueBool, Bool: true, IsNull: true},
	}}
	b := AppendSparkplug(nil, &in)
	var out SparkplugPayload
	if err := UnmarshalSparkplug(b, &out); err != nil {
		t.Fatal(err)
	}
	out.Metrics[2].Str, in.Metrics[2].Str = "", ""
	if fmt.Sprintf("%+v", in) != fmt.Sprintf("%+v", out) {
		t.Fatalf("round trip\n in %+v\nout %+v", in, out)
	}
}

func TestSparkplugConfigValidate(t *testing.T) {
	c := DefaultSparkplugConfig()
	c.RebirthInterval, c.MaxNodes = time.Millisecond, 0
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "100ms..1h") || !strings.Contains(err.Error(), "1..1000000") {
		t.Fatalf("Validate: %v", err)
	}
	c = DefaultSparkplugConfig()
	c.MaxNodes = 1
	d, _ := NewSparkplugDecoder(c, DefaultLimits())
	var r SparkplugResult
	if err := d.Decode(&r, "spBv1.0/g/NBIRTH/a", spBuild(0, 0), spNow); err != nil {
		t.Fatal(err)
	}
	if err := d.Decode(&r, "spBv1.0/g/NBIRTH/b", spBuild(0, 0), spNow); ReasonOf(err) != ReasonTooManyItems {
		t.Fatalf("second node past MaxNodes 1: %v", err)
	}
}

func FuzzDecodeSparkplug(f *testing.F) {
	f.Add("spBv1.0/g/NBIRTH/n", spBuild(0, 0, spDouble("a", 1, 1), spBdSeq(0)))
	f.Add("spBv1.0/g/NDATA/n", spBuild(1, 0, spByAlias(1, 2)))
	f.Add("spBv1.0/g/DBIRTH/n/d", spBuild(1, 0, spDouble("b/c", 2, 1)))
	f.Add("spBv1.0/g/DDATA/n/d", spBuild(2, 5, spByAlias(2, 2), spByAlias(3, 1)))
	f.Add("spBv1.0/g/NDEATH/n", spBuild(-1, 0, spBdSeq(0)))
	lim := DefaultLimits()
	lim.MaxBatch, lim.MaxValues = 16, 4
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		d, err := NewSparkplugDecoder(DefaultSparkplugConfig(), lim)
		if err != nil {
			t.Fatal(err)
		}
		var r SparkplugResult
		// A BIRTH first, so DATA payloads reach alias resolution.
		_ = d.Decode(&r, "spBv1.0/g/NBIRTH/n", spBuild(0, 0, spDouble("a", 1, 1), spDouble("b", 2, 1)), fuzzNow)
		err = d.Decode(&r, topic, payload, fuzzNow)
		if err != nil {
			var re *RejectError
			if !errors.As(err, &re) || !knownSPReason(re.Reason) {
				t.Fatalf("error %v is not a known rejection", err)
			}
		}
		for _, x := range r.Rejected {
			if !knownSPReason(x.Reason) {
				t.Fatalf("rejection with unknown reason %+v", x)
			}
		}
		for _, s := range r.Samples {
			if err := s.Machine.Validate(); err != nil {
				t.Fatalf("sample of invalid machine %+v", s.Machine)
			}
			if len(s.Values) == 0 || len(s.Values) > lim.MaxValues {
				t.Fatalf("sample with %d values", len(s.Values))
			}
			for _, v := range s.Values {
				if ValidateName(v.Sensor) != nil || math.IsNaN(v.V) || math.IsInf(v.V, 0) {
					t.Fatalf("bad value %+v", v)
				}
			}
		}
	})
}

func knownSPReason(r Reason) bool { return knownReason(r) || slices.Contains(SparkplugReasons, r) }

func TestDocListsEverySparkplugReason(t *testing.T) {
	_, doc := readDocBlocks(t)
	for _, r := range SparkplugReasons {
		if !strings.Contains(doc, "| `"+string(r)+"` |") {
			t.Errorf("docs/telemetry.md has no table row for Sparkplug reason %q", r)
		}
	}
}
