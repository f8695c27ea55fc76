package trainer

import (
	"fmt"
	"math"
	"slices"

	"github.com/faultline/faultline/internal/artifact"
)

// The age input of rul models from a column (Options.AgeColumn,
// artifact.Model.AgeColumn). The trainer sees the age as the scorer does: the
// column's value in each row, the row dropped when the value is missing, not finite
// or negative (scoring.ErrBadAge), and a row filled in for a short gap taking the
// previous row's age.

// WithAgeColumn returns d with the age column name among its columns
// (artifact.Model.AgeColumn), for scoring a Data with a model. A data column
// is used as it is; the time column (C-MAPSS's cycle) is copied into a column of that
// name, as `infer score` reads it, unless it holds timestamps: a date is no age.
func WithAgeColumn(d Data, name string) (Data, error) {
	if slices.Contains(d.Columns, name) {
		return d, nil
	}
	if name != d.TimeColumn || name == "" {
		return d, namesFlag(fmt.Errorf("%w: --age-column %q is neither a column (%v) nor the time column (%q)", ErrData, name, d.Columns, d.TimeColumn))
	}
	if d.Timestamps {
		return d, namesFlag(fmt.Errorf("%w: --age-column %q is the time column and holds timestamps; the age is a counter of the asset's operating cycles or hours since its start of life (give that column, or --age-column none)", ErrData, name))
	}
	out := d // the time column and what the reader said about the columns
	out.Columns, out.Series = append(slices.Clone(d.Columns), name), nil
	n := len(d.Columns)
	for _, s := range d.Series {
		// One block per series: a row per slice header, no per-row allocation.
		block := make([]float64, len(s.Rows)*(n+1))
		rows := make([][]float64, len(s.Rows))
		for i, r := range s.Rows {
			row := block[i*(n+1) : (i+1)*(n+1) : (i+1)*(n+1)]
			copy(row, r)
			row[n] = s.T[i]
			rows[i] = row
		}
		out.Series = append(out.Series, Series{Asset: s.Asset, T: s.T, Rows: rows})
	}
	return out, nil
}

// goodAge is the scorer's test of an age value.
func goodAge(v float64) bool { return v >= 0 && !math.IsInf(v, 1) }

// dropBadAge removes the rows whose column k is not a usable age and returns how many
// it removed. Series without such rows are shared, not copied.
func dropBadAge(d Data, k int) (Data, int) {
	out, dropped := d, 0
	out.Series = slices.Clone(d.Series)
	for i, s := range d.Series {
		bad := 0
		for _, r := range s.Rows {
			if !goodAge(r[k]) {
				bad++
			}
		}
		if bad == 0 {
			continue
		}
		ns := Series{Asset: s.Asset, T: make([]float64, 0, len(s.T)-bad), Rows: make([][]float64, 0, len(s.Rows)-bad)}
		for j, r := range s.Rows {
			if goodAge(r[k]) {
				ns.T, ns.Rows = append(ns.T, s.T[j]), append(ns.Rows, r)
			}
		}
		out.Series[i] = ns
		dropped += bad
	}
	return out, dropped
}

// agesOf is the age input of each row of s: column k, a filled row (NaN) taking the
// previous row's age as the scorer's filled rows do.
func agesOf(s Series, k int) []float64 {
	out := make([]float64, len(s.Rows))
	prev := 0.0
	for i, r := range s.Rows {
		if goodAge(r[k]) {
			prev = r[k]
		}
		out[i] = prev
	}
	return out
}

// prepareAge readies d for a model with an age column: the column present, rows
// without a usable age dropped (their count returned).
func prepareAge(d Data, o Options) (Data, int, error) {
	if o.Task != artifact.TaskRUL || o.AgeColumn == "" {
		return d, 0, nil
	}
	d, err := WithAgeColumn(d, o.AgeColumn)
	if err != nil {
		return d, 0, err
	}
	d, bad := dropBadAge(d, slices.Index(d.Columns, o.AgeColumn))
	rows := 0
	for _, s := range d.Series {
		rows += len(s.Rows)
	}
	if rows == 0 {
		return d, bad, namesFlag(fmt.Errorf("%w: no row has a usable age in --age-column %q (missing, not finite or negative)", ErrData, o.AgeColumn))
	}
	return d, bad, nil
}
