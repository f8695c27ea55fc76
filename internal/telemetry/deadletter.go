package telemetry

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Cardinality-guard reasons: a storing service (ingest) refuses new machines and new
// sensor names beyond its bounds, because each is a new series or column in the
// time-series index. They are part of the contract because they reach operators as
// metric labels and in dead letters.
const (
	// ReasonTooManySeries rejects a message from a new machine once the configured
	// number of distinct machines (--max-machines) is stored.
	ReasonTooManySeries Reason = "too_many_series"
	// ReasonTooManyFields rejects a value whose sensor name is new for its machine
	// when the machine already has --max-fields-per-machine sensors, or when
	// --max-fields sensor columns are stored in total.
	ReasonTooManyFields Reason = "too_many_fields"
)

// GuardReasons lists the cardinality-guard reasons, for pre-registering metric labels.
var GuardReasons = []Reason{ReasonTooManySeries, ReasonTooManyFields}

// DeadLetterPayloadMax is how much of a rejected payload a dead letter carries.
const DeadLetterPayloadMax = 1024

// DeadLetter is what a service republishes on Topics.DeadLetter(service) for a
// rejected message: the message's topic, why it was refused, and the start of its
// payload, so the publisher's owner can see what to fix without broker access.
type DeadLetter struct {
	Topic    string      `json:"topic"`
	Reason   Reason      `json:"reason"`
	Detail   string      `json:"detail"`
	Rejected []Rejection `json:"rejected,omitempty"` // values dropped from a message whose others were kept
	Payload  string      `json:"payload"`            // at most DeadLetterPayloadMax bytes, then "...(truncated)"
}

// NewDeadLetter describes a message rejected as a whole (err, a RejectError) or, with
// err nil, one whose rejected values were dropped and the others kept. ok is false
// when there is nothing to report.
func NewDeadLetter(topic string, payload []byte, err error, rejected []Rejection) (dl DeadLetter, ok bool) {
	dl = DeadLetter{Topic: topic, Payload: truncatePayload(payload, DeadLetterPayloadMax)}
	switch {
	case err != nil:
		dl.Reason, dl.Detail = ReasonOf(err), err.Error()
	case len(rejected) > 0:
		dl.Reason, dl.Detail, dl.Rejected = rejected[0].Reason, "some values rejected; the others were stored", rejected
	default:
		return dl, false
	}
	return dl, true
}

// Marshal encodes the dead letter as its JSON payload.
func (dl DeadLetter) Marshal() ([]byte, error) { return json.Marshal(dl) }

// DecodeDeadLetter reads a dead-letter payload; it needs the topic and the reason.
func DecodeDeadLetter(b []byte) (DeadLetter, error) {
	var dl DeadLetter
	if err := json.Unmarshal(b, &dl); err != nil {
		return dl, fmt.Errorf("dead letter: %w", err)
	}
	if dl.Topic == "" || dl.Reason == "" {
		return dl, errors.New("dead letter: no topic or reason")
	}
	return dl, nil
}

func truncatePayload(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "...(truncated)"
	}
	return string(b)
}
