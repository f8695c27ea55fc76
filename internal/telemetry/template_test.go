package telemetry

import (
	"strings"
	"testing"
)

func TestParseTemplate(t *testing.T) {
	cases := []struct {
		tpl, topic string
		want       Machine
		sensor     string
		err        string
	}{
		{tpl: "plant/site/line/machine/data", topic: "plant/s1/l2/m3/data", want: Machine{Site: "s1", Line: "l2", Machine: "m3"}},
		{tpl: "+/site/line/machine/+", topic: "x/s/l/m/y", want: Machine{Site: "s", Line: "l", Machine: "m"}},
		{tpl: "+/machine/sensor", topic: "a/m9/temp", want: Machine{Machine: "m9"}, sensor: "temp"},
		{tpl: "plant/site/line/machine/data", topic: "other/s1/l2/m3/data", err: "template wants"},
		{tpl: "plant/site/line/machine/data", topic: "plant/s1/m3/data", err: "levels"},
		{tpl: "plant/site/line/machine/data", topic: "plant/s1/l 2/m3/data", err: "invalid name"},
		{tpl: "plant/site/line/machine/data", topic: "plant/s1/_l/m3/data", err: "reserved"},
		{tpl: "site/line", err: "needs a machine"},
		{tpl: "machine/machine", err: "twice"},
		{tpl: "machine/#", err: "not supported"},
		{tpl: "machine//x", err: "not supported"},
		{tpl: "a+b/machine", err: "wildcard"},
	}
	for _, tc := range cases {
		t.Run(tc.tpl+" "+tc.topic, func(t *testing.T) {
			tpl, err := ParseTemplate(tc.tpl)
			if err == nil && tc.topic != "" {
				var m Machine
				var s string
				m, s, err = tpl.Match(tc.topic)
				if err == nil && (m != tc.want || s != tc.sensor) {
					t.Fatalf("match = %+v %q, want %+v %q", m, s, tc.want, tc.sensor)
				}
			}
			if (err != nil) != (tc.err != "") || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err = %v, want one containing %q", err, tc.err)
			}
		})
	}
	tpl, _ := ParseTemplate("plant/site/line/machine/data")
	if tpl.Filter() != "plant/+/+/+/data" || tpl.PerSensor() || !tpl.Captures("line") || tpl.Captures("sensor") {
		t.Fatalf("filter %q, per-sensor %v", tpl.Filter(), tpl.PerSensor())
	}
	if tpl, err := ParseTemplate(""); tpl != nil || err != nil {
		t.Fatalf("empty template = %v, %v; want nil (the contract's tree)", tpl, err)
	}
}

// FuzzTemplate: whatever template parses has a filter the broker accepts, and a topic
// it matches is one that filter delivers, with every captured name valid and the
// topic rebuilt from the captures.
func FuzzTemplate(f *testing.F) {
	f.Fuzz(func(t *testing.T, template, topic string) {
		tpl, err := ParseTemplate(template)
		if err != nil || tpl == nil {
			return
		}
		if tpl.String() != template {
			t.Fatalf("template %q reads back as %q", template, tpl.String())
		}
		filter := tpl.Filter()
		for _, l := range strings.Split(filter, "/") {
			if l != "+" && strings.ContainsAny(l, "+#\x00") || l == "" {
				t.Fatalf("template %q derives filter %q, which a broker refuses", template, filter)
			}
		}
		m, sensor, err := tpl.Match(topic)
		if err != nil {
			return
		}
		if !filterMatches(filter, topic) {
			t.Fatalf("template %q matched %q, which its filter %q does not deliver", template, topic, filter)
		}
		if err := ValidateName(m.Machine); err != nil {
			t.Fatalf("machine of %q: %v", topic, err)
		}
		for _, n := range []string{m.Site, m.Line, sensor} {
			if n != "" {
				if err := ValidateName(n); err != nil {
					t.Fatalf("captured %q of %q: %v", n, topic, err)
				}
			}
		}
		if (sensor != "") != tpl.PerSensor() {
			t.Fatalf("template %q (per-sensor %v) gave sensor %q", template, tpl.PerSensor(), sensor)
		}
		// Rebuild: captured levels from the captures, + levels from the topic.
		parts := strings.Split(topic, "/")
		for i, l := range strings.Split(template, "/") {
			switch l {
			case "site":
				parts[i] = m.Site
			case "line":
				parts[i] = m.Line
			case "machine":
				parts[i] = m.Machine
			case "sensor":
				parts[i] = sensor
			case "+":
			default:
				parts[i] = l
			}
		}
		if back := strings.Join(parts, "/"); back != topic {
			t.Fatalf("template %q: %q rebuilds to %q", template, topic, back)
		}
	})
}

// filterMatches is MQTT's matching of a filter with + levels (no #), written out
// independently of Template.
func filterMatches(filter, topic string) bool {
	fl, tl := strings.Split(filter, "/"), strings.Split(topic, "/")
	if len(fl) != len(tl) {
		return false
	}
	for i := range fl {
		if fl[i] != "+" && fl[i] != tl[i] {
			return false
		}
	}
	return true
}
