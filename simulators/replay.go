package simulators

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/faultline/faultline/internal/telemetry"
)

// Table is a CSV loaded for replay: numeric columns as sensors, NaN for empty cells.
type Table struct {
	Sensors []string
	Times   []time.Time // nil when the file has no time column
	Rows    [][]float64
}

// CSVOptions say how to read a CSV for replay.
type CSVOptions struct {
	// TimeColumn names the time column; "" picks one named ts, time, timestamp, date or
	// datetime (any case), or none.
	TimeColumn string
	// Sep is the field separator; 0 detects it from the header (, ; tab or |).
	Sep rune
}

// timeLayouts are the time formats replay understands besides Unix seconds or
// milliseconds. Times without a zone are UTC.
var timeLayouts = []string{
	time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04", "2006/01/02 15:04:05", "2006-01-02",
}

// ReadCSV loads a whole CSV so that a bad cell is reported before anything is published.
func ReadCSV(r io.Reader, opt CSVOptions) (*Table, error) {
	br := bufio.NewReader(r)
	if opt.Sep == 0 {
		head, err := br.Peek(min(br.Size(), 4096))
		if len(head) == 0 {
			return nil, fmt.Errorf("csv is empty: want a header row, then rows (%v)", err)
		}
		opt.Sep = detectSep(string(head))
	}
	cr := csv.NewReader(br)
	cr.Comma, cr.TrimLeadingSpace, cr.ReuseRecord = opt.Sep, true, true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("csv header: %w", err)
	}
	header = slices.Clone(header) // ReuseRecord: the next Read overwrites it
	timeCol, err := findTimeColumn(header, opt.TimeColumn)
	if err != nil {
		return nil, err
	}
	t := &Table{}
	for i, h := range header {
		if i != timeCol {
			t.Sensors = append(t.Sensors, SanitizeName(h, i))
		}
	}
	if len(t.Sensors) == 0 {
		return nil, errors.New("csv has no value column besides the time column")
	}
	if err := t.readRows(cr, header, timeCol); err != nil {
		return nil, err
	}
	if len(t.Rows) == 0 {
		return nil, errors.New("csv has a header but no rows")
	}
	return t, nil
}

func (t *Table) readRows(cr *csv.Reader, header []string, timeCol int) error {
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("csv: %w", err)
		}
		line, _ := cr.FieldPos(0)
		row := make([]float64, 0, len(t.Sensors))
		for i, cell := range rec {
			if i == timeCol {
				ts, err := parseReplayTime(cell)
				if err != nil {
					return fmt.Errorf("csv line %d, column %q: %w", line, header[i], err)
				}
				t.Times = append(t.Times, ts)
				continue
			}
			v, err := parseCell(cell)
			if err != nil {
				return fmt.Errorf("csv line %d, column %q: %q is not a number (only numeric columns can be replayed; drop the column or name it with --time-column)", line, header[i], cell)
			}
			row = append(row, v)
		}
		t.Rows = append(t.Rows, row)
	}
}

func detectSep(head string) rune {
	line, _, _ := strings.Cut(head, "\n")
	best, n := ',', 0
	for _, c := range []rune{',', ';', '\t', '|'} {
		if k := strings.Count(line, string(c)); k > n {
			best, n = c, k
		}
	}
	return best
}

func findTimeColumn(header []string, name string) (int, error) {
	for i, h := range header {
		h = strings.TrimSpace(h)
		if name != "" && h == name {
			return i, nil
		}
		if name == "" {
			switch strings.ToLower(h) {
			case "ts", "time", "timestamp", "date", "datetime":
				return i, nil
			}
		}
	}
	if name != "" {
		return 0, fmt.Errorf("csv has no column %q (columns: %s)", name, strings.Join(header, ", "))
	}
	return -1, nil
}

func parseCell(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return math.NaN(), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, errors.New("not a finite number")
	}
	return v, nil
}

func parseReplayTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f >= 1e11 { // milliseconds: 1e11 ms is 1973, 1e11 s is year 5138
			return time.UnixMilli(int64(f)).UTC(), nil
		}
		return time.Unix(0, int64(f*1e9)).UTC(), nil
	}
	for _, l := range timeLayouts {
		if ts, err := time.Parse(l, s); err == nil {
			return ts.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: want RFC 3339, YYYY-MM-DD HH:MM:SS or Unix seconds/milliseconds", s)
}

// SanitizeName turns a CSV header into a valid sensor name: characters outside
// [A-Za-z0-9_.-] become _, and an empty header becomes col{i}.
func SanitizeName(h string, i int) string {
	b := []byte(strings.TrimSpace(h))
	for j, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			b[j] = '_'
		}
	}
	s := strings.TrimLeft(string(b), "_")
	if len(s) > telemetry.MaxNameLen {
		s = s[:telemetry.MaxNameLen]
	}
	if s == "" {
		return fmt.Sprintf("col%d", i)
	}
	return s
}

// ReplayOptions say where and how fast a Table is published.
type ReplayOptions struct {
	Machine telemetry.Machine
	Topics  telemetry.Topics
	QoS     byte
	Window  int
	// Speed is file seconds per wall-clock second; <= 0 publishes as fast as possible.
	Speed float64
	// Rate (Hz) spaces rows when the file has no time column; Start is then the first
	// row's time (zero: now minus the file's length, so every timestamp is in the past).
	Rate  float64
	Start time.Time
	Stats *Stats
}

// Replay publishes each row as one telemetry sample of opt.Machine, paced by the
// row timestamps. Rows whose cells are all empty are skipped. It returns nil when done
// or when ctx is cancelled.
func Replay(ctx context.Context, t *Table, pub Publisher, opt ReplayOptions) error {
	if pub == nil {
		return errors.New("replay: no publisher")
	}
	if err := opt.Machine.Validate(); err != nil {
		return fmt.Errorf("replay machine: %w", err)
	}
	if t.Times == nil && !(opt.Rate > 0) {
		return fmt.Errorf("replay: the csv has no time column, so a rate > 0 is needed (got %v)", opt.Rate)
	}
	if opt.Stats == nil {
		opt.Stats = &Stats{}
	}
	mq := newMQTTSink(pub, RunOptions{Topics: opt.Topics, QoS: opt.QoS, Window: opt.Window, Stats: opt.Stats},
		[]MachineInfo{{Machine: opt.Machine, Sensors: t.Sensors}})
	defer mq.drain()
	smp := telemetry.Sample{Values: make([]telemetry.Value, len(t.Sensors))}
	for j, s := range t.Sensors {
		smp.Values[j].Sensor = s
	}
	at := t.rowTimes(opt)
	wall0 := time.Now()
	for i, row := range t.Rows {
		if opt.Speed > 0 && !sleepUntil(ctx, wall0.Add(time.Duration(float64(at(i).Sub(at(0)))/opt.Speed))) {
			return nil
		}
		if ctx.Err() != nil {
			return nil
		}
		if allNaN(row) {
			continue
		}
		smp.Time = at(i)
		for j, v := range row {
			smp.Values[j].V = v
		}
		opt.Stats.Samples.Add(1)
		mq.telemetry(ctx, 0, smp)
		opt.Stats.Steps.Add(1)
	}
	return nil
}

func (t *Table) rowTimes(opt ReplayOptions) func(i int) time.Time {
	if t.Times != nil {
		return func(i int) time.Time { return t.Times[i] }
	}
	period := time.Duration(float64(time.Second) / opt.Rate)
	start := opt.Start
	if start.IsZero() {
		start = time.Now().Add(-time.Duration(len(t.Rows)) * period).Truncate(time.Millisecond)
	}
	return func(i int) time.Time { return start.Add(time.Duration(i) * period) }
}

func allNaN(row []float64) bool {
	for _, v := range row {
		if !math.IsNaN(v) {
			return false
		}
	}
	return true
}
