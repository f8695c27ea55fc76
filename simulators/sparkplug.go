package simulators

import (
	"context"
	"math"
	"sync/atomic"

	"github.com/faultline/faultline/internal/telemetry"
)

// SparkplugEdges publishes the plant as Sparkplug B edge nodes, one per production line:
// group = site, edge node = line, device = machine, so Faultline's default Sparkplug
// mapping gives back the very machines of the JSON contract. Each node sends its NBIRTH
// before its first data, each device a DBIRTH (names, aliases, datatype Double and its
// first sample's values), then DDATA by alias only with the node's seq. A rebirth
// request (NCMD "Node Control/Rebirth") makes the node and its devices send BIRTH
// certificates again with their next sample. The NDEATH is the MQTT will of each line's
// own connection (set up by the caller with DeathTopic and DeathPayload).
type SparkplugEdges struct {
	nodes   []*spEdge
	byLine  map[telemetry.Machine]*spEdge // key: site and line, machine ""
	ofMach  []*spEdge
	born    []bool   // per machine: DBIRTH sent in the node's current session
	aliases []uint64 // per machine: alias of its first sensor; the rest follow
	bdSeq   uint64
	metrics []telemetry.SparkplugMetric
}

type spEdge struct {
	site, line string
	pub        Publisher
	seq        uint64
	born       bool
	rebirth    atomic.Bool // set by HandleCommand from the MQTT client's goroutine
	machines   []int
}

// NewSparkplugEdges lays out the edge nodes of machines. bdSeq is the birth/death
// sequence number of this run's sessions (0..255).
func NewSparkplugEdges(machines []MachineInfo, bdSeq uint64) *SparkplugEdges {
	e := &SparkplugEdges{byLine: map[telemetry.Machine]*spEdge{}, bdSeq: bdSeq & 0xff,
		born: make([]bool, len(machines)), aliases: make([]uint64, len(machines))}
	next := map[*spEdge]uint64{}
	for i, m := range machines {
		k := telemetry.Machine{Site: m.Site, Line: m.Line}
		n := e.byLine[k]
		if n == nil {
			n = &spEdge{site: m.Site, line: m.Line}
			e.byLine[k] = n
			e.nodes = append(e.nodes, n)
			next[n] = 1
		}
		n.machines = append(n.machines, i)
		e.ofMach = append(e.ofMach, n)
		// Aliases are unique across an edge node and its devices, as the spec asks.
		e.aliases[i] = next[n]
		next[n] += uint64(len(m.Sensors))
	}
	return e
}

// Lines returns each edge node as a Machine with Site and Line set.
func (e *SparkplugEdges) Lines() []telemetry.Machine {
	out := make([]telemetry.Machine, len(e.nodes))
	for i, n := range e.nodes {
		out[i] = telemetry.Machine{Site: n.site, Line: n.line}
	}
	return out
}

// SetPublisher gives the line's edge node its own connection (whose will is the NDEATH).
func (e *SparkplugEdges) SetPublisher(line telemetry.Machine, pub Publisher) {
	if n := e.byLine[telemetry.Machine{Site: line.Site, Line: line.Line}]; n != nil {
		n.pub = pub
	}
}

// DeathTopic is the NDEATH topic of a line's edge node.
func (e *SparkplugEdges) DeathTopic(line telemetry.Machine) string {
	return telemetry.SparkplugNamespace + "/" + line.Site + "/NDEATH/" + line.Line
}

// CommandTopic is the NCMD topic a line's edge node subscribes to.
func (e *SparkplugEdges) CommandTopic(line telemetry.Machine) string {
	return telemetry.SparkplugCommandTopic(line.Site, line.Line)
}

// DeathPayload is the NDEATH body: the session's bdSeq.
func (e *SparkplugEdges) DeathPayload() []byte {
	p := telemetry.SparkplugPayload{Metrics: []telemetry.SparkplugMetric{e.bdSeqMetric()}}
	return telemetry.AppendSparkplug(nil, &p)
}

func (e *SparkplugEdges) bdSeqMetric() telemetry.SparkplugMetric {
	return telemetry.SparkplugMetric{Name: "bdSeq", HasName: true, Datatype: telemetry.SPUInt64, HasDatatype: true,
		Kind: telemetry.SPValueLong, Long: e.bdSeq}
}

// HandleCommand takes an NCMD of a line's node; "Node Control/Rebirth" = true makes
// the node send its BIRTH certificates again. Anything else is ignored.
func (e *SparkplugEdges) HandleCommand(line telemetry.Machine, payload []byte) {
	n := e.byLine[telemetry.Machine{Site: line.Site, Line: line.Line}]
	var p telemetry.SparkplugPayload
	if n == nil || telemetry.UnmarshalSparkplug(payload, &p) != nil {
		return
	}
	for _, m := range p.Metrics {
		if m.HasName && m.Name == "Node Control/Rebirth" && m.Kind == telemetry.SPValueBool && m.Bool {
			n.rebirth.Store(true)
		}
	}
}

// sparkplug publishes one sample of machine i, births first where needed.
func (s *mqttSink) sparkplug(ctx context.Context, i int, smp telemetry.Sample, sensors []string) {
	e := s.sp
	n := e.ofMach[i]
	pub := n.pub
	if pub == nil {
		pub = s.pub
	}
	ms := uint64(smp.Time.UnixMilli())
	if n.rebirth.Swap(false) || !n.born {
		p := telemetry.SparkplugPayload{Timestamp: ms, HasTimestamp: true, HasSeq: true, Metrics: []telemetry.SparkplugMetric{
			{Name: "Node Control/Rebirth", HasName: true, Datatype: telemetry.SPBoolean, HasDatatype: true, Kind: telemetry.SPValueBool},
			e.bdSeqMetric()}}
		s.publishVia(ctx, pub, telemetry.SparkplugNamespace+"/"+n.site+"/NBIRTH/"+n.line, func(dst []byte) []byte { return telemetry.AppendSparkplug(dst, &p) })
		n.born, n.seq = true, 1
		for _, k := range n.machines {
			e.born[k] = false
		}
	}
	birth := !e.born[i]
	e.metrics = e.metrics[:0]
	for j, v := range smp.Values {
		if math.IsNaN(v.V) || math.IsInf(v.V, 0) {
			continue // a dropout: not sent, as in JSON
		}
		m := telemetry.SparkplugMetric{Alias: e.aliases[i] + uint64(j), HasAlias: true, Kind: telemetry.SPValueDouble, Double: v.V}
		if birth {
			m.Name, m.HasName, m.Datatype, m.HasDatatype = sensors[j], true, telemetry.SPDouble, true
		}
		e.metrics = append(e.metrics, m)
	}
	kind := "/DDATA/"
	if birth {
		kind = "/DBIRTH/"
		e.born[i] = true
	}
	p := telemetry.SparkplugPayload{Timestamp: ms, HasTimestamp: true, Seq: n.seq, HasSeq: true, Metrics: e.metrics}
	n.seq = (n.seq + 1) & 0xff
	s.publishVia(ctx, pub, telemetry.SparkplugNamespace+"/"+n.site+kind+n.line+"/"+s.machines[i], func(dst []byte) []byte { return telemetry.AppendSparkplug(dst, &p) })
}
