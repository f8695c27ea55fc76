package infer

import "github.com/prometheus/client_golang/prometheus"

// Drop reasons of infer_drops_total besides the telemetry decoder's own reasons.
const (
	DropUnknownMachine  = "unknown_machine"   // no model routes to the machine
	DropTooManyMachines = "too_many_machines" // --max-machines reached
	DropOutOfOrder      = "out_of_order"      // late sample at or before the previous one
	DropBadTopic        = "bad_topic"         // not a telemetry topic of this tree
	DropStopping        = "stopping"          // arrived during shutdown
	DropScoreError      = "score_error"       // scoring refused the row
	DropAlertOverflow   = "alert_overflow"    // the in-memory alert backlog is full
	DropQueueFull       = "queue_full"        // the on-disk alert queue is full
	// DropStaleMaintenance: a maintenance message no newer than the machine's last
	// work or older than its open alert (a redelivery); DropRetainedMaintenance: one the
	// broker kept, which would restart every machine on each subscribe.
	DropStaleMaintenance    = "stale_maintenance"
	DropRetainedMaintenance = "retained_maintenance"
)

// Metrics of the daemon, all prefixed infer_.
type Metrics struct {
	Messages       prometheus.Counter
	Samples        prometheus.Counter
	Windows        prometheus.Counter
	Alerts         *prometheus.CounterVec // by state
	Latency        prometheus.Histogram   // one Push (row -> score and alert state)
	Drops          *prometheus.CounterVec // by reason
	UnknownSensors prometheus.Counter
	MissingValues  prometheus.Counter
	Gaps           prometheus.Counter
	FilledRows     prometheus.Counter
	NonFinite      prometheus.Counter
	QueueDepth     prometheus.Gauge
	Reloads        *prometheus.CounterVec // result=ok|failed
	Machines       prometheus.Gauge
	PublishErrors  prometheus.Counter
	ScoreWrites    *prometheus.CounterVec // result=ok|failed (InfluxDB)
	Maintenance    prometheus.Counter     // maintenance messages taken (Engine.Maintain)
}

// NewMetrics registers the daemon's metrics on reg (nil: not registered, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "infer_" + name, Help: help})
	}
	m := &Metrics{
		Messages:       c("messages_total", "telemetry messages decoded and scored"),
		Samples:        c("samples_total", "samples pushed into scoring streams"),
		Windows:        c("windows_total", "completed windows scored"),
		Alerts:         prometheus.NewCounterVec(prometheus.CounterOpts{Name: "infer_alerts_total", Help: "alert transitions published, by state"}, []string{"state"}),
		Latency:        prometheus.NewHistogram(prometheus.HistogramOpts{Name: "infer_score_latency_seconds", Help: "time to score one sample", Buckets: prometheus.ExponentialBuckets(1e-6, 4, 10)}),
		Drops:          prometheus.NewCounterVec(prometheus.CounterOpts{Name: "infer_drops_total", Help: "messages, samples or values not scored, by reason"}, []string{"reason"}),
		UnknownSensors: c("unknown_sensors_total", "values of sensors the machine's model does not use (ignored)"),
		MissingValues:  c("missing_values_total", "model input columns absent from a sample (scored as NaN)"),
		Gaps:           c("gaps_total", "outages longer than the model's fill limit (window restarted)"),
		FilledRows:     c("filled_rows_total", "rows inserted for short gaps"),
		NonFinite:      c("nonfinite_outputs_total", "windows whose network output was not finite (not scored)"),
		QueueDepth:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "infer_alert_queue_depth", Help: "alerts waiting for the broker (memory + disk)"}),
		Reloads:        prometheus.NewCounterVec(prometheus.CounterOpts{Name: "infer_model_reloads_total", Help: "model reloads by result"}, []string{"result"}),
		Machines:       prometheus.NewGauge(prometheus.GaugeOpts{Name: "infer_machines", Help: "machines with scoring state"}),
		PublishErrors:  c("publish_errors_total", "alert publishes that failed (the alert was queued to disk)"),
		ScoreWrites:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "infer_score_writes_total", Help: "InfluxDB score batches by result"}, []string{"result"}),
		Maintenance:    c("maintenance_total", "maintenance messages taken: the machine started afresh"),
	}
	if reg != nil {
		reg.MustRegister(m.Messages, m.Samples, m.Windows, m.Alerts, m.Latency, m.Drops, m.UnknownSensors,
			m.MissingValues, m.Gaps, m.FilledRows, m.NonFinite, m.QueueDepth, m.Reloads, m.Machines, m.PublishErrors, m.ScoreWrites, m.Maintenance)
	}
	return m
}
