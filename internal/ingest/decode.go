package ingest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/faultline/faultline/internal/influxstore"
	"github.com/faultline/faultline/internal/telemetry"
)

// reasons are every label value of the rejection counter: the contract's payload and
// topic reasons, the cardinality guard's (cardinality.go) and Sparkplug's.
var reasons = append(append(append([]telemetry.Reason(nil), telemetry.Reasons...), telemetry.GuardReasons...), telemetry.SparkplugReasons...)

// decoded is what one message became.
type decoded struct {
	points, values int
	// stamped counts values stamped with the receive time (a per-sensor payload that
	// is a bare number): a redelivery of the message stores them again, later.
	stamped  int
	maxTS    int64 // unix nanoseconds of the newest point
	rejected []telemetry.Rejection
	err      error // whole message rejected
	rebirth  telemetry.SparkplugCommand
}

// decoder turns messages into line protocol. It is safe for concurrent use (one
// handler per MQTT connection); the cardinality set and the route cache are shared.
type decoder struct {
	topics telemetry.Topics
	tpl    *telemetry.Template
	limits telemetry.Limits

	guard  *guard
	routes routeCache
	sp     *telemetry.SparkplugDecoder // nil unless Config.Sparkplug
}

func newDecoder(c Config) *decoder {
	tpl, _ := telemetry.ParseTemplate(c.TagTemplate)
	d := &decoder{topics: c.Topics, tpl: tpl, limits: c.Limits, guard: newGuard(c)}
	if c.Sparkplug != nil {
		d.sp, _ = telemetry.NewSparkplugDecoder(*c.Sparkplug, c.Limits) // validated with the config
	}
	return d
}

func rejectf(r telemetry.Reason, format string, args ...any) error {
	return &telemetry.RejectError{Reason: r, Detail: fmt.Sprintf(format, args...)}
}

// route maps a topic to a machine and, for per-sensor topics, a sensor.
func (d *decoder) route(topic string) (telemetry.Machine, string, error) {
	if d.tpl != nil {
		m, s, err := d.tpl.Match(topic)
		if err != nil {
			return m, "", rejectf(telemetry.ReasonBadTopic, "%v", err)
		}
		return m, s, nil
	}
	t, err := d.topics.Parse(topic)
	if err != nil {
		return telemetry.Machine{}, "", rejectf(telemetry.ReasonBadTopic, "%v", err)
	}
	switch t.Kind {
	case telemetry.KindTelemetry:
		return t.Machine, "", nil
	case telemetry.KindSensor:
		return t.Machine, t.Sensor, nil
	}
	return t.Machine, "", rejectf(telemetry.ReasonBadTopic, "topic %q is %s, not telemetry", topic, t.Kind)
}

// decodeState is one handler's own state (handlers of different connections run
// concurrently): its fast payload decoder.
type decodeState struct {
	fd  telemetry.FastDecoder
	spr telemetry.SparkplugResult
}

type routed struct {
	sensor string
	tags   [3]influxstore.Tag
	fields *machineFields // the machine's admitted sensors
}

// routeCache remembers topics already routed and admitted, so a known machine costs one
// lock-free lookup instead of a topic parse and the guard's lock. It is shared by all
// handlers: a copy per connection cost 16 copies of every topic at 16 connections, a
// few MB of ingest's 50 MB budget (docs/ingest.md).
type routeCache struct {
	m sync.Map // topic string -> routed; written once per topic, then only read
	n atomic.Int64
}

// maxRoutes bounds the topic cache; it starts over when full.
const maxRoutes = 1 << 16

func (c *routeCache) get(topic string) (routed, bool) {
	v, ok := c.m.Load(topic)
	if !ok {
		return routed{}, false
	}
	return v.(routed), true
}

func (c *routeCache) remember(topic string, r routed) {
	if c.n.Load() >= maxRoutes {
		c.m.Clear()
		c.n.Store(0)
	}
	if _, loaded := c.m.LoadOrStore(topic, r); !loaded {
		c.n.Add(1)
	}
}

// decode appends the message's points to dst as line protocol.
func (d *decoder) decode(st *decodeState, dst []byte, topic string, payload []byte, now time.Time) ([]byte, decoded) {
	if d.sp != nil && telemetry.IsSparkplugTopic(topic) {
		return d.decodeSparkplug(st, dst, topic, payload, now)
	}
	if d.tpl == nil && strings.HasSuffix(topic, "/alerts") {
		return d.decodeAlert(dst, topic, payload, now)
	}
	if d.tpl == nil && strings.HasSuffix(topic, "/maintenance") && !strings.Contains(topic, "/sensors/") {
		// (A sensor named maintenance publishes on .../sensors/maintenance: a value.)
		return d.decodeMaintenance(dst, topic, payload, now)
	}
	var out decoded
	r, known := d.routes.get(topic)
	var m telemetry.Machine
	if !known {
		var err error
		if m, r.sensor, err = d.route(topic); err != nil {
			out.err = err
			return dst, out
		}
		r.tags = [3]influxstore.Tag{{Key: "line", Value: m.Line}, {Key: "machine", Value: m.Machine}, {Key: "site", Value: m.Site}}
	}
	var samples []telemetry.Sample
	var err error
	if r.sensor != "" {
		var s telemetry.Sample
		s, err = telemetry.DecodeSensor(payload, r.sensor, d.limits, now)
		samples = []telemetry.Sample{s}
		if p := bytes.TrimSpace(payload); err == nil && len(p) > 0 && p[0] != '{' {
			out.stamped = 1
		}
	} else {
		samples, out.rejected, err = st.fd.Decode(payload, d.limits, now)
	}
	if err == nil && !known {
		// Admitted machines stay admitted, so the machine guard runs once per topic.
		if r.fields, err = d.guard.machine(m); err == nil {
			d.routes.remember(topic, r)
		}
	}
	if err != nil {
		// A whole-message rejection names its first reason; the per-value list would
		// count the same fault twice.
		out.err, out.rejected = err, nil
		return dst, out
	}
	for _, s := range samples {
		// Sensors are columns: new names are admitted within the field bounds.
		if s.Values, out.rejected = d.guard.filter(r.fields, s.Values, out.rejected); len(s.Values) == 0 {
			out.stamped = 0
			continue
		}
		dst = influxstore.AppendLine(dst, influxstore.Measurement, r.tags[:], s.Values, s.Time)
		out.points++
		out.values += len(s.Values)
		out.maxTS = max(out.maxTS, s.Time.UnixNano())
	}
	return dst, out
}

// A spool record is a small header followed by line protocol, so the shipper can count
// and measure lag without parsing lines.
const recordHeader = 16

func putRecordHeader(b []byte, maxTS int64, points, values int) {
	binary.LittleEndian.PutUint64(b, uint64(maxTS))
	binary.LittleEndian.PutUint32(b[8:], uint32(points))
	binary.LittleEndian.PutUint32(b[12:], uint32(values))
}

func recordInfo(b []byte) (maxTS int64, points, values int, lines []byte, ok bool) {
	if len(b) < recordHeader {
		return 0, 0, 0, nil, false
	}
	return int64(binary.LittleEndian.Uint64(b)), int(binary.LittleEndian.Uint32(b[8:])),
		int(binary.LittleEndian.Uint32(b[12:])), b[recordHeader:], true
}
