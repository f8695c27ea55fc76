package ingest

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/telemetry"
)

// Stats are the service's counters, read by tests and exported as Prometheus metrics.
type Stats struct {
	Messages      int64 // received
	Rejected      int64 // whole messages rejected
	Acked         int64
	PointsSpooled int64
	PointsWritten int64
	ValuesWritten int64
	WriteErrors   int64
	Dropped       int64 // points InfluxDB refused permanently (HTTP 4xx)
	SpoolFull     int64 // times the committer found the spool full
	DeadLetters   int64
	Rebirths      int64                      // Sparkplug B rebirth requests sent
	Rejections    map[telemetry.Reason]int64 // messages and values, by reason
}

type counters struct {
	messages, rejected, acked, spooled, written, values atomic.Int64
	writeErrors, dropped, spoolFull, deadLetters        atomic.Int64
	spoolErrors                                         atomic.Int64
	rebirths                                            atomic.Int64
	spoolStalled                                        atomic.Bool // the last spool write failed (disk full?)
	redeliveredStamped                                  atomic.Int64
	rejections                                          map[telemetry.Reason]*atomic.Int64
	newestWritten                                       atomic.Int64 // payload time (ns) of the newest point written
	started                                             time.Time
	writeSeconds                                        prometheus.Histogram
}

func newCounters() *counters {
	c := &counters{rejections: map[telemetry.Reason]*atomic.Int64{}, started: time.Now()}
	for _, r := range reasons {
		c.rejections[r] = new(atomic.Int64)
	}
	c.writeSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "faultline_ingest_write_duration_seconds", Help: "Duration of successful InfluxDB writes.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)})
	return c
}

func (c *counters) reject(r telemetry.Reason) {
	if n, ok := c.rejections[r]; ok {
		n.Add(1)
		return
	}
	c.rejections[telemetry.ReasonBadJSON].Add(1) // unknown reasons cannot happen; count, don't crash
}

func (c *counters) snapshot() Stats {
	s := Stats{Messages: c.messages.Load(), Rejected: c.rejected.Load(), Acked: c.acked.Load(),
		PointsSpooled: c.spooled.Load(), PointsWritten: c.written.Load(), ValuesWritten: c.values.Load(),
		WriteErrors: c.writeErrors.Load(), Dropped: c.dropped.Load(), SpoolFull: c.spoolFull.Load(),
		DeadLetters: c.deadLetters.Load(), Rebirths: c.rebirths.Load(), Rejections: map[telemetry.Reason]int64{}}
	for r, n := range c.rejections {
		s.Rejections[r] = n.Load()
	}
	return s
}

// lag is how far InfluxDB is behind: 0 when nothing waits in the spool, otherwise now
// minus the payload time of the newest point written (since start, when none was yet).
func (c *counters) lag(now time.Time, waiting float64) float64 {
	if waiting <= 0 {
		return 0
	}
	newest := c.newestWritten.Load()
	if newest == 0 {
		return now.Sub(c.started).Seconds()
	}
	return max(0, float64(now.UnixNano()-newest)/1e9)
}

// register exports the counters; gauges read live state through the given funcs.
func (c *counters) register(reg prometheus.Registerer, spoolBytes, pendingBytes, waiting, connects, unmatched func() float64) error {
	counter := func(name, help string, v *atomic.Int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "faultline_ingest_" + name, Help: help},
			func() float64 { return float64(v.Load()) })
	}
	cs := []prometheus.Collector{
		counter("messages_total", "MQTT messages received.", &c.messages),
		counter("messages_rejected_total", "Messages rejected whole.", &c.rejected),
		counter("messages_acked_total", "Messages acknowledged to the broker.", &c.acked),
		counter("points_spooled_total", "Points made durable in the spool.", &c.spooled),
		counter("points_written_total", "Points written to InfluxDB.", &c.written),
		counter("values_written_total", "Sensor values written to InfluxDB.", &c.values),
		counter("write_errors_total", "Failed InfluxDB writes (retried when retryable).", &c.writeErrors),
		counter("points_dropped_total", "Points InfluxDB refused permanently.", &c.dropped),
		counter("spool_full_total", "Group commits delayed because the spool was full.", &c.spoolFull),
		counter("spool_errors_total", "Failed spool writes or fsyncs (the group is retried, never acknowledged before it is durable).", &c.spoolErrors),
		counter("dead_letters_total", "Rejected messages republished to the dead-letter topic.", &c.deadLetters),
		counter("sparkplug_rebirths_total", "Sparkplug B rebirth requests (NCMD Node Control/Rebirth) sent to edge nodes.", &c.rebirths),
		counter("redelivered_receive_stamped_total", "Values without a timestamp in messages the broker redelivered (DUP): stamped with the receive time again, they may be stored twice.", &c.redeliveredStamped),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "faultline_ingest_spool_bytes", Help: "Bytes of spool segments on disk."}, spoolBytes),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "faultline_ingest_spool_pending_bytes", Help: "Spooled bytes not yet written to InfluxDB."}, pendingBytes),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "faultline_ingest_lag_seconds", Help: "While points wait in the spool: now minus the payload timestamp of the newest point written (it grows while nothing is written); 0 when nothing waits."},
			func() float64 { return c.lag(time.Now(), waiting()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "faultline_ingest_broker_connects_total", Help: "Successful broker connects, all connections."}, connects),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "faultline_ingest_mqtt_unmatched_total", Help: "Messages matching none of the subscriptions (kept by a persistent session from an earlier configuration?), acknowledged and dropped."}, unmatched),
		c.writeSeconds,
	}
	for _, r := range reasons {
		n := c.rejections[r]
		cs = append(cs, prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "faultline_ingest_rejections_total",
			Help: "Rejected messages and values by reason.", ConstLabels: prometheus.Labels{"reason": string(r)}},
			func() float64 { return float64(n.Load()) }))
	}
	for _, col := range cs {
		if err := reg.Register(col); err != nil {
			return err
		}
	}
	return nil
}

// rateLog logs at most one line per key per interval and says how many it suppressed,
// so a flood of bad input cannot flood the log.
type rateLog struct {
	mu       sync.Mutex
	every    time.Duration
	last     map[string]time.Time
	suppress map[string]int
}

func newRateLog(every time.Duration) *rateLog {
	return &rateLog{every: every, last: map[string]time.Time{}, suppress: map[string]int{}}
}

// event returns a log event to fill and send, or nil when this key is rate limited.
func (r *rateLog) event(log *zerolog.Logger, lvl zerolog.Level, key string) *zerolog.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if now.Sub(r.last[key]) < r.every {
		r.suppress[key]++
		return nil
	}
	n := r.suppress[key]
	r.last[key], r.suppress[key] = now, 0
	return log.WithLevel(lvl).Int("suppressed", n)
}
