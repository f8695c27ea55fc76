package infer

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/faultline/faultline/internal/alerting"
	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/dataset"
	"github.com/faultline/faultline/internal/scoring"
	"github.com/faultline/faultline/internal/telemetry"
)

// ScoreOptions of `infer score`.
type ScoreOptions struct {
	Model string
	CSV   dataset.Options
	// Maintenance is the path of a maintenance log (ReadMaintenanceLog), "" for none:
	// each asset starts afresh at its work, as the daemon does on a maintenance message.
	Maintenance string
}

// ScoreStats summarises an offline run.
type ScoreStats struct {
	Rows, Scored, OutOfOrder, Assets int
	// BadAge counts rows dropped for a missing, non-finite or negative age (a rul
	// model's age column, scoring.ErrBadAge); they are written with empty scores.
	BadAge          int
	Raised, Cleared int
	// Maintenance counts the resets a maintenance log made: an asset's stream started
	// afresh between two of its rows (work at or before an asset's first row finds it
	// new already; several entries between the same two rows make one reset).
	// MaintenanceCleared counts the open alerts they cleared, also in Cleared.
	// MaintenanceEntries is the log's entries.
	Maintenance, MaintenanceCleared, MaintenanceEntries int
	// MaintenanceTimeColumn is the log's column its times were read from, for the
	// summary: a log with several time columns (reported, completed) may not have
	// given the one the user meant.
	MaintenanceTimeColumn string
	// Notes say what the CSV reader did with text (columns left out, text cells read as
	// missing; dataset.Table.Dropped and TextCells), one line each, for the user.
	Notes []string
}

// Score runs the live path over a CSV and writes one output row per input row:
//
//	ts[,asset],score,threshold,alert,rul,rul_lo,rul_hi   (RUL models)
//	ts[,asset],score,threshold,alert,cause,fault    (anomaly models)
//
// Each asset gets a fresh stream, as a machine does in the daemon. score and threshold
// are empty until the first full window (and on rows scoring skipped, e.g. out of
// order); a rul model with short-history padding scores from an asset's first row.
// For rul models rul_lo and rul_hi bound the RUL (the model's band; both equal rul
// without one) and score is rul_lo, what the alert compares with the horizon. alert
// is 1 while the alert state machine has an active alert; cause names
// the sensor the active alert blames (scoring.Result.Cause; a change to a sensor not
// yet blamed during the alert is the daemon's "updated, new cause" alert). A numeric
// fault is the alert payload's fault of the row while an alert is active: sensor (the
// blamed sensor is stuck, spiking or silent, named sensor:ISSUE) or process. A numeric
// time column (cycles) is taken as seconds for the stream; ts is written back as read
// (numbers in shortest form, timestamps as RFC 3339 UTC to the microsecond).
//
// With a maintenance log (o.Maintenance), each asset's stream starts afresh at each
// piece of work, before the first row at or after its time, as the daemon's does on
// the maintenance message a maintenance system sends before the repaired machine's
// next sample: an open alert is cleared (alert goes 0), and that row and the next
// have empty scores until a new window fills.
func Score(o ScoreOptions, csvPath string, w io.Writer) (ScoreStats, error) {
	var mlog *MaintenanceLog
	if o.Maintenance != "" {
		// First: a log that cannot be read is refused before the model and the data
		// are loaded, not after minutes of reading a large CSV.
		var err error
		if mlog, err = ReadMaintenanceLog(o.Maintenance, o.CSV); err != nil {
			return ScoreStats{}, err
		}
	}
	mdl, err := LoadModel(o.Model)
	if err != nil {
		return ScoreStats{}, err
	}
	tbl, err := dataset.ReadFile(csvPath, o.CSV)
	if err != nil {
		return ScoreStats{}, err
	}
	var maint Maintenance
	var notes []string
	if mlog != nil {
		if maint, notes, err = mlog.For(tbl); err != nil {
			return ScoreStats{Notes: tbl.Notes()}, err
		}
	}
	st, err := ScoreTable(mdl.Scorer, tbl, o.CSV.AssetColumn != "", maint, w)
	st.Notes = append(tbl.Notes(), notes...)
	if mlog != nil {
		st.MaintenanceEntries, st.MaintenanceTimeColumn = len(mlog.Entries), mlog.TimeColumn
	}
	return st, err
}

