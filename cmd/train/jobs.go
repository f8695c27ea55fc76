package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/influxstore"
	"github.com/faultline/faultline/internal/report"
	"github.com/faultline/faultline/internal/telemetry"
	"github.com/faultline/faultline/internal/trainer"
	"github.com/faultline/faultline/internal/trainsrc"
)

// job is one model to train.
type job struct {
	key       string // machine id, machine type or file name: names the model and logs
	match     string
	out       string
	reportDir string
	source    string
	load      func(ctx context.Context) (trainer.Data, error)
}

// plan turns the configuration into jobs; for --all it lists the machines in the range.
func plan(ctx context.Context, cfg *config) ([]job, func(), error) {
	if cfg.source == "csv" {
		c := cfg.csv
		key := strings.TrimSuffix(filepath.Base(c.Path), filepath.Ext(c.Path))
		return []job{{key: key, match: cfg.opts.Match, out: cfg.out, reportDir: cfg.report, source: c.Path,
			load: func(context.Context) (trainer.Data, error) { return trainsrc.LoadCSV(c) }}}, func() {}, nil
	}
	icfg, err := cfg.com.InfluxConfig()
	if err != nil {
		return nil, nil, err
	}
	st, err := influxstore.New(icfg)
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { st.Close() }
	groups, err := influxGroups(ctx, cfg, st)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	jobs := make([]job, 0, len(groups))
	for _, g := range groups {
		j := job{key: g.Key, match: g.Match, out: cfg.out, reportDir: cfg.report, source: "influx " + icfg.URL}
		if cfg.opts.Match != "" {
			j.match = cfg.opts.Match
		}
		if cfg.all {
			j.out = filepath.Join(cfg.outDir, fileName(g.Key)+".model")
			if cfg.report != "" {
				j.reportDir = filepath.Join(cfg.report, fileName(g.Key))
			}
		}
		rng := trainsrc.Range{Machines: g.Machines, Start: cfg.start, Stop: cfg.stop, Chunk: cfg.chunk}
		j.load = func(ctx context.Context) (trainer.Data, error) { return trainsrc.LoadInflux(ctx, st, rng) }
		jobs = append(jobs, j)
	}
	return jobs, cleanup, nil
}

func influxGroups(ctx context.Context, cfg *config, st *influxstore.Store) ([]trainsrc.Group, error) {
	if !cfg.all {
		m := telemetry.Machine{Site: cfg.site, Line: cfg.line, Machine: cfg.machine}
		return []trainsrc.Group{{Key: cfg.machine, Match: cfg.machine, Machines: []telemetry.Machine{m}}}, nil
	}
	ms, err := st.Machines(ctx, cfg.start, cfg.stop)
	if err != nil {
		return nil, fmt.Errorf("%w (check --influx-url and that InfluxDB is up)", err)
	}
	var keep []telemetry.Machine
	for _, m := range ms {
		if (cfg.site == "" || m.Site == cfg.site) && (cfg.line == "" || m.Line == cfg.line) {
			keep = append(keep, m)
		}
	}
	if len(keep) == 0 {
		return nil, fmt.Errorf("no machine has telemetry between %s and %s (site %q, line %q): widen --start/--stop or check --influx-bucket",
			cfg.start.UTC().Format(time.RFC3339), cfg.stop.UTC().Format(time.RFC3339), cfg.site, cfg.line)
	}
	return trainsrc.GroupMachines(keep, cfg.groupBy)
}

