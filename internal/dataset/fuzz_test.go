package dataset

import (
	"bytes"
	"testing"
)

// FuzzRead feeds arbitrary bytes to the CSV reader under each option shape the
// trainer and `infer score` use: it must return a table or an error, never panic, and
// a table it returns must be consistent (one time, one asset and one value per sensor
// for every row; Groups covering every row once).
func FuzzRead(f *testing.F) {
	for _, seed := range []string{
		"ts,asset,a,b\n2026-01-01T00:00:00Z,m1,1,2\n2026-01-01T00:00:01Z,m1,3,\n",
		"cycle;unit;x\n1;1;0.5\n2;1;NaN\n1;2;1e308\n",
		"a\tb\n1\t2\n",
		"1 1 0.1 0.2\n1 2 0.3 0.4\n",
		"ts,a\n\"2026-01-01 00:00:00\",\"1\"\n",
		"",
		"\xff\xfe,\n,,,\n",
		"a,a,a\n1,2,3\n",
		"Zeit;T1;Modus\n2024-03-01 00:00:00;12,5;auto\n2024-03-01 00:01:00;Bad;auto\n",
	} {
		f.Add([]byte(seed), uint8(0))
	}
	// Slashed dates, read with the date orders of option sets 4 and 5.
	f.Add([]byte("Date,x\n3/1/2024 7:05:00 AM,1\n3/1/2024 12:00 PM,2\n13/1/2024 7:05,3\n"), uint8(4))
	f.Add([]byte("id;Zeit;x\n1;03-01-2024 07:05:09,5;1,5\n2;31/02/2024 07:05;2\n"), uint8(5))
	optionSets := []Options{
		{},
		{TimeColumn: "ts", AssetColumn: "asset"},
		{Sep: ';', TimeColumn: "cycle", AssetColumn: "unit", Ignore: []string{"x"}},
		{Sep: ' ', Header: []string{"unit", "cycle", "s1", "s2"}, TimeColumn: "cycle", AssetColumn: "unit"},
		// Slashed dates in either order, as --date-order reads them.
		{TimeColumn: "Date", DateOrder: MDY},
		{DateOrder: DMY},
	}
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		o := optionSets[int(which)%len(optionSets)]
		o.MaxRows = 10_000
		tab, err := Read(bytes.NewReader(data), o)
		if err != nil {
			if tab != nil {
				t.Fatalf("Read returned a table and an error %v", err)
			}
			return
		}
		if len(tab.T) != len(tab.Rows) || len(tab.Assets) != len(tab.Rows) {
			t.Fatalf("%d rows, %d times, %d assets", len(tab.Rows), len(tab.T), len(tab.Assets))
		}
		for i, r := range tab.Rows {
			if len(r) != len(tab.Sensors) {
				t.Fatalf("row %d has %d values for %d sensors", i, len(r), len(tab.Sensors))
			}
		}
		n := 0
		for _, g := range tab.Groups() {
			if g.Start != n || g.End <= g.Start {
				t.Fatalf("groups not contiguous at %+v (next row %d)", g, n)
			}
			n = g.End
		}
		if n != len(tab.Rows) {
			t.Fatalf("groups cover %d of %d rows", n, len(tab.Rows))
		}
	})
}
