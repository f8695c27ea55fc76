package evalcmd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/dataset"
	"github.com/faultline/faultline/internal/eval"
	"github.com/faultline/faultline/internal/infer"
	"github.com/faultline/faultline/internal/telemetry"
	"github.com/faultline/faultline/internal/trainer"
	"github.com/faultline/faultline/simulators"
)

// maxTimeToFailure is the simulator's longest drawn time to failure (bearing wear):
// no fault starts later than this before the end, so every failure is inside the run.
const maxTimeToFailure = 96 * time.Hour

type simFlags struct {
	perType, workers                            int
	healthy, faulty, rate, out, context, hidden string
	faultRate                                   float64
	seed, trainSeed                             uint64
	history                                     string
	grace                                       time.Duration
	window, k, m, clear, holdoff, epochs        int
	ensemble                                    int
	quantile, margin, smooth, envelope, valFrac float64
	target, detector                            string
	perWeek                                     float64
	baseline                                    time.Duration
	maintenance                                 bool
}

func (f *simFlags) register(fs *flag.FlagSet, getenv func(string) string) {
	fs.IntVar(&f.perType, "machines-per-type", 3, "simulated machines of each type (pump, motor, compressor)")
	fs.StringVar(&f.healthy, "healthy", "7d", "healthy (training) period, e.g. 7d or 36h")
	fs.StringVar(&f.faulty, "faulty", "60d", "period with random faults that is scored")
	fs.StringVar(&f.rate, "rate", "1/60", "samples per second per machine, e.g. 1/60 (one a minute) or 1")
	fs.Float64Var(&f.faultRate, "fault-rate", 0.1, "random faults per machine per simulated day in the faulty period")
	fs.Uint64Var(&f.seed, "seed", 1, "simulation, fault schedule and training seed")
	fs.Uint64Var(&f.trainSeed, "train-seed", 0, "training seed when it should differ from --seed (0 = --seed): the same plant and faults with other networks, to see how much a figure owes to their initialisation")
	fs.StringVar(&f.history, "history", "", "smoothing factors of the networks' whole-history inputs of the context sensors, as train --history (default: trainer's; none = no such inputs)")
	fs.StringVar(&f.out, "out", env(getenv, "FAULTLINE_EVAL_OUT", "eval-out"), "output directory: data, models, scores, results.json")
	fs.StringVar(&f.context, "context", strings.Join(simulators.ContextColumns(), ","), "operating-condition columns (each type keeps those it has; empty = leave-one-out)")
	fs.DurationVar(&f.grace, "grace", 2*time.Hour, "an alert this long after a repaired fault's last record still counts for it (as the demo)")
	fs.IntVar(&f.workers, "workers", 2, "models trained / machines scored in parallel")
	fs.IntVar(&f.window, "window", 0, "window length in rows (default: trainer's)")
	fs.Float64Var(&f.quantile, "quantile", 0, "calibration quantile (default: trainer's)")
	fs.Float64Var(&f.margin, "margin", 0, "warn level = quantile x margin (default: trainer's)")
	fs.Float64Var(&f.smooth, "smoothing", 0, "EWMA factor of the score (default: trainer's)")
	fs.IntVar(&f.k, "k", 0, "alert when k of the last m windows are bad (default: trainer's)")
	fs.IntVar(&f.m, "m", 0, "see -k")
	fs.IntVar(&f.clear, "clear", 0, "calm windows to clear an alert (default: trainer's)")
	fs.IntVar(&f.holdoff, "holdoff", 0, "windows after a raise before another raise (default: trainer's, off)")
	fs.IntVar(&f.epochs, "epochs", 0, "maximum epochs (default: trainer's)")
	fs.IntVar(&f.ensemble, "ensemble", 0, "networks averaged per watched sensor (default: trainer's, 1)")
	fs.StringVar(&f.hidden, "hidden", "", "hidden layer sizes (default: trainer's)")
	fs.Float64Var(&f.valFrac, "val-frac", 0, "share of each healthy history held out to calibrate the warn level (default: trainer's)")
	fs.Float64Var(&f.envelope, "envelope", trainer.DefaultEnvelope, "healthy-range allowance (share of the range) at which a latest value scores the warn level; 0 or less = off (as train --envelope)")
	fs.StringVar(&f.target, "target-feature", "", "window feature the networks predict: mean, ewma or last (default: trainer's)")
	fs.StringVar(&f.detector, "detector", "", "anomaly detector: monitor, nets or both (default: trainer's)")
	fs.Float64Var(&f.perWeek, "false-alarms-per-week", 0, "warn level from a tail model of held-out scores (default: trainer's)")
	fs.DurationVar(&f.baseline, "baseline-half-life", 0, "half-life of the baseline that follows a moving normal; negative = off (default: trainer's)")
	fs.BoolVar(&f.maintenance, "maintenance", true, "score with the maintenance the simulator announces (simulators.Announced: work leaving no fault active), as the deployed daemon gets it: each repaired machine starts afresh; false keeps an alert open across the failure and repair")
}

