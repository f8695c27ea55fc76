package telemetry

import (
	"strings"
	"testing"
	"time"
)

func TestDecodeMaintenance(t *testing.T) {
	at := time.Date(2026, 3, 1, 14, 0, 0, 0, time.UTC)
	ok := []struct {
		name, in string
		want     Maintenance
	}{
		{"empty: work done now", ``, Maintenance{}},
		{"empty object", `{}`, Maintenance{}},
		{"full", `{"ts":"2026-03-01T15:00:00+01:00","action":"bearing replaced","by":"WO-1234","site":"x"}`,
			Maintenance{TS: at, Action: "bearing replaced", By: "WO-1234"}},
		{"null ts", `{"ts":null,"action":"oil change"}`, Maintenance{Action: "oil change"}},
	}
	for _, c := range ok {
		got, err := DecodeMaintenance([]byte(c.in))
		if err != nil || !got.TS.Equal(c.want.TS) || got.Action != c.want.Action || got.By != c.want.By {
			t.Errorf("%s: %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}
	bad := []struct {
		name, in string
		reason   Reason
	}{
		{"not json", `bearing replaced`, ReasonBadJSON},
		{"array", `[1]`, ReasonBadJSON},
		{"ts a number", `{"ts":1700000000}`, ReasonBadJSON},
		{"ts not a time", `{"ts":"yesterday"}`, ReasonBadTS},
		{"action too long", `{"action":"` + strings.Repeat("a", MaxMaintenanceText+1) + `"}`, ReasonBadJSON},
		{"oversize", `{"by":"` + strings.Repeat("b", MaxMaintenancePayload) + `"}`, ReasonOversize},
	}
	for _, c := range bad {
		_, err := DecodeMaintenance([]byte(c.in))
		if ReasonOf(err) != c.reason {
			t.Errorf("%s: %v, want reason %s", c.name, err, c.reason)
		}
	}
	b := EncodeMaintenance(nil, Maintenance{TS: at.In(time.FixedZone("CET", 3600)), Action: "overhaul"})
	if string(b) != `{"ts":"2026-03-01T14:00:00Z","action":"overhaul"}` {
		t.Errorf("encoded %s", b)
	}
	if b := EncodeMaintenance(nil, Maintenance{}); string(b) != `{}` {
		t.Errorf("encoded empty %s", b)
	}
}
