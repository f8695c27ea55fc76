package trainer

import (
	"time"

	"github.com/faultline/faultline/internal/dataset"
)

// FromTable groups a table's rows by asset into series.
func FromTable(t *dataset.Table) Data {
	d := Data{Columns: t.Sensors, TimeColumn: t.TimeColumn, Timestamps: t.Timestamps}
	for _, c := range t.Dropped {
		if d.Dropped == nil {
			d.Dropped = map[string]string{}
		}
		d.Dropped[c.Column] = c.Reason
	}
	for _, c := range t.TextCells {
		if d.TextCells == nil {
			d.TextCells = map[string]string{}
		}
		d.TextCells[c.Column] = c.Detail()
	}
	for _, g := range t.Groups() {
		d.Series = append(d.Series, Series{Asset: g.Asset, T: t.T[g.Start:g.End], Rows: t.Rows[g.Start:g.End]})
	}
	return d
}

// TimeOf maps a data time (Unix seconds or cycles) to the scoring clock.
func TimeOf(s float64) time.Time { return secondsToTime(s) }