// SimResult is results.json of the sim family.
type SimResult struct {
	Flags              map[string]string `json:"flags"`
	Machines           int               `json:"machines"`
	Failures           int               `json:"failures"`
	AlertedBefore      int               `json:"alerted_before_failure"`
	AlertedPct         float64           `json:"alerted_before_failure_pct"`
	MedianLeadS        float64           `json:"median_lead_s"`
	MedianLeadFraction float64           `json:"median_lead_fraction"`
	Other              int               `json:"other_faults"`
	OtherAlerted       int               `json:"other_faults_alerted"`
	Alerts             int               `json:"alerts_announced"` // raises and new-cause updates (telemetry.Alert.Announces)
	NewCauses          int               `json:"new_cause_updates"`
	// Raises counts raised alerts; RaisesPerDetected is (raises - false alerts) per
	// detected fault: 1 when every fault episode gives one alert, more when alerts flap.
	Raises            int                `json:"raises"`
	RaisesPerDetected float64            `json:"raises_per_detected_fault"`
	FalseAlerts       int                `json:"false_alerts"`
	HealthyDays       float64            `json:"healthy_machine_days"` // eval.Summarize: run time minus fault time
	DownDays          float64            `json:"down_machine_days"`    // failed, awaiting maintenance: no telemetry
	FalsePer30        float64            `json:"false_alerts_per_30_machine_days"`
	Targets           map[string]bool    `json:"targets_met"`
	Kinds             map[string]SimKind `json:"per_kind"`
	Episodes          []SimEpisode       `json:"episodes"`
	False             []SimFalse         `json:"false_alert_list"`
	Warn              map[string]float64 `json:"warn_levels"`
	Seconds           map[string]float64 `json:"seconds"`
}

// SimKind counts one fault kind's episodes and detections.
type SimKind struct {
	Injected int `json:"injected"`
	Alerted  int `json:"alerted"`
	// RightFault counts alerted episodes whose first alert had the right fault:
	// sensor for the sensor_* kinds, process for the others.
	RightFault int `json:"right_fault"`
}

// SimEpisode is one injected fault and its first alert.
type SimEpisode struct {
	Machine   string     `json:"machine"`
	Kind      string     `json:"kind"`
	Sensor    string     `json:"sensor,omitempty"`
	Onset     time.Time  `json:"onset"`
	FailureAt *time.Time `json:"failure_at,omitempty"`
	FirstHit  *time.Time `json:"first_alert,omitempty"`
	LeadFrac  float64    `json:"lead_fraction,omitempty"`
}

// SimFalse is one false alert; SinceRestart is the time since the machine came back
// from maintenance after a failure (-1 when it never failed before the alert).
type SimFalse struct {
	Machine      string    `json:"machine"`
	TS           time.Time `json:"ts"`
	SinceRestart float64   `json:"since_restart_s"`
}

