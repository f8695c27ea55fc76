package telemetry

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Sparkplug B rejection reasons, in addition to Reasons (oversize, empty, not_finite,
// bad_timestamp, invalid_name, too_many_items and bad_topic apply to Sparkplug too).
const (
	ReasonSPBadProtobuf     Reason = "bad_protobuf"      // not a Sparkplug B protobuf payload
	ReasonSPUnknownDatatype Reason = "unknown_datatype"  // datatype outside the spec's enum, or none known
	ReasonSPUnsupportedType Reason = "unsupported_type"  // string, text, bytes, dataset, template, ... (skipped)
	ReasonSPUnknownAlias    Reason = "unknown_alias"     // DATA names an alias (or metric) its BIRTH did not define
	ReasonSPDuplicateAlias  Reason = "duplicate_alias"   // a BIRTH gives one alias to two metrics (both unusable)
	ReasonSPBeforeBirth     Reason = "data_before_birth" // DATA/DEATH from a node or device with no current BIRTH
	ReasonSPSeqGap          Reason = "seq_gap"           // seq is not the previous one + 1 (mod 256)
	ReasonSPNull            Reason = "null_value"        // is_null set: the metric has no value now
	ReasonSPStaleDeath      Reason = "stale_death"       // NDEATH whose bdSeq is not the current session's
)

// SparkplugReasons lists the Sparkplug-only reasons, for pre-registering metric labels.
var SparkplugReasons = []Reason{ReasonSPBadProtobuf, ReasonSPUnknownDatatype, ReasonSPUnsupportedType,
	ReasonSPUnknownAlias, ReasonSPDuplicateAlias, ReasonSPBeforeBirth, ReasonSPSeqGap, ReasonSPNull, ReasonSPStaleDeath}

// SparkplugConfig configures a SparkplugDecoder.
type SparkplugConfig struct {
	Mapping SparkplugMapping
	// RebirthInterval is the least time between two rebirth requests to one edge node:
	// a node that keeps sending unknown aliases must not be flooded with NCMDs.
	RebirthInterval time.Duration
	// MaxNodes bounds the edge nodes with session state (a cardinality guard); devices
	// per node are bounded by the same number.
	MaxNodes int
}

// DefaultSparkplugConfig: default mapping, one rebirth request per node per 10 s, 10,000 nodes.
func DefaultSparkplugConfig() SparkplugConfig {
	return SparkplugConfig{Mapping: DefaultSparkplugMapping(), RebirthInterval: 10 * time.Second, MaxNodes: 10000}
}

// Validate checks the ranges.
func (c SparkplugConfig) Validate() error {
	var errs []error
	if c.RebirthInterval < 100*time.Millisecond || c.RebirthInterval > time.Hour {
		errs = append(errs, fmt.Errorf("sparkplug rebirth interval %s: use 100ms..1h", c.RebirthInterval))
	}
	if c.MaxNodes < 1 || c.MaxNodes > 1_000_000 {
		errs = append(errs, fmt.Errorf("sparkplug max nodes %d: use 1..1000000", c.MaxNodes))
	}
	if _, err := ParseSparkplugMapping(c.Mapping.String()); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// MachineSample is one sample of one machine.
type MachineSample struct {
	Machine Machine
	Sample
}

// SparkplugResult is what one Sparkplug message meant. The slices are reused by the
// next Decode into the same result.
type SparkplugResult struct {
	Type     SparkplugType
	Samples  []MachineSample // values to store and score, grouped by timestamp
	Offline  []Machine       // machines whose node or device died (NDEATH, DDEATH)
	Rejected []Rejection     // values dropped (and seq gaps) while the rest was kept
	// Rebirth, when Topic is not empty, is an NCMD the caller should publish (QoS 0,
	// not retained): the decoder saw an unknown alias, a seq gap or DATA before BIRTH,
	// and the node's rate limit allows a request now.
	Rebirth SparkplugCommand

	values []Value // every value, in metric order
	owner  []int32 // the sample each value belongs to
	counts []int   // values per sample
	sorted []Value // values grouped by sample when there are several
	wire   SparkplugPayload
}

// SparkplugCommand is a message to publish.
type SparkplugCommand struct {
	Topic   string
	Payload []byte
}

func (r *SparkplugResult) reset() {
	clear(r.Samples) // drop references to old machine names
	r.Samples, r.Offline, r.Rejected = r.Samples[:0], r.Offline[:0], r.Rejected[:0]
	r.values, r.owner, r.counts = r.values[:0], r.owner[:0], r.counts[:0]
	r.Type, r.Rebirth = 0, SparkplugCommand{}
}

// SparkplugDecoder decodes Sparkplug B messages against the session state of every edge
// node: the alias tables of its BIRTH certificates, its seq and bdSeq. Safe for
// concurrent use; messages of one node must arrive in order (one subscription), as the
// spec requires of the broker.
type SparkplugDecoder struct {
	cfg   SparkplugConfig
	lim   Limits
	mu    sync.Mutex
	nodes map[spNodeKey]*spNode
}

type spNodeKey struct{ group, node string }

// spNode is one edge node's session.
type spNode struct {
	born        bool
	bdSeq       uint64
	hasBdSeq    bool
	nextSeq     uint64
	hasSeq      bool
	metrics     spTable
	devices     map[string]*spDevice
	lastRebirth time.Time
}

type spDevice struct {
	born    bool
	metrics spTable
}

// spTable is a BIRTH's metric definitions, by alias and by name.
type spTable struct {
	byAlias map[uint64]spDef
	byName  map[string]spDef
}

// spDef is what a BIRTH said about one metric. skip is set for metrics that are no
// measurement (control metrics, bdSeq, properties): DATA of them is dropped silently.
type spDef struct {
	sensor   string
	datatype SparkplugDataType
	skip     bool
	dup      bool // alias defined twice in the BIRTH: unusable
}

// NewSparkplugDecoder validates cfg.
func NewSparkplugDecoder(cfg SparkplugConfig, lim Limits) (*SparkplugDecoder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &SparkplugDecoder{cfg: cfg, lim: lim, nodes: map[spNodeKey]*spNode{}}, nil
}

// Decode decodes one message into res (reused). A non-nil error (*RejectError) means
// nothing in the message was usable; res.Rebirth may still hold a request to send.
func (d *SparkplugDecoder) Decode(res *SparkplugResult, topic string, payload []byte, now time.Time) error {
	res.reset()
	if len(payload) > d.lim.MaxPayload {
		return reject(ReasonOversize, "payload is %d bytes, limit %d", len(payload), d.lim.MaxPayload)
	}
	t, err := ParseSparkplugTopic(topic)
	if err != nil {
		return reject(ReasonBadTopic, "%v", err)
	}
	res.Type = t.Type
	if err := UnmarshalSparkplug(payload, &res.wire); err != nil {
		return reject(ReasonSPBadProtobuf, "%v", err)
	}
	if n := len(res.wire.Metrics); n > d.lim.MaxBatch {
		return reject(ReasonTooManyItems, "%d metrics, limit %d", n, d.lim.MaxBatch)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	nd, err := d.node(t)
	if err != nil {
		return err
	}
	switch t.Type {
	case SPNBirth:
		return d.nbirth(res, t, nd, now)
	case SPNDeath:
		return d.ndeath(res, t, nd)
	}
	// Every other message of a session carries the next seq.
	if !nd.born {
		d.rebirth(res, t, nd, now)
		return reject(ReasonSPBeforeBirth, "%s from edge node %s/%s before its NBIRTH", t.Type, t.Group, t.Node)
	}
	d.checkSeq(res, t, nd, now)
	switch t.Type {
	case SPDBirth:
		return d.dbirth(res, t, nd, now)
	case SPDDeath:
		return d.ddeath(res, t, nd)
	case SPNData:
		return d.data(res, t, nd, &nd.metrics, now)
	}
	dev := nd.devices[t.Device]
	if dev == nil || !dev.born {
		d.rebirth(res, t, nd, now)
		return reject(ReasonSPBeforeBirth, "DDATA from device %s/%s/%s before its DBIRTH", t.Group, t.Node, t.Device)
	}
	return d.data(res, t, nd, &dev.metrics, now)
}

// node returns the session of the topic's node, creating it within MaxNodes.
func (d *SparkplugDecoder) node(t SparkplugTopic) (*spNode, error) {
	k := spNodeKey{t.Group, t.Node}
	nd := d.nodes[k]
	if nd != nil {
		return nd, nil
	}
	if len(d.nodes) >= d.cfg.MaxNodes {
		return nil, reject(ReasonTooManyItems, "edge node %s/%s is new and %d nodes are tracked (raise the sparkplug node limit if this is real)", t.Group, t.Node, d.cfg.MaxNodes)
	}
	// The key's strings are cloned: they share the memory of a topic string that
	// would otherwise be kept alive for the life of the process.
	nd = &spNode{devices: map[string]*spDevice{}}
	d.nodes[spNodeKey{strings.Clone(t.Group), strings.Clone(t.Node)}] = nd
	return nd, nil
}

func (d *SparkplugDecoder) nbirth(res *SparkplugResult, t SparkplugTopic, nd *spNode, now time.Time) error {
	// A new session: every device must be born again in it.
	for _, dev := range nd.devices {
		dev.born = false
	}
	nd.born, nd.hasSeq = true, res.wire.HasSeq
	nd.nextSeq = (res.wire.Seq + 1) & 0xff
	nd.hasBdSeq = false
	for i := range res.wire.Metrics {
		if m := &res.wire.Metrics[i]; m.HasName && m.Name == "bdSeq" {
			nd.bdSeq, nd.hasBdSeq = m.Long, m.Kind == SPValueLong
		}
	}
	d.birth(res, &nd.metrics)
	return d.values(res, t, &nd.metrics, now)
}

func (d *SparkplugDecoder) dbirth(res *SparkplugResult, t SparkplugTopic, nd *spNode, now time.Time) error {
	dev := nd.devices[t.Device]
	if dev == nil {
		if len(nd.devices) >= d.cfg.MaxNodes {
			return reject(ReasonTooManyItems, "device %s is new and node %s/%s has %d devices", t.Device, t.Group, t.Node, d.cfg.MaxNodes)
		}
		dev = &spDevice{}
		nd.devices[strings.Clone(t.Device)] = dev
	}
	dev.born = true
	d.birth(res, &dev.metrics)
	return d.values(res, t, &dev.metrics, now)
}

// birth builds an alias table from a BIRTH certificate. Aliases given to two metrics
// are marked unusable: guessing which one DATA means would store values under the
// wrong sensor.
func (d *SparkplugDecoder) birth(res *SparkplugResult, tb *spTable) {
	tb.byAlias = make(map[uint64]spDef, len(res.wire.Metrics))
	tb.byName = make(map[string]spDef, len(res.wire.Metrics))
	for i := range res.wire.Metrics {
		m := &res.wire.Metrics[i]
		if !m.HasName {
			res.Rejected = append(res.Rejected, Rejection{Reason: ReasonEmpty, Detail: fmt.Sprintf("BIRTH metric %d has no name", i)})
			continue
		}
		def := spDef{datatype: m.Datatype, skip: controlMetric(m.Name)}
		if !def.skip {
			s, ok := SparkplugSensorName(m.Name)
			if !ok {
				res.Rejected = append(res.Rejected, Rejection{Reason: ReasonInvalidName, Sensor: truncate(m.Name), Detail: "metric name is empty or longer than 128 bytes"})
				def.skip = true
			}
			def.sensor = s
		}
		tb.byName[m.Name] = def
		if !m.HasAlias {
			continue
		}
		if prev, dup := tb.byAlias[m.Alias]; dup {
			if !prev.dup {
				res.Rejected = append(res.Rejected, Rejection{Reason: ReasonSPDuplicateAlias, Sensor: truncate(m.Name),
					Detail: fmt.Sprintf("alias %d is given to %q and %q; DATA by this alias is dropped until a BIRTH fixes it", m.Alias, prev.sensor, def.sensor)})
			}
			tb.byAlias[m.Alias] = spDef{dup: true}
			continue
		}
		tb.byAlias[m.Alias] = def
	}
}

// controlMetric reports metrics that are Sparkplug protocol, not measurements.
func controlMetric(name string) bool {
	return name == "bdSeq" || strings.HasPrefix(name, "Node Control/") || strings.HasPrefix(name, "Device Control/") ||
		strings.HasPrefix(name, "Properties/") || strings.HasPrefix(name, "Node Info/")
}

func (d *SparkplugDecoder) data(res *SparkplugResult, t SparkplugTopic, nd *spNode, tb *spTable, now time.Time) error {
	err := d.values(res, t, tb, now)
	for _, r := range res.Rejected {
		if r.Reason == ReasonSPUnknownAlias {
			d.rebirth(res, t, nd, now)
			break
		}
	}
	return err
}

// values turns the payload's metrics into samples of the topic's machine.
func (d *SparkplugDecoder) values(res *SparkplugResult, t SparkplugTopic, tb *spTable, now time.Time) error {
	w := &res.wire
	mach := d.cfg.Mapping.Map(t)
	birth := t.Type == SPNBirth || t.Type == SPDBirth
	for i := range w.Metrics {
		m := &w.Metrics[i]
		if birth && !m.HasName {
			continue // counted by birth
		}
		def, r, detail := tb.lookup(m)
		if r != "" {
			res.Rejected = append(res.Rejected, Rejection{Reason: r, Sensor: truncate(m.Name), Detail: detail})
			continue
		}
		if def.skip {
			continue
		}
		if m.IsNull {
			res.Rejected = append(res.Rejected, Rejection{Reason: ReasonSPNull, Sensor: def.sensor, Detail: "is_null is set"})
			continue
		}
		dt := def.datatype
		if m.HasDatatype {
			dt = m.Datatype
		}
		v, r, detail := m.value(dt)
		if r != "" {
			res.Rejected = append(res.Rejected, Rejection{Reason: r, Sensor: def.sensor, Detail: detail})
			continue
		}
		ts, err := d.metricTime(m, w, now)
		if err != nil {
			re := asReject(err)
			res.Rejected = append(res.Rejected, Rejection{Reason: re.Reason, Sensor: def.sensor, Detail: re.Detail})
			continue
		}
		res.add(mach, ts, Value{Sensor: def.sensor, V: v}, d.lim.MaxValues)
	}
	res.link()
	// A BIRTH was taken (its alias table stands) even when none of its values can be
	// stored: a node of string tags only is no error.
	if len(res.Samples) > 0 || birth {
		return nil
	}
	for _, r := range res.Rejected {
		if r.Reason != ReasonSPSeqGap {
			return &RejectError{Reason: r.Reason, Detail: "no valid value: " + r.Detail}
		}
	}
	if len(w.Metrics) == 0 {
		return reject(ReasonEmpty, "%s has no metrics", t.Type)
	}
	return nil // DATA of control metrics only: nothing to store, nothing wrong
}

func (tb *spTable) lookup(m *SparkplugMetric) (spDef, Reason, string) {
	if m.HasAlias && !m.HasName {
		def, ok := tb.byAlias[m.Alias]
		switch {
		case !ok:
			return spDef{}, ReasonSPUnknownAlias, fmt.Sprintf("alias %d was not defined by the BIRTH", m.Alias)
		case def.dup:
			return spDef{}, ReasonSPDuplicateAlias, fmt.Sprintf("alias %d was given to two metrics in the BIRTH", m.Alias)
		}
		return def, "", ""
	}
	if !m.HasName {
		return spDef{}, ReasonEmpty, "metric has neither name nor alias"
	}
	def, ok := tb.byName[m.Name]
	if !ok {
		return spDef{}, ReasonSPUnknownAlias, fmt.Sprintf("metric %q was not defined by the BIRTH", truncate(m.Name))
	}
	return def, "", ""
}

// metricTime is the metric's timestamp, else the payload's, else now (both optional in
// the spec), checked against the limits' window.
func (d *SparkplugDecoder) metricTime(m *SparkplugMetric, w *SparkplugPayload, now time.Time) (time.Time, error) {
	ms, ok := m.Timestamp, m.HasTimestamp
	if !ok {
		ms, ok = w.Timestamp, w.HasTimestamp
	}
	if !ok {
		return now.UTC(), nil
	}
	if ms > 1e15 {
		return time.Time{}, reject(ReasonBadTS, "timestamp %d is not Unix milliseconds", ms)
	}
	ts := time.UnixMilli(int64(ms)).UTC()
	if !d.lim.Earliest.IsZero() && ts.Before(d.lim.Earliest) {
		return time.Time{}, reject(ReasonBadTS, "timestamp %s is before %s", ts.Format(time.RFC3339), d.lim.Earliest.Format(time.RFC3339))
	}
	if d.lim.MaxFuture > 0 && ts.After(now.Add(d.lim.MaxFuture)) {
		return time.Time{}, reject(ReasonBadTS, "timestamp %s is more than %s in the future", ts.Format(time.RFC3339), d.lim.MaxFuture)
	}
	return ts, nil
}

// add appends a value to the sample of (machine, ts), creating it. Values go to one flat
// buffer with their sample's index; link then points each sample at its values, so a
// DATA costs no allocation once the result's buffers have grown.
func (r *SparkplugResult) add(m Machine, ts time.Time, v Value, maxValues int) {
	k := -1
	if n := len(r.Samples); n > 0 && r.Samples[n-1].Time.Equal(ts) && r.Samples[n-1].Machine == m {
		k = n - 1 // the common case: every metric of the message at one timestamp
	} else {
		for i := range r.Samples {
			if r.Samples[i].Time.Equal(ts) && r.Samples[i].Machine == m {
				k = i
				break
			}
		}
	}
	if k < 0 {
		r.Samples = append(r.Samples, MachineSample{Machine: m, Sample: Sample{Time: ts}})
		r.counts = append(r.counts, 0)
		k = len(r.Samples) - 1
	}
	if r.counts[k] >= maxValues {
		r.Rejected = append(r.Rejected, Rejection{Reason: ReasonTooManyItems, Sensor: v.Sensor, Detail: fmt.Sprintf("more than %d values at one timestamp", maxValues)})
		return
	}
	r.counts[k]++
	r.values = append(r.values, v)
	r.owner = append(r.owner, int32(k))
}

// link sets each sample's Values, in the order the metrics came.
func (r *SparkplugResult) link() {
	if len(r.Samples) == 1 {
		r.Samples[0].Values = r.values
		return
	}
	r.sorted = append(r.sorted[:0], r.values...)
	off := 0
	start := r.counts[:0:0]
	for _, c := range r.counts {
		start = append(start, off)
		off += c
	}
	for i, k := range r.owner {
		r.sorted[start[k]] = r.values[i]
		start[k]++
	}
	off = 0
	for i, c := range r.counts {
		r.Samples[i].Values = r.sorted[off : off+c : off+c]
		off += c
	}
}

func (d *SparkplugDecoder) ndeath(res *SparkplugResult, t SparkplugTopic, nd *spNode) error {
	if !nd.born {
		return reject(ReasonSPStaleDeath, "NDEATH of edge node %s/%s, which has no current session", t.Group, t.Node)
	}
	for i := range res.wire.Metrics {
		m := &res.wire.Metrics[i]
		// The will message was registered with the bdSeq of its own connection; an
		// NDEATH of an earlier connection, delivered late, must not end this session.
		if m.HasName && m.Name == "bdSeq" && nd.hasBdSeq && m.Kind == SPValueLong && m.Long != nd.bdSeq {
			return reject(ReasonSPStaleDeath, "NDEATH of edge node %s/%s has bdSeq %d, the current session's is %d", t.Group, t.Node, m.Long, nd.bdSeq)
		}
	}
	nd.born = false
	res.Offline = append(res.Offline, d.cfg.Mapping.Map(t))
	for name, dev := range nd.devices {
		if dev.born {
			dev.born = false
			res.Offline = append(res.Offline, d.cfg.Mapping.Map(SparkplugTopic{Group: t.Group, Node: t.Node, Device: name, Type: SPDDeath}))
		}
	}
	return nil
}

func (d *SparkplugDecoder) ddeath(res *SparkplugResult, t SparkplugTopic, nd *spNode) error {
	dev := nd.devices[t.Device]
	if dev == nil || !dev.born {
		return reject(ReasonSPStaleDeath, "DDEATH of device %s/%s/%s, which has no current BIRTH", t.Group, t.Node, t.Device)
	}
	dev.born = false
	res.Offline = append(res.Offline, d.cfg.Mapping.Map(t))
	return nil
}

// checkSeq follows the node's seq. A gap means messages were lost (or reordered): the
// message itself is still consistent and kept, the gap is counted, and a rebirth brings
// the node's state back to a known point. A message without seq is not checked.
func (d *SparkplugDecoder) checkSeq(res *SparkplugResult, t SparkplugTopic, nd *spNode, now time.Time) {
	if !res.wire.HasSeq {
		return
	}
	got := res.wire.Seq
	if nd.hasSeq && got != nd.nextSeq {
		res.Rejected = append(res.Rejected, Rejection{Reason: ReasonSPSeqGap,
			Detail: fmt.Sprintf("%s seq %d from edge node %s/%s, expected %d", t.Type, got, t.Group, t.Node, nd.nextSeq)})
		d.rebirth(res, t, nd, now)
	}
	nd.nextSeq, nd.hasSeq = (got+1)&0xff, true
}

// rebirth asks the node for new BIRTH certificates, at most once per RebirthInterval.
func (d *SparkplugDecoder) rebirth(res *SparkplugResult, t SparkplugTopic, nd *spNode, now time.Time) {
	if res.Rebirth.Topic != "" || !nd.lastRebirth.IsZero() && now.Sub(nd.lastRebirth) < d.cfg.RebirthInterval {
		return
	}
	nd.lastRebirth = now
	res.Rebirth = SparkplugCommand{Topic: SparkplugCommandTopic(t.Group, t.Node), Payload: RebirthPayload(now)}
}

// RebirthPayload is the NCMD body that asks an edge node to publish its BIRTH
// certificates again: the boolean metric "Node Control/Rebirth" set to true.
func RebirthPayload(now time.Time) []byte {
	ms := uint64(now.UnixMilli())
	p := SparkplugPayload{Timestamp: ms, HasTimestamp: true, Metrics: []SparkplugMetric{{
		Name: "Node Control/Rebirth", HasName: true, Timestamp: ms, HasTimestamp: true,
		Datatype: SPBoolean, HasDatatype: true, Kind: SPValueBool, Bool: true}}}
	return AppendSparkplug(nil, &p)
}

// Nodes reports how many edge nodes have session state.
func (d *SparkplugDecoder) Nodes() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.nodes)
}
