package influxstore

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/faultline/faultline/internal/telemetry"
)

// Read paths. History is read with Flux (/api/v2/query) or InfluxQL (/query):
//
//   - InfluxDB 1.8 answers both (Flux only with flux-enabled = true);
//   - InfluxDB 2.x answers Flux, and InfluxQL only for buckets with a DBRP mapping;
//   - InfluxDB 3 has no Flux: InfluxQL (/query, v1 compatibility) or SQL.
//
// Config.QueryLanguage picks one; "" (auto) takes InfluxQL on a 3.x server and Flux
// otherwise, which keeps the established Flux path on 1.8 and 2.x.
const (
	QueryAuto     = ""
	QueryFlux     = "flux"
	QueryInfluxQL = "influxql"
)

func validQueryLanguage(s string) error {
	switch s {
	case QueryAuto, QueryFlux, QueryInfluxQL:
		return nil
	}
	return fmt.Errorf("influx: query language %q: use flux, influxql or empty (auto: influxql on InfluxDB 3, else flux)", s)
}

// influxQL reports whether reads go through InfluxQL on this server.
func (s *Store) readsInfluxQL(ctx context.Context) (bool, error) {
	switch s.cfg.QueryLanguage {
	case QueryFlux:
		return false, nil
	case QueryInfluxQL:
		return true, nil
	}
	if _, err := s.detect(ctx); err != nil {
		return false, err
	}
	s.mu.Lock()
	v := strings.TrimPrefix(s.version, "v")
	s.mu.Unlock()
	return strings.HasPrefix(v, "3."), nil
}

// QueryLanguage returns the language reads use on this server ("flux" or "influxql").
func (s *Store) QueryLanguage(ctx context.Context) (string, error) {
	ql, err := s.readsInfluxQL(ctx)
	if err != nil {
		return "", err
	}
	if ql {
		return QueryInfluxQL, nil
	}
	return QueryFlux, nil
}

// qlIdent quotes an InfluxQL identifier; qlString quotes a string literal.
func qlIdent(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func qlString(s string) string {
	return `'` + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + `'`
}

func qlTime(t time.Time) string { return qlString(t.UTC().Format(time.RFC3339Nano)) }

// where is the InfluxQL condition of a query over [start, stop).
func (q SeriesQuery) where(start, stop time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "time >= %s AND time < %s", qlTime(start), qlTime(stop))
	for _, f := range [...]struct{ k, v string }{{"site", q.Site}, {"line", q.Line}, {"machine", q.Machine}} {
		if f.v != "" {
			fmt.Fprintf(&b, " AND %s = %s", qlIdent(f.k), qlString(f.v))
		}
	}
	return b.String()
}

const qlGroupBy = ` GROUP BY "site", "line", "machine"`

// qlSeries is one series of an InfluxQL response.
type qlSeries struct {
	Tags    map[string]string `json:"tags"`
	Columns []string          `json:"columns"`
	Values  [][]any           `json:"values"`
}

// queryQL runs one InfluxQL statement on /query and calls fn for each series.
func (s *Store) queryQL(ctx context.Context, q string, fn func(qlSeries) error) error {
	db, rp, _ := strings.Cut(s.cfg.Bucket, "/")
	form := url.Values{"q": {q}, "db": {db}, "epoch": {"ns"}}
	if rp != "" {
		form.Set("rp", rp)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(s.cfg.URL, "/")+"/query", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// 1.8 takes user:password; 2.x and 3.x take their API token on /query as "Token".
	if user, pass, ok := strings.Cut(s.cfg.Token, ":"); ok {
		req.SetBasicAuth(user, pass)
	} else if s.cfg.Token != "" {
		req.Header.Set("Authorization", "Token "+s.cfg.Token)
	}
	resp, err := s.httpc.Do(req)
	if err != nil {
		return fmt.Errorf("influxql query: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<14))
		return fmt.Errorf("influxql query: HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	var out struct {
		Results []struct {
			Series []qlSeries `json:"series"`
			Error  string     `json:"error"`
		} `json:"results"`
		Error string `json:"error"`
	}
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber() // exact: a float64 printed by the server parses back to the same bits
	if err := dec.Decode(&out); err != nil {
		return fmt.Errorf("influxql query: decode response: %w", err)
	}
	if out.Error != "" {
		return fmt.Errorf("influxql query: %s", out.Error)
	}
	for _, r := range out.Results {
		if r.Error != "" {
			return fmt.Errorf("influxql query: %s", r.Error)
		}
		for _, sr := range r.Series {
			if err := fn(sr); err != nil {
				return err
			}
		}
	}
	return nil
}

func qlFloat(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

// readChunkQL reads [from, to) with InfluxQL, rows per machine in time order (as the
// Flux path gives them).
func (s *Store) readChunkQL(ctx context.Context, q SeriesQuery, from, to time.Time, fn func(Row) error) error {
	stmt := fmt.Sprintf("SELECT * FROM %s WHERE %s%s ORDER BY time ASC", qlIdent(Measurement), q.where(from, to), qlGroupBy)
	return s.queryQL(ctx, stmt, func(sr qlSeries) error {
		m := telemetry.Machine{Site: sr.Tags["site"], Line: sr.Tags["line"], Machine: sr.Tags["machine"]}
		for _, vals := range sr.Values {
			row := Row{Machine: m, Values: map[string]float64{}}
			for i, col := range sr.Columns {
				if i >= len(vals) {
					break
				}
				switch col {
				case "time":
					ns, err := vals[i].(json.Number).Int64()
					if err != nil {
						return fmt.Errorf("influxql: time %v: %w", vals[i], err)
					}
					row.Time = time.Unix(0, ns).UTC()
				case "site", "line", "machine":
				default:
					if v, ok := qlFloat(vals[i]); ok {
						row.Values[col] = v
					}
				}
			}
			if len(row.Values) == 0 {
				continue // only other tags' fields were set (null here)
			}
			if err := fn(row); err != nil {
				return err
			}
		}
		return nil
	})
}

// machinesQL lists the machines with telemetry in [start, stop).
func (s *Store) machinesQL(ctx context.Context, start, stop time.Time) ([]telemetry.Machine, error) {
	stmt := fmt.Sprintf("SELECT count(*) FROM %s WHERE %s%s", qlIdent(Measurement), SeriesQuery{}.where(start, stop), qlGroupBy)
	seen := map[telemetry.Machine]bool{}
	err := s.queryQL(ctx, stmt, func(sr qlSeries) error {
		seen[telemetry.Machine{Site: sr.Tags["site"], Line: sr.Tags["line"], Machine: sr.Tags["machine"]}] = true
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

// countQL counts the stored values of one field over [Start, Stop).
func (s *Store) countQL(ctx context.Context, q SeriesQuery, field string) (int64, error) {
	stmt := fmt.Sprintf("SELECT count(%s) FROM %s WHERE %s", qlIdent(field), qlIdent(Measurement), q.where(q.Start, q.Stop))
	var n int64
	err := s.queryQL(ctx, stmt, func(sr qlSeries) error {
		for _, vals := range sr.Values {
			if len(vals) > 1 {
				if v, ok := qlFloat(vals[1]); ok {
					n += int64(v)
				}
			}
		}
		return nil
	})
	return n, err
}
