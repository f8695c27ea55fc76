package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/mqttclient"
	"github.com/faultline/faultline/internal/spool"
	"github.com/faultline/faultline/internal/telemetry"
)

// Broker is what ingest needs from one MQTT connection (mqttclient.Client has it).
type Broker interface {
	Subscribe(filter string, qos byte, h mqttclient.Handler)
	Connect(ctx context.Context) error
	Connected() bool
	Connects() int64
	Unmatched() int64
	PublishAsync(topic string, qos byte, retained bool, payload []byte) (<-chan struct{}, func() error)
	Disconnect(quiesce time.Duration)
}

// PointWriter is what ingest needs from InfluxDB (influxstore.Store has it).
type PointWriter interface {
	WriteLines(ctx context.Context, lines []byte) error
	EnsureBucket(ctx context.Context) error
	Ping(ctx context.Context) error
}

// Deps are the service's connections. Brokers must be configured with ManualAck and a
// persistent session (see MQTTConfigs); the service subscribes and connects them.
type Deps struct {
	Brokers []Broker
	Writer  PointWriter
}

// Service is one ingest instance.
type Service struct {
	cfg       Config
	deps      Deps
	log       zerolog.Logger
	c         *counters
	dec       *decoder
	pend      *pending
	rlog      *rateLog
	filters   []string
	handlers  []*handler // one per broker connection
	deadTopic string

	mu sync.Mutex
	sp *spool.Spool
	sh *shipper
}

// New validates the config (the one place it is validated) and registers metrics on
// reg (nil: not exported). Nothing connects until Run.
func New(cfg Config, deps Deps, log zerolog.Logger, reg prometheus.Registerer) (*Service, error) {
	s, err := newService(cfg, log)
	if err != nil {
		return nil, err
	}
	if err := s.attach(deps, reg); err != nil {
		return nil, err
	}
	return s, nil
}

// newService validates cfg and derives what does not depend on the connections. It is
// the first step of both New and Build, so a bad value is refused, with its allowed
// range, before any adapter exists.
func newService(cfg Config, log zerolog.Logger) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	filters, err := cfg.filters()
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, log: log.With().Str("component", "ingest").Logger(), c: newCounters(),
		dec: newDecoder(cfg), pend: newPending(cfg.MaxPendingBytes), rlog: newRateLog(time.Second), filters: filters,
		deadTopic: cfg.Topics.DeadLetter("ingest")}, nil
}

// attach gives the service its connections and registers its metrics.
func (s *Service) attach(deps Deps, reg prometheus.Registerer) error {
	if len(deps.Brokers) == 0 || deps.Writer == nil {
		return errors.New("ingest: need at least one broker connection and a writer")
	}
	s.deps = deps
	for _, b := range deps.Brokers {
		s.handlers = append(s.handlers, &handler{s: s, broker: b})
	}
	if reg != nil {
		err := s.c.register(reg, s.spoolGauge(func(sp *spool.Spool) int64 { return sp.Size() }),
			s.spoolGauge(func(sp *spool.Spool) int64 { return sp.Pending() }),
			// Points wait while unread or read and not yet written (a batch in retry).
			s.spoolGauge(func(sp *spool.Spool) int64 { return sp.Pending() + int64(sp.Outstanding()) }), s.connects, s.unmatched)
		if err == nil {
			err = reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "faultline_ingest_spool_corrupt_bytes_total",
				Help: "Damaged spool bytes skipped (a record failed its length or CRC check after it was synced; the file was copied to <spool>/corrupt first)."},
				s.spoolGauge(func(sp *spool.Spool) int64 { return sp.CorruptBytes() })))
		}
		if err != nil {
			return fmt.Errorf("ingest metrics: %w", err)
		}
	}
	return nil
}

func (s *Service) spoolGauge(f func(*spool.Spool) int64) func() float64 {
	return func() float64 {
		s.mu.Lock()
		sp := s.sp
		s.mu.Unlock()
		if sp == nil {
			return 0
		}
		return float64(f(sp))
	}
}

func (s *Service) connects() float64 {
	var n int64
	for _, b := range s.deps.Brokers {
		n += b.Connects()
	}
	return float64(n)
}

func (s *Service) unmatched() float64 {
	var n int64
	for _, b := range s.deps.Brokers {
		n += b.Unmatched()
	}
	return float64(n)
}

// Stats returns the counters so far.
func (s *Service) Stats() Stats { return s.c.snapshot() }

// Ready reports whether the service can take data: a broker connection is up, the
// spool's last write worked, and either InfluxDB answers or the spool still has room.
func (s *Service) Ready(ctx context.Context) error {
	up := false
	for _, b := range s.deps.Brokers {
		up = up || b.Connected()
	}
	if !up {
		return errors.New("not connected to the MQTT broker")
	}
	s.mu.Lock()
	sp := s.sp
	s.mu.Unlock()
	if sp == nil {
		return errors.New("spool not open yet")
	}
	if s.c.spoolStalled.Load() {
		return errors.New("the spool cannot store data (disk full or failing?): messages stay unacknowledged at the broker")
	}
	if err := s.deps.Writer.Ping(ctx); err != nil && sp.Size() > s.cfg.SpoolMaxBytes*9/10 {
		return fmt.Errorf("InfluxDB unreachable and spool nearly full: %w", err)
	}
	return nil
}

