package infer

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/alertq"
	"github.com/faultline/faultline/internal/mqttclient"
	"github.com/faultline/faultline/internal/telemetry"
)

// Status payloads on the retained status topic.
const (
	StatusOnline  = "online"
	StatusOffline = "offline"
)

// Broker is what the daemon needs from its MQTT connection (mqttclient.Client has it):
// telemetry in (Subscriber), alerts and the status out (AlertPublisher).
type Broker interface {
	Subscriber
	AlertPublisher
	Unmatched() int64
}

// Deps are the daemon's connections. Broker should carry the retained status's
// "online" message and last will (see MQTTConfig); the daemon subscribes and connects
// it. Scores, when set, receives every window's score (measurement "scores").
type Deps struct {
	Broker Broker
	Scores LineWriter
}

// Daemon is `infer run`.
type Daemon struct {
	cfg    Config
	deps   Deps
	log    zerolog.Logger
	met    *Metrics
	eng    *Engine
	q      *alertq.Queue
	qClose sync.Once // Run closes the queue; Build's close does when Run never ran
	pub    *publisher
	scores *scoreWriter // nil unless deps.Scores
	reload chan struct{}
	sp     *sparkplugIntake // nil unless cfg.Sparkplug
	// basePath is where the machines' baselines are kept across restarts.
	basePath string
}

// New validates the configuration (its one validation on this path), loads the models
// and opens the alert queue, and registers the metrics on reg (nil: not exported).
// Nothing touches the network until Run.
func New(cfg Config, deps Deps, log zerolog.Logger, reg prometheus.Registerer) (*Daemon, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return newDaemon(cfg, deps, log, reg)
}

// newDaemon is New after the validation, which Build does before it makes any adapter.
func newDaemon(cfg Config, deps Deps, log zerolog.Logger, reg prometheus.Registerer) (*Daemon, error) {
	if deps.Broker == nil {
		return nil, errors.New("infer: need a broker connection")
	}
	d := &Daemon{cfg: cfg, deps: deps, log: log, met: NewMetrics(reg), reload: make(chan struct{}, 1)}
	register := func(name, help string, f func() float64) {
		if reg != nil {
			reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f))
		}
	}
	register("infer_mqtt_unmatched_total",
		"Messages matching none of the subscriptions (kept by a persistent session from an earlier configuration?), acknowledged and dropped.",
		func() float64 { return float64(deps.Broker.Unmatched()) })
	var sink ScoreSink
	if deps.Scores != nil {
		d.scores = newScoreWriter(deps.Scores, d.met, log)
		sink = d.scores.add
	}
	// The models load before the queue directory is created: a refused start (a bad
	// model) leaves nothing behind. The engine emits only once Run feeds it, after
	// the publisher below exists.
	var err error
	d.eng, err = NewEngine(EngineConfig{Model: cfg.Model, Routes: cfg.Routes, MaxMachines: cfg.MaxMachines, Topics: cfg.Topics, Limits: cfg.Limits},
		d.met, log, func(a telemetry.Alert) { d.pub.Enqueue(a) }, sink)
	if err != nil {
		return nil, err
	}
	if cfg.Sparkplug != nil {
		if d.sp, err = newSparkplugIntake(*cfg.Sparkplug, cfg.Limits, d.eng, reg, deps.Broker.PublishAsync, log); err != nil {
			return nil, err
		}
	}
	q, err := alertq.Open(cfg.QueueDir, cfg.QueueMax)
	if err != nil {
		return nil, err
	}
	if q.Dropped > 0 {
		log.Warn().Int64("bytes", q.Dropped).Msg("alert queue had a torn tail (crash mid-append); it was never acknowledged and is dropped")
	}
	if q.Corrupt > 0 {
		log.Error().Int64("bytes", q.Corrupt).Int("regions", q.CorruptRegions).Str("backup", q.Backup).
			Msg("alert queue corruption: damaged alerts skipped, the ones after them kept; the file as found was copied for inspection (disk fault?)")
	}
	register("infer_alert_queue_corrupt_bytes_total",
		"Damaged alert-queue bytes skipped at start (complete records failing their check; the file was copied to alerts.q.corrupt-* first).",
		func() float64 { return float64(q.Corrupt) })
	if n := q.Len(); n > 0 {
		log.Info().Int("alerts", n).Msg("alerts queued from a previous run will be sent once the broker answers")
	}
	d.q = q
	d.basePath = filepath.Join(cfg.QueueDir, BaselinesFile)
	if n, err := loadBaselines(d.basePath, d.eng, time.Now()); err != nil {
		log.Error().Err(err).Msg("baselines")
	} else if n > 0 {
		log.Info().Int("machines", n).Msg("baselines of the previous run restored")
	}
	d.pub = newPublisher(deps.Broker, q, cfg.Topics, cfg.PublishTimeout, d.met, log)
	return d, nil
}

