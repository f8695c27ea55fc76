package telemetry

import (
	"fmt"
	"strings"
)

// SparkplugNamespace is the first topic level of Sparkplug B (Eclipse Sparkplug 3.0).
const SparkplugNamespace = "spBv1.0"

// SparkplugType is the message type level of a Sparkplug topic.
type SparkplugType uint8

// Sparkplug message types Faultline consumes (and NCMD, which it sends).
const (
	SPNBirth SparkplugType = iota + 1
	SPNData
	SPNDeath
	SPDBirth
	SPDData
	SPDDeath
	SPNCmd
)

var spTypeWords = [...]string{SPNBirth: "NBIRTH", SPNData: "NDATA", SPNDeath: "NDEATH",
	SPDBirth: "DBIRTH", SPDData: "DDATA", SPDDeath: "DDEATH", SPNCmd: "NCMD"}

func (t SparkplugType) String() string {
	if int(t) < len(spTypeWords) && t > 0 {
		return spTypeWords[t]
	}
	return "unknown"
}

// device reports whether the type is about a device (topic has a device level).
func (t SparkplugType) device() bool { return t == SPDBirth || t == SPDData || t == SPDDeath }

// SparkplugTopic is a parsed Sparkplug B topic:
// spBv1.0/{group}/{type}/{edge_node}[/{device}].
type SparkplugTopic struct {
	Group, Node, Device string
	Type                SparkplugType
}

// IsSparkplugTopic reports whether topic is in the Sparkplug B namespace, so a consumer
// subscribed to both trees knows which decoder a message goes to.
func IsSparkplugTopic(topic string) bool {
	return strings.HasPrefix(topic, SparkplugNamespace+"/")
}

// SparkplugFilters are the subscriptions for every group's BIRTH, DATA and DEATH
// messages (group "" means all groups). Commands (NCMD/DCMD, Faultline's own rebirth
// requests among them) and STATE are left out on purpose.
func SparkplugFilters(group string) []string {
	g := "+"
	if group != "" {
		g = group
	}
	p := SparkplugNamespace + "/" + g + "/"
	return []string{p + "NBIRTH/+", p + "NDATA/+", p + "NDEATH/+", p + "DBIRTH/+/+", p + "DDATA/+/+", p + "DDEATH/+/+"}
}

// SparkplugCommandTopic is the NCMD topic of an edge node, where rebirth requests go.
func SparkplugCommandTopic(group, node string) string {
	return SparkplugNamespace + "/" + group + "/NCMD/" + node
}

