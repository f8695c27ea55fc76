package simulators

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/telemetry"
)

func TestReadCSV(t *testing.T) {
	cases := []struct {
		name, text string
		opt        CSVOptions
		sensors    string
		rows       int
		first      time.Time
		noTime     bool
	}{
		{"nab", "timestamp,value\n2013-12-02 21:15:00,73.96732207\n2013-12-02 21:20:00,74.935882\n", CSVOptions{}, "value", 2,
			time.Date(2013, 12, 2, 21, 15, 0, 0, time.UTC), false},
		{"tab unix ms", "t\ta b\tc\n1700000000000\t1\t\n1700000001000\t2\t3\n", CSVOptions{TimeColumn: "t"}, "a_b,c", 2,
			time.UnixMilli(1700000000000).UTC(), false},
		{"semicolon rfc3339", "ts;x\n2024-05-01T10:00:00+02:00;1\n", CSVOptions{}, "x", 1, time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC), false},
		{"no time column", "x,y\n1,2\n3,4\n5,6\n", CSVOptions{}, "x,y", 3, time.Time{}, true},
		{"given separator", "ts|v\n1700000000|1\n", CSVOptions{Sep: '|'}, "v", 1, time.Unix(1700000000, 0).UTC(), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tb, err := ReadCSV(strings.NewReader(tc.text), tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(tb.Sensors, ","); got != tc.sensors || len(tb.Rows) != tc.rows {
				t.Fatalf("sensors %q rows %d, want %q %d", got, len(tb.Rows), tc.sensors, tc.rows)
			}
			if tc.noTime != (tb.Times == nil) || !tc.noTime && !tb.Times[0].Equal(tc.first) {
				t.Errorf("times %v, want first %v", tb.Times, tc.first)
			}
		})
	}
	tb, _ := ReadCSV(strings.NewReader("t\ta b\tc\n1700000000000\t1\t\n"), CSVOptions{})
	if tb == nil || !math.IsNaN(tb.Rows[0][2]) { // "t" is not a recognised time column name: a sensor here
		t.Errorf("empty cell should be NaN: %+v", tb)
	}
	for _, bad := range []string{"", "ts,v\n", "ts\n2024-01-01 00:00:00\n", "ts,v\n2024-01-01 00:00:00,abc\n", "ts,v\n2024-01-01 00:00:00,1,2\n", "ts,v\nnoon,1\n"} {
		if _, err := ReadCSV(strings.NewReader(bad), CSVOptions{}); err == nil {
			t.Errorf("ReadCSV(%q) accepted", bad)
		}
	}
}

func TestReplayWithoutTimeColumn(t *testing.T) {
	tb, err := ReadCSV(strings.NewReader("x,y\n1,2\n,\n5,6\n"), CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{keep: true}
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	m := telemetry.Machine{Site: "s", Line: "l", Machine: "motor-0001"}
	if err := Replay(context.Background(), tb, rec, ReplayOptions{Machine: m, Topics: telemetry.MustTopics(""), Rate: 2, Start: start}); err != nil {
		t.Fatal(err)
	}
	// The all-empty row is skipped; the third row keeps its place in time (1 s at 2 Hz).
	want := []string{`{"ts":"2025-01-01T00:00:00Z","values":{"x":1,"y":2}}`, `{"ts":"2025-01-01T00:00:01Z","values":{"x":5,"y":6}}`}
	if len(rec.msgs) != 2 || string(rec.msgs[0].payload) != want[0] || string(rec.msgs[1].payload) != want[1] {
		t.Errorf("published %q, want %q", rec.msgs, want)
	}
	if err := Replay(context.Background(), tb, rec, ReplayOptions{Machine: m}); err == nil {
		t.Error("replay without time column and without rate accepted")
	}
}

// TestPerSensorTopics: one message per non-dropped value, each decodable by DecodeSensor.
func TestPerSensorTopics(t *testing.T) {
	p := newPlant(t, func(c *Config) { c.Machines = 3 })
	rec := &recorder{keep: true}
	topics := telemetry.MustTopics("")
	if err := p.Run(context.Background(), rec, RunOptions{Topics: topics, PerSensorTopics: true, Duration: 10 * time.Second}); err != nil {
		t.Fatal(err)
	}
	sensors := 0
	for _, typ := range Types() {
		sensors += len(Sensors(typ))
	}
	if want := 10*sensors + 3; len(rec.msgs) != want { // + one truth record per machine at step 0
		t.Fatalf("%d messages, want %d", len(rec.msgs), want)
	}
	for _, m := range rec.msgs {
		tp, err := topics.Parse(m.topic)
		if err != nil {
			t.Fatal(err)
		}
		if tp.Kind != telemetry.KindSensor {
			continue
		}
		if _, err := telemetry.DecodeSensor(m.payload, tp.Sensor, telemetry.DefaultLimits(), time.Now()); err != nil {
			t.Errorf("%s %s: %v", m.topic, m.payload, err)
		}
	}
}

// Replay reads what bin/train reads: a header with a byte-order mark or quoted names,
// and the time column found the same way.
func TestReplayHeaderForms(t *testing.T) {
	for _, in := range []string{"\ufeffts,a\n2024-01-01T00:00:00Z,1\n2024-01-01T00:00:01Z,2\n", "\"ts\",\"a\"\n2024-01-01T00:00:00Z,1\n2024-01-01T00:00:01Z,2\n"} {
		tb, err := ReadCSV(strings.NewReader(in), CSVOptions{})
		if err != nil || len(tb.Times) != 2 || len(tb.Sensors) != 1 || tb.Sensors[0] != "a" {
			t.Errorf("%q: %+v, %v", in, tb, err)
		}
	}
}

// A file of slashed dates replays with the order the user states, at the instants the
// trainer reads (dataset.DetectColumnsOrder finds the Date column); without the order
// it is refused saying how to read it, and an unknown order is refused by name.
func TestReadCSVDateOrder(t *testing.T) {
	in := "Date;T1\n13/01/2024 23:59:59;1,5\n14/01/2024 00:00:01;1,6\n"
	tb, err := ReadCSV(strings.NewReader(in), CSVOptions{DateOrder: "dmy"})
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2024, 1, 13, 23, 59, 59, 0, time.UTC)
	if len(tb.Times) != 2 || !tb.Times[0].Equal(want) || !tb.Times[1].Equal(want.Add(2*time.Second)) || tb.Rows[1][0] != 1.6 {
		t.Fatalf("times %v rows %v, want from %v", tb.Times, tb.Rows, want)
	}
	if _, err := ReadCSV(strings.NewReader(in), CSVOptions{}); err == nil || !strings.Contains(err.Error(), "give --date-order dmy (day first) or mdy (month first)") {
		t.Errorf("no order: %v", err)
	}
	if _, err := ReadCSV(strings.NewReader(in), CSVOptions{DateOrder: "mdy"}); err == nil || !strings.Contains(err.Error(), `line 2, time column: "13/01/2024 23:59:59" is not a date in month/day/year order (--date-order mdy): month 13`) {
		t.Errorf("wrong order: %v", err)
	}
	if _, err := ReadCSV(strings.NewReader(in), CSVOptions{DateOrder: "european"}); err == nil || !strings.Contains(err.Error(), `--date-order "european": use dmy`) {
		t.Errorf("bad order: %v", err)
	}
}