// ScoreTable is Score on a table already read, with the work done on each asset in
// maint (nil: none).
func ScoreTable(sc *scoring.Scorer, tbl *dataset.Table, withAsset bool, maint Maintenance, w io.Writer) (ScoreStats, error) {
	idx, err := columnIndex(sc.Columns(), tbl)
	if err != nil {
		return ScoreStats{}, err
	}
	if c := sc.M.AgeColumn; c != "" && idx[len(idx)-1] == timeAsColumn && tbl.Timestamps {
		return ScoreStats{}, fmt.Errorf("the model's age column %q is the CSV's time column, which holds timestamps here; the age is the asset's operating cycles or hours (give the CSV with that column)", c)
	}
	rul := sc.M.Task == artifact.TaskRUL
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.WriteString(header(withAsset, rul))
	targets := sc.M.Targets
	var stats ScoreStats
	row := make([]float64, len(idx))
	line := make([]byte, 0, 256)
	for _, g := range tbl.Groups() {
		st, err := sc.NewStream()
		if err != nil {
			return stats, err
		}
		stats.Assets++
		active, cause, fault := alerting.None, -1, ""
		work := maint[g.Asset]
		// Work at or before the asset's first row finds its stream new already.
		next := sort.Search(len(work), func(k int) bool { return work[k] > tbl.T[g.Start] })
		for i := g.Start; i < g.End; i++ {
			if next < len(work) && work[next] <= tbl.T[i] {
				// Work was done since the previous row: the stream starts afresh before
				// this one, as the daemon's on the message announced before it.
				for next < len(work) && work[next] <= tbl.T[i] {
					next++
				}
				stats.Maintenance++
				if startAfresh(st, &active) {
					stats.Cleared++
					stats.MaintenanceCleared++
				}
				cause, fault = -1, ""
			}
			src := tbl.Rows[i]
			for k, j := range idx {
				if j == timeAsColumn {
					row[k] = tbl.T[i]
					continue
				}
				row[k] = src[j]
			}
			r, ready, err := st.Push(rowTime(tbl.T[i]), row)
			switch {
			case errors.Is(err, scoring.ErrOutOfOrder):
				stats.OutOfOrder++
			case errors.Is(err, scoring.ErrBadAge):
				stats.BadAge++
			case err != nil:
				return stats, fmt.Errorf("row %d: %w", i+1, err)
			}
			line = appendTS(line[:0], tbl, i)
			if withAsset {
				line = append(append(line, ','), tbl.Assets[i]...)
			}
			if ready {
				stats.Scored++
				active, cause, fault = r.Active, r.Cause, faultOf(r)
				for _, ev := range r.Earlier {
					count(&stats, ev.Transition)
				}
				count(&stats, r.Event.Transition)
			}
			causeText := causeName(targets, cause)
			if ready && r.SensorIssue != "" && active != alerting.None {
				causeText = sc.M.Spec.Sensors[r.IssueSensor]
			}
			line = appendResult(line, r, ready, active, rul, causeText)
			if !rul {
				line = append(append(line[:len(line)-1], ','), fault...)
				line = append(line, ',')
				if ready {
					line = strconv.AppendFloat(line, r.Baseline, 'g', ScoreDigits, 64)
				}
				line = append(line, '\n')
			}
			if _, err := bw.Write(line); err != nil {
				return stats, fmt.Errorf("write scores: %w", err)
			}
		}
	}
	stats.Rows = len(tbl.Rows)
	if err := bw.Flush(); err != nil {
		return stats, fmt.Errorf("write scores: %w", err)
	}
	return stats, nil
}

