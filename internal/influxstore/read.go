package influxstore

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/faultline/faultline/internal/telemetry"
)

// Measurement is where telemetry is stored: one float field per sensor, tags site, line
// and machine.
const Measurement = "telemetry"

// SeriesQuery selects telemetry to read back. Empty tag filters match everything.
type SeriesQuery struct {
	Site, Line, Machine string
	Start, Stop         time.Time
	// Chunk splits the range into several queries so a month of 1 Hz data never sits
	// in one response. 0 means 6 hours.
	Chunk time.Duration
}

// Row is one instant of one machine, sensors pivoted into columns.
type Row struct {
	Machine telemetry.Machine
	Time    time.Time
	Values  map[string]float64
}

func fluxString(s string) string { return strconv.Quote(s) }

func (q SeriesQuery) filter() string {
	var b strings.Builder
	fmt.Fprintf(&b, `r._measurement == %s`, fluxString(Measurement))
	for _, f := range [...]struct{ k, v string }{{"site", q.Site}, {"line", q.Line}, {"machine", q.Machine}} {
		if f.v != "" {
			fmt.Fprintf(&b, ` and r.%s == %s`, f.k, fluxString(f.v))
		}
	}
	return b.String()
}

// ReadTelemetry streams rows in time order per machine, chunk by chunk.
func (s *Store) ReadTelemetry(ctx context.Context, q SeriesQuery, fn func(Row) error) error {
	if !q.Stop.After(q.Start) {
		return fmt.Errorf("influx read: empty time range %s..%s (stop must be after start)", q.Start.Format(time.RFC3339), q.Stop.Format(time.RFC3339))
	}
	ql, err := s.readsInfluxQL(ctx)
	if err != nil {
		return err
	}
	bucket, err := s.fluxBucket(ctx)
	if err != nil {
		return err
	}
	chunk := q.Chunk
	if chunk <= 0 {
		chunk = 6 * time.Hour
	}
	for from := q.Start; from.Before(q.Stop); from = from.Add(chunk) {
		to := from.Add(chunk)
		if to.After(q.Stop) {
			to = q.Stop
		}
		if ql {
			if err := s.readChunkQL(ctx, q, from, to, fn); err != nil {
				return fmt.Errorf("read telemetry %s..%s: %w", from.Format(time.RFC3339), to.Format(time.RFC3339), err)
			}
			continue
		}
		flux := fmt.Sprintf(`from(bucket: %s)
  |> range(start: %s, stop: %s)
  |> filter(fn: (r) => %s)
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")`,
			fluxString(bucket), from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano), q.filter())
		if err := s.readChunk(ctx, flux, to, fn); err != nil {
			return fmt.Errorf("read telemetry %s..%s: %w", from.Format(time.RFC3339), to.Format(time.RFC3339), err)
		}
	}
	return nil
}

// readChunk drops rows at stop: InfluxDB 1.8's Flux range() includes its stop
// instant, which would read boundary points twice across chunks.
func (s *Store) readChunk(ctx context.Context, flux string, stop time.Time, fn func(Row) error) error {
	return s.Query(ctx, flux, func(rec Record) error {
		if !rec.Time().Before(stop) {
			return nil
		}
		row := Row{
			Machine: telemetry.Machine{Site: rec.String("site"), Line: rec.String("line"), Machine: rec.String("machine")},
			Time:    rec.Time(),
			Values:  map[string]float64{},
		}
		for k := range rec.Values() {
			if strings.HasPrefix(k, "_") || k == "result" || k == "table" || k == "site" || k == "line" || k == "machine" {
				continue
			}
			if v, ok := rec.Float(k); ok {
				row.Values[k] = v
			}
		}
		return fn(row)
	})
}

// Machines lists the machines with telemetry in the range. One machine is one
// (site, line, machine): pumps called p1 at two sites are two machines (the Flux query
// used to keep one of them, found by comparing it with the InfluxQL path).
func (s *Store) Machines(ctx context.Context, start, stop time.Time) ([]telemetry.Machine, error) {
	if ql, err := s.readsInfluxQL(ctx); err != nil || ql {
		if err != nil {
			return nil, err
		}
		return s.machinesQL(ctx, start, stop)
	}
	bucket, err := s.fluxBucket(ctx)
	if err != nil {
		return nil, err
	}
	flux := fmt.Sprintf(`from(bucket: %s)
  |> range(start: %s, stop: %s)
  |> filter(fn: (r) => r._measurement == %s)
  |> keep(columns: ["site", "line", "machine"])
  |> group(columns: ["site", "line", "machine"])
  |> distinct(column: "machine")`,
		fluxString(bucket), start.UTC().Format(time.RFC3339Nano), stop.UTC().Format(time.RFC3339Nano), fluxString(Measurement))
	seen := map[telemetry.Machine]bool{}
	err = s.Query(ctx, flux, func(rec Record) error {
		seen[telemetry.Machine{Site: rec.String("site"), Line: rec.String("line"), Machine: rec.String("machine")}] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list machines: %w", err)
	}
	out := make([]telemetry.Machine, 0, len(seen))
	for m := range seen {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out, nil
}

// CountPoints counts stored values of one field (sensor), optionally per machine;
// tests and benchmarks use it to check that nothing was lost.
func (s *Store) CountPoints(ctx context.Context, q SeriesQuery, field string) (int64, error) {
	if ql, err := s.readsInfluxQL(ctx); err != nil || ql {
		if err != nil {
			return 0, err
		}
		return s.countQL(ctx, q, field)
	}
	bucket, err := s.fluxBucket(ctx)
	if err != nil {
		return 0, err
	}
	flux := fmt.Sprintf(`from(bucket: %s)
  |> range(start: %s, stop: %s)
  |> filter(fn: (r) => %s and r._field == %s)
  |> group()
  |> count()`, fluxString(bucket), q.Start.UTC().Format(time.RFC3339Nano), q.Stop.UTC().Format(time.RFC3339Nano), q.filter(), fluxString(field))
	var n int64
	err = s.Query(ctx, flux, func(rec Record) error {
		if v, ok := rec.Float("_value"); ok {
			n += int64(v)
		}
		return nil
	})
	return n, err
}
