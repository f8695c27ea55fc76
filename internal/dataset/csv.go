// Package dataset reads tabular sensor history (CSV exports, public data sets) into
// columns the trainer, offline scoring and replay share: one reader, one set of rules
// for separators, time columns, asset columns and bad cells.
package dataset

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Options say how to read a file.
type Options struct {
	// Sep is the separator; 0 detects one of , ; tab | or runs of spaces.
	Sep rune
	// TimeColumn names the time column ("" = none; rows are then numbered 0, 1, 2...).
	TimeColumn string
	// AssetColumn names the column identifying the machine/unit ("" = one asset).
	AssetColumn string
	// Ignore lists columns to skip (labels, comments).
	Ignore []string
	// Header replaces the file's header row for files without one (C-MAPSS).
	Header []string
	// MaxRows bounds memory (0 = 50 million).
	MaxRows int
	// DateOrder says how to read slashed dates such as 03/01/2024: DMY (day first,
	// 3 January), MDY (month first, March 1), or "" to refuse them (see timeLayouts:
	// the file itself cannot say which). Check it with CheckDateOrder.
	DateOrder string
}

// The date orders Options.DateOrder accepts besides "".
const (
	DMY = "dmy" // day/month/year: 03/01/2024 is 3 January (European exports)
	MDY = "mdy" // month/day/year: 03/01/2024 is March 1 (US exports, Excel in en-US)
)

// CheckDateOrder refuses a date order other than "", DMY and MDY, naming them; the
// programs call it on their --date-order (every one spells it so) before any file is
// read.
func CheckDateOrder(order string) error {
	switch order {
	case "", DMY, MDY:
		return nil
	}
	return fmt.Errorf("--date-order %q: use dmy (day first: 03/01/2024 is 3 January) or mdy (month first: March 1), or none to read only ISO and 02.01.2006 dates", order)
}

// Table is a file's content: numeric sensor columns, row-major, NaN for empty cells.
type Table struct {
	Sensors []string
	Rows    [][]float64
	// T is the time of each row: seconds since the Unix epoch for timestamps, the
	// number itself for numeric time columns (cycles), or the row index.
	T []float64
	// Timestamps says T holds Unix seconds.
	Timestamps bool
	// TimeColumn names the column T was read from ("" when T is the row index). A rul
	// model's age column may be it (C-MAPSS's cycle).
	TimeColumn string
	// Assets holds each row's asset id ("" without an asset column).
	Assets []string
	// Dropped lists the columns left out because most of their cells are text, not
	// numbers: the status, mode or label columns of a historian export.
	Dropped []Dropped
	// TextCells lists the kept columns that held a few text cells, read as missing: a
	// historian writes "I/O Timeout" or "Bad" where a value could not be read.
	TextCells []TextCells
}

// Dropped is a column the reader left out, and why.
type Dropped struct{ Column, Reason string }

// TextCells counts the text cells of one numeric column, read as missing.
type TextCells struct {
	Column  string
	Count   int
	Example string // the first one, as written
	Line    int    // and its line
}

// String says what happened in one line for a log.
func (c TextCells) String() string { return fmt.Sprintf("column %q: %s", c.Column, c.Detail()) }

// Detail is String without the column's name.
func (c TextCells) Detail() string {
	return fmt.Sprintf("%d text cell(s) read as missing (first %q at line %d)", c.Count, c.Example, c.Line)
}

// Notes says, one line each, what the reader did with text: the columns it left out
// and the text cells it read as missing, for the user of a program that read t.
func (t *Table) Notes() []string {
	var out []string
	for _, c := range t.Dropped {
		out = append(out, fmt.Sprintf("column %q left out: %s", c.Column, c.Reason))
	}
	for _, c := range t.TextCells {
		out = append(out, c.String())
	}
	return out
}

// Group is a run of consecutive rows of one asset.
type Group struct {
	Asset      string
	Start, End int // rows [Start, End)
}

// Groups splits the table into consecutive runs of the same asset.
func (t *Table) Groups() []Group {
	var out []Group
	for i := 0; i < len(t.Rows); {
		j := i + 1
		for j < len(t.Rows) && t.Assets[j] == t.Assets[i] {
			j++
		}
		out = append(out, Group{Asset: t.Assets[i], Start: i, End: j})
		i = j
	}
	return out
}

