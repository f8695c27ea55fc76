package trainsrc

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/faultline/faultline/internal/dataset"
	"github.com/faultline/faultline/internal/trainer"
)

// CSV says how to read a training file.
type CSV struct {
	Path        string
	Sep         rune // 0 detects
	TimeColumn  string
	AssetColumn string
	Ignore      []string
	// CMAPSS reads NASA's header-less whitespace files (unit, cycle, 3 settings, 21
	// sensors). A converted file with a header row is accepted too: its unit and cycle
	// columns are used unless TimeColumn/AssetColumn say otherwise.
	CMAPSS bool
	// DateOrder reads slashed dates (dataset.Options.DateOrder: dmy, mdy, or "" to
	// refuse them).
	DateOrder string
}

// ParseSep maps a --sep value to a separator rune: "" detects; "tab", "space" and
// single characters are accepted.
func ParseSep(s string) (rune, error) {
	switch strings.ToLower(s) {
	case "":
		return 0, nil
	case "tab", `\t`, "\t":
		return '\t', nil
	case "space", " ", "whitespace":
		return ' ', nil
	}
	r := []rune(s)
	if len(r) != 1 {
		return 0, fmt.Errorf("separator %q: give one character, tab or space", s)
	}
	return r[0], nil
}

// Options returns the dataset options for c.
func (c CSV) Options() (dataset.Options, error) {
	o := dataset.Options{Sep: c.Sep, TimeColumn: c.TimeColumn, AssetColumn: c.AssetColumn, Ignore: c.Ignore, DateOrder: c.DateOrder}
	if err := dataset.CheckDateOrder(c.DateOrder); err != nil {
		return o, err
	}
	if !c.CMAPSS {
		return o, nil
	}
	headed, err := hasHeader(c.Path)
	if err != nil {
		return o, err
	}
	if !headed {
		o = dataset.CMAPSSOptions()
		o.Ignore = c.Ignore
		o.DateOrder = c.DateOrder
	}
	if c.TimeColumn != "" {
		o.TimeColumn = c.TimeColumn
	} else if o.TimeColumn == "" {
		o.TimeColumn = "cycle"
	}
	if c.AssetColumn != "" {
		o.AssetColumn = c.AssetColumn
	} else if o.AssetColumn == "" {
		o.AssetColumn = "unit"
	}
	if c.Sep != 0 {
		o.Sep = c.Sep
	}
	return o, nil
}

// hasHeader says whether a file's first non-empty line starts with a non-number.
func hasHeader(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("open %s: %w (check --csv)", path, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<22)
	for sc.Scan() {
		fields := strings.FieldsFunc(sc.Text(), func(r rune) bool { return r == ',' || r == ';' || r == '\t' || r == ' ' || r == '|' })
		if len(fields) == 0 {
			continue
		}
		_, err := strconv.ParseFloat(fields[0], 64)
		return err != nil, nil
	}
	if err := sc.Err(); err != nil {
		return false, fmt.Errorf("read %s: %w", path, err)
	}
	return false, fmt.Errorf("%s is empty: want C-MAPSS rows (unit cycle settings sensors)", path)
}

// LoadCSV reads a training file into series, one per asset (one in all without an
// asset column).
func LoadCSV(c CSV) (trainer.Data, error) {
	if c.Path == "" {
		return trainer.Data{}, fmt.Errorf("no CSV file: give --csv FILE")
	}
	o, err := c.Options()
	if err != nil {
		return trainer.Data{}, err
	}
	if o.TimeColumn == "" && !c.CMAPSS {
		o.TimeColumn = DetectTimeColumnOrder(c.Path, c.DateOrder)
	}
	if o.AssetColumn == "" && !c.CMAPSS {
		o.AssetColumn = DetectAssetColumn(c.Path)
	}
	t, err := dataset.ReadFile(c.Path, o)
	if err != nil {
		return trainer.Data{}, err
	}
	d := trainer.FromTable(t)
	if err := checkOrder(d); err != nil {
		return trainer.Data{}, err
	}
	return d, nil
}

// checkOrder refuses what cannot be a clock glitch: an asset in several separate runs
// of rows, or a run in which more than a tenth of the rows lie before a time already
// seen (an
// unsorted file, or several machines interleaved without --asset-column). A few rows
// at or before an earlier time are a clock glitch, which the trainer drops as the
// scorer does (trainer.Fit, late_rows_dropped).
func checkOrder(d trainer.Data) error {
	seen := map[string]bool{}
	for _, s := range d.Series {
		if seen[s.Asset] {
			return fmt.Errorf("asset %q appears in several separate runs of rows; sort the file by asset, then time", s.Asset)
		}
		seen[s.Asset] = true
		back, last := 0, math.Inf(-1)
		for _, t := range s.T {
			if t < last {
				back++ // at or before the latest time so far: the row the trainer drops
			}
			last = math.Max(last, t)
		}
		if back > 0 && back*10 > len(s.T) {
			who := ""
			if s.Asset != "" {
				who = " of asset " + s.Asset
			}
			return fmt.Errorf("%d of %d rows%s go back in time: sort the file by asset and time, or give --asset-column when several machines are interleaved", back, len(s.T), who)
		}
	}
	return nil
}

// DetectTimeColumn returns the time column of a file that does not name one
// (dataset.DetectColumns), or "".
func DetectTimeColumn(path string) string { return DetectTimeColumnOrder(path, "") }

// DetectTimeColumnOrder is DetectTimeColumn reading slashed dates in order
// (dataset.DetectColumnsOrder): the programs pass their --date-order, so a column of
// 03/01/2024 dates is the time column in bin/train and infer score alike.
func DetectTimeColumnOrder(path, order string) string {
	t, _ := dataset.DetectFileColumnsOrder(path, order)
	return t
}

// DetectAssetColumn returns the asset column of a file that does not name one
// (dataset.DetectColumns), or "".
func DetectAssetColumn(path string) string {
	_, a := dataset.DetectFileColumns(path)
	return a
}