// fileName keeps a key usable as one path element.
func fileName(key string) string {
	return strings.NewReplacer("/", "_", `\`, "_", "..", "_").Replace(key)
}

// runner trains jobs with bounded parallelism.
type runner struct {
	cfg    *config
	log    zerolog.Logger
	stdout io.Writer
	stderr io.Writer
	tty    bool
	mu     sync.Mutex // serialises stdout lines
}

func (r *runner) runAll(ctx context.Context, jobs []job) error {
	workers := min(max(1, r.cfg.workers), len(jobs))
	if len(jobs) == 1 {
		workers = 1
	}
	// One rewritten terminal line cannot show several jobs at once.
	tty := r.tty && workers == 1
	errs := make([]error, len(jobs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = r.train(ctx, jobs[i], tty)
			}
		}()
	}
	for i := range jobs {
		select {
		case next <- i:
		case <-ctx.Done():
			errs[i] = ctx.Err()
		}
	}
	close(next)
	wg.Wait()
	return summarize(jobs, errs)
}

func summarize(jobs []job, errs []error) error {
	var failed []error
	for i, err := range errs {
		if err != nil {
			if len(jobs) > 1 {
				err = fmt.Errorf("%s: %w", jobs[i].key, err)
			}
			failed = append(failed, err)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	if len(jobs) > 1 {
		return fmt.Errorf("%d of %d models failed:\n%w", len(failed), len(jobs), errors.Join(failed...))
	}
	return failed[0]
}

// train loads one job's data, fits, saves the model and writes the report.
func (r *runner) train(ctx context.Context, j job, tty bool) error {
	log := r.log.With().Str("job", j.key).Logger()
	d, err := j.load(ctx)
	if err != nil {
		return err
	}
	sum := trainsrc.Summarize(j.source, d)
	log.Info().Int("assets", sum.Assets).Int("rows", sum.Rows).Int("columns", len(d.Columns)).Msg("data loaded")
	o := r.options(j)
	if r.cfg.all {
		// One --context list serves every machine type of --all: each model keeps
		// the operating-condition columns its machines have.
		o.Context = present(o.Context, d.Columns)
	}
	if err := checkColumns(d, o); err != nil {
		return err
	}
	prog := report.NewProgress(r.stderr, tty, log, j.key, expectedNets(o, sum), epochsOf(o))
	o.Progress = prog.Epoch
	m, rep, err := trainer.Fit(ctx, d, o)
	prog.Done()
	if err != nil {
		return explain(err)
	}
	logDropped(log, rep)
	if err := os.MkdirAll(filepath.Dir(j.out), 0o755); err != nil {
		return fmt.Errorf("create directory for --out: %w", err)
	}
	if err := m.Save(j.out); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	if j.reportDir != "" {
		if err := report.Write(j.reportDir, rep, report.Info{Model: m, ModelPath: j.out, Data: sum}); err != nil {
			return fmt.Errorf("model saved to %s, but the report failed: %w", j.out, err)
		}
	}
	log.Info().Str("model", j.out).Str("task", m.Task).Int("networks", len(m.Nets)).Float64("seconds", rep.Seconds).
		Interface("metrics", rep.Metrics).Msg("model written")
	r.mu.Lock()
	fmt.Fprintf(r.stdout, "%s\t%s\t%s\n", j.key, j.out, metricLine(rep))
	r.mu.Unlock()
	return nil
}

func (r *runner) options(j job) trainer.Options {
	o := r.cfg.opts
	o.Match = j.match
	if r.cfg.all {
		base := o.Name
		if base == "" {
			base = "faultline-" + o.Resolved().Task
		}
		o.Name = base + "-" + j.key
	}
	return o
}

func present(want, have []string) []string {
	var out []string
	for _, w := range want {
		if slices.Contains(have, w) {
			out = append(out, w)
		}
	}
	return out
}

func checkColumns(d trainer.Data, o trainer.Options) error {
	return errors.Join(trainsrc.CheckColumns(d, "--settings", o.Settings), trainsrc.CheckColumns(d, "--context", o.Context))
}

// explain adds what to change to the trainer's data errors.
func explain(err error) error {
	if errors.Is(err, trainer.ErrData) {
		if errors.Is(err, trainer.ErrNamesFlag) {
			return err // the trainer already names the flag to change
		}
		return fmt.Errorf("%w (check the input: more rows, a longer --start/--stop range, a smaller --window, or --ignore for unusable columns)", err)
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("training interrupted: %w; no model written", err)
	}
	return fmt.Errorf("training failed: %w", err)
}

func logDropped(log zerolog.Logger, rep *trainer.Report) {
	keys := make([]string, 0, len(rep.Dropped))
	for k := range rep.Dropped {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		log.Warn().Str("column", k).Str("reason", rep.Dropped[k]).Msg("column dropped: not used as a sensor")
	}
	for _, k := range slices.Sorted(maps.Keys(rep.TextCells)) {
		log.Warn().Str("column", k).Str("cells", rep.TextCells[k]).Msg("text in a numeric column: read as missing")
	}
	if len(rep.TargetFeatures) > 0 {
		log.Info().Interface("target_features", rep.TargetFeatures).Msg("each sensor's network predicts the window feature it follows best on held-out data")
	}
	if len(rep.TargetHistory) > 0 {
		log.Info().Interface("target_history", rep.TargetHistory).Msg("networks that see the context sensors' history means (kept where they shrink the held-out residual by a quarter)")
	}
}

// epochsOf is the epoch budget per network the trainer will use, for the ETA.
func epochsOf(o trainer.Options) int { return o.Resolved().Epochs }

// expectedNets estimates the networks the trainer will fit, for the ETA: one per
// watched sensor and candidate target feature for a multi-sensor anomaly model
// (trainer.NetsPerTarget), else the ensemble (rul: plus the
// early-stopped network before the refit, and once per member window too).
func expectedNets(o trainer.Options, sum trainsrc.Summary) int {
	r := o.Resolved()
	if r.Task == artifact.TaskAnomaly {
		usable := sum.Usable(o.Settings)
		if usable > 1 || len(o.Context) > 0 {
			return max(1, usable-len(o.Context)) * trainer.NetsPerTarget(o)
		}
		return max(1, r.Ensemble)
	}
	n := r.Ensemble
	if r.RefitAll { // the early-stopped network(s), then the refit ensemble
		n += min(r.Ensemble, trainer.RefitProbe)
	}
	return n * (1 + len(r.MemberWindows))
}

func metricLine(rep *trainer.Report) string {
	keys := make([]string, 0, len(rep.Metrics))
	for k := range rep.Metrics {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%.4g", k, rep.Metrics[k]))
	}
	return strings.Join(parts, " ")
}