// Column returns the index of a sensor column or -1.
func (t *Table) Column(name string) int { return slices.Index(t.Sensors, name) }

// ReadFile reads a CSV file.
func ReadFile(path string, o Options) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open CSV %s: %w", path, err)
	}
	defer f.Close()
	t, err := Read(f, o)
	if err != nil {
		return nil, fmt.Errorf("read CSV %s: %w", path, err)
	}
	return t, nil
}

// Read reads CSV from r.
func Read(r io.Reader, o Options) (*Table, error) {
	if err := CheckDateOrder(o.DateOrder); err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(r, 1<<16)
	sep := o.Sep
	if sep == 0 {
		peek, _ := br.Peek(8192)
		sep = DetectSeparator(peek)
	}
	next, err := rowReader(br, sep)
	if err != nil {
		return nil, err
	}
	header := o.Header
	if header == nil {
		header, err = next()
		if err == io.EOF {
			return nil, errors.New("empty file: want a header row and data rows")
		}
		if err != nil {
			return nil, fmt.Errorf("header: %w", err)
		}
	}
	lay, err := layout(header, o)
	if err != nil {
		return nil, err
	}
	lay.decimalComma = sep != ','
	lay.dateOrder = o.DateOrder
	maxRows := o.MaxRows
	if maxRows <= 0 {
		maxRows = 50_000_000
	}
	t := &Table{Sensors: lay.names}
	if lay.timeCol >= 0 {
		t.TimeColumn = o.TimeColumn
	}
	for line := 2; ; line++ {
		rec, err := next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(t.Rows) >= maxRows {
			return nil, fmt.Errorf("more than %d rows; split the file", maxRows)
		}
		if err := lay.add(t, rec, line); err != nil {
			return nil, err
		}
	}
	if len(t.Rows) == 0 {
		return nil, errors.New("no data rows")
	}
	if err := lay.dropText(t); err != nil {
		return nil, err
	}
	return t, nil
}

// dropText leaves out the columns most of whose non-empty cells were text (a
// column of words is not a sensor, and refusing the whole file for it made a user
// list every such column with --ignore) and reports the text cells of the others.
func (l *colLayout) dropText(t *Table) error {
	keep := make([]int, 0, len(l.names))
	for k, name := range l.names {
		n := l.text[k]
		switch {
		case n > 0 && 2*n > l.filled[k] && l.timeCol < 0 && looksLikeTime(l.example[k]):
			// Not a status column: the file's clock in a form not read. Dropping it
			// would number the rows instead, and a model would learn a period of one row.
			hint := "; " + slashedHint
			if l.dateOrder != "" {
				hint = "" // given, and not what this column holds
				if isSlashed(l.example[k]) {
					hint = fmt.Sprintf("; with --date-order %s, dates like 03/01/2024 are read as %s: check the order", l.dateOrder, orderName(l.dateOrder))
				}
			}
			return fmt.Errorf("column %q holds times in a form not read (first %q at line %d): write them as 2006-01-02 15:04:05 (ISO 8601, RFC 3339) or 02.01.2006 15:04:05%s; or give --ignore %s", name, l.example[k], l.exLine[k], hint, name)
		case n > 0 && 2*n > l.filled[k]:
			t.Dropped = append(t.Dropped, Dropped{Column: name,
				Reason: fmt.Sprintf("text, not numbers (%d of %d cells; first %q at line %d)", n, l.filled[k], l.example[k], l.exLine[k])})
			continue
		case n > 0:
			t.TextCells = append(t.TextCells, TextCells{Column: name, Count: n, Example: l.example[k], Line: l.exLine[k]})
		}
		keep = append(keep, k)
	}
	if len(keep) == len(l.names) {
		return nil
	}
	if len(keep) == 0 {
		return fmt.Errorf("no numeric sensor column: column %q is %s; a time or machine column needs --time-column or --asset-column", t.Dropped[0].Column, t.Dropped[0].Reason)
	}
	t.Sensors = make([]string, len(keep))
	for i, k := range keep {
		t.Sensors[i] = l.names[k]
	}
	for r, row := range t.Rows {
		out := row[:len(keep)]
		for i, k := range keep {
			out[i] = row[k]
		}
		t.Rows[r] = out
	}
	return nil
}