type simPlan struct {
	f                simFlags
	healthy, faulty  time.Duration
	rate             float64
	start            time.Time
	dataDir, outDir  string
	machines         []simulators.MachineInfo
	healthyTruthPath string
	truthPath        string
	history          []float64 // --history: nil = the trainer's default, empty = none
}

func runSim(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, log zerolog.Logger) error {
	var f simFlags
	fs := flag.NewFlagSet("eval sim", flag.ContinueOnError)
	f.register(fs, getenv)
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	p, err := f.plan()
	if err != nil {
		return err
	}
	secs := map[string]float64{}
	t0 := time.Now()
	if err := p.simulate(ctx); err != nil {
		return err
	}
	// Read once: the maintenance logs and the summary both come from it (about a
	// million lines for seven weeks of twelve machines).
	truth, err := eval.ReadTruthFile(p.truthPath)
	if err != nil {
		return err
	}
	if err := p.maintenanceLogs(truth); err != nil {
		return err
	}
	secs["simulate"] = time.Since(t0).Seconds()
	log.Info().Int("machines", len(p.machines)).Float64("seconds", secs["simulate"]).Msg("simulated")
	t0 = time.Now()
	models, warn, err := p.train(ctx, log)
	if err != nil {
		return err
	}
	secs["train"] = time.Since(t0).Seconds()
	t0 = time.Now()
	alerts, err := p.score(ctx, models)
	if err != nil {
		return err
	}
	secs["score"] = time.Since(t0).Seconds()
	res, err := p.summarize(truth, alerts, stdout)
	if err != nil {
		return err
	}
	res.Flags, res.Warn, res.Seconds = flagMap(fs), warn, secs
	printSim(stdout, res)
	return writeJSON(p.outDir, "results.json", res)
}

func (f simFlags) plan() (*simPlan, error) {
	p := &simPlan{f: f, outDir: f.out, dataDir: filepath.Join(f.out, "data")}
	var err error
	if p.healthy, err = parseSpan(f.healthy); err != nil {
		return nil, fmt.Errorf("%w: --healthy: %v", ErrUsage, err)
	}
	if p.faulty, err = parseSpan(f.faulty); err != nil {
		return nil, fmt.Errorf("%w: --faulty: %v", ErrUsage, err)
	}
	if p.rate, err = parseRate(f.rate); err != nil {
		return nil, fmt.Errorf("%w: --rate: %v", ErrUsage, err)
	}
	if p.history, err = historyList(f.history); err != nil {
		return nil, err
	}
	switch {
	case f.perType < 1:
		return nil, fmt.Errorf("%w: --machines-per-type %d: want at least 1", ErrUsage, f.perType)
	case p.faulty <= maxTimeToFailure:
		return nil, fmt.Errorf("%w: --faulty %s: want more than %s (the longest time to failure)", ErrUsage, f.faulty, maxTimeToFailure)
	case f.faultRate <= 0:
		return nil, fmt.Errorf("%w: --fault-rate %v: want > 0", ErrUsage, f.faultRate)
	}
	// A fixed, whole-day start keeps runs byte-identical for a seed.
	p.start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p.healthyTruthPath = filepath.Join(p.dataDir, "truth-healthy.jsonl")
	p.truthPath = filepath.Join(p.dataDir, "truth.jsonl")
	return p, nil
}

// parseSpan accepts Go durations and whole or fractional days ("7d", "1.5d").
func parseSpan(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		v, err := strconv.ParseFloat(d, 64)
		if err != nil || v <= 0 {
			return 0, fmt.Errorf("%q is not a positive number of days like 7d", s)
		}
		return time.Duration(v * 24 * float64(time.Hour)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration like 7d or 36h", s)
	}
	return d, nil
}

// parseRate accepts "1/60" or a decimal number of samples per second.
func parseRate(s string) (float64, error) {
	num, den, frac := strings.Cut(s, "/")
	v, err := strconv.ParseFloat(num, 64)
	if err == nil && frac {
		var d float64
		if d, err = strconv.ParseFloat(den, 64); err == nil && d > 0 {
			v /= d
		} else if err == nil {
			err = errors.New("zero denominator")
		}
	}
	if err != nil || !(v > 0) || v > 1000 {
		return 0, fmt.Errorf("%q is not a rate like 1/60 or 1 (samples per second, up to 1000)", s)
	}
	return v, nil
}

