package ingest

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/faultline/faultline/internal/telemetry"
)

// CardinalityFile in the spool directory remembers every admitted machine and sensor,
// so the guard's counts survive restarts (one line per admission, appended).
const CardinalityFile = "cardinality.log"

// machineFields is one admitted machine's sensors. Readers look names up without a lock
// in an immutable map; admitting a name copies it under the guard's lock (rare once a
// plant is running).
type machineFields struct {
	m     telemetry.Machine
	names atomic.Pointer[map[string]struct{}]
}

func newMachineFields(m telemetry.Machine) *machineFields {
	mf := &machineFields{m: m}
	empty := map[string]struct{}{}
	mf.names.Store(&empty)
	return mf
}

func (mf *machineFields) has(name string) bool {
	_, ok := (*mf.names.Load())[name]
	return ok
}

// guard bounds machines, sensors per machine and sensors in total, persistently.
type guard struct {
	maxMachines, maxPerMachine, maxTotal int // 0 = unlimited

	mu       sync.Mutex
	machines map[telemetry.Machine]*machineFields
	total    int
	log      *os.File // nil until load; admissions then append to it
	logErr   error
}

func newGuard(c Config) *guard {
	return &guard{maxMachines: c.MaxMachines, maxPerMachine: c.MaxFieldsPerMachine, maxTotal: c.MaxFields,
		machines: map[telemetry.Machine]*machineFields{}}
}

// load reads what earlier runs admitted from dir and appends new admissions there.
func (g *guard) load(dir string) (machines, fields int, err error) {
	path := filepath.Join(dir, CardinalityFile)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o644)
	if err != nil {
		return 0, 0, fmt.Errorf("cardinality guard: open %s: %w", path, err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(sc.Text(), "\t")
		if len(p) < 4 || len(p) > 5 {
			continue // a torn last line: that admission is simply made again
		}
		m := telemetry.Machine{Site: p[1], Line: p[2], Machine: p[3]}
		mf := g.machines[m]
		if mf == nil {
			mf = newMachineFields(m)
			g.machines[m] = mf
		}
		if p[0] == "F" && len(p) == 5 && !mf.has(p[4]) {
			g.addName(mf, p[4])
		}
	}
	if err := sc.Err(); err != nil {
		f.Close()
		return 0, 0, fmt.Errorf("cardinality guard: read %s: %w", path, err)
	}
	g.log = f
	return len(g.machines), g.total, nil
}

func (g *guard) close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.log == nil {
		return nil
	}
	err := g.log.Close()
	g.log = nil
	return err
}

// record appends one admission. A failed write is remembered and reported once by
// the caller's metrics; the guard keeps working in memory.
func (g *guard) record(fields ...string) {
	if g.log == nil {
		return
	}
	if _, err := g.log.WriteString(strings.Join(fields, "\t") + "\n"); err != nil && g.logErr == nil {
		g.logErr = err
	}
}

// addName adds name to mf (copy on write). Called with mu held.
func (g *guard) addName(mf *machineFields, name string) {
	old := *mf.names.Load()
	next := make(map[string]struct{}, len(old)+1)
	for k := range old {
		next[k] = struct{}{}
	}
	next[name] = struct{}{}
	mf.names.Store(&next)
	g.total++
}

// machine admits m (or finds it) under the machine bound.
func (g *guard) machine(m telemetry.Machine) (*machineFields, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if mf, ok := g.machines[m]; ok {
		return mf, nil
	}
	if g.maxMachines > 0 && len(g.machines) >= g.maxMachines {
		return nil, rejectf(telemetry.ReasonTooManySeries, "machine %s is new and %d machines are already stored (raise --max-machines if this is real)", m.Key(), g.maxMachines)
	}
	mf := newMachineFields(m)
	g.machines[m] = mf
	g.record("M", m.Site, m.Line, m.Machine)
	return mf, nil
}

// field admits a new sensor name of mf under the per-machine and total bounds.
func (g *guard) field(mf *machineFields, name string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if mf.has(name) {
		return nil
	}
	if n := len(*mf.names.Load()); g.maxPerMachine > 0 && n >= g.maxPerMachine {
		return rejectf(telemetry.ReasonTooManyFields, "sensor %q is new and machine %s already has %d sensors (raise --max-fields-per-machine if this is real)", name, mf.m.Key(), n)
	}
	if g.maxTotal > 0 && g.total >= g.maxTotal {
		return rejectf(telemetry.ReasonTooManyFields, "sensor %q of %s is new and %d sensor columns are already stored (raise --max-fields if this is real)", name, mf.m.Key(), g.total)
	}
	g.addName(mf, name)
	g.record("F", mf.m.Site, mf.m.Line, mf.m.Machine, name)
	return nil
}

// filter keeps the values whose sensor is admitted (admitting new ones within the
// bounds) and returns the rejections of the others. It compacts values in place.
func (g *guard) filter(mf *machineFields, values []telemetry.Value, rej []telemetry.Rejection) ([]telemetry.Value, []telemetry.Rejection) {
	kept := values[:0]
	for _, v := range values {
		if !mf.has(v.Sensor) {
			if err := g.field(mf, v.Sensor); err != nil {
				var re *telemetry.RejectError
				detail := err.Error()
				if errors.As(err, &re) {
					detail = re.Detail
				}
				rej = append(rej, telemetry.Rejection{Reason: telemetry.ReasonTooManyFields, Sensor: v.Sensor, Detail: detail})
				continue
			}
		}
		kept = append(kept, v)
	}
	return kept, rej
}
