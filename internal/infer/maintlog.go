package infer

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/faultline/faultline/internal/dataset"
)

// Maintenance is when work was done on each asset of a scored table, in the table's
// time (dataset.Table.T), each asset's times sorted. ScoreTable starts an asset's
// stream afresh at each, as the daemon does on a maintenance message; nil is none.
type Maintenance map[string][]float64

// MaintenanceLog is a maintenance log as a CMMS exports it: one row per piece of work,
// with its time and, for a file of several assets, the asset it was done on. Other
// columns (action, by, order number) are not needed here and are ignored.
type MaintenanceLog struct {
	Path       string
	TimeColumn string
	// AssetColumn is the log's asset column, the scored CSV's asset column's name; ""
	// when the log has none (its work is then the scored file's only asset's).
	AssetColumn string
	// Timestamps says the times are Unix seconds (else plain numbers: cycles, hours).
	Timestamps bool
	Entries    []MaintenanceEntry // by asset, then time
	// csvAsset is the scored CSV's asset column, which a log for several assets needs.
	csvAsset string
	// named is, for a log without the CSV's asset column, the log's column named like
	// one (dataset.AssetNames) and the assets it names: a plant's log, not one
	// machine's.
	named  string
	others []string
}

// MaintenanceEntry is one row of a maintenance log.
type MaintenanceEntry struct {
	Asset string
	T     float64 // as dataset.Table.T: Unix seconds, or the number itself
	Line  int     // the file's line, for messages
}

// ReadMaintenanceLog reads the maintenance log at path for a CSV read with o: the time
// column is o's when the log has a column of that name, else the one the programs
// detect (dataset.DetectColumnsOrder: ts, time, date..., or the first column of
// timestamps); each cell is read as the CSV's time column is (dataset.ParseTime with
// o.DateOrder), so a time means the same instant in both files. The asset column is
// o.AssetColumn if the log has it. A missing file, a log without a time column and a
// time not read are refused, naming the file and line; rows may come in any order.
func ReadMaintenanceLog(path string, o dataset.Options) (*MaintenanceLog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("maintenance log: %w", err)
	}
	defer f.Close()
	l, err := readMaintenanceLog(f, o)
	if err != nil {
		return nil, fmt.Errorf("maintenance log %s: %w", path, err)
	}
	l.Path = path
	return l, nil
}

func readMaintenanceLog(r io.Reader, o dataset.Options) (*MaintenanceLog, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	peek, _ := br.Peek(8192)
	sep := dataset.DetectSeparator(peek)
	if sep == ' ' {
		// Runs of spaces separate the columns of a numeric data file (C-MAPSS); a log's
		// times hold spaces (2024-03-01 07:05), so its columns are delimited: one
		// column and no delimiter is a log of times alone.
		sep = ','
	}
	cr := csv.NewReader(br)
	cr.Comma, cr.FieldsPerRecord, cr.TrimLeadingSpace = sep, -1, true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("empty file: want a header row (a time column, and the asset column for several assets) and a row per piece of work")
	}
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	header = slices.Clone(header)
	for i, h := range header {
		header[i] = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
	}
	l := &MaintenanceLog{TimeColumn: o.TimeColumn, csvAsset: o.AssetColumn}
	if o.TimeColumn == "" || !slices.Contains(header, o.TimeColumn) {
		l.TimeColumn, _ = dataset.DetectColumnsOrder(peek, o.DateOrder)
	}
	tc := slices.Index(header, l.TimeColumn)
	if tc < 0 {
		want := "a column named ts, time, timestamp, datetime, date_time or date"
		if o.TimeColumn != "" {
			want = fmt.Sprintf("the scored CSV's time column %q or %s", o.TimeColumn, want)
		}
		return nil, fmt.Errorf("no time column: the header %q has none; want %s", header, want)
	}
	ac := -1
	if o.AssetColumn != "" {
		ac = slices.Index(header, o.AssetColumn)
	}
	if ac >= 0 {
		l.AssetColumn = o.AssetColumn
	}
	nc := -1
	if ac < 0 {
		_, l.named = dataset.DetectColumnsOrder(peek, o.DateOrder)
		nc = slices.Index(header, l.named)
	}
	kind := 0 // 1 numbers, 2 timestamps
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			// The reader's own error names the line; FieldPos has no record to point
			// into when the first field failed (a bare quote: `replaced 2" valve`).
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		if len(rec) <= max(tc, ac, nc) {
			return nil, fmt.Errorf("line %d has %d fields, the header has %d", line, len(rec), len(header))
		}
		t, isTS, err := dataset.ParseTime(rec[tc], o.DateOrder)
		if err != nil {
			return nil, fmt.Errorf("line %d, column %q: %w", line, l.TimeColumn, err)
		}
		k := 1
		if isTS {
			k = 2
		}
		if kind != 0 && k != kind {
			return nil, fmt.Errorf("line %d, column %q: mixes timestamps and plain numbers", line, l.TimeColumn)
		}
		kind = k
		e := MaintenanceEntry{T: t, Line: line}
		if ac >= 0 {
			if e.Asset = strings.TrimSpace(rec[ac]); e.Asset == "" {
				return nil, fmt.Errorf("line %d: column %q is empty: which asset was the work on?", line, l.AssetColumn)
			}
		}
		if nc >= 0 {
			if a := strings.TrimSpace(rec[nc]); !slices.Contains(l.others, a) {
				l.others = append(l.others, a)
			}
		}
		l.Entries = append(l.Entries, e)
	}
	l.Timestamps = kind == 2
	// A CMMS exports by order number or by machine; the work applies in time order.
	slices.SortStableFunc(l.Entries, func(a, b MaintenanceEntry) int {
		if c := strings.Compare(a.Asset, b.Asset); c != 0 {
			return c
		}
		switch {
		case a.T < b.T:
			return -1
		case a.T > b.T:
			return 1
		}
		return 0
	})
	return l, nil
}

