package ingest

import (
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/influxstore"
	"github.com/faultline/faultline/internal/telemetry"
)

// Sparkplug B intake: the same decoder as the infer daemon (telemetry.SparkplugDecoder),
// its samples written as the same line protocol as JSON telemetry, so training and
// dashboards see no difference between the two wire formats.

func (c Config) validateSparkplug() []error {
	if c.Sparkplug == nil {
		return nil
	}
	var errs []error
	if err := c.Sparkplug.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.SparkplugGroup != "" {
		if err := telemetry.ValidateName(c.SparkplugGroup); err != nil {
			errs = append(errs, fmt.Errorf("--sparkplug-group: %w", err))
		}
	}
	// seq is checked per edge node: the messages of one node must arrive in order, on
	// one connection. Shared subscriptions over several connections would break that
	// and request rebirths all day.
	if c.Connections > 1 {
		errs = append(errs, fmt.Errorf("--sparkplug needs --mqtt-connections 1 (got %d): a node's messages must arrive in order on one connection", c.Connections))
	}
	if c.ShareGroup != "" {
		errs = append(errs, errors.New("--sparkplug cannot be used with --share-group: a node's messages must all reach one instance, in order"))
	}
	return errs
}

func (d *decoder) decodeSparkplug(st *decodeState, dst []byte, topic string, payload []byte, now time.Time) ([]byte, decoded) {
	var out decoded
	r := &st.spr
	err := d.sp.Decode(r, topic, payload, now)
	out.rebirth = r.Rebirth
	if err != nil {
		out.err = err
		return dst, out
	}
	out.rejected = r.Rejected
	for i := range r.Samples {
		s := &r.Samples[i]
		mf, err := d.guard.machine(s.Machine)
		if err != nil {
			// Admission is per machine; a Sparkplug message has one machine.
			out.err, out.rejected = err, nil
			return dst, out
		}
		// Metric names are columns: bounded like any sensor name.
		if s.Values, out.rejected = d.guard.filter(mf, s.Values, out.rejected); len(s.Values) == 0 {
			continue
		}
		tags := [3]influxstore.Tag{{Key: "line", Value: s.Machine.Line}, {Key: "machine", Value: s.Machine.Machine}, {Key: "site", Value: s.Machine.Site}}
		dst = influxstore.AppendLine(dst, influxstore.Measurement, tags[:], s.Values, s.Time)
		out.points++
		out.values += len(s.Values)
		out.maxTS = max(out.maxTS, s.Time.UnixNano())
	}
	return dst, out
}

// rebirth publishes a rebirth request, QoS 0 and not awaited like a dead letter: the
// decoder asks again (rate limited) while the node's data stays unusable.
func (h *handler) rebirth(c telemetry.SparkplugCommand) {
	h.broker.PublishAsync(c.Topic, 0, false, c.Payload)
	h.s.c.rebirths.Add(1)
	if e := h.s.rlog.event(&h.s.log, zerolog.InfoLevel, "sparkplug_rebirth"); e != nil {
		e.Str("topic", c.Topic).Msg("asked a Sparkplug edge node to rebirth (unknown alias, seq gap or data before birth)")
	}
}
