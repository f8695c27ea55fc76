package infer

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/influxstore"
	"github.com/faultline/faultline/internal/scoring"
	"github.com/faultline/faultline/internal/telemetry"
)

// maxScoreBuffer bounds unsent score lines; scores are for dashboards, so when
// InfluxDB is away they are dropped (counted) rather than held.
const maxScoreBuffer = 8 << 20

// LineWriter is what the score writer needs from InfluxDB (influxstore.Store has it).
type LineWriter interface {
	WriteLines(ctx context.Context, lines []byte) error
}

// scoreWriter batches every window's score into measurement "scores" once a second.
type scoreWriter struct {
	st  LineWriter
	met *Metrics
	log zerolog.Logger

	mu     sync.Mutex
	buf    []byte
	fields [3]telemetry.Value
	tags   [4]influxstore.Tag
}

func newScoreWriter(st LineWriter, met *Metrics, log zerolog.Logger) *scoreWriter {
	return &scoreWriter{st: st, met: met, log: log.With().Str("component", "scores").Logger()}
}

// add is the engine's ScoreSink.
func (w *scoreWriter) add(m telemetry.Machine, r *scoring.Result, mdl *Model) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > maxScoreBuffer {
		w.met.ScoreWrites.WithLabelValues("dropped").Inc()
		return
	}
	w.tags = [4]influxstore.Tag{{Key: "line", Value: m.Line}, {Key: "machine", Value: m.Machine}, {Key: "model", Value: mdl.Artifact().Name}, {Key: "site", Value: m.Site}}
	f := append(w.fields[:0], telemetry.Value{Sensor: "score", V: r.Score}, telemetry.Value{Sensor: "threshold", V: r.Threshold})
	if mdl.Artifact().Task == "rul" {
		f = append(f, telemetry.Value{Sensor: "rul", V: r.RUL}, telemetry.Value{Sensor: "rul_lo", V: r.RULLo}, telemetry.Value{Sensor: "rul_hi", V: r.RULHi})
	}
	w.buf = influxstore.AppendLine(w.buf, "scores", w.tags[:], f, r.Time)
}

func (w *scoreWriter) run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.flush(ctx)
		}
	}
}

func (w *scoreWriter) flush(ctx context.Context) {
	w.mu.Lock()
	b := w.buf
	w.buf = nil
	w.mu.Unlock()
	if len(b) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := w.st.WriteLines(ctx, b); err != nil {
		w.met.ScoreWrites.WithLabelValues("failed").Inc()
		w.log.Warn().Err(err).Int("bytes", len(b)).Msg("score write failed; these scores are dropped (dashboards only)")
		return
	}
	w.met.ScoreWrites.WithLabelValues("ok").Inc()
}