// For lines the log up with a table read as the log was: both on timestamps or both on
// numbers, and each entry on an asset of the table. A log without the asset column
// applies to every row only when the table has one asset; for several it cannot say
// which machine the work was on, and is refused. notes name the log's assets the
// table does not have (a typo, "P1" for "p1"): their work is not applied.
func (l *MaintenanceLog) For(tbl *dataset.Table) (m Maintenance, notes []string, err error) {
	if tbl.TimeColumn == "" {
		return nil, nil, fmt.Errorf("maintenance log %s: the scored CSV has no time column (its rows are numbered), so the log's times cannot be placed among them; give --time-column", l.Path)
	}
	if len(l.Entries) > 0 && l.Timestamps != tbl.Timestamps {
		what := map[bool]string{true: "timestamps", false: "plain numbers"}
		return nil, nil, fmt.Errorf("maintenance log %s: its times are %s (line %d), the CSV's time column %q holds %s; give both on the same clock",
			l.Path, what[l.Timestamps], l.Entries[0].Line, tbl.TimeColumn, what[tbl.Timestamps])
	}
	out := Maintenance{}
	if l.AssetColumn == "" {
		var assets []string
		for _, g := range tbl.Groups() {
			if !slices.Contains(assets, g.Asset) {
				assets = append(assets, g.Asset)
			}
		}
		if len(assets) > 1 {
			return nil, nil, fmt.Errorf("maintenance log %s has no asset column %q: it cannot say which of the CSV's %d assets (%s) the work was on; add that column to the log",
				l.Path, l.csvAsset, len(assets), listSome(assets, 3))
		}
		if len(l.others) > 1 {
			// The CSV is one machine's, the log several machines': applied to the one,
			// every other machine's work would restart it.
			csvHas := "the CSV has no asset column"
			if l.csvAsset != "" {
				csvHas = fmt.Sprintf("the CSV's asset column is %q", l.csvAsset)
			}
			return nil, nil, fmt.Errorf("maintenance log %s names %d assets in column %q (%s), %s: give a log of this machine's work only, or name the log's asset column as the CSV's",
				l.Path, len(l.others), l.named, listSome(l.others, 3), csvHas)
		}
		for _, e := range l.Entries {
			out[assets[0]] = append(out[assets[0]], e.T)
		}
		slices.Sort(out[assets[0]])
		return out, nil, nil
	}
	have := map[string]bool{}
	for _, g := range tbl.Groups() {
		have[g.Asset] = true
	}
	var unknown []string
	for _, e := range l.Entries {
		if !have[e.Asset] {
			if !slices.Contains(unknown, e.Asset) {
				unknown = append(unknown, e.Asset)
			}
			continue
		}
		out[e.Asset] = append(out[e.Asset], e.T) // sorted: Entries are by asset, then time
	}
	if len(unknown) > 0 {
		notes = append(notes, fmt.Sprintf("maintenance log %s: work on %d assets the CSV does not have, not applied: %s (asset names must match exactly)", l.Path, len(unknown), listSome(unknown, 5)))
	}
	return out, notes, nil
}

// listSome is up to n items and how many more.
func listSome(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}
