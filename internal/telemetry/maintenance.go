package telemetry

import (
	"bytes"
	"encoding/json"
	"time"
	"unicode/utf8"
)

// Maintenance is work done on a machine (a repair, a part replaced, an overhaul), as a
// maintenance system, an operator's panel or the simulator publishes it on
// {root}/{site}/{line}/{machine}/maintenance. The edge daemon then starts the
// machine afresh: a machine whose bearing was replaced is no longer the worn one its
// windows, baseline and RUL history describe, and an alert open on it is resolved.
type Maintenance struct {
	// TS is when the work ended; zero means when the message arrives.
	TS time.Time `json:"ts,omitzero"`
	// Action says what was done, in the user's words ("bearing replaced").
	Action string `json:"action,omitempty"`
	// By names who did it (a person, a work order).
	By string `json:"by,omitempty"`
}

// Bounds of a maintenance message: it is a short record typed or sent by a system,
// and everything in it ends up in logs and alert payloads.
const (
	MaxMaintenancePayload = 4096
	MaxMaintenanceText    = 256
)

// DecodeMaintenance reads a maintenance message. An empty payload or {} is work done
// now with nothing said about it; anything else must be a JSON object with an RFC 3339
// ts (optional), and action and by as short strings. Unknown fields are ignored, so a
// maintenance system may send its own.
func DecodeMaintenance(b []byte) (Maintenance, error) {
	if len(b) > MaxMaintenancePayload {
		return Maintenance{}, reject(ReasonOversize, "maintenance message of %d bytes; at most %d", len(b), MaxMaintenancePayload)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return Maintenance{}, nil
	}
	var raw struct {
		TS     *string `json:"ts"`
		Action *string `json:"action"`
		By     *string `json:"by"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return Maintenance{}, reject(ReasonBadJSON, "maintenance message: %v; want {\"ts\":\"RFC 3339\",\"action\":\"...\",\"by\":\"...\"}", err)
	}
	var m Maintenance
	if raw.TS != nil {
		t, err := time.Parse(time.RFC3339Nano, *raw.TS)
		if err != nil {
			return Maintenance{}, reject(ReasonBadTS, "maintenance ts %q: want RFC 3339, e.g. 2026-03-01T14:00:00Z", truncate(*raw.TS))
		}
		m.TS = t.UTC()
	}
	for _, f := range []struct {
		name string
		src  *string
		dst  *string
	}{{"action", raw.Action, &m.Action}, {"by", raw.By, &m.By}} {
		if f.src == nil {
			continue
		}
		if len(*f.src) > MaxMaintenanceText || !utf8.ValidString(*f.src) {
			return Maintenance{}, reject(ReasonBadJSON, "maintenance %s: want valid UTF-8 of at most %d bytes", f.name, MaxMaintenanceText)
		}
		*f.dst = *f.src
	}
	return m, nil
}

// EncodeMaintenance appends m as the contract's JSON.
func EncodeMaintenance(dst []byte, m Maintenance) []byte {
	m.TS = m.TS.UTC()
	b, _ := json.Marshal(m) // a struct of strings and a time: cannot fail
	return append(dst, b...)
}