// randomSchedule draws a Poisson process of perDay faults per machine-day with onsets
// in [from, to), kinds by the simulator's weights; durations are left to the simulator.
func randomSchedule(ms []simulators.MachineInfo, from, to time.Duration, perDay float64, seed uint64) []simulators.ScheduledFault {
	var out []simulators.ScheduledFault
	for i, m := range ms {
		rng := rand.New(rand.NewPCG(seed, 1<<32+uint64(i)))
		at := from
		for {
			at += time.Duration(rng.ExpFloat64() / perDay * 24 * float64(time.Hour)).Round(time.Second)
			if at >= to {
				break
			}
			out = append(out, simulators.ScheduledFault{Machine: m.Machine.Machine, Kind: simulators.DrawFaultKind(m.Type, rng), At: at})
		}
	}
	return out
}

// simulate runs one plant: the healthy period into data/healthy, then, continuing the
// same machines, the faulty period into data/faulty with its truth.
func (p *simPlan) simulate(ctx context.Context) error {
	cfg := simulators.DefaultConfig()
	cfg.Machines, cfg.Rate, cfg.Start, cfg.Seed, cfg.FaultRate = 3*p.f.perType, p.rate, p.start, p.f.seed, 0
	probe, err := simulators.NewPlant(cfg)
	if err != nil {
		return err
	}
	cfg.Schedule = randomSchedule(probe.Machines(), p.healthy, p.healthy+p.faulty-maxTimeToFailure, p.f.faultRate, p.f.seed)
	plant, err := simulators.NewPlant(cfg)
	if err != nil {
		return fmt.Errorf("fault schedule: %w", err)
	}
	p.machines = plant.Machines()
	for _, ph := range []struct {
		dir, truth string
		d          time.Duration
	}{{"healthy", p.healthyTruthPath, p.healthy}, {"faulty", p.truthPath, p.faulty}} {
		if err := p.runPhase(ctx, plant, filepath.Join(p.dataDir, ph.dir), ph.truth, ph.d); err != nil {
			return err
		}
	}
	return nil
}

func (p *simPlan) runPhase(ctx context.Context, plant *simulators.Plant, dir, truth string, d time.Duration) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	tf, err := os.Create(truth)
	if err != nil {
		return fmt.Errorf("create truth file: %w", err)
	}
	err = plant.Run(ctx, nil, simulators.RunOptions{CSVDir: dir, Truth: tf, Duration: d})
	if cerr := tf.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("simulate into %s: %w", dir, err)
	}
	return nil
}

// simCSV is how the simulated machine CSVs are read.
var simCSV = dataset.Options{TimeColumn: "ts", Sep: ','}

// readSim reads one simulated machine CSV with the reader every program shares.
func readSim(path string) (*dataset.Table, error) {
	return dataset.ReadFile(path, simCSV)
}

