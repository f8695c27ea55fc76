package dataset

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestReadVariants(t *testing.T) {
	cases := []struct {
		name, in string
		o        Options
		sensors  string
		rows     int
		ts       bool
	}{
		{"comma with timestamps", "timestamp,value\n2013-12-02 21:15:00,73.9\n2013-12-02 21:20:00,74.9\n", Options{TimeColumn: "timestamp"}, "value", 2, true},
		{"semicolon", "t;a;b\n1;2;3\n2;3;4\n3;;5\n", Options{TimeColumn: "t"}, "a,b", 3, false},
		{"tab", "t\ta\n1\t2\n", Options{TimeColumn: "t"}, "a", 1, false},
		{"ignore and asset", "unit,cycle,s1,label\nA,1,0.5,x\nA,2,0.6,y\nB,1,0.7,z\n", Options{TimeColumn: "cycle", AssetColumn: "unit", Ignore: []string{"label"}}, "s1", 3, false},
		{"no time column", "a,b\n1,2\n3,4\n", Options{}, "a,b", 2, false},
		{"rfc3339", "ts,x\n2026-01-01T00:00:00Z,1\n2026-01-01T00:00:01.5Z,2\n", Options{TimeColumn: "ts"}, "x", 2, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tb, err := Read(strings.NewReader(tc.in), tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(tb.Sensors, ","); got != tc.sensors || len(tb.Rows) != tc.rows || tb.Timestamps != tc.ts {
				t.Fatalf("sensors %q rows %d ts %v", got, len(tb.Rows), tb.Timestamps)
			}
		})
	}
}

func TestReadValuesAndGroups(t *testing.T) {
	tb, err := Read(strings.NewReader("unit,cycle,s1\nA,1,0.5\nA,2,\nB,1,NaN\n"), Options{TimeColumn: "cycle", AssetColumn: "unit"})
	if err != nil {
		t.Fatal(err)
	}
	if tb.Rows[0][0] != 0.5 || !math.IsNaN(tb.Rows[1][0]) || !math.IsNaN(tb.Rows[2][0]) {
		t.Fatalf("rows %v", tb.Rows)
	}
	if tb.T[1] != 2 {
		t.Fatalf("T %v", tb.T)
	}
	g := tb.Groups()
	if len(g) != 2 || g[0] != (Group{"A", 0, 2}) || g[1] != (Group{"B", 2, 3}) {
		t.Fatalf("groups %v", g)
	}
	tb2, _ := Read(strings.NewReader("ts,x\n2026-01-01T00:00:01.5Z,2\n"), Options{TimeColumn: "ts"})
	if tb2.T[0] != 1767225601.5 {
		t.Fatalf("timestamp seconds %v", tb2.T[0])
	}
}

