package simulators

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/faultline/faultline/internal/telemetry"
)

// Config describes a simulated plant. Start from DefaultConfig.
type Config struct {
	Site            string
	Machines        int
	Types           []string // assigned round-robin: machine i has Types[i%len(Types)]
	MachinesPerLine int      // machines 1..N of a line, then the next line
	Rate            float64  // samples per second per machine
	Start           time.Time
	Seed            uint64
	FaultRate       float64 // random faults per machine per simulated day; 0 = only scheduled ones
	Schedule        []ScheduledFault
	Downtime        time.Duration // after a failure, until maintenance restores health 1
	TruthEvery      time.Duration // period of the periodic truth records
	StopProb        float64       // chance that an operating segment is a stop
}

// DefaultConfig is three machines, one of each type, at 1 Hz.
func DefaultConfig() Config {
	return Config{
		Site: "site1", Machines: 3, Types: Types(), MachinesPerLine: 10, Rate: 1,
		Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Seed: 1, FaultRate: 0.1,
		Downtime: 8 * time.Hour, TruthEvery: time.Minute, StopProb: 0.08,
	}
}

// Validate checks the configuration; errors say which setting to change.
func (c Config) Validate() error {
	var errs []error
	if err := telemetry.ValidateName(c.Site); err != nil {
		errs = append(errs, fmt.Errorf("site: %w", err))
	}
	if c.Machines < 1 || c.Machines > 1_000_000 {
		errs = append(errs, fmt.Errorf("machines = %d: want 1..1000000", c.Machines))
	}
	if len(c.Types) == 0 {
		errs = append(errs, fmt.Errorf("no machine types: use some of %s", strings.Join(Types(), ",")))
	}
	for _, t := range c.Types {
		if _, ok := specs[t]; !ok {
			errs = append(errs, fmt.Errorf("unknown machine type %q: use %s", t, strings.Join(Types(), ", ")))
		}
	}
	if !(c.Rate > 0) || c.Rate > 1000 || math.IsInf(c.Rate, 0) {
		errs = append(errs, fmt.Errorf("rate = %v Hz: want > 0 and <= 1000", c.Rate))
	}
	if c.MachinesPerLine < 1 {
		errs = append(errs, fmt.Errorf("machines per line = %d: want >= 1", c.MachinesPerLine))
	}
	if c.FaultRate < 0 || math.IsNaN(c.FaultRate) {
		errs = append(errs, fmt.Errorf("fault rate = %v per machine-day: want >= 0", c.FaultRate))
	}
	if c.Downtime < 0 || c.TruthEvery < 0 {
		errs = append(errs, errors.New("downtime and truth interval must not be negative"))
	}
	if c.StopProb < 0 || c.StopProb > 1 {
		errs = append(errs, fmt.Errorf("stop probability %v: want 0..1", c.StopProb))
	}
	if c.Start.IsZero() {
		errs = append(errs, errors.New("start time is not set"))
	}
	return errors.Join(errs...)
}

// MachineInfo names one simulated machine.
type MachineInfo struct {
	telemetry.Machine
	Type    string
	Sensors []string
}

// Emission is what one machine did at one step. The slices are reused by the next Step.
type Emission struct {
	Index int // machine index, as in Plant.Machines
	// Sample holds the machine's values at this step in the type's sensor order, NaN
	// for a dropped value; Values is nil when the machine published nothing (failed and
	// awaiting maintenance).
	Sample telemetry.Sample
	// Truth holds the events of this step (fault_onset, failure, maintenance) and, when
	// due and no event was emitted, a periodic record.
	Truth []telemetry.Truth
}

// Plant is a set of simulated machines stepping together.
type Plant struct {
	cfg        Config
	period     time.Duration
	dt         float64
	startUnix  float64
	env        stepEnv
	walkRho    float64
	walkSd     float64
	truthEvery int64
	downtime   int64
	k          int64
	machines   []*machine
	emit       []Emission
}

type pendingFault struct {
	step   int64
	kind   string
	sensor int // -1 machine fault, -2 random sensor
	dur    float64
}

type machine struct {
	id     telemetry.Machine
	spec   *typeSpec
	rng    *rand.Rand
	pow10  []float64
	vals   []float64
	values []telemetry.Value

	running                        bool
	setSpeed, setLoad, speed, load float64
	segEnd                         int64
	amb, ambOff, ambWalk           float64
	th                             [2]float64
	power, pTank                   float64
	loaded                         bool
	eff                            effects
	faults                         []activeFault
	pending                        []pendingFault
	nextRandom, failedAt, upAt     int64
}