// DetectSeparator picks the separator that splits the first lines most consistently.
func DetectSeparator(sample []byte) rune {
	lines := bytes.Split(bytes.TrimSpace(sample), []byte("\n"))
	if len(lines) > 5 {
		lines = lines[:5]
	}
	best, bestN := ',', 0
	for _, c := range []rune{',', ';', '\t', '|'} {
		n := -1
		for _, l := range lines {
			k := bytes.Count(l, []byte(string(c)))
			if n == -1 || k < n {
				n = k
			}
		}
		if n > bestN {
			best, bestN = c, n
		}
	}
	if bestN == 0 && len(lines) > 0 && len(bytes.Fields(lines[0])) > 1 {
		return ' '
	}
	return best
}

// MaxLine bounds one line of a data file: a file with a 1 GiB cell is refused with a
// clear error instead of being read into memory whole (encoding/csv has no bound).
const MaxLine = 4 << 20

// ErrLineTooLong is returned for a line longer than MaxLine.
var ErrLineTooLong = fmt.Errorf("a line is longer than %d MiB: not a data file, or a broken one", MaxLine>>20)

// lineLimit passes r through and fails once a line grows beyond max bytes.
type lineLimit struct {
	r   io.Reader
	max int
	cur int
}

func (l *lineLimit) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for _, b := range p[:n] {
		if b == '\n' {
			l.cur = 0
			continue
		}
		if l.cur++; l.cur > l.max {
			return 0, ErrLineTooLong
		}
	}
	return n, err
}

// rowReader returns a record iterator; a space separator means runs of whitespace
// (C-MAPSS files end lines with trailing spaces).
func rowReader(br *bufio.Reader, sep rune) (func() ([]string, error), error) {
	if sep == ' ' {
		sc := bufio.NewScanner(br)
		sc.Buffer(make([]byte, 1<<16), MaxLine)
		return func() ([]string, error) {
			if !sc.Scan() {
				if err := sc.Err(); err != nil {
					return nil, err
				}
				return nil, io.EOF
			}
			return strings.Fields(sc.Text()), nil
		}, nil
	}
	cr := csv.NewReader(&lineLimit{r: br, max: MaxLine})
	cr.Comma = sep
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true
	return cr.Read, nil
}

type colLayout struct {
	names   []string
	sensor  []int // file column -> sensor index, -1 skipped
	timeCol int
	asset   int
	width   int
	tsKind  int // 0 unknown, 1 numeric, 2 timestamp
	// decimalComma reads 12,5 as 12.5: a file separated by anything but commas may
	// come from a locale that writes decimals that way.
	decimalComma bool
	// dateOrder is Options.DateOrder, for the time column's cells.
	dateOrder string
	// Per sensor column: cells that were text, cells not empty, the first text cell.
	text, filled []int
	example      []string
	exLine       []int
}

func layout(header []string, o Options) (*colLayout, error) {
	l := &colLayout{timeCol: -1, asset: -1, width: len(header), sensor: make([]int, len(header))}
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		l.sensor[i] = -1
		switch {
		case h == "":
			return nil, fmt.Errorf("header column %d is empty; give every column a name", i+1)
		case seen[h]:
			return nil, fmt.Errorf("header names column %q twice", h)
		case h == o.TimeColumn:
			l.timeCol = i
		case h == o.AssetColumn:
			l.asset = i
		case slices.Contains(o.Ignore, h):
		default:
			l.sensor[i] = len(l.names)
			l.names = append(l.names, h)
		}
		seen[h] = true
	}
	var missing []string
	for _, want := range append([]string{o.TimeColumn, o.AssetColumn}, o.Ignore...) {
		if want != "" && !seen[want] {
			missing = append(missing, want)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("unknown column(s) %q; the header has %q", missing, header)
	}
	if len(l.names) == 0 {
		return nil, errors.New("no sensor columns left after the time, asset and ignored columns")
	}
	n := len(l.names)
	l.text, l.filled, l.example, l.exLine = make([]int, n), make([]int, n), make([]string, n), make([]int, n)
	return l, nil
}

