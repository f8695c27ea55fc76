package telemetry

import (
	"errors"
	"fmt"
	"strings"
)

// DefaultRoot is the first level of every Faultline topic unless configured otherwise.
const DefaultRoot = "factory"

// MaxNameLen bounds site, line, machine and sensor names. Names become InfluxDB tag
// values and field keys; unbounded names are a cardinality and memory attack.
const MaxNameLen = 128

// Kind says what a topic carries.
type Kind int

// Topic kinds of the contract (see docs/telemetry.md).
const (
	KindTelemetry   Kind = iota + 1 // {root}/{site}/{line}/{machine}/telemetry
	KindSensor                      // {root}/{site}/{line}/{machine}/sensors/{sensor}
	KindAlerts                      // {root}/{site}/{line}/{machine}/alerts
	KindAlertState                  // {root}/{site}/{line}/{machine}/alerts/state
	KindTruth                       // {root}/{site}/{line}/{machine}/truth
	KindStatus                      // {root}/_status/{service}/{instance}
	KindDeadLetter                  // {root}/_deadletter/{service}
	KindMaintenance                 // {root}/{site}/{line}/{machine}/maintenance
)

func (k Kind) String() string {
	switch k {
	case KindTelemetry:
		return "telemetry"
	case KindSensor:
		return "sensor"
	case KindAlerts:
		return "alerts"
	case KindAlertState:
		return "alert_state"
	case KindTruth:
		return "truth"
	case KindStatus:
		return "status"
	case KindDeadLetter:
		return "deadletter"
	case KindMaintenance:
		return "maintenance"
	}
	return "unknown"
}

// Machine identifies one asset in the plant.
type Machine struct {
	Site    string `json:"site"`
	Line    string `json:"line"`
	Machine string `json:"machine"`
}

// Key is a stable, unique string for maps keyed by machine.
func (m Machine) Key() string { return m.Site + "/" + m.Line + "/" + m.Machine }

// Validate checks every level against the naming rules.
func (m Machine) Validate() error {
	for _, p := range [...]struct{ what, v string }{{"site", m.Site}, {"line", m.Line}, {"machine", m.Machine}} {
		if err := ValidateName(p.v); err != nil {
			return fmt.Errorf("%s: %w", p.what, err)
		}
	}
	return nil
}

// Topic is a parsed topic.
type Topic struct {
	Kind    Kind
	Machine Machine
	Sensor  string // KindSensor only
	Service string // KindStatus, KindDeadLetter
	Name    string // KindStatus: instance
}

// ErrInvalidName is wrapped by every name-rule violation.
var ErrInvalidName = errors.New("invalid name")

// ValidateName enforces the naming rule for topic levels and sensors: 1..MaxNameLen
// characters from [A-Za-z0-9_.-]. Narrower than MQTT allows on purpose: names are also
// InfluxDB tags/fields and file names, and wildcards or separators in them would be ambiguous.
func ValidateName(s string) error {
	if s == "" {
		return fmt.Errorf("%w: empty", ErrInvalidName)
	}
	if len(s) > MaxNameLen {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrInvalidName, len(s), MaxNameLen)
	}
	if s[0] == '_' || s[0] == '$' {
		return fmt.Errorf("%w: %q starts with a reserved character", ErrInvalidName, s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return fmt.Errorf("%w: %q has character %q (allowed: letters, digits, _ - .)", ErrInvalidName, s, c)
		}
	}
	return nil
}

// ValidateSensorName is ValidateName plus the one name InfluxDB keeps for itself: it
// refuses a field called "time" (the timestamp column), and with it the whole point.
func ValidateSensorName(s string) error {
	if err := ValidateName(s); err != nil {
		return err
	}
	if s == "time" {
		return fmt.Errorf("%w: %q is reserved (InfluxDB's timestamp column)", ErrInvalidName, s)
	}
	return nil
}

// Topics builds and parses the topic tree under one root. It is the only place in
// Faultline that joins or splits topic strings.
type Topics struct {
	root  string
	parts int // number of levels in root
}

// NewTopics returns the topic tree under root ("" means DefaultRoot). The root may have
// several levels ("plant1/factory") but no wildcards.
func NewTopics(root string) (Topics, error) {
	if root == "" {
		root = DefaultRoot
	}
	if strings.ContainsAny(root, "+#\x00") || strings.HasPrefix(root, "/") || strings.HasSuffix(root, "/") || strings.Contains(root, "//") || strings.HasPrefix(root, "$") {
		return Topics{}, fmt.Errorf("topic root %q: must be plain levels without wildcards, leading/trailing or empty levels, or $", root)
	}
	return Topics{root: root, parts: strings.Count(root, "/") + 1}, nil
}

// MustTopics is NewTopics for constant roots in tests and examples.
func MustTopics(root string) Topics {
	t, err := NewTopics(root)
	if err != nil {
		panic(err)
	}
	return t
}

// Root returns the configured root.
func (t Topics) Root() string { return t.r() }

func (t Topics) r() string {
	if t.root == "" {
		return DefaultRoot
	}
	return t.root
}

func (t Topics) machine(m Machine) string {
	return t.r() + "/" + m.Site + "/" + m.Line + "/" + m.Machine
}

