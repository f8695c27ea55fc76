package influxstore_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/influxstore"
	"github.com/faultline/faultline/internal/telemetry"
	"github.com/faultline/faultline/internal/testenv"
)

// TestReadPathsAgreeIntegration writes telemetry with sparse sensors, awkward names and
// full-precision floats to the real InfluxDB 1.8, then reads it through Flux and through
// InfluxQL: rows, machine lists and counts must be identical, and equal to what was
// written.
func TestReadPathsAgreeIntegration(t *testing.T) {
	in := testenv.Influx(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	t0 := time.Date(2026, 2, 3, 4, 0, 0, 0, time.UTC)
	const n = 300
	var buf []byte
	want := map[string]float64{}
	for _, m := range []telemetry.Machine{{Site: "s1", Line: "l1", Machine: "p1"}, {Site: "s1", Line: "l2", Machine: "p'2"}, {Site: "s2", Line: "l1", Machine: "p1"}} {
		for i := 0; i < n; i++ {
			ts := t0.Add(time.Duration(i)*time.Second + time.Duration(i)*time.Microsecond)
			vals := []telemetry.Value{{Sensor: "flow", V: math.Pi * float64(i)}, {Sensor: "temp-C", V: 1 / float64(i+3)}}
			if i%7 == 0 {
				vals = vals[:1] // a dropout of temp-C
			}
			buf = influxstore.AppendLine(buf, influxstore.Measurement,
				[]influxstore.Tag{{Key: "line", Value: m.Line}, {Key: "machine", Value: m.Machine}, {Key: "site", Value: m.Site}}, vals, ts)
			for _, v := range vals {
				want[fmt.Sprintf("%s %s %d", m.Key(), v.Sensor, ts.UnixNano())] = v.V
			}
		}
	}
	stores := map[string]*influxstore.Store{}
	for _, lang := range []string{influxstore.QueryFlux, influxstore.QueryInfluxQL, influxstore.QueryAuto} {
		st, err := influxstore.New(influxstore.Config{URL: in.URL, Bucket: "factory", QueryLanguage: lang})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		stores[lang] = st
	}
	if err := stores[influxstore.QueryFlux].EnsureBucket(ctx); err != nil {
		t.Fatal(err)
	}
	if err := stores[influxstore.QueryFlux].WriteLines(ctx, buf); err != nil {
		t.Fatal(err)
	}
	if got, err := stores[influxstore.QueryAuto].QueryLanguage(ctx); err != nil || got != influxstore.QueryFlux {
		t.Fatalf("auto on 1.8 reads with %q (%v), want flux", got, err)
	}
	results := map[string]string{}
	for _, lang := range []string{influxstore.QueryFlux, influxstore.QueryInfluxQL} {
		st := stores[lang]
		if got, _ := st.QueryLanguage(ctx); got != lang {
			t.Fatalf("store configured for %s reads with %s", lang, got)
		}
		got := map[string]float64{}
		var order []string
		q := influxstore.SeriesQuery{Site: "s1", Start: t0, Stop: t0.Add(time.Hour), Chunk: 97 * time.Second}
		err := st.ReadTelemetry(ctx, q, func(r influxstore.Row) error {
			order = append(order, r.Machine.Key()+" "+r.Time.Format(time.RFC3339Nano))
			for s, v := range r.Values {
				got[fmt.Sprintf("%s %s %d", r.Machine.Key(), s, r.Time.UnixNano())] = v
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: read: %v", lang, err)
		}
		for k, v := range want {
			if strings.HasPrefix(k, "s1/") && got[k] != v {
				t.Fatalf("%s: %s = %v, want %v", lang, k, got[k], v)
			}
		}
		if len(got) != countPrefix(want, "s1/") {
			t.Fatalf("%s: read %d values of site s1, wrote %d", lang, len(got), countPrefix(want, "s1/"))
		}
		// Chunk by chunk, machine by machine within a chunk, in time order.
		for i := 1; i < len(order); i++ {
			if order[i] == order[i-1] {
				t.Fatalf("%s: row %s read twice", lang, order[i])
			}
		}
		ms, err := st.Machines(ctx, t0, t0.Add(time.Hour))
		if err != nil {
			t.Fatalf("%s: machines: %v", lang, err)
		}
		cnt, err := st.CountPoints(ctx, influxstore.SeriesQuery{Line: "l1", Start: t0, Stop: t0.Add(time.Hour)}, "temp-C")
		if err != nil {
			t.Fatalf("%s: count: %v", lang, err)
		}
		if wantCnt := int64(2 * (n - (n+6)/7)); cnt != wantCnt {
			t.Errorf("%s: count temp-C on line l1 = %d, want %d", lang, cnt, wantCnt)
		}
		if fmt.Sprint(ms) != "[{s1 l1 p1} {s1 l2 p'2} {s2 l1 p1}]" {
			t.Errorf("%s: machines %v, want the three (site, line, machine)", lang, ms)
		}
		results[lang] = fmt.Sprint(order, ms, cnt)
	}
	if results[influxstore.QueryFlux] != results[influxstore.QueryInfluxQL] {
		t.Fatalf("read paths disagree:\n flux     %s\n influxql %s", results[influxstore.QueryFlux], results[influxstore.QueryInfluxQL])
	}
	t.Logf("Flux and InfluxQL agree on %d rows, 3 machines and the counts", 2*(n))
}

func countPrefix(m map[string]float64, p string) int {
	n := 0
	for k := range m {
		if strings.HasPrefix(k, p) {
			n++
		}
	}
	return n
}

func TestQueryLanguageValidated(t *testing.T) {
	_, err := influxstore.New(influxstore.Config{URL: "http://127.0.0.1:1", Bucket: "b", QueryLanguage: "sql"})
	if err == nil || !strings.Contains(err.Error(), "use flux, influxql or empty") {
		t.Fatalf("New with query language sql: %v", err)
	}
}