// train fits one anomaly model per type on its machines' healthy CSVs, as
// `train --all --group-by type --context ...` does from InfluxDB, and saves it.
func (p *simPlan) train(ctx context.Context, log zerolog.Logger) (map[string]string, map[string]float64, error) {
	hidden, err := intList(p.f.hidden)
	if err != nil {
		return nil, nil, err
	}
	types := simulators.Types()
	paths, warn := map[string]string{}, map[string]float64{}
	var mu sync.Mutex
	err = parallel(ctx, len(types), p.f.workers, func(i int) error {
		typ := types[i]
		var d trainer.Data
		for _, m := range p.machines {
			if m.Type != typ {
				continue
			}
			tab, err := readSim(filepath.Join(p.dataDir, "healthy", m.Machine.Machine+".csv"))
			if err != nil {
				return err
			}
			d.Columns = tab.Sensors
			d.Series = append(d.Series, trainer.Series{Asset: m.Machine.Machine, T: tab.T, Rows: tab.Rows})
		}
		o := trainer.Options{Task: artifact.TaskAnomaly, Name: "eval-sim-" + typ, Match: typ + "-*", Window: p.f.window,
			Quantile: p.f.quantile, Margin: p.f.margin, Smoothing: p.f.smooth, K: p.f.k, M: p.f.m, Clear: p.f.clear, TargetFeature: p.f.target, Envelope: offIfNotPositive(p.f.envelope), ValFrac: p.f.valFrac,
			Holdoff: p.f.holdoff, Epochs: p.f.epochs, Ensemble: p.f.ensemble, Hidden: hidden, Seed: p.f.seed, Version: "eval-sim",
			Detector: p.f.detector, FalseAlarmsPerWeek: p.f.perWeek, BaselineHalfLife: p.f.baseline, HistoryEWMA: p.history}
		if p.f.trainSeed != 0 {
			o.Seed = p.f.trainSeed
		}
		for _, c := range splitList(p.f.context) {
			if slices.Contains(d.Columns, c) {
				o.Context = append(o.Context, c)
			}
		}
		m, _, err := trainer.Fit(ctx, d, o)
		if err != nil {
			return fmt.Errorf("train the %s model: %w", typ, err)
		}
		path := filepath.Join(p.outDir, "models", typ+".model")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := m.Save(path); err != nil {
			return fmt.Errorf("save the %s model: %w", typ, err)
		}
		log.Info().Str("type", typ).Strs("context", o.Context).Float64("warn", m.Alert.Warn).Msg("model trained")
		mu.Lock()
		paths[typ], warn[typ] = path, m.Alert.Warn
		mu.Unlock()
		return nil
	})
	return paths, warn, err
}

// score runs each machine's faulty CSV through infer.ScoreTable (what `infer score`
// runs), with the maintenance the simulator announced (--maintenance), writes
// scores/{machine}.csv and turns the alert column's 0 -> 1 steps into raised alerts.
func (p *simPlan) score(ctx context.Context, models map[string]string) ([]telemetry.Alert, error) {
	out := make([][]telemetry.Alert, len(p.machines))
	err := parallel(ctx, len(p.machines), p.f.workers, func(i int) error {
		m := p.machines[i]
		mdl, err := infer.LoadModel(models[m.Type])
		if err != nil {
			return err
		}
		tab, err := readSim(filepath.Join(p.dataDir, "faulty", m.Machine.Machine+".csv"))
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		var maint infer.Maintenance
		if p.f.maintenance {
			log, err := infer.ReadMaintenanceLog(p.maintenanceLog(m.Machine.Machine), simCSV)
			if err != nil {
				return err
			}
			if maint, _, err = log.For(tab); err != nil {
				return err
			}
		}
		if _, err := infer.ScoreTable(mdl.Scorer, tab, false, maint, &buf); err != nil {
			return fmt.Errorf("score %s: %w", m.Machine.Machine, err)
		}
		path := filepath.Join(p.outDir, "scores", m.Machine.Machine+".csv")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("write scores: %w", err)
		}
		out[i], err = raisedAlerts(&buf, m.Machine)
		return err
	})
	var all []telemetry.Alert
	for _, a := range out {
		all = append(all, a...)
	}
	return all, err
}

// maintenanceLogs writes data/maintenance/{machine}.csv, each machine's log of the work
// the simulator announced in the faulty period (simulators.Announced: what Run
// publishes on .../maintenance, what the deployed daemon gets), as a maintenance
// system would export it. The scoring reads them as `infer score --maintenance` does,
// so a machine's scores can be reproduced with its CSV and its log.
func (p *simPlan) maintenanceLogs(truth []telemetry.Truth) error {
	logs := map[string]*bytes.Buffer{}
	for _, m := range p.machines {
		logs[m.Machine.Machine] = bytes.NewBufferString("ts,action,by\n")
	}
	for _, t := range truth {
		if b := logs[t.Machine]; b != nil && simulators.Announced(t) {
			fmt.Fprintf(b, "%s,simulated repair,simulator\n", t.TS.UTC().Format(time.RFC3339Nano))
		}
	}
	dir := filepath.Join(p.dataDir, "maintenance")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	for m, b := range logs {
		if err := os.WriteFile(p.maintenanceLog(m), b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("write the maintenance log: %w", err)
		}
	}
	return nil
}

