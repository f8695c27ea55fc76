package telemetry

import (
	"strings"
	"testing"
)

func TestDeadLetter(t *testing.T) {
	big := []byte(strings.Repeat("x", DeadLetterPayloadMax+10))
	dl, ok := NewDeadLetter("factory/s/l/m/telemetry", big, &RejectError{Reason: ReasonTooManySeries, Detail: "machine s/l/m is new"}, nil)
	if !ok || dl.Reason != ReasonTooManySeries || dl.Detail != "too_many_series: machine s/l/m is new" ||
		dl.Payload != strings.Repeat("x", DeadLetterPayloadMax)+"...(truncated)" || dl.Rejected != nil {
		t.Fatalf("whole-message dead letter = %+v", dl)
	}
	rej := []Rejection{{Reason: ReasonTooManyFields, Sensor: "s9", Detail: "sensor s9 is new"}}
	dl, ok = NewDeadLetter("factory/s/l/m/telemetry", []byte(`{"values":{"s9":1}}`), nil, rej)
	if !ok || dl.Reason != ReasonTooManyFields || len(dl.Rejected) != 1 || dl.Payload != `{"values":{"s9":1}}` {
		t.Fatalf("per-value dead letter = %+v", dl)
	}
	b, err := dl.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// The wire shape is what operators' tools read: keep the field names.
	want := `{"topic":"factory/s/l/m/telemetry","reason":"too_many_fields","detail":"some values rejected; the others were stored","rejected":[{"reason":"too_many_fields","sensor":"s9","detail":"sensor s9 is new"}],"payload":"{\"values\":{\"s9\":1}}"}`
	if string(b) != want {
		t.Fatalf("payload\n%s\nwant\n%s", b, want)
	}
	back, err := DecodeDeadLetter(b)
	if err != nil || back.Topic != dl.Topic || back.Reason != dl.Reason || back.Payload != dl.Payload || len(back.Rejected) != 1 {
		t.Fatalf("decode = %+v, %v", back, err)
	}
	if _, ok := NewDeadLetter("t", nil, nil, nil); ok {
		t.Fatal("a dead letter without a rejection")
	}
	for _, bad := range []string{`{`, `{"topic":"t"}`, `{"reason":"bad_json"}`} {
		if _, err := DecodeDeadLetter([]byte(bad)); err == nil {
			t.Errorf("DecodeDeadLetter(%s) accepted", bad)
		}
	}
}

// FuzzDeadLetter: any rejected message makes a dead letter that encodes, decodes
// back with its topic and reason, and carries a bounded payload.
func FuzzDeadLetter(f *testing.F) {
	f.Fuzz(func(t *testing.T, topic string, payload []byte, whole bool) {
		if topic == "" {
			return
		}
		lim := DefaultLimits()
		lim.MaxPayload = 4 << 10
		_, rej, err := DecodeTelemetry(payload, lim, fuzzNow)
		if !whole {
			err = nil
		}
		dl, ok := NewDeadLetter(topic, payload, err, rej)
		if !ok {
			if err != nil || len(rej) > 0 {
				t.Fatalf("no dead letter for err %v, %d rejections", err, len(rej))
			}
			return
		}
		if len(dl.Payload) > DeadLetterPayloadMax+len("...(truncated)") {
			t.Fatalf("dead letter carries %d payload bytes", len(dl.Payload))
		}
		b, err := dl.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeDeadLetter(b)
		if err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		if back.Reason != dl.Reason || len(back.Rejected) != len(dl.Rejected) {
			t.Fatalf("round trip %+v -> %+v", dl, back)
		}
	})
}
