package telemetry

import (
	"fmt"
	"strings"
)

// Template is the second topic grammar of the contract: a custom topic tree
// (--tag-template of ingest and `infer run`) whose levels map to a machine's tags.
// Each level of the template is one of: site, line, machine (captured as that tag),
// sensor (the topic carries one sensor's value, as the contract's per-sensor topics
// do), + (any value, ignored), or a literal that must match. Example:
// "plant/site/line/machine/data" reads plant/s1/l2/m3/data as site=s1 line=l2
// machine=m3 with a telemetry payload. It lives here, beside Topics, so that every
// service that reads telemetry reads the same topics.
type Template struct {
	levels []string
	sensor bool
}

// ParseTemplate parses a --tag-template value; "" returns nil (use the contract's tree).
func ParseTemplate(s string) (*Template, error) {
	if s == "" {
		return nil, nil
	}
	t := &Template{levels: strings.Split(s, "/")}
	seen := map[string]bool{}
	for _, l := range t.levels {
		switch l {
		case "site", "line", "machine", "sensor":
			if seen[l] {
				return nil, fmt.Errorf("--tag-template %q: %q appears twice", s, l)
			}
			seen[l] = true
		case "+":
		case "#", "":
			return nil, fmt.Errorf("--tag-template %q: empty levels and # are not supported; use + for a level to ignore", s)
		default:
			// A literal with a wildcard or NUL in it would make the derived filter
			// match topics the template then refuses (or be refused by the broker).
			if strings.ContainsAny(l, "+#\x00") {
				return nil, fmt.Errorf("--tag-template %q: level %q mixes a wildcard into a literal; use + alone for a level to ignore", s, l)
			}
		}
	}
	if !seen["machine"] {
		return nil, fmt.Errorf("--tag-template %q: needs a machine level", s)
	}
	t.sensor = seen["sensor"]
	return t, nil
}

// String is the template as given.
func (t *Template) String() string { return strings.Join(t.levels, "/") }

// PerSensor reports whether the template has a sensor level: its topics carry one
// sensor's value each (DecodeSensor), not a telemetry payload.
func (t *Template) PerSensor() bool { return t.sensor }

// Captures reports whether the template has the level (site, line, machine, sensor).
func (t *Template) Captures(level string) bool {
	for _, l := range t.levels {
		if l == level {
			return true
		}
	}
	return false
}

// Filter is the subscription filter of the template: its tag levels become +.
func (t *Template) Filter() string {
	out := make([]string, len(t.levels))
	for i, l := range t.levels {
		switch l {
		case "site", "line", "machine", "sensor":
			out[i] = "+"
		default:
			out[i] = l
		}
	}
	return strings.Join(out, "/")
}

// Match maps a topic to its machine and, for per-sensor templates, sensor name. Every
// captured level obeys ValidateName, as in the contract's own topics.
func (t *Template) Match(topic string) (m Machine, sensor string, err error) {
	parts := strings.Split(topic, "/")
	if len(parts) != len(t.levels) {
		return m, "", fmt.Errorf("topic %q has %d levels, template has %d", topic, len(parts), len(t.levels))
	}
	for i, l := range t.levels {
		p := parts[i]
		switch l {
		case "+":
			continue
		case "site", "line", "machine", "sensor":
			if err := ValidateName(p); err != nil {
				return m, "", fmt.Errorf("topic %q: %s: %w", topic, l, err)
			}
		}
		switch l {
		case "site":
			m.Site = p
		case "line":
			m.Line = p
		case "machine":
			m.Machine = p
		case "sensor":
			sensor = p
		default:
			if p != l {
				return m, "", fmt.Errorf("topic %q: level %d is %q, template wants %q", topic, i+1, p, l)
			}
		}
	}
	return m, sensor, nil
}