// closeQueue releases the queue directory (and its lock) once; only the first call
// reports the error.
func (d *Daemon) closeQueue() (err error) {
	d.qClose.Do(func() { err = d.q.Close() })
	return err
}

// baselineEvery is how often the baselines are saved besides at shutdown: a crash
// loses at most this much of what they learned (they move over days).
const baselineEvery = 10 * time.Minute

func (d *Daemon) keepBaselines(ctx context.Context) {
	t := time.NewTicker(baselineEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d.saveBaselines()
		}
	}
}

func (d *Daemon) saveBaselines() {
	if err := saveBaselines(d.basePath, d.eng); err != nil {
		d.log.Error().Err(err).Msg("baselines not saved; a restart now would start them afresh")
	}
}

// Engine exposes the scoring core (tests feed it directly, as if from the broker).
func (d *Daemon) Engine() *Engine { return d.eng }

// Stats returns the engine's totals.
func (d *Daemon) Stats() Stats { return d.eng.Stats() }

// Reload asks for a reload of every model file (SIGHUP). It never blocks.
func (d *Daemon) Reload() {
	select {
	case d.reload <- struct{}{}:
	default:
	}
}

// shared makes filter a shared subscription of --share-group, if one is set.
func (d *Daemon) shared(filter string) (string, error) {
	if d.cfg.ShareGroup == "" {
		return filter, nil
	}
	return telemetry.Shared(d.cfg.ShareGroup, filter)
}