// A historian export: a status column of words is left out, a numeric column with a
// few words ("I/O Timeout") keeps its numbers and reads the words as missing, and a
// semicolon-separated file from a decimal-comma locale reads 12,5 as 12.5.
func TestReadTextCellsAndDecimalCommas(t *testing.T) {
	in := "Zeit;T1;Modus;P1\n" +
		"2024-03-01 00:00:00;12,5;auto;1\n" +
		"2024-03-01 00:01:00;I/O Timeout;auto;2\n" +
		"2024-03-01 00:02:00;13,0;;3\n" +
		"2024-03-01 00:03:00;13,5;manual;4\n"
	tb, err := Read(strings.NewReader(in), Options{TimeColumn: "Zeit"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tb.Sensors, []string{"T1", "P1"}) {
		t.Fatalf("sensors %v, want T1 and P1 (Modus is text)", tb.Sensors)
	}
	if len(tb.Dropped) != 1 || tb.Dropped[0].Column != "Modus" || !strings.Contains(tb.Dropped[0].Reason, `3 of 3 cells; first "auto" at line 2`) {
		t.Fatalf("dropped %+v", tb.Dropped)
	}
	want := TextCells{Column: "T1", Count: 1, Example: "I/O Timeout", Line: 3}
	if len(tb.TextCells) != 1 || tb.TextCells[0] != want {
		t.Fatalf("text cells %+v, want %+v", tb.TextCells, want)
	}
	if tb.Rows[0][0] != 12.5 || !math.IsNaN(tb.Rows[1][0]) || tb.Rows[3][0] != 13.5 || tb.Rows[3][1] != 4 {
		t.Fatalf("rows %v", tb.Rows)
	}
	// With commas as separators, a comma is never a decimal point.
	if _, err := Read(strings.NewReader("t,a\n1,\"1,5\"\n2,2\n"), Options{TimeColumn: "t"}); err != nil {
		t.Fatal(err)
	}
	tb, _ = Read(strings.NewReader("t,a\n1,\"1,5\"\n2,2\n3,3\n"), Options{TimeColumn: "t"})
	if !math.IsNaN(tb.Rows[0][0]) || len(tb.TextCells) != 1 {
		t.Fatalf("a quoted 1,5 in a comma-separated file: rows %v, text cells %+v", tb.Rows, tb.TextCells)
	}
}

// The timestamp forms of exports: ISO with a space and a zone, fractions, minutes only,
// and the day.month.year of European exports; slashed day/month dates are refused
// rather than guessed.
func TestTimestampForms(t *testing.T) {
	want := time.Date(2024, 3, 1, 7, 5, 9, 0, time.UTC)
	for _, c := range []struct {
		in string
		at time.Time
	}{
		{"2024-03-01T07:05:09Z", want},
		{"2024-03-01 07:05:09+01:00", want.Add(-time.Hour)},
		{"2024-03-01 07:05:09.5", want.Add(500 * time.Millisecond)},
		{"2024-03-01T07:05:09", want},
		{"2024-03-01T07:05", want.Add(-9 * time.Second)},
		{"01.03.2024 07:05:09", want},
		{"01.03.2024 07:05", want.Add(-9 * time.Second)},
		{"01.03.2024", time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)},
	} {
		v, isTS, err := parseTime(c.in)
		if err != nil || !isTS || v != float64(c.at.UnixNano())/1e9 {
			t.Errorf("%q: %v %v %v, want %v", c.in, v, isTS, err, c.at)
		}
	}
	if _, _, err := parseTime("03/01/2024 07:05"); err == nil {
		t.Error("03/01/2024 read as one of March or January")
	}
	// Such a column is the file's clock: refused by name, not dropped as text (the rows
	// would be numbered and a model learn a period of one row).
	for _, in := range []string{"Zeitstempel;T1\n03/01/2024 07:05;1,5\n03/01/2024 07:06;1,6\n", "when,x\n1.3.2024 07:05,2\n", "clock,x\n7:05 PM,2\n"} {
		_, err := Read(strings.NewReader(in), Options{})
		if err == nil || !strings.Contains(err.Error(), "holds times in a form not read") {
			t.Errorf("%q: %v, want the time column refused", in, err)
		}
	}
	// With the time column named, another column of words stays a text column.
	if tb, err := Read(strings.NewReader("ts,mode,x\n2024-03-01T00:00:00Z,auto,1\n"), Options{TimeColumn: "ts"}); err != nil || len(tb.Dropped) != 1 {
		t.Errorf("%v %+v", err, tb)
	}
}