// NewPlant builds the machines. Every machine draws from its own PCG source seeded with
// (Seed, index), so machine i behaves the same whatever the number of machines.
func NewPlant(cfg Config) (*Plant, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("simulator config: %w", err)
	}
	p := &Plant{cfg: cfg, period: time.Duration(float64(time.Second) / cfg.Rate)}
	p.dt = p.period.Seconds()
	p.startUnix = float64(cfg.Start.UnixNano()) / 1e9
	p.env = stepEnv{dt: p.dt, lag: newLags(p.dt)}
	p.walkRho = math.Exp(-p.dt / (6 * 3600))
	p.walkSd = math.Sqrt(1 - p.walkRho*p.walkRho)
	p.truthEvery = max(1, int64(math.Round(cfg.TruthEvery.Seconds()/p.dt)))
	p.downtime = p.steps(cfg.Downtime.Seconds())
	counts := map[string]int{}
	ids := map[string]int{}
	for i := 0; i < cfg.Machines; i++ {
		typ := cfg.Types[i%len(cfg.Types)]
		counts[typ]++
		m := p.newMachine(i, typ, counts[typ])
		ids[m.id.Machine] = i
		p.machines = append(p.machines, m)
	}
	if err := p.schedule(ids); err != nil {
		return nil, err
	}
	p.emit = make([]Emission, len(p.machines))
	for i := range p.emit {
		p.emit[i].Index = i
	}
	return p, nil
}

func (p *Plant) newMachine(i int, typ string, n int) *machine {
	spec := specs[typ]
	m := &machine{
		id:       telemetry.Machine{Site: p.cfg.Site, Line: fmt.Sprintf("line%d", i/p.cfg.MachinesPerLine+1), Machine: MachineID(typ, n)},
		spec:     spec,
		rng:      rand.New(rand.NewPCG(p.cfg.Seed, uint64(i))),
		vals:     make([]float64, len(spec.sensors)),
		values:   make([]telemetry.Value, len(spec.sensors)),
		failedAt: -1, nextRandom: -1,
	}
	for j, s := range spec.sensors {
		m.pow10 = append(m.pow10, math.Pow10(s.Decimals))
		m.values[j].Sensor = s.Name
	}
	m.ambOff = m.rng.NormFloat64() * 1.5
	m.amb = p.ambientAt(0) + m.ambOff
	m.th = [2]float64{m.amb, m.amb}
	m.pTank = 6.8
	m.drawNextRandom(p, 0)
	return m
}

// drawNextRandom schedules the next random fault: a Poisson process of FaultRate per day.
func (m *machine) drawNextRandom(p *Plant, k int64) {
	if p.cfg.FaultRate <= 0 {
		m.nextRandom = -1
		return
	}
	m.nextRandom = k + max(1, p.steps(m.rng.ExpFloat64()*86400/p.cfg.FaultRate))
}

func (p *Plant) schedule(ids map[string]int) error {
	for _, f := range p.cfg.Schedule {
		i, ok := ids[f.Machine]
		if !ok {
			return fmt.Errorf("schedule: no machine %q in this plant (machines are {type}-{NNNN}, e.g. %s; raise --machines?)", f.Machine, p.machines[0].id.Machine)
		}
		m := p.machines[i]
		sensor, err := checkScheduled(f, m.spec)
		if err != nil {
			return err
		}
		m.pending = append(m.pending, pendingFault{step: p.steps(f.At.Seconds()), kind: f.Kind, sensor: sensor, dur: f.Duration.Seconds()})
	}
	for _, m := range p.machines {
		slices.SortStableFunc(m.pending, func(a, b pendingFault) int { return int(a.step - b.step) })
	}
	return nil
}

// steps converts seconds to a whole number of steps, rounding up.
func (p *Plant) steps(sec float64) int64 { return int64(math.Ceil(sec/p.dt - 1e-9)) }

// Time is the simulated time of step k.
func (p *Plant) Time(k int64) time.Time { return p.cfg.Start.Add(time.Duration(k) * p.period) }

// Period is the time between two steps.
func (p *Plant) Period() time.Duration { return p.period }

// Machines lists the machines in index order.
func (p *Plant) Machines() []MachineInfo {
	out := make([]MachineInfo, len(p.machines))
	for i, m := range p.machines {
		out[i] = MachineInfo{Machine: m.id, Type: m.spec.name, Sensors: SensorNames(m.spec.name)}
	}
	return out
}

// Step advances every machine by one period and returns what each emitted, one
// Emission per machine in index order. The result is valid until the next Step.
func (p *Plant) Step() []Emission {
	k := p.k
	p.k++
	base := p.ambientAt(k)
	periodic := k%p.truthEvery == 0
	t := p.Time(k)
	for i, m := range p.machines {
		e := &p.emit[i]
		e.Truth = e.Truth[:0]
		e.Sample = telemetry.Sample{Time: t}
		p.stepMachine(m, e, k, base, periodic)
	}
	return p.emit
}