// Telemetry is the topic of a machine's JSON telemetry.
func (t Topics) Telemetry(m Machine) string { return t.machine(m) + "/telemetry" }

// Sensor is the topic of one sensor's bare values.
func (t Topics) Sensor(m Machine, sensor string) string {
	return t.machine(m) + "/sensors/" + sensor
}

// Alerts is the topic where alert state changes are published.
func (t Topics) Alerts(m Machine) string { return t.machine(m) + "/alerts" }

// AlertState is the retained topic holding a machine's current alert state.
func (t Topics) AlertState(m Machine) string { return t.machine(m) + "/alerts/state" }

// Truth is the topic where the simulator publishes ground truth.
func (t Topics) Truth(m Machine) string { return t.machine(m) + "/truth" }

// Status is the retained online/offline topic of a service instance.
func (t Topics) Status(service, instance string) string {
	return t.r() + "/_status/" + service + "/" + instance
}

// DeadLetter is where a service republishes rejected messages with their reason.
func (t Topics) DeadLetter(service string) string { return t.r() + "/_deadletter/" + service }

// TelemetryFilter subscribes to every machine's telemetry.
func (t Topics) TelemetryFilter() string { return t.r() + "/+/+/+/telemetry" }

// SensorFilter subscribes to every per-sensor topic.
func (t Topics) SensorFilter() string { return t.r() + "/+/+/+/sensors/+" }

// AlertsFilter subscribes to every machine's alerts.
func (t Topics) AlertsFilter() string { return t.r() + "/+/+/+/alerts" }

// AlertStateFilter subscribes to every machine's retained alert state.
func (t Topics) AlertStateFilter() string { return t.r() + "/+/+/+/alerts/state" }

// TruthFilter subscribes to every machine's ground truth.
func (t Topics) TruthFilter() string { return t.r() + "/+/+/+/truth" }

// Maintenance is where work done on a machine is announced (Maintenance).
func (t Topics) Maintenance(m Machine) string { return t.machine(m) + "/maintenance" }

// MaintenanceFilter subscribes to every machine's maintenance messages.
func (t Topics) MaintenanceFilter() string { return t.r() + "/+/+/+/maintenance" }

// Shared turns a filter into an MQTT shared subscription for group, so several
// replicas split the messages between them.
func Shared(group, filter string) (string, error) {
	if err := ValidateName(group); err != nil {
		return "", fmt.Errorf("shared subscription group: %w", err)
	}
	return "$share/" + group + "/" + filter, nil
}

// ErrTopic is wrapped by every topic parse failure.
var ErrTopic = errors.New("invalid topic")

// Parse splits a topic of this tree into its parts.
func (t Topics) Parse(topic string) (Topic, error) {
	root := t.r()
	if len(topic) > 4*MaxNameLen+len(root)+32 {
		return Topic{}, fmt.Errorf("%w: %d bytes is too long", ErrTopic, len(topic))
	}
	if !strings.HasPrefix(topic, root+"/") {
		return Topic{}, fmt.Errorf("%w: %q is not under root %q", ErrTopic, topic, root)
	}
	rest := strings.Split(topic[len(root)+1:], "/")
	if rest[0] == "_status" || rest[0] == "_deadletter" {
		return parseService(rest, topic)
	}
	if len(rest) < 4 {
		return Topic{}, fmt.Errorf("%w: %q has too few levels", ErrTopic, topic)
	}
	m := Machine{Site: rest[0], Line: rest[1], Machine: rest[2]}
	if err := m.Validate(); err != nil {
		return Topic{}, fmt.Errorf("%w: %q: %w", ErrTopic, topic, err)
	}
	out := Topic{Machine: m}
	switch {
	case len(rest) == 4 && rest[3] == "telemetry":
		out.Kind = KindTelemetry
	case len(rest) == 4 && rest[3] == "alerts":
		out.Kind = KindAlerts
	case len(rest) == 4 && rest[3] == "truth":
		out.Kind = KindTruth
	case len(rest) == 4 && rest[3] == "maintenance":
		out.Kind = KindMaintenance
	case len(rest) == 5 && rest[3] == "alerts" && rest[4] == "state":
		out.Kind = KindAlertState
	case len(rest) == 5 && rest[3] == "sensors":
		if err := ValidateName(rest[4]); err != nil {
			return Topic{}, fmt.Errorf("%w: %q: sensor: %w", ErrTopic, topic, err)
		}
		out.Kind, out.Sensor = KindSensor, rest[4]
	default:
		return Topic{}, fmt.Errorf("%w: %q is not a Faultline topic", ErrTopic, topic)
	}
	return out, nil
}

func parseService(rest []string, topic string) (Topic, error) {
	want := map[string]int{"_status": 3, "_deadletter": 2}[rest[0]]
	if len(rest) != want {
		return Topic{}, fmt.Errorf("%w: %q has %d levels after the root, want %d", ErrTopic, topic, len(rest), want)
	}
	for _, s := range rest[1:] {
		if err := ValidateName(s); err != nil {
			return Topic{}, fmt.Errorf("%w: %q: %w", ErrTopic, topic, err)
		}
	}
	if rest[0] == "_status" {
		return Topic{Kind: KindStatus, Service: rest[1], Name: rest[2]}, nil
	}
	return Topic{Kind: KindDeadLetter, Service: rest[1]}, nil
}