func TestDetectColumns(t *testing.T) {
	for _, tc := range []struct{ name, in, time, asset string }{
		{"german export", "Zeit;T1\n2024-03-01 00:00:00;1,5\n", "Zeit", ""},
		{"second column", "id,when,x\n1,2024-03-01T00:00:00Z,2\n", "when", ""},
		{"numbers only", "cycle,x\n1,2\n", "", ""},
		{"no rows", "when,x\n", "", ""},
		{"named, any case", "Machine_ID;TimeStamp;x\npump-1;5;2\n", "TimeStamp", "Machine_ID"},
		{"names before content", "when,date,machine\n2024-03-01T00:00:00Z,2024-03-01,a\n", "date", "machine"},
		{"empty", "", "", ""},
		{"date and time apart", "Date;Time;x\n2024-03-01;07:05:00;1\n", "Date", ""},
		{"named, not read", "time,x\n03/01/2024 07:05,1\n", "time", ""},
	} {
		tm, as := DetectColumns([]byte(tc.in))
		if tm != tc.time || as != tc.asset {
			t.Errorf("%s: time %q asset %q, want %q %q", tc.name, tm, as, tc.time, tc.asset)
		}
	}
	p := filepath.Join(t.TempDir(), "x.csv")
	if err := os.WriteFile(p, []byte("Zeit;T1\n2024-03-01 00:00:00;1,5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if tm, _ := DetectFileColumns(p); tm != "Zeit" {
		t.Errorf("file: %q", tm)
	}
	// A header wider than any peek: the time column after 100 KB of other names.
	var wide strings.Builder
	for i := range 10000 {
		fmt.Fprintf(&wide, "sensor_%05d,", i)
	}
	wide.WriteString("ts\n")
	wide.WriteString(strings.Repeat("1,", 10000) + "2024-03-01T00:00:00Z\n")
	if err := os.WriteFile(p, []byte(wide.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if tm, _ := DetectFileColumns(p); tm != "ts" {
		t.Errorf("wide header: %q", tm)
	}
	if tm, as := DetectFileColumns(filepath.Join(t.TempDir(), "missing.csv")); tm != "" || as != "" {
		t.Errorf("missing file: %q %q", tm, as)
	}
}

func TestReadErrors(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"empty", "", "empty file"},
		{"header only", "t,b\n", "no data rows"},
		{"only text", "t,a\n1,abc\n", `no numeric sensor column: column "a" is text, not numbers (1 of 1 cells; first "abc" at line 2)`},
		{"unknown time column", "x,a\n1,2\n", `unknown column(s) ["t"]`},
		{"ragged", "t,a\n1,2,3\n", "line 2 has 3 fields, the header has 2"},
		{"duplicate header", "t,a,a\n1,2,3\n", `names column "a" twice`},
		{"bad time", "t,a\nyesterday,2\n", "neither a number nor a timestamp"},
		{"only time", "t\n1\n", "no sensor columns"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(tc.in), Options{TimeColumn: "t"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want it to contain %q", err, tc.want)
			}
		})
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing.csv"), Options{}); err == nil || !strings.Contains(err.Error(), "missing.csv") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestCMAPSSFormat(t *testing.T) {
	line := "1 1 -0.0007 -0.0004 100.0 518.67 641.82 1589.70 1400.60 14.62 21.61 554.36 2388.06 9046.19 1.30 47.47 521.66 2388.02 8138.62 8.4195 0.03 392 2388 100.00 39.06 23.4190  \n"
	tb, err := Read(strings.NewReader(line+strings.Replace(line, "1 1 ", "1 2 ", 1)), CMAPSSOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(tb.Sensors) != 24 || tb.T[1] != 2 || tb.Assets[0] != "1" || tb.Rows[0][tb.Column("sensor_21")] != 23.4190 {
		t.Fatalf("sensors %d T %v assets %v", len(tb.Sensors), tb.T, tb.Assets)
	}
	dir := os.Getenv("FAULTLINE_DATASETS")
	if dir == "" {
		dir = "../../../shared/datasets"
	}
	path := filepath.Join(dir, "cmapss", "train_FD001.txt")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("C-MAPSS not found at %s (set FAULTLINE_DATASETS): %v", path, err)
	}
	full, err := ReadFile(path, CMAPSSOptions())
	if err != nil {
		t.Fatal(err)
	}
	// NASA's readme: FD001 train has 100 engines; the file has 20,631 rows.
	if g := full.Groups(); len(g) != 100 || len(full.Rows) != 20631 {
		t.Fatalf("FD001: %d units, %d rows", len(g), len(full.Rows))
	}
	rul, err := ReadRULFile(filepath.Join(dir, "cmapss", "RUL_FD001.txt"))
	if err != nil || len(rul) != 100 {
		t.Fatalf("RUL: %d values, %v", len(rul), err)
	}
}

func TestDetectSeparator(t *testing.T) {
	for in, want := range map[string]rune{"a,b\n1,2": ',', "a;b\n1;2": ';', "a\tb\n1\t2": '\t', "a|b\n1|2": '|', "1 2 3\n4 5 6": ' ', "a\n1": ','} {
		if got := DetectSeparator([]byte(in)); got != want {
			t.Errorf("%q: got %q want %q", in, got, want)
		}
	}
}

// A line longer than MaxLine is refused with ErrLineTooLong before it is held in
// memory whole, for the comma and the whitespace reader alike.
func TestHugeLineRefused(t *testing.T) {
	for _, sep := range []string{",", " "} {
		huge := "t" + sep + "a\n1" + sep + strings.Repeat("9", MaxLine+10) + "\n"
		path := filepath.Join(t.TempDir(), "huge.csv")
		if err := os.WriteFile(path, []byte(huge), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ReadFile(path, Options{TimeColumn: "t", Sep: rune(sep[0])})
		if err == nil || !strings.Contains(err.Error(), "longer than") && !strings.Contains(err.Error(), "too long") {
			t.Fatalf("sep %q: err %v, want a line-length error", sep, err)
		}
	}
}
