package influxstore

import (
	"math"
	"strconv"
	"time"

	"github.com/faultline/faultline/internal/telemetry"
)

// Tag is one line-protocol tag.
type Tag struct{ Key, Value string }

// AppendLine appends one line-protocol line (with trailing newline) for float fields
// at nanosecond precision. Non-finite values are skipped (line protocol cannot carry
// them); a line with no finite field is not written at all. Tags must be sorted by key
// for best write performance on the server.
func AppendLine(dst []byte, measurement string, tags []Tag, fields []telemetry.Value, ts time.Time) []byte {
	start := len(dst)
	dst = appendEscaped(dst, measurement, escMeasurement)
	for _, t := range tags {
		if t.Value == "" {
			continue
		}
		dst = append(dst, ',')
		dst = appendEscaped(dst, t.Key, escKey)
		dst = append(dst, '=')
		dst = appendEscaped(dst, t.Value, escKey)
	}
	n := 0
	for _, f := range fields {
		if math.IsNaN(f.V) || math.IsInf(f.V, 0) {
			continue
		}
		if n == 0 {
			dst = append(dst, ' ')
		} else {
			dst = append(dst, ',')
		}
		n++
		dst = appendEscaped(dst, f.Sensor, escKey)
		dst = append(dst, '=')
		dst = strconv.AppendFloat(dst, f.V, 'g', -1, 64)
	}
	if n == 0 {
		return dst[:start]
	}
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, ts.UnixNano(), 10)
	return append(dst, '\n')
}

const (
	escMeasurement = 1
	escKey         = 2
)

func appendEscaped(dst []byte, s string, kind int) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ',' || c == ' ':
			dst = append(dst, '\\')
		case c == '=' && kind == escKey:
			dst = append(dst, '\\')
		case c == '\n':
			// Newlines cannot be escaped in line protocol; names are validated upstream,
			// so this only guards against misuse.
			c = ' '
			dst = append(dst, '\\')
		}
		dst = append(dst, c)
	}
	return dst
}