// ParseSparkplugTopic splits a Sparkplug B topic. Group, node and device IDs must be
// valid Faultline names (ValidateName) since they become site, line and machine tags;
// the spec allows more (any UTF-8 but + / #), and such IDs are refused as bad_topic.
// It does not allocate: the parts share the topic's memory.
func ParseSparkplugTopic(topic string) (SparkplugTopic, error) {
	var parts [6]string
	n := 0
	rest := topic
	for n < len(parts) {
		i := strings.IndexByte(rest, '/')
		if i < 0 {
			parts[n] = rest
			n++
			rest = ""
			break
		}
		parts[n], rest = rest[:i], rest[i+1:]
		n++
	}
	if rest != "" || n == len(parts) {
		return SparkplugTopic{}, fmt.Errorf("%w: %q has too many levels for Sparkplug B", ErrTopic, truncate(topic))
	}
	if parts[0] != SparkplugNamespace {
		return SparkplugTopic{}, fmt.Errorf("%w: %q is not in the %s namespace", ErrTopic, truncate(topic), SparkplugNamespace)
	}
	if n < 4 {
		return SparkplugTopic{}, fmt.Errorf("%w: %q has too few levels (want %s/group/type/edge_node[/device])", ErrTopic, truncate(topic), SparkplugNamespace)
	}
	t := SparkplugTopic{Group: parts[1], Node: parts[3]}
	for k, w := range spTypeWords {
		if w != "" && w == parts[2] {
			t.Type = SparkplugType(k)
		}
	}
	if t.Type == 0 || t.Type == SPNCmd {
		return SparkplugTopic{}, fmt.Errorf("%w: %q: message type %q is not one Faultline consumes (NBIRTH NDATA NDEATH DBIRTH DDATA DDEATH)", ErrTopic, truncate(topic), truncate(parts[2]))
	}
	if want := 4 + b2i(t.Type.device()); n != want {
		return SparkplugTopic{}, fmt.Errorf("%w: %q: %s topics have %d levels, this one %d", ErrTopic, truncate(topic), t.Type, want, n)
	}
	if t.Type.device() {
		t.Device = parts[4]
	}
	for _, p := range [...]struct{ what, v string }{{"group", t.Group}, {"edge node", t.Node}, {"device", t.Device}} {
		if p.what == "device" && !t.Type.device() {
			continue
		}
		if err := ValidateName(p.v); err != nil {
			return SparkplugTopic{}, fmt.Errorf("%w: %q: %s: %w", ErrTopic, truncate(topic), p.what, err)
		}
	}
	return t, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// SparkplugMapping maps a Sparkplug topic to a Faultline machine. Each of site, line
// and machine comes from "group", "node" or "device", or is a fixed name. A source
// "device" on a node's own message (NBIRTH/NDATA, no device level) takes the node ID:
// a node's own metrics are the node as machine.
type SparkplugMapping struct {
	Site, Line, Machine string
}

// DefaultSparkplugMapping is group -> site, edge node -> line, device -> machine.
func DefaultSparkplugMapping() SparkplugMapping {
	return SparkplugMapping{Site: "group", Line: "node", Machine: "device"}
}

// String is the mapping in ParseSparkplugMapping's form.
func (m SparkplugMapping) String() string {
	return "site=" + m.Site + ",line=" + m.Line + ",machine=" + m.Machine
}

// ParseSparkplugMapping parses "site=group,line=node,machine=device" (any order; a level
// left out keeps its default). A value other than group, node or device is a fixed
// name, e.g. "site=plant1".
func ParseSparkplugMapping(s string) (SparkplugMapping, error) {
	m := DefaultSparkplugMapping()
	if strings.TrimSpace(s) == "" {
		return m, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return m, fmt.Errorf("sparkplug mapping %q: %q is not level=source (e.g. site=group,line=node,machine=device)", s, kv)
		}
		if err := ValidateName(v); err != nil {
			return m, fmt.Errorf("sparkplug mapping %q: %s: source must be group, node, device or a fixed name: %w", s, k, err)
		}
		switch k {
		case "site":
			m.Site = v
		case "line":
			m.Line = v
		case "machine":
			m.Machine = v
		default:
			return m, fmt.Errorf("sparkplug mapping %q: level %q: use site, line or machine", s, k)
		}
	}
	if m.Machine != "device" && m.Machine != "node" && m.Site != "device" && m.Line != "device" {
		// Every node would collapse into one machine: certainly a typo.
		return m, fmt.Errorf("sparkplug mapping %q: machine is the fixed name %q and no level takes the node or device; every edge node would be one machine", s, m.Machine)
	}
	return m, nil
}

// Map returns the machine a topic's metrics belong to.
func (m SparkplugMapping) Map(t SparkplugTopic) Machine {
	return Machine{Site: m.pick(m.Site, t), Line: m.pick(m.Line, t), Machine: m.pick(m.Machine, t)}
}

func (m SparkplugMapping) pick(src string, t SparkplugTopic) string {
	switch src {
	case "group":
		return t.Group
	case "node":
		return t.Node
	case "device":
		if t.Device == "" {
			return t.Node
		}
		return t.Device
	}
	return src
}

// SparkplugSensorName turns a metric name into a sensor name: '/' (the folder separator
// of Ignition tag paths) becomes '-', '.' and any other character outside
// [A-Za-z0-9_-] becomes '_' (byte by byte), and a name starting with '_' gets an "m" in
// front. So "Motor 1/Temp (C)" is stored as "Motor_1-Temp__C_". No '.' is left because
// a model's feature names use it to separate sensor and feature: a dotted sensor could
// be stored but never trained on. ok is false when nothing usable remains (empty or
// longer than MaxNameLen).
func SparkplugSensorName(name string) (string, bool) {
	if name == "" || len(name) > MaxNameLen {
		return "", false
	}
	if ValidateName(name) == nil && !strings.Contains(name, ".") {
		return name, true
	}
	b := []byte(name)
	for i, c := range b {
		switch {
		case c == '/':
			b[i] = '-'
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-':
		default:
			b[i] = '_'
		}
	}
	s := string(b)
	if s[0] == '_' || s[0] == '$' {
		s = "m" + s
	}
	if ValidateName(s) != nil {
		return "", false
	}
	return s, true
}
