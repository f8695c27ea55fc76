package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/faultline/faultline/internal/cli"
	"github.com/faultline/faultline/internal/dataset"
	"github.com/faultline/faultline/internal/infer"
	"github.com/faultline/faultline/internal/trainsrc"
)

func runScore(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("infer score", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var model, csvPath, out, ignore, maint string
	var o dataset.Options
	cli.String(fs, &model, "model", "FAULTLINE_INFER_MODEL", "", "model file", getenv)
	fs.StringVar(&csvPath, "csv", "", "input CSV")
	fs.StringVar(&out, "out", "-", "output CSV ('-' for stdout)")
	fs.StringVar(&o.TimeColumn, "time-column", "", "time column (timestamps, or numbers taken as seconds); default: a column named ts, time, timestamp, datetime, date_time or date, else the first column of timestamps, as train detects it; none numbers the rows")
	fs.StringVar(&o.AssetColumn, "asset-column", "", "column naming the machine/unit; each gets its own stream; default: a column named asset, machine, device or equipment (or with _id), as train detects it")
	fs.StringVar(&ignore, "ignore", "", "comma-separated columns to skip")
	fs.StringVar(&o.DateOrder, "date-order", "", "read slashed dates like 03/01/2024: dmy (day first) or mdy (month first; 3/1/2024 7:05 PM is March 1), as given to train; default: refuse them")
	cli.String(fs, &maint, "maintenance", "FAULTLINE_INFER_MAINTENANCE_LOG", "", "maintenance log CSV (a CMMS export): a time column read as the CSV's (same --date-order) and, for a CSV of several assets, the CSV's asset column; other columns are ignored. Each asset starts afresh at its work, as infer run does on a maintenance message: the open alert is cleared and a new window fills", getenv)
	cmapss := fs.Bool("cmapss", false, "the CSV is a NASA C-MAPSS file (no header, space-separated unit, cycle, settings, sensors)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if model == "" || csvPath == "" {
		return errors.New("score needs --model FILE and --csv FILE")
	}
	if err := dataset.CheckDateOrder(o.DateOrder); err != nil {
		return err
	}
	if *cmapss {
		order := o.DateOrder
		o = dataset.CMAPSSOptions()
		o.DateOrder = order
	} else if o.TimeColumn == "" {
		// The rule bin/train applies, so a file trained on without --time-column is
		// scored on the same clock (row numbers when it has no time column).
		o.TimeColumn = trainsrc.DetectTimeColumnOrder(csvPath, o.DateOrder)
	}
	if !*cmapss && o.AssetColumn == "" {
		o.AssetColumn = trainsrc.DetectAssetColumn(csvPath)
	}
	if ignore != "" {
		o.Ignore = strings.Split(ignore, ",")
	}
	w, closeOut, err := output(out, stdout)
	if err != nil {
		return err
	}
	st, err := infer.Score(infer.ScoreOptions{Model: model, CSV: o, Maintenance: maint}, csvPath, w)
	if cerr := closeOut(err == nil); err == nil {
		err = cerr
	}
	// Also on an error: a model column the reader left out as text is said here.
	for _, n := range st.Notes {
		fmt.Fprintln(stderr, n)
	}
	if err != nil {
		if !*cmapss && looksLikeCMAPSS(csvPath) {
			return fmt.Errorf("%w\n%s looks like a raw NASA C-MAPSS file (no header row, space-separated numbers): add --cmapss", err, csvPath)
		}
		return err
	}
	fmt.Fprintf(stderr, "scored %d rows (%d windows, %d assets): %d alerts raised, %d cleared, %d out-of-order rows skipped",
		st.Rows, st.Scored, st.Assets, st.Raised, st.Cleared, st.OutOfOrder)
	if maint != "" {
		fmt.Fprintf(stderr, ", maintenance log: %d entries (time column %q), %d resets (%d open alerts cleared)", st.MaintenanceEntries, st.MaintenanceTimeColumn, st.Maintenance, st.MaintenanceCleared)
	}
	if st.BadAge > 0 {
		fmt.Fprintf(stderr, ", %d rows without a usable age (left unscored)", st.BadAge)
	}
	fmt.Fprintln(stderr)
	return nil
}

// looksLikeCMAPSS reports whether the file's first line is what a C-MAPSS file starts
// with: the 26 columns of dataset.CMAPSSHeader, all numbers, separated by spaces.
func looksLikeCMAPSS(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	line, _, _ := strings.Cut(readHead(f), "\n")
	fields := strings.Fields(line)
	if len(fields) != len(dataset.CMAPSSHeader()) || strings.ContainsAny(line, ",;\t|") {
		return false
	}
	for _, fl := range fields {
		if _, err := strconv.ParseFloat(fl, 64); err != nil {
			return false
		}
	}
	return true
}

func readHead(r io.Reader) string {
	b := make([]byte, 4096)
	n, _ := io.ReadFull(r, b)
	return string(b[:n])
}

// output opens where scores go. A file is written under a temporary name beside it and
// renamed over it only when scoring succeeded: a failed run (a bad model, a bad CSV, or
// --out naming the input) leaves the old file as it was. close(ok) finishes or discards.
func output(path string, stdout io.Writer) (io.Writer, func(ok bool) error, error) {
	if path == "-" || path == "" {
		return stdout, func(bool) error { return nil }, nil
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return nil, nil, fmt.Errorf("create %s: %w", path, err)
	}
	return f, func(ok bool) error {
		err := f.Close()
		if ok && err == nil {
			if err = os.Chmod(f.Name(), 0o644); err == nil {
				err = os.Rename(f.Name(), path)
			}
		}
		if !ok || err != nil {
			os.Remove(f.Name())
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		return nil
	}, nil
}