func (p *simPlan) maintenanceLog(machine string) string {
	return filepath.Join(p.dataDir, "maintenance", machine+".csv")
}

// raisedAlerts reads `infer score` output (ts,score,threshold,alert[,cause]) and
// returns the alerts the daemon would publish that announce a problem: "raised" where
// the alert column goes from 0 to 1, and "updated, new cause" where, while the alert
// stays active, the cause column turns to a sensor not yet blamed during that alert,
// or not yet as this fault (process, or sensor: the transmitter itself) (a second
// fault on a machine in alarm; a return to an earlier cause is no news, as in
// scoring). Each names its cause, so the summary can match it to a fault. One CSV row
// per sample cannot show two transitions of one sample (a clear and a new raise, or two
// new causes, on rows filled in for a short gap); the daemon sends both. Rare: both
// would have to happen within the MaxFill rows of one gap.
func raisedAlerts(r io.Reader, m telemetry.Machine) ([]telemetry.Alert, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	var out []telemetry.Alert
	alertCol, causeCol, faultCol := -1, -1, -1
	prev := false
	blamed := map[string]bool{} // causes of the active alert so far
	for n := 1; sc.Scan(); n++ {
		f := strings.Split(sc.Text(), ",")
		if n == 1 {
			alertCol, causeCol, faultCol = slices.Index(f, "alert"), slices.Index(f, "cause"), slices.Index(f, "fault")
			if f[0] != "ts" || alertCol < 0 {
				return nil, fmt.Errorf("scores header %q: want ts,...,alert[,cause] (infer score output)", sc.Text())
			}
			continue
		}
		if len(f) <= max(alertCol, causeCol) {
			return nil, fmt.Errorf("scores line %d: %d fields, the header has more", n, len(f))
		}
		active, cause, fault := f[alertCol] == "1", "", ""
		if causeCol >= 0 {
			cause = f[causeCol]
		}
		if faultCol >= 0 && faultCol < len(f) {
			fault, _, _ = strings.Cut(f[faultCol], ":")
		}
		state := ""
		switch {
		case active && !prev:
			state = telemetry.StateRaised
			clear(blamed)
		case active && cause != "" && len(blamed) > 0 && !blamed[cause+"/"+fault]:
			state = telemetry.StateUpdated
		}
		if active && cause != "" {
			// A sensor blamed as the process's and later as a faulty transmitter
			// (stuck, silent) is news twice, as in scoring's cause tracker.
			blamed[cause+"/"+fault] = true
		}
		if state != "" {
			t, err := time.Parse(time.RFC3339Nano, f[0])
			if err != nil {
				return nil, fmt.Errorf("scores line %d: time %q: %w", n, f[0], err)
			}
			a := telemetry.Alert{Site: m.Site, Line: m.Line, Machine: m.Machine, State: state, TS: t, Fault: fault}
			if state == telemetry.StateUpdated {
				a.Reason = telemetry.ReasonNewCause
			}
			if cause != "" {
				a.Cause, a.Top = cause, []telemetry.Contribution{{Sensor: cause, Share: 1}}
			}
			out = append(out, a)
		}
		prev = active
	}
	return out, sc.Err()
}

// parallel runs fn(0..n-1) on up to workers goroutines and returns the first error.
func parallel(ctx context.Context, n, workers int, fn func(i int) error) error {
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(max(1, workers), n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = fn(i)
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(append(errs, ctx.Err())...)
}

// offIfNotPositive maps a flag's "0 or less = off" to the trainer's "< 0 = off" (its 0
// means "default").
func offIfNotPositive(v float64) float64 {
	if v <= 0 {
		return -1
	}
	return v
}
