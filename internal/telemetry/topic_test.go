package telemetry

import (
	"errors"
	"strings"
	"testing"
)

var pump = Machine{Site: "plant1", Line: "line-a", Machine: "pump_07"}

func TestTopicBuilders(t *testing.T) {
	for _, root := range []string{"", "factory", "plant1/factory", "a/b/c"} {
		tp := MustTopics(root)
		r := root
		if r == "" {
			r = DefaultRoot
		}
		cases := []struct{ got, want string }{
			{tp.Root(), r},
			{tp.Telemetry(pump), r + "/plant1/line-a/pump_07/telemetry"},
			{tp.Sensor(pump, "temp.c"), r + "/plant1/line-a/pump_07/sensors/temp.c"},
			{tp.Alerts(pump), r + "/plant1/line-a/pump_07/alerts"},
			{tp.AlertState(pump), r + "/plant1/line-a/pump_07/alerts/state"},
			{tp.Truth(pump), r + "/plant1/line-a/pump_07/truth"},
			{tp.Status("ingest", "gw-1"), r + "/_status/ingest/gw-1"},
			{tp.DeadLetter("ingest"), r + "/_deadletter/ingest"},
			{tp.TelemetryFilter(), r + "/+/+/+/telemetry"},
			{tp.SensorFilter(), r + "/+/+/+/sensors/+"},
			{tp.AlertsFilter(), r + "/+/+/+/alerts"},
			{tp.TruthFilter(), r + "/+/+/+/truth"},
			{tp.Maintenance(pump), r + "/plant1/line-a/pump_07/maintenance"},
			{tp.MaintenanceFilter(), r + "/+/+/+/maintenance"},
		}
		for i, c := range cases {
			if c.got != c.want {
				t.Errorf("root %q case %d: got %q, want %q", root, i, c.got, c.want)
			}
		}
	}
}

func TestZeroTopicsUsesDefaultRoot(t *testing.T) {
	var tp Topics
	if got, want := tp.Telemetry(pump), "factory/plant1/line-a/pump_07/telemetry"; got != want {
		t.Fatalf("zero Topics: got %q, want %q", got, want)
	}
	if _, err := tp.Parse("factory/plant1/line-a/pump_07/telemetry"); err != nil {
		t.Fatalf("zero Topics Parse: %v", err)
	}
}

func TestNewTopics(t *testing.T) {
	cases := []struct {
		root string
		ok   bool
	}{
		{"", true},
		{"factory", true},
		{"plant1/factory", true},
		{"a/b/c/d", true},
		{"with space", true}, // MQTT allows it; the root is operator-chosen, not device input
		{"+", false},
		{"factory/#", false},
		{"fac+tory", false},
		{"/factory", false},
		{"factory/", false},
		{"a//b", false},
		{"$SYS", false},
		{"fact\x00ory", false},
	}
	for _, c := range cases {
		t.Run(c.root, func(t *testing.T) {
			tp, err := NewTopics(c.root)
			if (err == nil) != c.ok {
				t.Fatalf("NewTopics(%q) err = %v, want ok=%v", c.root, err, c.ok)
			}
			if c.ok && c.root != "" && tp.Root() != c.root {
				t.Fatalf("Root() = %q, want %q", tp.Root(), c.root)
			}
		})
	}
}

func TestMustTopicsPanicsOnBadRoot(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("MustTopics(\"#\") did not panic")
		}
	}()
	MustTopics("#")
}

func TestShared(t *testing.T) {
	tp := MustTopics("")
	got, err := Shared("ingest", tp.TelemetryFilter())
	if err != nil || got != "$share/ingest/factory/+/+/+/telemetry" {
		t.Fatalf("Shared = %q, %v", got, err)
	}
	for _, bad := range []string{"", "a/b", "+", "#", "_x", strings.Repeat("g", MaxNameLen+1)} {
		if _, err := Shared(bad, tp.TelemetryFilter()); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Shared(%q): err = %v, want ErrInvalidName", bad, err)
		}
	}
}