func (l *colLayout) add(t *Table, rec []string, line int) error {
	if len(rec) != l.width {
		return fmt.Errorf("line %d has %d fields, the header has %d", line, len(rec), l.width)
	}
	row := make([]float64, len(l.names))
	for i, cell := range rec {
		k := l.sensor[i]
		if k < 0 {
			continue
		}
		v, err := parseCell(cell, l.decimalComma)
		if err != nil {
			// A text cell is missing, counted; dropText decides once the file is read
			// whether the column is numbers with a few words or words.
			if l.text[k] == 0 {
				l.example[k], l.exLine[k] = truncate(strings.TrimSpace(cell)), line
			}
			l.text[k]++
			v = math.NaN()
		}
		if !math.IsNaN(v) || err != nil {
			l.filled[k]++
		}
		row[k] = v
	}
	ts := float64(len(t.Rows))
	if l.timeCol >= 0 {
		v, isTS, err := parseTimeOrder(rec[l.timeCol], l.dateOrder)
		if err != nil {
			return fmt.Errorf("line %d, time column: %w", line, err)
		}
		kind := 1
		if isTS {
			kind = 2
		}
		if l.tsKind != 0 && l.tsKind != kind {
			return fmt.Errorf("line %d, time column: mixes timestamps and plain numbers", line)
		}
		l.tsKind, ts = kind, v
		t.Timestamps = isTS
	}
	asset := ""
	if l.asset >= 0 {
		asset = strings.TrimSpace(rec[l.asset])
	}
	t.Rows = append(t.Rows, row)
	t.T = append(t.T, ts)
	t.Assets = append(t.Assets, asset)
	return nil
}

func parseCell(s string, decimalComma bool) (float64, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "", "nan", "na", "null", "none", "-":
		return math.NaN(), nil
	}
	if decimalComma && strings.Count(s, ",") == 1 && !strings.Contains(s, ".") {
		s = strings.Replace(s, ",", ".", 1)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", truncate(s))
	}
	if math.IsInf(v, 0) {
		return math.NaN(), nil
	}
	return v, nil
}

// timeLayouts are the timestamp forms read, each unambiguous: ISO 8601 with T or a
// space, with or without a zone and fractions, and the day.month.year of European
// exports. Slashed dates other than year/month/day are left out on purpose: 03/01/2024
// is March in one locale and January in another, and a file read in the wrong order
// would be refused only at its thirteenth day, or not at all. The user who knows says
// it with Options.DateOrder (parseSlashed).
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999", "2006-01-02 15:04", "2006-01-02T15:04", "2006/01/02 15:04:05", "2006/01/02 15:04",
	"02.01.2006 15:04:05.999999999", "02.01.2006 15:04", "2006-01-02", "02.01.2006"}

// parseTime accepts RFC 3339 and common export layouts (UTC assumed without a zone), or
// a plain number (cycles, seconds, or Unix milliseconds when it looks like one).
func parseTime(s string) (float64, bool, error) { return parseTimeOrder(s, "") }

// ParseTime reads one time cell as Read reads a time column with Options.DateOrder
// order: Unix seconds and true for a timestamp, the number itself and false for a
// plain number (cycles). Files that hold times but no sensors (a maintenance log that
// infer score lines up with the scored rows) read their cells with it, so a cell means
// the same instant there as in the data file.
func ParseTime(s, order string) (float64, bool, error) { return parseTimeOrder(s, order) }

// parseTimeOrder is parseTime that also reads slashed dates in the given order (DMY,
// MDY; "" reads none). The trainer, infer score, eval and replay all read through it,
// so one order gives the same instants everywhere.
func parseTimeOrder(s, order string) (float64, bool, error) {
	s = strings.TrimSpace(s)
	if v, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(v) && !math.IsInf(v, 0) {
		return v, false, nil
	}
	withOrder := order == DMY || order == MDY
	// Tried first with an order: no layout reads a slashed date (their year comes first,
	// or their separator is a dot), and a file of them then skips twelve failed parses
	// a row.
	if withOrder {
		if t, ok, err := parseSlashed(s, order); ok || err != nil {
			return float64(t.UnixNano()) / 1e9, ok, err
		}
	}
	for _, lay := range timeLayouts {
		if t, err := time.Parse(lay, s); err == nil {
			return float64(t.UnixNano()) / 1e9, true, nil
		}
	}
	if withOrder {
		return 0, false, fmt.Errorf("%q is neither a number nor a timestamp like 2006-01-02 15:04:05, RFC 3339 or (%s) %s", truncate(s), orderName(order), orderExample(order))
	}
	if isSlashed(s) {
		return 0, false, fmt.Errorf("%q is neither a number nor a timestamp like 2006-01-02 15:04:05 or RFC 3339: %s", truncate(s), slashedHint)
	}
	return 0, false, fmt.Errorf("%q is neither a number nor a timestamp like 2006-01-02 15:04:05 or RFC 3339", truncate(s))
}

