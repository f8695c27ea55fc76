package infer

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/dataset"
	"github.com/faultline/faultline/internal/telemetry"
)

func writeFile(t testing.TB, path, text string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Work logged while the drift scenario's alert is open (bearing_temp stays at 5 until
// second 45): infer score --maintenance clears the alert on the row of the work and
// restarts the stream, as the daemon does on the maintenance message: the next
// testWindow-1 rows have empty scores, the fault that outlived the work raises again a
// window later, and the alert column changes exactly where the daemon's alerts do.
func TestScoreMaintenanceMatchesDaemon(t *testing.T) {
	dir := t.TempDir()
	p := writeModel(t, dir, "pump", "")
	csv := filepath.Join(dir, "drift.csv")
	driftCSV(t, csv)
	work := t0.Add(35 * time.Second)
	// A CMMS export: another time form than the CSV's, columns not needed, rows out of
	// order, and work before the data (the stream is new then: no reset).
	log := writeFile(t, filepath.Join(dir, "work.csv"), "ts,action,by\n"+
		work.Format("2006-01-02 15:04:05")+",bearing replaced,WO-17\n"+
		"2026-02-27 12:00:00,inspection,WO-3\n")
	var out bytes.Buffer
	st, err := Score(ScoreOptions{Model: p, CSV: dataset.Options{TimeColumn: "ts"}, Maintenance: log}, csv, &out)
	if err != nil {
		t.Fatal(err)
	}
	if st.MaintenanceEntries != 2 || st.Maintenance != 1 || st.MaintenanceCleared != 1 || st.Raised != 2 || st.Cleared != 2 {
		t.Fatalf("stats %+v: want 2 entries, 1 reset clearing 1 alert, 2 raises and 2 clears", st)
	}
	// Rows 35 .. 35+testWindow-2 fill the new window: no score, no alert. Row 34 had
	// the open alert, row 35+testWindow-1 is the first full window after the work.
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")[1:]
	field := func(sec, col int) string { return strings.Split(lines[sec], ",")[col] }
	if field(34, 3) != "1" || field(34, 1) == "" {
		t.Fatalf("row 34 %q: want a score and the open alert", lines[34])
	}
	for sec := 35; sec < 35+testWindow-1; sec++ {
		if want := work.Add(time.Duration(sec-35)*time.Second).Format(time.RFC3339) + ",,,0,,,"; lines[sec] != want {
			t.Fatalf("row %d %q, want %q (a fresh stream's window filling)", sec, lines[sec], want)
		}
	}
	if sec := 35 + testWindow - 1; field(sec, 1) == "" {
		t.Fatalf("row %d %q: want the first score of the new window", sec, lines[sec])
	}

	var col collector
	e, _ := newTestEngine(t, EngineConfig{Model: p}, &col)
	pump := machineID("pump-0001")
	for sec := 0; sec < driftSeconds; sec++ {
		if sec == 35 {
			if err := e.Maintain(testTopics.Maintenance(pump), telemetry.EncodeMaintenance(nil, telemetry.Maintenance{TS: work})); err != nil {
				t.Fatal(err)
			}
		}
		e.Ingest(testTopics.Telemetry(pump), telemetry.EncodeTelemetry(nil, sampleAt(sec, true)))
	}
	off, live := alertTransitions(t, out.String()), liveTransitions(col.get())
	want := "raised@2026-03-01T08:00:26Z cleared@2026-03-01T08:00:35Z raised@2026-03-01T08:00:40Z cleared@2026-03-01T08:00:49Z"
	if strings.Join(off, " ") != want || strings.Join(live, " ") != want {
		t.Fatalf("offline %v, live %v; want %s", off, live, want)
	}

	// Without the log the alert stays open across the work: one raise, one clear.
	out.Reset()
	if st, err = Score(ScoreOptions{Model: p, CSV: dataset.Options{TimeColumn: "ts"}}, csv, &out); err != nil || st.Raised != 1 || st.Maintenance != 0 {
		t.Fatalf("without the log: %+v, %v", st, err)
	}
}

// In a file of several assets the work resets only the asset the log names: the other
// asset's rows are what they are without the log.
func TestScoreMaintenancePerAsset(t *testing.T) {
	dir := t.TempDir()
	p := writeModel(t, dir, "pump", "")
	csv := filepath.Join(dir, "units.csv")
	writeCSV(t, csv, func(w func(string)) {
		w("machine,ts," + strings.Join(testSensors, ","))
		for _, m := range []string{"p1", "p2"} {
			for sec := 0; sec < driftSeconds; sec++ {
				s := sampleAt(sec, true)
				line := m + "," + s.Time.Format(time.RFC3339)
				for _, v := range s.Values {
					line += fmt.Sprintf(",%g", v.V)
				}
				w(line)
			}
		}
	})
	log := writeFile(t, filepath.Join(dir, "work.csv"), "machine,ts\np2,2026-03-01T08:00:35Z\np3,2026-03-01T08:00:10Z\n")
	o := dataset.Options{TimeColumn: "ts", AssetColumn: "machine"}
	var with, without bytes.Buffer
	st, err := Score(ScoreOptions{Model: p, CSV: o, Maintenance: log}, csv, &with)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Score(ScoreOptions{Model: p, CSV: o}, csv, &without); err != nil {
		t.Fatal(err)
	}
	if st.Maintenance != 1 || st.MaintenanceCleared != 1 || st.MaintenanceEntries != 2 {
		t.Fatalf("stats %+v: want one reset (p2's; p3 is not in the file)", st)
	}
	a, b := strings.Split(with.String(), "\n"), strings.Split(without.String(), "\n")
	if !slices.Equal(a[:1+driftSeconds], b[:1+driftSeconds]) {
		t.Fatal("p1's rows changed by p2's work")
	}
	if got := a[1+driftSeconds+35]; got != "2026-03-01T08:00:35Z,p2,,,0,,," {
		t.Fatalf("p2's row at the work %q, want a fresh stream's", got)
	}
}

func TestReadMaintenanceLog(t *testing.T) {
	dir := t.TempDir()
	o := dataset.Options{TimeColumn: "ts", AssetColumn: "machine"}
	// Rows in any order are sorted by asset and time; the time column may be named
	// otherwise than the CSV's; slashed dates read in the CSV's order.
	p := writeFile(t, filepath.Join(dir, "cmms.csv"), "Order;machine;Date;by\n"+
		"WO-9;pump-2;05/03/2026 14:00;ana\n"+
		"WO-7;pump-1;04/03/2026 09:30;bo\n"+
		"WO-8;pump-1;01/03/2026 07:00;bo\n")
	l, err := ReadMaintenanceLog(p, dataset.Options{TimeColumn: "ts", AssetColumn: "machine", DateOrder: dataset.DMY})
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) float64 { v, _ := time.Parse(time.RFC3339, s); return float64(v.Unix()) }
	want := []MaintenanceEntry{{"pump-1", at("2026-03-01T07:00:00Z"), 4}, {"pump-1", at("2026-03-04T09:30:00Z"), 3}, {"pump-2", at("2026-03-05T14:00:00Z"), 2}}
	if l.TimeColumn != "Date" || l.AssetColumn != "machine" || !l.Timestamps || !slices.Equal(l.Entries, want) {
		t.Fatalf("log %+v, want entries %+v", l, want)
	}

	for _, c := range []struct{ name, text, want string }{
		{"missing.csv", "", "maintenance log: open " + filepath.Join(dir, "missing.csv") + ": no such file or directory"},
		{"notime.csv", "machine,action\npump-1,greased\n", `notime.csv: no time column: the header ["machine" "action"] has none; want the scored CSV's time column "ts" or a column named ts`},
		{"badtime.csv", "ts,machine\n2026-03-01 07:00,pump-1\nyesterday,pump-1\n", `badtime.csv: line 3, column "ts": "yesterday" is neither a number nor a timestamp`},
		{"slashed.csv", "ts,machine\n01/03/2026 07:00,pump-1\n", `slashed.csv: line 2, column "ts": "01/03/2026 07:00" is neither a number nor a timestamp like 2006-01-02 15:04:05 or RFC 3339: for dates like 03/01/2024 give --date-order dmy`},
		{"mixed.csv", "ts,machine\n2026-03-01 07:00,pump-1\n12,pump-1\n", `mixed.csv: line 3, column "ts": mixes timestamps and plain numbers`},
		{"noasset.csv", "ts,machine\n2026-03-01 07:00,\n", `noasset.csv: line 2: column "machine" is empty`},
		{"empty.csv", "", "empty.csv: empty file"},
	} {
		path := filepath.Join(dir, c.name)
		if c.name != "missing.csv" {
			writeFile(t, path, c.text)
		}
		_, err := ReadMaintenanceLog(path, o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want it to say %q", c.name, err, c.want)
		}
	}
}

