package trainsrc

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/dataset"
	"github.com/faultline/faultline/internal/influxstore"
	"github.com/faultline/faultline/internal/telemetry"
)

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Time
		err  string
	}{
		{"2026-01-02T03:04:05Z", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), ""},
		{"2026-01-02", time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), ""},
		{"-24h", now.Add(-24 * time.Hour), ""},
		{"-90m", now.Add(-90 * time.Minute), ""},
		{"now", now, ""},
		{"", time.Time{}, "empty time"},
		{"-1d", time.Time{}, "not a relative duration"},
		{"yesterday", time.Time{}, "use RFC 3339"},
	}
	for _, tc := range cases {
		got, err := ParseTime(tc.in, now)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseTime(%q) err = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestGroupMachines(t *testing.T) {
	ms := []telemetry.Machine{{Machine: "pump-0002"}, {Machine: "fan-01"}, {Machine: "pump-0001"}, {Machine: "press"}, {Machine: "cnc-a-7"}}
	g, err := GroupMachines(ms, "type")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(g); got != "[{cnc-a cnc-a-* [{  cnc-a-7}]} {fan fan-* [{  fan-01}]} {press press [{  press}]} {pump pump-* [{  pump-0002} {  pump-0001}]}]" {
		t.Fatalf("by type: %s", got)
	}
	g, _ = GroupMachines(ms, "machine")
	if len(g) != 5 || g[0].Key != "cnc-a-7" || g[0].Match != "cnc-a-7" {
		t.Fatalf("by machine: %v", g)
	}
	if _, err := GroupMachines(ms, "site"); err == nil {
		t.Fatal("unknown grouping accepted")
	}
}

// fakeReader is an in-process stand-in for the store, testing the pivot logic alone;
// cmd/train's integration test reads from a real InfluxDB.
type fakeReader struct {
	rows    map[string][]influxstore.Row
	queries []influxstore.SeriesQuery
	err     error
}

func (f *fakeReader) ReadTelemetry(_ context.Context, q influxstore.SeriesQuery, fn func(influxstore.Row) error) error {
	f.queries = append(f.queries, q)
	if f.err != nil {
		return f.err
	}
	for _, r := range f.rows[q.Machine] {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

func TestLoadInfluxPivots(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	row := func(m string, s int, vals map[string]float64) influxstore.Row {
		return influxstore.Row{Machine: telemetry.Machine{Machine: m}, Time: t0.Add(time.Duration(s) * time.Second), Values: vals}
	}
	f := &fakeReader{rows: map[string][]influxstore.Row{
		// temp appears late; b's rows come out of order (two sites under one id).
		"a": {row("a", 0, map[string]float64{"rpm": 1}), row("a", 1, map[string]float64{"rpm": 2, "temp": 30})},
		"b": {row("b", 5, map[string]float64{"amps": 3}), row("b", 4, map[string]float64{"rpm": 4})},
	}}
	rng := Range{Machines: []telemetry.Machine{{Site: "s", Machine: "a"}, {Machine: "b"}, {Machine: "silent"}}, Start: t0, Stop: t0.Add(time.Hour), Chunk: time.Minute}
	d, err := LoadInflux(context.Background(), f, rng)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(d.Columns) != "[amps rpm temp]" || len(d.Series) != 2 {
		t.Fatalf("columns %v, %d series", d.Columns, len(d.Series))
	}
	a, b := d.Series[0], d.Series[1]
	nan := math.NaN()
	want := map[string][][]float64{"a": {{nan, 1, nan}, {nan, 2, 30}}, "b": {{nan, 4, nan}, {3, nan, nan}}}
	for _, s := range []struct {
		name string
		got  [][]float64
		t    []float64
	}{{"a", a.Rows, a.T}, {"b", b.Rows, b.T}} {
		if fmt.Sprint(s.got) != fmt.Sprint(want[s.name]) {
			t.Errorf("series %s rows %v, want %v", s.name, s.got, want[s.name])
		}
	}
	if b.T[0] != 1_700_000_004 || b.Asset != "b" {
		t.Errorf("series b not sorted by time: %v", b.T)
	}
	if q := f.queries[0]; q.Site != "s" || q.Machine != "a" || q.Chunk != time.Minute || !q.Start.Equal(t0) {
		t.Errorf("query %+v", q)
	}
	if _, err := LoadInflux(context.Background(), f, Range{Machines: []telemetry.Machine{{Machine: "silent"}}, Start: t0, Stop: t0.Add(time.Hour)}); err == nil || !strings.Contains(err.Error(), "no telemetry for silent") {
		t.Errorf("empty: %v", err)
	}
	f.err = errors.New("connection refused")
	if _, err := LoadInflux(context.Background(), f, rng); err == nil || !strings.Contains(err.Error(), "machine a: connection refused") {
		t.Errorf("read error: %v", err)
	}
}

func TestLoadCSVCMAPSS(t *testing.T) {
	dir := t.TempDir()
	var raw, conv strings.Builder
	conv.WriteString("unit,cycle,op_setting_1,op_setting_2,op_setting_3")
	for i := 1; i <= 21; i++ {
		fmt.Fprintf(&conv, ",sensor_%d", i)
	}
	conv.WriteString("\n")
	for u := 1; u <= 2; u++ {
		for c := 1; c <= 3; c++ {
			vals := []string{fmt.Sprint(u), fmt.Sprint(c), "0.001", "0.0002", "100"}
			for i := 1; i <= 21; i++ {
				vals = append(vals, fmt.Sprint(float64(i)+float64(c)/10))
			}
			raw.WriteString(strings.Join(vals, " ") + "  \n")
			conv.WriteString(strings.Join(vals, ",") + "\n")
		}
	}
	for name, content := range map[string]string{"raw.txt": raw.String(), "conv.csv": conv.String()} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		d, err := LoadCSV(CSV{Path: p, CMAPSS: true})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(d.Series) != 2 || len(d.Columns) != 24 || d.Series[1].Asset != "2" || d.Series[1].T[2] != 3 {
			t.Fatalf("%s: %d series, columns %v", name, len(d.Series), d.Columns)
		}
	}
}

func TestLoadCSVOrder(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.csv")
	os.WriteFile(p, []byte("u,t,a\n1,1,5\n2,1,6\n1,2,7\n"), 0o644)
	if _, err := LoadCSV(CSV{Path: p, AssetColumn: "u", TimeColumn: "t"}); err == nil || !strings.Contains(err.Error(), "sort the file by asset") {
		t.Fatalf("interleaved assets: %v", err)
	}
	if _, err := LoadCSV(CSV{}); err == nil {
		t.Fatal("no path accepted")
	}
}

func TestParseSep(t *testing.T) {
	for in, want := range map[string]rune{"": 0, ",": ',', "tab": '\t', "space": ' ', ";": ';'} {
		if got, err := ParseSep(in); err != nil || got != want {
			t.Errorf("ParseSep(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseSep(",,"); err == nil {
		t.Error("two-character separator accepted")
	}
}

func TestSummarize(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.csv")
	os.WriteFile(p, []byte("t,a,b,c\n1,1,,3\n2,2,,3\n"), 0o644)
	d, err := LoadCSV(CSV{Path: p, TimeColumn: "t"})
	if err != nil {
		t.Fatal(err)
	}
	s := Summarize(p, d)
	if s.Rows != 2 || s.Assets != 1 || s.First != 1 || s.Last != 2 || s.Columns[1].Missing != 2 || s.Columns[0].Max != 2 {
		t.Fatalf("summary %+v", s)
	}
	if n := s.Usable(nil); n != 1 {
		t.Fatalf("usable %d, want 1 (b empty, c constant)", n)
	}
	if err := CheckColumns(d, "--context", []string{"a", "zz"}); err == nil || !strings.Contains(err.Error(), `["zz"]`) {
		t.Fatalf("CheckColumns: %v", err)
	}
}

// BenchmarkLoadInfluxPivot measures pivoting a day of 1 Hz, 8-sensor telemetry (86,400
// rows) into Data, the in-memory part of an InfluxDB load.
func BenchmarkLoadInfluxPivot(b *testing.B) {
	t0 := time.Unix(1_700_000_000, 0)
	rows := make([]influxstore.Row, 86_400)
	for i := range rows {
		v := map[string]float64{}
		for s := range 8 {
			v[fmt.Sprintf("s%d", s)] = float64(i + s)
		}
		rows[i] = influxstore.Row{Time: t0.Add(time.Duration(i) * time.Second), Values: v}
	}
	f := &fakeReader{rows: map[string][]influxstore.Row{"m": rows}}
	rng := Range{Machines: []telemetry.Machine{{Machine: "m"}}, Start: t0, Stop: t0.Add(24 * time.Hour)}
	b.ReportAllocs()
	for b.Loop() {
		f.queries = f.queries[:0]
		if _, err := LoadInflux(context.Background(), f, rng); err != nil {
			b.Fatal(err)
		}
	}
}

// An export in another locale: the time column is found by its timestamps (Zeit is
// no name the detector knows), decimals are written with commas, and a text column
// reaches the trainer as a dropped column with its reason.
func TestLoadCSVForeignExport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "export.csv")
	in := "Zeit;T1;Modus\n2024-03-01 00:00:00;12,5;auto\n2024-03-01 00:01:00;13,0;auto\n2024-03-01 00:02:00;13,5;auto\n"
	if err := os.WriteFile(path, []byte(in), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := DetectTimeColumn(path); got != "Zeit" {
		t.Fatalf("time column %q, want Zeit", got)
	}
	d, err := LoadCSV(CSV{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Columns) != 1 || d.Columns[0] != "T1" || d.Series[0].Rows[2][0] != 13.5 {
		t.Fatalf("columns %v, rows %v", d.Columns, d.Series[0].Rows)
	}
	if d.Series[0].T[1]-d.Series[0].T[0] != 60 {
		t.Fatalf("times %v, want a minute apart", d.Series[0].T)
	}
	if !strings.HasPrefix(d.Dropped["Modus"], "text, not numbers") {
		t.Fatalf("dropped %v, want Modus as text", d.Dropped)
	}
}

// Three machines exported one after the other into one file: the machine column is
// the asset column without --asset-column (else each boundary went back in time and
// the file was refused as unsorted).
func TestLoadCSVDetectsTheMachineColumn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plant.csv")
	var b strings.Builder
	b.WriteString("timestamp,Machine,temp\n")
	for _, m := range []string{"pump-1", "pump-2", "pump-3"} {
		for i := range 5 {
			fmt.Fprintf(&b, "2024-03-01T00:0%d:00Z,%s,%d\n", i, m, 50+i)
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := LoadCSV(CSV{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Series) != 3 || d.Series[1].Asset != "pump-2" || len(d.Series[1].Rows) != 5 || len(d.Columns) != 1 {
		t.Fatalf("%d series, columns %v; want pump-1..3 with 5 rows of temp each", len(d.Series), d.Columns)
	}
	if got := DetectAssetColumn(path); got != "Machine" {
		t.Fatalf("asset column %q, want the header's spelling Machine", got)
	}
}

// A US export (month first, 12-hour clock) trains with DateOrder mdy: its Date column
// is found and read as the instants meant; without the order it is refused, saying how
// to read it; an unknown order is refused before the file is opened.
func TestLoadCSVDateOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "us.csv")
	in := "Date,T1\n3/1/2024 11:59:00 AM,1\n3/1/2024 12:00:00 PM,2\n3/1/2024 12:01:00 PM,3\n"
	if err := os.WriteFile(path, []byte(in), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := DetectTimeColumnOrder(path, dataset.MDY); got != "Date" {
		t.Fatalf("time column %q, want Date", got)
	}
	d, err := LoadCSV(CSV{Path: path, DateOrder: dataset.MDY})
	if err != nil {
		t.Fatal(err)
	}
	noon := float64(time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC).Unix())
	if got := d.Series[0].T; len(got) != 3 || got[0] != noon-60 || got[1] != noon || got[2] != noon+60 {
		t.Fatalf("times %v, want a minute apart around %v", got, noon)
	}
	if _, err := LoadCSV(CSV{Path: path}); err == nil || !strings.Contains(err.Error(), "give --date-order dmy (day first) or mdy (month first)") {
		t.Fatalf("no order: %v", err)
	}
	if _, err := LoadCSV(CSV{Path: "/nonexistent.csv", DateOrder: "ydm"}); err == nil || !strings.Contains(err.Error(), `--date-order "ydm": use dmy`) {
		t.Fatalf("bad order: %v", err)
	}
}