func count(s *ScoreStats, t alerting.Transition) {
	switch t {
	case alerting.Raised:
		s.Raised++
	case alerting.Cleared:
		s.Cleared++
	}
}

func header(asset, rul bool) string {
	h := "ts"
	if asset {
		h += ",asset"
	}
	h += ",score,threshold,alert"
	if rul {
		return h + ",rul,rul_lo,rul_hi\n"
	}
	return h + ",cause,fault,baseline\n"
}

// faultOf is the fault column of an anomaly result with an active alert.
func faultOf(r *scoring.Result) string {
	switch {
	case r.Active == alerting.None:
		return ""
	case r.SensorIssue != "":
		return telemetry.FaultSensor + ":" + r.SensorIssue
	}
	return telemetry.FaultProcess
}

// timeAsColumn in columnIndex's result stands for the CSV's time column: a rul
// model's age column may be it (C-MAPSS's cycle, read with --time-column cycle).
const timeAsColumn = -2

// columnIndex maps each model column to its CSV column. A model column missing from
// the file is an error: scoring a whole file with a sensor absent is almost always the
// wrong file or a renamed column.
func columnIndex(cols []string, tbl *dataset.Table) ([]int, error) {
	idx := make([]int, len(cols))
	var missing []string
	for k, c := range cols {
		idx[k] = tbl.Column(c)
		if idx[k] < 0 && c == tbl.TimeColumn {
			idx[k] = timeAsColumn
		}
		if idx[k] == -1 {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the CSV lacks model column(s) %q (it has %q); pick the model trained for this data or rename the columns", missing, tbl.Sensors)
	}
	return idx, nil
}

// rowTime turns a table time (Unix seconds or cycles, both taken as seconds) into a
// time, rounded to the microsecond so float noise never reorders samples.
func rowTime(t float64) time.Time {
	sec := math.Floor(t)
	us := math.Round((t - sec) * 1e6)
	return time.Unix(int64(sec), int64(us)*1000).UTC()
}

func appendTS(dst []byte, tbl *dataset.Table, i int) []byte {
	if tbl.Timestamps {
		return rowTime(tbl.T[i]).AppendFormat(dst, time.RFC3339Nano)
	}
	return strconv.AppendFloat(dst, tbl.T[i], 'f', -1, 64)
}

// ScoreDigits is the significant digits written for scores. The networks compute in
// float32 (about 7 digits), so more would be noise; and arm64 builds fuse multiply-adds
// (Go allows it), which moves the last bits of a float64 score, while 6 digits are the
// same on amd64, arm64 and armv7 (TestArm64ScoreMatchesAmd64).
const ScoreDigits = 6

func appendResult(dst []byte, r *scoring.Result, ready bool, active alerting.Severity, rul bool, cause string) []byte {
	if ready {
		dst = append(dst, ',')
		dst = strconv.AppendFloat(dst, r.Score, 'g', ScoreDigits, 64)
		dst = append(dst, ',')
		dst = strconv.AppendFloat(dst, r.Threshold, 'g', -1, 64)
	} else {
		dst = append(dst, ",,"...)
	}
	if active != alerting.None {
		dst = append(dst, ",1"...)
	} else {
		dst = append(dst, ",0"...)
	}
	dst = append(dst, ',')
	if rul {
		if ready {
			dst = strconv.AppendFloat(dst, r.RUL, 'g', ScoreDigits, 64)
			dst = append(dst, ',')
			dst = strconv.AppendFloat(dst, r.RULLo, 'g', ScoreDigits, 64)
			dst = append(dst, ',')
			dst = strconv.AppendFloat(dst, r.RULHi, 'g', ScoreDigits, 64)
		} else {
			dst = append(dst, ",,"...)
		}
	} else {
		dst = append(dst, cause...)
	}
	return append(dst, '\n')
}
