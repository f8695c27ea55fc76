package simulators

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/faultline/faultline/internal/dataset"
	"github.com/faultline/faultline/internal/telemetry"
)

// Table is a CSV loaded for replay: numeric columns as sensors, NaN for empty cells.
type Table struct {
	Sensors []string
	Times   []time.Time // nil when the file has no time column
	Rows    [][]float64
	// Notes say, one line each, which text columns the reader left out and which
	// text cells it read as missing (dataset.Table.Dropped, TextCells), for the log.
	Notes []string
}

// CSVOptions say how to read a CSV for replay.
type CSVOptions struct {
	// TimeColumn names the time column; "" picks one as the trainer does
	// (dataset.DetectColumns: named ts, time, timestamp, datetime, date_time or date, else
	// the first column holding timestamps), or none.
	TimeColumn string
	// Sep is the field separator; 0 detects it from the header (, ; tab or |).
	Sep rune
	// Ignore names columns to skip (a text column the reader would refuse; its error
	// suggests --ignore).
	Ignore []string
	// DateOrder reads slashed dates (dataset.Options.DateOrder: dmy, mdy, or "" to
	// refuse them), as the trainer reads the same file.
	DateOrder string
}

// ReadCSV loads a whole CSV through internal/dataset (the reader the trainer and
// `infer score` use, so a file that trains also replays) so that a bad cell is reported
// before anything is published.
func ReadCSV(r io.Reader, opt CSVOptions) (*Table, error) {
	if err := dataset.CheckDateOrder(opt.DateOrder); err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(64 << 10)
	if len(bytes.TrimSpace(head)) == 0 {
		return nil, errors.New("csv is empty: want a header row, then rows")
	}
	if opt.Sep == 0 {
		opt.Sep = dataset.DetectSeparator(head)
	}
	// The reader finds the named column itself (quoted, after a byte-order mark) and
	// refuses one the header lacks.
	o := dataset.Options{Sep: opt.Sep, Ignore: opt.Ignore, TimeColumn: opt.TimeColumn, DateOrder: opt.DateOrder}
	if o.TimeColumn == "" {
		o.TimeColumn, _ = dataset.DetectColumnsOrder(head, opt.DateOrder)
	}
	d, err := dataset.Read(br, o)
	if err != nil {
		return nil, fmt.Errorf("csv: %w", err)
	}
	t := &Table{Rows: d.Rows}
	t.Notes = d.Notes()
	for i, h := range d.Sensors {
		t.Sensors = append(t.Sensors, SanitizeName(h, i))
	}
	if o.TimeColumn != "" {
		t.Times = make([]time.Time, len(d.T))
		for i, v := range d.T {
			t.Times[i] = replayTime(v, d.Timestamps)
		}
	}
	return t, nil
}

// replayTime turns the reader's time value into an instant: timestamps are Unix
// seconds; plain numbers are Unix seconds, or milliseconds from 1e11 on (1e11 ms is
// 1973, 1e11 s the year 5138).
func replayTime(v float64, timestamp bool) time.Time {
	if !timestamp && v >= 1e11 {
		v /= 1000
	}
	us := math.Round(v * 1e6)
	return time.UnixMicro(int64(us)).UTC()
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
