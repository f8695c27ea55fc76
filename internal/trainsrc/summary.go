package trainsrc

import (
	"fmt"
	"math"
	"slices"

	"github.com/faultline/faultline/internal/trainer"
)

// Summary describes loaded data for the training report and the logs.
type Summary struct {
	Source  string          `json:"source"` // file path or "influx"
	Assets  int             `json:"assets"`
	Rows    int             `json:"rows"`
	MinRows int             `json:"min_rows_per_asset"`
	First   float64         `json:"first_time"` // unix seconds or cycles
	Last    float64         `json:"last_time"`
	Columns []ColumnSummary `json:"columns"`
}

// ColumnSummary is one column's finite-value count and range.
type ColumnSummary struct {
	Name    string  `json:"name"`
	Count   int     `json:"count"`
	Missing int     `json:"missing"`
	Min     float64 `json:"min"`
	Max     float64 `json:"max"`
}

// Summarize counts rows, assets and each column's finite values.
func Summarize(source string, d trainer.Data) Summary {
	s := Summary{Source: source, Assets: len(d.Series), First: math.Inf(1), Last: math.Inf(-1), MinRows: math.MaxInt}
	s.Columns = make([]ColumnSummary, len(d.Columns))
	for j, c := range d.Columns {
		s.Columns[j] = ColumnSummary{Name: c, Min: math.Inf(1), Max: math.Inf(-1)}
	}
	for _, sr := range d.Series {
		s.Rows += len(sr.Rows)
		s.MinRows = min(s.MinRows, len(sr.Rows))
		if n := len(sr.T); n > 0 {
			s.First, s.Last = math.Min(s.First, sr.T[0]), math.Max(s.Last, sr.T[n-1])
		}
		for _, r := range sr.Rows {
			for j, v := range r {
				c := &s.Columns[j]
				if math.IsNaN(v) || math.IsInf(v, 0) {
					c.Missing++
					continue
				}
				c.Count++
				c.Min, c.Max = math.Min(c.Min, v), math.Max(c.Max, v)
			}
		}
	}
	// JSON has no infinities: an empty range or column reports zeros.
	if s.Rows == 0 {
		s.First, s.Last, s.MinRows = 0, 0, 0
	}
	for j := range s.Columns {
		if s.Columns[j].Count == 0 {
			s.Columns[j].Min, s.Columns[j].Max = 0, 0
		}
	}
	return s
}

// Usable counts the columns that are neither all-missing nor constant: the sensors the
// trainer will keep (it drops the rest and reports why).
func (s Summary) Usable(exclude []string) int {
	n := 0
	for _, c := range s.Columns {
		if c.Count > 0 && c.Max-c.Min > 1e-9*math.Max(1, math.Abs(c.Max)) && !slices.Contains(exclude, c.Name) {
			n++
		}
	}
	return n
}

// CheckColumns refuses settings or context columns the data does not have, naming the
// columns it does have.
func CheckColumns(d trainer.Data, flag string, want []string) error {
	var missing []string
	for _, w := range want {
		if !slices.Contains(d.Columns, w) {
			missing = append(missing, w)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s: unknown column(s) %q; the data has %q", flag, missing, d.Columns)
	}
	return nil
}
