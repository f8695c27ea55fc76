package trainsrc

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/faultline/faultline/internal/influxstore"
	"github.com/faultline/faultline/internal/telemetry"
	"github.com/faultline/faultline/internal/trainer"
)

// SeriesReader is what loading from a time-series store needs; *influxstore.Store
// satisfies it.
type SeriesReader interface {
	ReadTelemetry(ctx context.Context, q influxstore.SeriesQuery, fn func(influxstore.Row) error) error
}

// Range is the history to read: a set of machines over [Start, Stop), read in chunks.
type Range struct {
	Machines    []telemetry.Machine // empty Site/Line match any
	Start, Stop time.Time
	Chunk       time.Duration // 0 = influxstore's default
}

// LoadInflux reads every machine's telemetry over the range into one series per
// machine. Columns are the sorted union of the sensors seen; a row holds NaN for a
// sensor that did not report at that instant.
func LoadInflux(ctx context.Context, r SeriesReader, q Range) (trainer.Data, error) {
	if len(q.Machines) == 0 {
		return trainer.Data{}, fmt.Errorf("no machine to read: give --machine ID or --all")
	}
	p := newPivot()
	for _, m := range q.Machines {
		sq := influxstore.SeriesQuery{Site: m.Site, Line: m.Line, Machine: m.Machine, Start: q.Start, Stop: q.Stop, Chunk: q.Chunk}
		p.begin(m.Machine)
		if err := r.ReadTelemetry(ctx, sq, p.add); err != nil {
			return trainer.Data{}, fmt.Errorf("machine %s: %w", m.Machine, err)
		}
	}
	d := p.data()
	if len(d.Series) == 0 {
		return d, fmt.Errorf("no telemetry for %s between %s and %s: check --machine/--site/--line and widen --start/--stop",
			names(q.Machines), q.Start.UTC().Format(time.RFC3339), q.Stop.UTC().Format(time.RFC3339))
	}
	return d, nil
}

func names(ms []telemetry.Machine) string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Machine
	}
	return strings.Join(out, ", ")
}

// pivot builds rows incrementally: a sensor first seen late gets a new column, and
// earlier rows are padded with NaN when the data is assembled.
type pivot struct {
	cols   map[string]int
	series []*rawSeries
}

type rawSeries struct {
	asset string
	t     []float64
	rows  [][]float64
}

func newPivot() *pivot { return &pivot{cols: map[string]int{}} }

func (p *pivot) begin(asset string) { p.series = append(p.series, &rawSeries{asset: asset}) }

func (p *pivot) add(r influxstore.Row) error {
	s := p.series[len(p.series)-1]
	row := make([]float64, len(p.cols), len(p.cols)+len(r.Values))
	for i := range row {
		row[i] = math.NaN()
	}
	p.addColumns(r.Values)
	for k, v := range r.Values {
		j := p.cols[k]
		for len(row) <= j {
			row = append(row, math.NaN())
		}
		row[j] = v
	}
	s.t = append(s.t, float64(r.Time.UnixNano())/1e9)
	s.rows = append(s.rows, row)
	return nil
}

// addColumns numbers sensors not seen before in name order, so a store whose first row
// has every sensor yields rows already in final column order.
func (p *pivot) addColumns(vals map[string]float64) {
	var fresh []string
	for k := range vals {
		if _, ok := p.cols[k]; !ok {
			fresh = append(fresh, k)
		}
	}
	sort.Strings(fresh)
	for _, k := range fresh {
		p.cols[k] = len(p.cols)
	}
}

// data sorts the columns by name and each series by time, dropping empty series.
func (p *pivot) data() trainer.Data {
	cols := make([]string, 0, len(p.cols))
	for c := range p.cols {
		cols = append(cols, c)
	}
	sort.Strings(cols)
	d := trainer.Data{Columns: cols, Timestamps: true} // InfluxDB times are instants
	identity := true
	for j, c := range cols {
		identity = identity && p.cols[c] == j
	}
	for _, s := range p.series {
		if len(s.rows) == 0 {
			continue
		}
		out := trainer.Series{Asset: s.asset, T: s.t, Rows: make([][]float64, len(s.rows))}
		for i, r := range s.rows {
			if identity && len(r) == len(cols) {
				out.Rows[i] = r // already in final order: no copy
				continue
			}
			row := make([]float64, len(cols))
			for j, c := range cols {
				row[j] = math.NaN()
				if k := p.cols[c]; k < len(r) {
					row[j] = r[k]
				}
			}
			out.Rows[i] = row
		}
		sortByTime(&out)
		d.Series = append(d.Series, out)
	}
	return d
}

// sortByTime orders rows by time; a store returns them in order per chunk, but the
// same machine id under two sites would interleave.
func sortByTime(s *trainer.Series) {
	if slices.IsSorted(s.T) {
		return
	}
	idx := make([]int, len(s.T))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return s.T[idx[a]] < s.T[idx[b]] })
	t, rows := make([]float64, len(idx)), make([][]float64, len(idx))
	for i, k := range idx {
		t[i], rows[i] = s.T[k], s.Rows[k]
	}
	s.T, s.Rows = t, rows
}

// MachineType is a machine id's prefix before its last '-' (pump-0001 -> pump); an id
// without '-' is its own type.
func MachineType(id string) string {
	if i := strings.LastIndexByte(id, '-'); i > 0 {
		return id[:i]
	}
	return id
}

// Group is one model to train: its key (machine id or type), the machines it covers
// and the Match glob the model records.
type Group struct {
	Key      string
	Match    string
	Machines []telemetry.Machine
}

// GroupMachines groups machines per machine ("machine") or per type ("type"), sorted
// by key.
func GroupMachines(ms []telemetry.Machine, by string) ([]Group, error) {
	byKey := map[string]*Group{}
	for _, m := range ms {
		key, match := m.Machine, m.Machine
		switch by {
		case "", "machine":
		case "type":
			key = MachineType(m.Machine)
			match = key + "-*"
			if key == m.Machine {
				match = key
			}
		default:
			return nil, fmt.Errorf("--group-by %q: use machine or type", by)
		}
		g := byKey[key]
		if g == nil {
			g = &Group{Key: key, Match: match}
			byKey[key] = g
		}
		g.Machines = append(g.Machines, m)
	}
	out := make([]Group, 0, len(byKey))
	for _, g := range byKey {
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// ParseTime reads a --start/--stop value: RFC 3339, a date (2006-01-02, UTC), "now",
// or a duration relative to now ("-24h", "-90m").
func ParseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return time.Time{}, fmt.Errorf("empty time: give RFC 3339 (2026-01-02T15:04:05Z) or a relative duration (-24h)")
	case s == "now":
		return now, nil
	case s[0] == '-' || s[0] == '+':
		d, err := time.ParseDuration(s)
		if err != nil {
			return time.Time{}, fmt.Errorf("time %q: not a relative duration like -24h or -90m", s)
		}
		return now.Add(d), nil
	}
	for _, lay := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(lay, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: use RFC 3339 (2026-01-02T15:04:05Z), a date (2026-01-02), now, or a relative duration (-24h)", s)
}