// isSlashed says s has the shape of a slashed date, in whichever order.
func isSlashed(s string) bool {
	m := slashedDate.FindStringSubmatch(strings.TrimSpace(s))
	return m != nil && m[2] == m[4]
}

// slashedHint says how to read slashed dates, for a user whose file holds them.
const slashedHint = "for dates like 03/01/2024 give --date-order dmy (day first) or mdy (month first)"

// slashedDate is a day and month in either order, the same separator (/ or -) twice, a
// four-digit year, and optionally a time of day: hours and minutes, seconds, a
// fraction, AM or PM. Excel and historians write 3/1/2024 7:05:00 AM (US) or
// 03/01/2024 07:05:09 and 3-1-2024 07:05 (Europe).
var slashedDate = regexp.MustCompile(`^(\d{1,2})([/-])(\d{1,2})([/-])(\d{4})(?: +(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?: *([AaPp][Mm]))?)?$`)

// parseSlashed reads s as a slashedDate in order (UTC, as the other layouts without a
// zone). ok is false when s has not that shape; an error says s has it but is no date
// in that order (month 13, 30 February, 25 o'clock), naming the order: a file read in
// the wrong order is told so at its first day past 12.
func parseSlashed(s, order string) (t time.Time, ok bool, err error) {
	m := slashedDate.FindStringSubmatch(s)
	if m == nil || m[2] != m[4] { // 3/1-2024 is no date in any locale
		return time.Time{}, false, nil
	}
	num := func(i int) int { n, _ := strconv.Atoi(m[i]); return n } // at most 9 digits
	day, month := num(1), num(3)
	if order == MDY {
		day, month = month, day
	}
	year := num(5)
	bad := func(what string) (time.Time, bool, error) {
		return time.Time{}, false, fmt.Errorf("%q is not a date in %s order (--date-order %s): %s", truncate(s), orderName(order), order, what)
	}
	if month < 1 || month > 12 {
		return bad(fmt.Sprintf("month %d", month))
	}
	if last := time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day(); day < 1 || day > last {
		return bad(fmt.Sprintf("day %d of a month of %d days", day, last))
	}
	var hour, minute, sec, nsec int
	if m[6] != "" {
		hour, minute, sec = num(6), num(7), num(8)
		if m[9] != "" {
			nsec = num(9)
			for range 9 - len(m[9]) {
				nsec *= 10
			}
		}
		switch ampm := strings.ToUpper(m[10]); {
		case ampm == "" && hour > 23:
			return bad(fmt.Sprintf("hour %d", hour))
		case ampm != "" && (hour < 1 || hour > 12):
			return bad(fmt.Sprintf("hour %d on a 12-hour clock", hour))
		case ampm == "AM" && hour == 12: // 12 AM is midnight
			hour = 0
		case ampm == "PM" && hour < 12: // 12 PM is noon
			hour += 12
		}
		if minute > 59 || sec > 59 {
			return bad(fmt.Sprintf("minute %d, second %d", minute, sec))
		}
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), true, nil
}

// orderName spells a date order out for messages.
func orderName(order string) string {
	if order == MDY {
		return "month/day/year"
	}
	return "day/month/year"
}

// orderExample is 1 March 2024, 07:05:09 in the order, for messages.
func orderExample(order string) string {
	if order == MDY {
		return "03/01/2024 07:05:09 or 3/1/2024 7:05:09 AM"
	}
	return "01/03/2024 07:05:09 or 1-3-2024 07:05"
}

// timeLike matches what looks like a date or a time of day in a form parseTime does
// not read: 03/01/2024 07:05, 1.3.2024, 07:05:09.
var timeLike = regexp.MustCompile(`^(\d{1,4}[./-]\d{1,2}[./-]\d{1,4}([ T]\d{1,2}:\d{2}.*)?|\d{1,2}:\d{2}(:\d{2}([.,]\d+)?)?( ?[AaPp][Mm])?)$`)

