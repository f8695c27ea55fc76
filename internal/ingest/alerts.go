package ingest

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/faultline/faultline/internal/telemetry"
)

// AlertMeasurement holds every alert event the edge daemons publish, so dashboards and
// people can look back at them (MQTT keeps only the latest state). One point per event:
// tags site, line, machine, kind, severity, state; fields id, message, model, score,
// threshold (and rul); time = the alert's ts. A redelivered event is the same point.
const AlertMeasurement = "alerts"

// decodeAlert turns an alert payload (telemetry.Alert JSON) into one line.
func (d *decoder) decodeAlert(dst []byte, topic string, payload []byte, now time.Time) ([]byte, decoded) {
	var out decoded
	t, err := d.topics.Parse(topic)
	if err != nil || t.Kind != telemetry.KindAlerts {
		out.err = rejectf(telemetry.ReasonBadTopic, "topic %q is not an alert topic", topic)
		return dst, out
	}
	if len(payload) > d.limits.MaxPayload {
		out.err = rejectf(telemetry.ReasonOversize, "alert payload is %d bytes, limit %d", len(payload), d.limits.MaxPayload)
		return dst, out
	}
	var a telemetry.Alert
	if err := json.Unmarshal(payload, &a); err != nil {
		out.err = rejectf(telemetry.ReasonBadJSON, "alert: %v", err)
		return dst, out
	}
	if a.Site != t.Machine.Site || a.Line != t.Machine.Line || a.Machine != t.Machine.Machine {
		out.err = rejectf(telemetry.ReasonBadTopic, "alert for %s/%s/%s published on %s", a.Site, a.Line, a.Machine, topic)
		return dst, out
	}
	for _, v := range []string{a.Kind, a.Severity, a.State} {
		if err := telemetry.ValidateName(v); err != nil {
			out.err = rejectf(telemetry.ReasonInvalidName, "alert kind/severity/state: %v", err)
			return dst, out
		}
	}
	if d.outsideWindow(a.TS, now) {
		out.err = rejectf(telemetry.ReasonBadTS, "alert ts %s outside the accepted window", a.TS.Format(time.RFC3339))
		return dst, out
	}
	dst = appendAlertLine(dst, &a)
	out.points, out.maxTS = 1, a.TS.UnixNano()
	return dst, out
}

// appendAlertLine writes the alert as line protocol. Tag values are validated names
// (no escaping needed); string fields are quoted with " and \ escaped.
func appendAlertLine(dst []byte, a *telemetry.Alert) []byte {
	dst = appendTags(append(dst, AlertMeasurement...), [][2]string{{"kind", a.Kind}, {"line", a.Line}, {"machine", a.Machine}, {"severity", a.Severity}, {"site", a.Site}, {"state", a.State}})
	dst = append(dst, " id="...)
	dst = appendQuoted(dst, a.ID)
	dst = append(dst, ",message="...)
	dst = appendQuoted(dst, a.Message)
	dst = append(dst, ",model="...)
	dst = appendQuoted(dst, a.Model)
	dst = append(dst, ",score="...)
	dst = strconv.AppendFloat(dst, a.Score, 'g', -1, 64)
	dst = append(dst, ",threshold="...)
	dst = strconv.AppendFloat(dst, a.Threshold, 'g', -1, 64)
	if a.RUL != nil {
		dst = append(dst, ",rul="...)
		dst = strconv.AppendFloat(dst, *a.RUL, 'g', -1, 64)
	}
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, a.TS.UnixNano(), 10)
	return append(dst, '\n')
}

// appendTags writes ",key=value" for each tag: keys in sorted order, values validated
// names (no escaping needed).
func appendTags(dst []byte, tags [][2]string) []byte {
	for _, tag := range tags {
		dst = append(append(append(append(dst, ','), tag[0]...), '='), tag[1]...)
	}
	return dst
}

// outsideWindow says whether ts of an event (an alert, work done) lies outside the
// timestamps accepted for telemetry.
func (d *decoder) outsideWindow(ts, now time.Time) bool {
	return ts.Before(d.limits.Earliest) || d.limits.MaxFuture > 0 && ts.After(now.Add(d.limits.MaxFuture))
}

func appendQuoted(dst []byte, s string) []byte {
	s = strings.NewReplacer("\\", "\\\\", "\"", "\\\"", "\n", " ").Replace(s)
	return append(append(append(dst, '"'), s...), '"')
}
