package simulators

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/faultline/faultline/internal/telemetry"
)

// csvSink writes one CSV per machine: DIR/{machine}.csv with header "ts,<sensors in the
// type's order>", ts in RFC 3339 with nanoseconds (UTC), a dropped value as an empty
// cell. Rows are buffered per machine and appended with open-write-close, so 10,000
// machines do not need 10,000 open files.
type csvSink struct {
	paths []string
	bufs  [][]byte
	limit int
}

func newCSVSink(dir string, ms []MachineInfo) (*csvSink, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("csv output directory: %w", err)
	}
	// Bound the memory held in buffers to ~32 MiB whatever the number of machines.
	s := &csvSink{limit: min(64<<10, max(4<<10, (32<<20)/len(ms)))}
	for _, m := range ms {
		path := filepath.Join(dir, m.Machine.Machine+".csv")
		header := "ts"
		for _, name := range m.Sensors {
			header += "," + name
		}
		if err := os.WriteFile(path, []byte(header+"\n"), 0o644); err != nil {
			return nil, fmt.Errorf("create csv for %s: %w", m.Machine.Machine, err)
		}
		s.paths = append(s.paths, path)
		s.bufs = append(s.bufs, nil)
	}
	return s, nil
}

// AppendCSVRow appends one CSV row (ts, then the values; NaN as an empty cell).
func AppendCSVRow(dst []byte, smp telemetry.Sample) []byte {
	dst = smp.Time.UTC().AppendFormat(dst, time.RFC3339Nano)
	for _, v := range smp.Values {
		dst = append(dst, ',')
		if !math.IsNaN(v.V) {
			dst = strconv.AppendFloat(dst, v.V, 'f', -1, 64)
		}
	}
	return append(dst, '\n')
}

func (s *csvSink) write(i int, smp telemetry.Sample) error {
	s.bufs[i] = AppendCSVRow(s.bufs[i], smp)
	if len(s.bufs[i]) >= s.limit {
		return s.flush(i)
	}
	return nil
}

func (s *csvSink) flush(i int) error {
	if len(s.bufs[i]) == 0 {
		return nil
	}
	f, err := os.OpenFile(s.paths[i], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("csv output: %w", err)
	}
	_, err = f.Write(s.bufs[i])
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("csv output %s: %w (disk full?)", s.paths[i], err)
	}
	s.bufs[i] = s.bufs[i][:0]
	return nil
}

func (s *csvSink) close() error {
	for i := range s.bufs {
		if err := s.flush(i); err != nil {
			return err
		}
	}
	return nil
}

// truthSink writes truth records as JSON lines.
type truthSink struct{ w *bufio.Writer }

func newTruthSink(w io.Writer) *truthSink {
	if w == nil {
		return &truthSink{}
	}
	return &truthSink{w: bufio.NewWriterSize(w, 64<<10)}
}

func (t *truthSink) write(b []byte) error {
	if t.w == nil {
		return nil
	}
	t.w.Write(b)
	if err := t.w.WriteByte('\n'); err != nil {
		return fmt.Errorf("truth output: %w", err)
	}
	return nil
}

// pending reports whether records wait in the buffer.
func (t *truthSink) pending() bool { return t.w != nil && t.w.Buffered() > 0 }

func (t *truthSink) flush() error {
	if t.w == nil {
		return nil
	}
	if err := t.w.Flush(); err != nil {
		return fmt.Errorf("truth output: %w", err)
	}
	return nil
}