func looksLikeTime(s string) bool { return timeLike.MatchString(strings.TrimSpace(s)) }

// TimeNames are header names taken as the time column when none is given (any case):
// the simulator's CSVs and infer score write ts.
var TimeNames = []string{"ts", "time", "timestamp", "datetime", "date_time", "date"}

// AssetNames are header names taken as the asset column when none is given (any case):
// an export of several machines in one file names them so, and without the column
// their rows would be one machine's, going back in time at every boundary.
var AssetNames = []string{"asset", "asset_id", "machine", "machine_id", "device", "device_id", "equipment", "equipment_id"}

// DetectColumns finds the time and asset columns of a file that does not name them,
// from sample, the start of the file (a header row and at least one data row): the
// time column is the first header named like one (TimeNames), else the first column
// whose first data cell is a calendar timestamp (an export that names it in its own
// language: Zeit, horodatage); the asset column is the first header named like one
// (AssetNames). "" when there is none. The trainer, infer score and replay all use
// it, so a file is read on the same clock, for the same machines, everywhere.
// Slashed dates (03/01/2024) are not timestamps here: DetectColumnsOrder reads them.
func DetectColumns(sample []byte) (timeCol, assetCol string) { return DetectColumnsOrder(sample, "") }

// DetectColumnsOrder is DetectColumns reading the first data row's cells as Read does
// with Options.DateOrder order, so a column of slashed dates is found as the time
// column (and a named one kept only if its cell reads in that order).
func DetectColumnsOrder(sample []byte, order string) (timeCol, assetCol string) {
	br := bufio.NewReader(bytes.NewReader(sample))
	next, err := rowReader(br, DetectSeparator(sample))
	if err != nil {
		return "", ""
	}
	header, err := next()
	if err != nil {
		return "", ""
	}
	header = slices.Clone(header) // the reader reuses its record
	for i, h := range header {
		header[i] = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
	}
	first, err := next()
	if err != nil || len(first) != len(header) {
		first = nil
	}
	// parses says whether column i's first data cell is a time (a timestamp, or a
	// number); true when there is no data row to look at.
	parses := func(i int) bool {
		if first == nil {
			return true
		}
		_, _, err := parseTimeOrder(first[i], order)
		return err == nil
	}
	named := func(names []string, mustParse bool) string {
		for _, n := range names {
			for i, h := range header {
				if strings.EqualFold(h, n) && (!mustParse || parses(i)) {
					return h
				}
			}
		}
		return ""
	}
	assetCol = named(AssetNames, false)
	// A name that fits and a cell that reads as a time: an export with Date and Time in
	// two columns has the date in one and the time of day (not a time by itself) in
	// the other.
	if timeCol = named(TimeNames, true); timeCol != "" || first == nil {
		return timeCol, assetCol
	}
	for i, cell := range first {
		if _, isTS, err := parseTimeOrder(cell, order); err == nil && isTS {
			return header[i], assetCol
		}
	}
	// A column named like the time whose cells are not read: named all the same, so
	// the reader refuses it with the line and the forms it reads.
	return named(TimeNames, false), assetCol
}

// readLine reads one line with its newline, at most MaxLine bytes of it.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if err != bufio.ErrBufferFull || len(line) > MaxLine {
			return line, err
		}
	}
}

// DetectFileColumns is DetectColumns on the start of the file at path ("", "" when it
// cannot be read; the reader then says why).
func DetectFileColumns(path string) (timeCol, assetCol string) {
	return DetectFileColumnsOrder(path, "")
}

// DetectFileColumnsOrder is DetectColumnsOrder on the start of the file at path.
func DetectFileColumnsOrder(path, order string) (timeCol, assetCol string) {
	f, err := os.Open(path)
	if err != nil {
		return "", ""
	}
	defer f.Close()
	// The header and the first data row, however wide (up to MaxLine each).
	br := bufio.NewReaderSize(f, 64<<10)
	var b []byte
	for range 2 {
		line, err := readLine(br)
		b = append(b, line...)
		if err != nil {
			break
		}
	}
	return DetectColumnsOrder(b, order)
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