// Run ingests until ctx ends, then shuts down source to sink: stop taking messages,
// commit and acknowledge what is held, disconnect, ship the spool for up to
// ShutdownTimeout (the rest waits on disk for the next run).
func (s *Service) Run(ctx context.Context) error {
	sp, rec, err := spool.Open(s.cfg.SpoolDir, spool.Options{MaxBytes: s.cfg.SpoolMaxBytes, SegmentBytes: s.cfg.SegmentBytes})
	if err != nil {
		return err
	}
	machines, fields, err := s.dec.guard.load(s.cfg.SpoolDir)
	if err != nil {
		sp.Close()
		return err
	}
	defer s.dec.guard.close()
	s.log.Info().Int("machines", machines).Int("sensor_columns", fields).Msg("cardinality guard: admissions of earlier runs loaded")
	s.log.Info().Str("dir", s.cfg.SpoolDir).Int("records", rec.Records).Int64("bytes", rec.Bytes).Int64("shipped_bytes_skipped", rec.ShippedBytes).
		Int64("torn_bytes_cut", rec.TruncatedBytes).Msg("spool opened; replaying what a previous run left unshipped")
	if rec.CorruptBytes > 0 {
		s.log.Error().Int64("corrupt_bytes", rec.CorruptBytes).Int("regions", rec.CorruptRegions).Strs("backups", rec.Backups).
			Msg("spool corruption: damaged records skipped (the records after them are kept); copies of the damaged segments kept for inspection (disk fault?)")
	}
	if rec.CheckpointErr != nil {
		s.log.Warn().Err(rec.CheckpointErr).Msg("spool: replaying from the oldest segment (already shipped points may be written again)")
	}
	sh := &shipper{sp: sp, w: s.deps.Writer, c: s.c, log: s.log, rlog: s.rlog, batch: s.cfg.BatchBytes, interval: s.cfg.FlushInterval}
	s.mu.Lock()
	s.sp, s.sh = sp, sh
	s.mu.Unlock()

	shipCtx, stopShip := context.WithCancel(context.WithoutCancel(ctx))
	defer stopShip()
	var wg sync.WaitGroup
	wg.Go(func() { sh.run(shipCtx, s.cfg.Writers) })
	stopCommit := make(chan struct{})
	cm := &committer{p: s.pend, sp: sp, c: s.c, log: s.log, rlog: s.rlog}
	commitDone := make(chan struct{})
	go func() { defer close(commitDone); cm.run(shipCtx, stopCommit) }()

	s.connect(ctx)
	<-ctx.Done()
	return s.shutdown(sp, sh, stopCommit, commitDone, stopShip, &wg)
}

// connect subscribes every connection (made again on each reconnect) and waits for the
// first connect; the client keeps retrying in the background when the broker is away.
func (s *Service) connect(ctx context.Context) {
	for i, b := range s.deps.Brokers {
		for _, f := range s.filters {
			b.Subscribe(f, 1, s.handlers[i].handle)
		}
	}
	for i, b := range s.deps.Brokers {
		if err := b.Connect(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn().Err(err).Int("connection", i).Msg("first connect failed; retrying in the background")
		}
	}
	s.log.Info().Strs("filters", s.filters).Int("connections", len(s.deps.Brokers)).Msg("ingesting")
	if s.cfg.ShareGroup != "" {
		// Measured (TestBrokerRestartWhileIngestAwayIntegration): Mosquitto 2.0 restores a
		// persistent session's plain subscriptions after a restart but not its shared
		// ones, so what is published before ingest has subscribed again is lost.
		s.log.Warn().Str("group", s.cfg.ShareGroup).Msg("shared subscription: Mosquitto 2.0 does not keep shared subscriptions over a broker restart; messages published after a broker restart and before ingest resubscribes are lost (the default, one connection without --share-group, keeps them)")
	}
}

func (s *Service) shutdown(sp *spool.Spool, sh *shipper, stopCommit chan struct{}, commitDone chan struct{},
	stopShip context.CancelFunc, wg *sync.WaitGroup) error {
	start := time.Now()
	close(stopCommit) // final group commit and acks
	<-commitDone
	s.publishOffline()
	for _, b := range s.deps.Brokers {
		b.Disconnect(500 * time.Millisecond) // lets the last PUBACKs out
	}
	dctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	drained := sh.drain(dctx)
	cancel()
	stopShip()
	wg.Wait()
	err := sp.Close()
	st := s.Stats()
	s.log.Info().Bool("spool_drained", drained).Int64("spool_bytes_left", sp.Size()).Int64("messages", st.Messages).
		Int64("points_written", st.PointsWritten).Dur("took", time.Since(start)).Msg("stopped")
	if err != nil {
		return fmt.Errorf("close spool: %w", err)
	}
	return nil
}

// publishOffline replaces each connection's retained "online" with "offline": a
// graceful disconnect does not fire the last will, so without it the status topic
// said "online" after a SIGTERM (docs/telemetry.md). Best effort, bounded: a broker
// that is away gets nothing, and its will (if the connection dropped) says offline.
func (s *Service) publishOffline() {
	ids := MQTTConfigs(s.cfg)
	timeout := time.After(2 * time.Second)
	for i, b := range s.deps.Brokers {
		if i >= len(ids) || !b.Connected() {
			continue
		}
		done, errf := b.PublishAsync(statusTopic(s.cfg, ids[i].ClientID), 1, true, []byte("offline"))
		select {
		case <-done:
			if err := errf(); err != nil {
				s.log.Warn().Err(err).Int("connection", i).Msg("publish offline status")
			}
		case <-timeout:
			s.log.Warn().Int("connection", i).Msg("publish offline status: no acknowledgement in 2s")
			return
		}
	}
}

func (s *Service) logReject(topic string, r telemetry.Reason, detail string) {
	if e := s.rlog.event(&s.log, zerolog.WarnLevel, "reject_"+string(r)); e != nil {
		e.Str("reason", string(r)).Str("topic", truncate([]byte(topic), 200)).Str("detail", truncate([]byte(detail), 300)).Msg("rejected input")
	}
}

// truncate bounds what a hostile topic or detail puts into one log line.
func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "...(truncated)"
	}
	return string(b)
}