// A log lines up with the scored table only on the same clock and, for several assets,
// with their column: without it the work could be any machine's, and is refused.
func TestMaintenanceLogFor(t *testing.T) {
	dir := t.TempDir()
	read := func(text string, o dataset.Options) (*dataset.Table, error) {
		return dataset.Read(strings.NewReader(text), o)
	}
	two, err := read("machine,ts,v\np1,2026-03-01T08:00:00Z,1\np2,2026-03-01T08:00:00Z,1\np3,2026-03-01T08:00:00Z,1\np4,2026-03-01T08:00:00Z,1\n", dataset.Options{TimeColumn: "ts", AssetColumn: "machine"})
	if err != nil {
		t.Fatal(err)
	}
	one, err := read("ts,v\n2026-03-01T08:00:00Z,1\n", dataset.Options{TimeColumn: "ts"})
	if err != nil {
		t.Fatal(err)
	}
	cycles, err := read("cycle,v\n1,1\n", dataset.Options{TimeColumn: "cycle"})
	if err != nil {
		t.Fatal(err)
	}
	p := writeFile(t, filepath.Join(dir, "times.csv"), "ts,by\n2026-03-01 09:00,bo\n2026-03-01 08:30,bo\n")
	l, err := ReadMaintenanceLog(p, dataset.Options{TimeColumn: "ts", AssetColumn: "machine"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.For(two); err == nil || !strings.Contains(err.Error(), `maintenance log `+p+` has no asset column "machine": it cannot say which of the CSV's 4 assets (p1, p2, p3 and 1 more) the work was on`) {
		t.Errorf("multi-asset CSV, log without the asset column: %v", err)
	}
	m, _, err := l.For(one)
	if want := []float64{1772353800, 1772355600}; err != nil || len(m) != 1 || !slices.Equal(m[""], want) {
		t.Errorf("one-asset CSV: %v, %v; want every entry, sorted: %v", m, err, want)
	}
	if _, _, err := l.For(cycles); err == nil || !strings.Contains(err.Error(), `its times are timestamps (line 3), the CSV's time column "cycle" holds plain numbers`) {
		t.Errorf("timestamps against cycles: %v", err)
	}
	// One machine's CSV: a plant's log (a machine column naming several) is refused,
	// a log of that machine's work alone, with its name, is taken whole.
	plant := writeFile(t, filepath.Join(dir, "plant.csv"), "machine,ts\np1,2026-03-01 09:00\np2,2026-03-01 08:30\n")
	if l, err = ReadMaintenanceLog(plant, dataset.Options{TimeColumn: "ts"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.For(one); err == nil || !strings.Contains(err.Error(), `names 2 assets in column "machine" (p1, p2), the CSV has no asset column`) {
		t.Errorf("a plant's log against one machine's CSV: %v", err)
	}
	own := writeFile(t, filepath.Join(dir, "own.csv"), "machine,ts\np1,2026-03-01 09:00\np1,2026-03-01 08:30\n")
	if l, err = ReadMaintenanceLog(own, dataset.Options{TimeColumn: "ts"}); err != nil {
		t.Fatal(err)
	}
	if m, _, err := l.For(one); err != nil || !slices.Equal(m[""], []float64{1772353800, 1772355600}) {
		t.Errorf("the machine's own log: %v, %v", m, err)
	}
}

// Review findings: a bare quote in a log's first column is a refusal naming the line,
// not a panic; a plant's log whose asset column has another name than the CSV's is
// refused against one machine's CSV; work on an asset the CSV lacks is a note.
func TestMaintenanceLogReviewCases(t *testing.T) {
	dir := t.TempDir()
	quote := writeFile(t, filepath.Join(dir, "quote.csv"), "action,ts\nvalve,2026-03-01 09:00\nreplaced 2\" valve,2026-03-01 10:00\n")
	_, err := ReadMaintenanceLog(quote, dataset.Options{TimeColumn: "ts"})
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("bare quote: %v, want a refusal naming line 3", err)
	}
	one, err := dataset.Read(strings.NewReader("machine,ts,v\np1,2026-03-01T08:00:00Z,1\np1,2026-03-01T09:00:00Z,1\n"), dataset.Options{TimeColumn: "ts", AssetColumn: "machine"})
	if err != nil {
		t.Fatal(err)
	}
	plant := writeFile(t, filepath.Join(dir, "plant.csv"), "equipment,ts\np1,2026-03-01 09:00\np2,2026-03-01 08:30\np3,2026-03-01 08:40\n")
	l, err := ReadMaintenanceLog(plant, dataset.Options{TimeColumn: "ts", AssetColumn: "machine"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.For(one); err == nil || !strings.Contains(err.Error(), `names 3 assets in column "equipment" (p1, p2, p3), the CSV's asset column is "machine"`) {
		t.Errorf("a plant's log under another column name against one machine's CSV: %v", err)
	}
	typo := writeFile(t, filepath.Join(dir, "typo.csv"), "machine,ts\nP1,2026-03-01 08:30\np1,2026-03-01 08:40\n")
	if l, err = ReadMaintenanceLog(typo, dataset.Options{TimeColumn: "ts", AssetColumn: "machine"}); err != nil {
		t.Fatal(err)
	}
	m, notes, err := l.For(one)
	if err != nil || !slices.Equal(m["p1"], []float64{1772354400}) || len(m) != 1 {
		t.Fatalf("typo log: %v, %v; want p1's one entry", m, err)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "work on 1 assets the CSV does not have, not applied: P1") {
		t.Errorf("notes %q, want one naming P1", notes)
	}
}
