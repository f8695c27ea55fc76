package dataset

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// CMAPSSHeader names the 26 columns of NASA's C-MAPSS files, which have no header row:
// unit, cycle, three operating settings and 21 sensors.
func CMAPSSHeader() []string {
	h := []string{"unit", "cycle", "op_setting_1", "op_setting_2", "op_setting_3"}
	for i := 1; i <= 21; i++ {
		h = append(h, "sensor_"+strconv.Itoa(i))
	}
	return h
}

// CMAPSSOptions reads a C-MAPSS train or test file: whitespace separated, unit as the
// asset column, cycle as the time column.
func CMAPSSOptions() Options {
	return Options{Sep: ' ', Header: CMAPSSHeader(), AssetColumn: "unit", TimeColumn: "cycle"}
}

// ReadRULFile reads a C-MAPSS RUL_FD00x.txt: line i is the true RUL after the last
// cycle of test unit i.
func ReadRULFile(path string) ([]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open RUL file: %w", err)
	}
	defer f.Close()
	var out []float64
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" {
			continue
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("RUL file %s line %d: %q is not a number", path, n, s)
		}
		out = append(out, v)
	}
	return out, sc.Err()
}