func TestValidateName(t *testing.T) {
	ok := []string{"a", "Z", "0", "pump_07", "line-a", "temp.c", "a_", strings.Repeat("x", MaxNameLen)}
	bad := []string{"", "_status", "$SYS", "a/b", "a+b", "a#", "a b", "a\x00", "ümlaut", "tab\t",
		"quote\"", strings.Repeat("x", MaxNameLen+1)}
	for _, s := range ok {
		if err := ValidateName(s); err != nil {
			t.Errorf("ValidateName(%q) = %v, want nil", s, err)
		}
	}
	for _, s := range bad {
		if err := ValidateName(s); !errors.Is(err, ErrInvalidName) {
			t.Errorf("ValidateName(%q) = %v, want ErrInvalidName", s, err)
		}
	}
}

func TestMachineValidateNamesTheLevel(t *testing.T) {
	err := Machine{Site: "s", Line: "bad line", Machine: "m"}.Validate()
	if !errors.Is(err, ErrInvalidName) || !strings.HasPrefix(err.Error(), "line:") {
		t.Fatalf("Validate = %v, want a line: ErrInvalidName", err)
	}
	if got := pump.Key(); got != "plant1/line-a/pump_07" {
		t.Fatalf("Key = %q", got)
	}
}

func TestParse(t *testing.T) {
	long := strings.Repeat("n", MaxNameLen)
	cases := []struct {
		name, root, topic string
		want              Topic // Kind 0 means: must fail
	}{
		{"telemetry", "", "factory/plant1/line-a/pump_07/telemetry", Topic{Kind: KindTelemetry, Machine: pump}},
		{"sensor", "", "factory/plant1/line-a/pump_07/sensors/temp.c", Topic{Kind: KindSensor, Machine: pump, Sensor: "temp.c"}},
		{"alerts", "", "factory/plant1/line-a/pump_07/alerts", Topic{Kind: KindAlerts, Machine: pump}},
		{"alert state", "", "factory/plant1/line-a/pump_07/alerts/state", Topic{Kind: KindAlertState, Machine: pump}},
		{"truth", "", "factory/plant1/line-a/pump_07/truth", Topic{Kind: KindTruth, Machine: pump}},
		{"maintenance", "", "factory/plant1/line-a/pump_07/maintenance", Topic{Kind: KindMaintenance, Machine: pump}},
		{"status", "", "factory/_status/ingest/gw-1", Topic{Kind: KindStatus, Service: "ingest", Name: "gw-1"}},
		{"deadletter", "", "factory/_deadletter/ingest", Topic{Kind: KindDeadLetter, Service: "ingest"}},
		{"multi-level root", "p1/factory", "p1/factory/plant1/line-a/pump_07/telemetry", Topic{Kind: KindTelemetry, Machine: pump}},
		{"multi-level root status", "p1/factory", "p1/factory/_status/infer/edge", Topic{Kind: KindStatus, Service: "infer", Name: "edge"}},
		{"longest names", "", "factory/" + long + "/" + long + "/" + long + "/sensors/" + long,
			Topic{Kind: KindSensor, Machine: Machine{long, long, long}, Sensor: long}},
		{"level named like a kind", "", "factory/telemetry/sensors/alerts/telemetry",
			Topic{Kind: KindTelemetry, Machine: Machine{"telemetry", "sensors", "alerts"}}},

		{"wrong root", "", "plant/plant1/line-a/pump_07/telemetry", Topic{}},
		{"root prefix only", "", "factoryX/plant1/line-a/pump_07/telemetry", Topic{}},
		{"root alone", "", "factory", Topic{}},
		{"root slash", "", "factory/", Topic{}},
		{"multi-level root missing level", "p1/factory", "factory/plant1/line-a/pump_07/telemetry", Topic{}},
		{"too few levels", "", "factory/plant1/line-a/telemetry", Topic{}},
		{"too many levels", "", "factory/plant1/line-a/pump_07/telemetry/x", Topic{}},
		{"sensor missing name", "", "factory/plant1/line-a/pump_07/sensors", Topic{}},
		{"sensor too deep", "", "factory/plant1/line-a/pump_07/sensors/a/b", Topic{}},
		{"alerts other sub", "", "factory/plant1/line-a/pump_07/alerts/other", Topic{}},
		{"unknown kind", "", "factory/plant1/line-a/pump_07/metrics", Topic{}},
		{"empty level", "", "factory/plant1//pump_07/telemetry", Topic{}},
		{"empty sensor", "", "factory/plant1/line-a/pump_07/sensors/", Topic{}},
		{"trailing slash", "", "factory/plant1/line-a/pump_07/telemetry/", Topic{}},
		{"plus wildcard", "", "factory/+/+/+/telemetry", Topic{}},
		{"hash wildcard", "", "factory/plant1/line-a/#", Topic{}},
		{"sensor wildcard", "", "factory/plant1/line-a/pump_07/sensors/+", Topic{}},
		{"space in name", "", "factory/plant 1/line-a/pump_07/telemetry", Topic{}},
		{"unicode name", "", "factory/plänt/line-a/pump_07/telemetry", Topic{}},
		{"reserved underscore site", "", "factory/_x/line-a/pump_07/telemetry", Topic{}},
		{"dollar site", "", "factory/$x/line-a/pump_07/telemetry", Topic{}},
		{"overlong name", "", "factory/" + long + "x/line-a/pump_07/telemetry", Topic{}},
		{"overlong topic", "", "factory/" + strings.Repeat("a/", 2000) + "telemetry", Topic{}},
		{"shared prefix", "", "$share/g/factory/plant1/line-a/pump_07/telemetry", Topic{}},
		{"status too few", "", "factory/_status/ingest", Topic{}},
		{"status too many", "", "factory/_status/ingest/gw-1/x", Topic{}},
		{"status bad instance", "", "factory/_status/ingest/gw 1", Topic{}},
		{"status empty instance", "", "factory/_status/ingest/", Topic{}},
		{"deadletter too many", "", "factory/_deadletter/ingest/x", Topic{}},
		{"deadletter missing", "", "factory/_deadletter", Topic{}},
		{"deadletter wildcard", "", "factory/_deadletter/+", Topic{}},
		{"empty topic", "", "", Topic{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := MustTopics(c.root).Parse(c.topic)
			if c.want.Kind == 0 {
				if !errors.Is(err, ErrTopic) {
					t.Fatalf("Parse(%q) = %+v, %v; want ErrTopic", c.topic, got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", c.topic, err)
			}
			if got != c.want {
				t.Fatalf("Parse(%q) = %+v, want %+v", c.topic, got, c.want)
			}
			if back := rebuild(MustTopics(c.root), got); back != c.topic {
				t.Fatalf("rebuilt %q, want %q", back, c.topic)
			}
		})
	}
}

// rebuild is the inverse of Parse, written with the builders only.
func rebuild(tp Topics, p Topic) string {
	switch p.Kind {
	case KindTelemetry:
		return tp.Telemetry(p.Machine)
	case KindSensor:
		return tp.Sensor(p.Machine, p.Sensor)
	case KindAlerts:
		return tp.Alerts(p.Machine)
	case KindAlertState:
		return tp.AlertState(p.Machine)
	case KindTruth:
		return tp.Truth(p.Machine)
	case KindMaintenance:
		return tp.Maintenance(p.Machine)
	case KindStatus:
		return tp.Status(p.Service, p.Name)
	case KindDeadLetter:
		return tp.DeadLetter(p.Service)
	}
	return ""
}

func TestKindString(t *testing.T) {
	want := map[Kind]string{KindTelemetry: "telemetry", KindSensor: "sensor", KindAlerts: "alerts",
		KindAlertState: "alert_state", KindTruth: "truth", KindStatus: "status", KindDeadLetter: "deadletter", KindMaintenance: "maintenance", 0: "unknown", 99: "unknown"}
	for k, s := range want {
		if k.String() != s {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), k.String(), s)
		}
	}
}