// Run serves until ctx ends, then shuts down in order: stop intake, flush alerts
// (bounded by ShutdownTimeout), publish "offline", disconnect.
func (d *Daemon) Run(ctx context.Context) (err error) {
	started := false
	defer func() {
		if !started {
			// Refused before serving: release the queue directory (and its lock) as a
			// shutdown would.
			_ = d.closeQueue()
		}
	}()
	filter, err := d.shared(d.cfg.Topics.TelemetryFilter())
	if err != nil {
		return err
	}
	sensorFilter, err := d.shared(d.cfg.Topics.SensorFilter())
	if err != nil {
		return err
	}
	if d.cfg.ShareGroup != "" {
		// Scoring keeps state per machine: every sample of a machine must reach the same
		// instance. Mosquitto shares per message (round robin), which would split each
		// machine's stream; only a broker that shares by topic keeps it whole.
		d.log.Warn().Str("group", d.cfg.ShareGroup).Msg("shared subscription: the broker must share by topic (EMQX shared_subscription_strategy = hash_topic); a per-message strategy (Mosquitto) splits each machine's samples across instances; to partition with Mosquitto give each instance its own --route set or --topic-root")
	}
	// Retained alert states first: an alert left open by a previous run is carried on
	// and cleared when its machine calms down.
	d.deps.Broker.Subscribe(d.cfg.Topics.AlertStateFilter(), 1, func(m mqttclient.Message) { d.eng.RestoreState(m.Topic(), m.Payload()) })
	// Work done on a machine restarts it (Engine.Maintain). Never shared: the instance
	// that scores the machine must hear of it. Refusals are counted; the log keeps a few.
	mlog := d.log.Sample(&zerolog.BurstSampler{Burst: 5, Period: time.Minute})
	d.deps.Broker.Subscribe(d.cfg.Topics.MaintenanceFilter(), 1, func(m mqttclient.Message) {
		if m.Retained() {
			// Work is news, not state: a kept message would restart every machine on
			// each subscribe and wipe the history just restored.
			d.met.Drops.WithLabelValues(DropRetainedMaintenance).Inc()
			mlog.Warn().Str("topic", m.Topic()).Msg("retained maintenance message ignored (publish maintenance without retain)")
			return
		}
		if err := d.eng.Maintain(m.Topic(), m.Payload()); err != nil {
			mlog.Warn().Err(err).Msg("maintenance message refused (counted in infer_drops_total)")
		}
	})
	filters := []string{filter, sensorFilter}
	if tpl, _ := telemetry.ParseTemplate(d.cfg.TagTemplate); tpl != nil {
		// A custom topic tree replaces the contract's telemetry and per-sensor topics,
		// as in ingest: the one filter derived from the template.
		f, err := d.shared(tpl.Filter())
		if err != nil {
			return err
		}
		filters = []string{f}
		ti := newTemplateIntake(tpl, d.cfg.Topics, d.eng, d.met, d.cfg.MaxMachines)
		d.deps.Broker.Subscribe(f, d.cfg.QoS, ti.handle)
	} else {
		d.deps.Broker.Subscribe(filter, d.cfg.QoS, func(m mqttclient.Message) { d.eng.Ingest(m.Topic(), m.Payload()) })
		d.deps.Broker.Subscribe(sensorFilter, d.cfg.QoS, func(m mqttclient.Message) { d.eng.IngestSensor(m.Topic(), m.Payload()) })
	}
	if d.sp != nil {
		for _, f := range telemetry.SparkplugFilters(d.cfg.SparkplugGroup) {
			d.deps.Broker.Subscribe(f, d.cfg.QoS, func(m mqttclient.Message) { d.sp.handle(m.Topic(), m.Payload()) })
		}
	}
	started = true
	cctx, cancel := context.WithTimeout(ctx, d.cfg.MQTT.ConnectTimeout)
	if err := d.deps.Broker.Connect(cctx); err != nil {
		// The client keeps retrying; alerts wait on disk meanwhile.
		d.log.Warn().Err(err).Msg("broker not reachable yet; retrying in the background")
	}
	cancel()
	var wg sync.WaitGroup
	bg, stopBG := context.WithCancel(context.Background())
	wg.Add(2)
	go func() { defer wg.Done(); d.pub.run(bg) }()
	go func() { defer wg.Done(); d.watchModels(bg) }()
	wg.Add(1)
	go func() { defer wg.Done(); d.keepBaselines(bg) }()
	if d.scores != nil {
		wg.Add(1)
		go func() { defer wg.Done(); d.scores.run(bg) }()
	}
	d.log.Info().Strs("filters", filters).Int("max_machines", d.cfg.MaxMachines).Msg("scoring telemetry")
	<-ctx.Done()
	return d.shutdown(stopBG, &wg)
}

func (d *Daemon) shutdown(stopBG context.CancelFunc, wg *sync.WaitGroup) error {
	start := time.Now()
	d.eng.Stop()
	stopBG()
	wg.Wait()
	d.saveBaselines()
	delivered := d.pub.drain(d.cfg.ShutdownTimeout)
	if d.scores != nil {
		d.scores.flush(context.Background())
	}
	d.log.Info().Bool("all_alerts_delivered", delivered).Int("queued_on_disk", d.q.Len()).Dur("took", time.Since(start)).Msg("alerts flushed")
	if d.deps.Broker.Connected() {
		// A graceful disconnect does not fire the will: "offline" is published here.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if err := d.deps.Broker.Publish(ctx, statusTopic(d.cfg), 1, true, []byte(StatusOffline)); err != nil {
			d.log.Warn().Err(err).Msg("publish offline status")
		}
		cancel()
	}
	d.deps.Broker.Disconnect(250 * time.Millisecond)
	errQ := d.closeQueue()
	d.log.Info().Dur("took", time.Since(start)).Msg("stopped")
	if errQ != nil {
		return fmt.Errorf("close alert queue: %w", errQ)
	}
	return nil
}

// Ready reports whether the daemon can take telemetry and deliver alerts: its broker
// connection is up.
func (d *Daemon) Ready(context.Context) error {
	if !d.deps.Broker.Connected() {
		return errors.New("not connected to the MQTT broker")
	}
	return nil
}

// watchModels reloads on request (SIGHUP) and when a file's mtime or size changes.
func (d *Daemon) watchModels(ctx context.Context) {
	var tick <-chan time.Time
	if d.cfg.ReloadInterval > 0 {
		t := time.NewTicker(d.cfg.ReloadInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.reload:
			d.log.Info().Msg("reload requested")
			d.eng.Reload(true)
		case <-tick:
			d.eng.Reload(false)
		}
	}
}
