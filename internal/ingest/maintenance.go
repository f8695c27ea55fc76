package ingest

import (
	"strconv"
	"time"

	"github.com/faultline/faultline/internal/telemetry"
)

// MaintenanceMeasurement holds the work done on machines, as a maintenance system or
// the simulator announces it on {root}/{site}/{line}/{machine}/maintenance: the edge
// daemon acts on a message and forgets it, and the history is where a later look (why
// did the alerts stop, which runs of a machine's history belong to one bearing)
// finds it. One point per message: tags site, line, machine; fields action and
// done_by, the payload's by (empty when not said; "by" is a keyword of InfluxQL and
// SQL, and would need quoting in every query); time = the message's ts, else its
// receive time. A message with its ts stored twice is one point.
const MaintenanceMeasurement = "maintenance"

// decodeMaintenance turns a maintenance message (telemetry.Maintenance) into one line.
func (d *decoder) decodeMaintenance(dst []byte, topic string, payload []byte, now time.Time) ([]byte, decoded) {
	var out decoded
	t, err := d.topics.Parse(topic)
	if err != nil || t.Kind != telemetry.KindMaintenance {
		out.err = rejectf(telemetry.ReasonBadTopic, "topic %q is not a maintenance topic", topic)
		return dst, out
	}
	m, err := telemetry.DecodeMaintenance(payload)
	if err != nil {
		out.err = err
		return dst, out
	}
	if m.TS.IsZero() {
		// Dated on arrival, as a bare per-sensor value: a redelivery is stored again,
		// later, and counted as such (decoded.stamped).
		m.TS, out.stamped = now, 1
	}
	if d.outsideWindow(m.TS, now) {
		out.err = rejectf(telemetry.ReasonBadTS, "maintenance ts %s outside the accepted window", m.TS.Format(time.RFC3339))
		return dst, out
	}
	dst = appendTags(append(dst, MaintenanceMeasurement...), [][2]string{{"line", t.Machine.Line}, {"machine", t.Machine.Machine}, {"site", t.Machine.Site}})
	dst = append(dst, " action="...)
	dst = appendQuoted(dst, m.Action)
	dst = append(dst, ",done_by="...)
	dst = appendQuoted(dst, m.By)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, m.TS.UnixNano(), 10)
	out.points, out.maxTS = 1, m.TS.UnixNano()
	return append(dst, '\n'), out
}
