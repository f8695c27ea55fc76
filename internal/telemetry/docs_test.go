package telemetry

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// docBlock is one fenced code block of docs/telemetry.md with the words of its info
// string ("json accept rejected=wrong_type" -> [json accept rejected=wrong_type]).
type docBlock struct {
	line int
	info []string
	body string
}

func (b docBlock) has(word string) bool { return slices.Contains(b.info, word) }

func (b docBlock) attr(key string) (string, bool) {
	for _, w := range b.info {
		if v, ok := strings.CutPrefix(w, key+"="); ok {
			return v, true
		}
	}
	return "", false
}

func readDocBlocks(t *testing.T) ([]docBlock, string) {
	t.Helper()
	raw, err := os.ReadFile("../../docs/telemetry.md")
	if err != nil {
		t.Fatalf("the contract's documentation is missing: %v", err)
	}
	var (
		blocks []docBlock
		cur    *docBlock
		body   strings.Builder
	)
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &docBlock{line: n, info: strings.Fields(strings.TrimPrefix(line, "```"))}
			body.Reset()
		case cur != nil && strings.HasPrefix(line, "```"):
			cur.body = body.String()
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			body.WriteString(line + "\n")
		}
	}
	if cur != nil {
		t.Fatalf("docs/telemetry.md:%d: unclosed code block", cur.line)
	}
	return blocks, string(raw)
}

// TestDocExamples keeps docs/telemetry.md honest: its examples are run through the
// decoders and the Go types.
func TestDocExamples(t *testing.T) {
	blocks, _ := readDocBlocks(t)
	counts := map[string]int{}
	for _, b := range blocks {
		at := "docs/telemetry.md:" + strconv.Itoa(b.line)
		payload := []byte(strings.TrimSpace(b.body))
		switch reason, isReject := b.attr("reject"); {
		case isReject:
			counts["reject"]++
			_, _, err := DecodeTelemetry(payload, DefaultLimits(), now)
			if got := ReasonOf(err); got != Reason(reason) {
				t.Errorf("%s: reason %q (%v), the doc says %q", at, got, err, reason)
			}
		case b.has("accept"):
			counts["accept"]++
			_, rej, err := DecodeTelemetry(payload, DefaultLimits(), now)
			want, _ := b.attr("rejected")
			if err != nil || rejReasons(rej) != want {
				t.Errorf("%s: err %v, rejected %q; the doc says accepted, rejected %q", at, err, rejReasons(rej), want)
			}
		case b.has("sensor"):
			counts["sensor"]++
			if _, err := DecodeSensor(payload, "temp_c", DefaultLimits(), now); err != nil {
				t.Errorf("%s: %v", at, err)
			}
		case b.has("alert"):
			counts["alert"]++
			var a Alert
			strictDecode(t, at, payload, &a)
			checkDocAlert(t, at, a)
		case b.has("truth"):
			counts["truth"]++
			var tr Truth
			strictDecode(t, at, payload, &tr)
			checkDocTruth(t, at, tr)
		case b.has("maintenance"):
			counts["maintenance"]++
			if m, err := DecodeMaintenance(payload); err != nil || m.TS.IsZero() || m.Action == "" {
				t.Errorf("%s: %+v, %v; want a full maintenance example", at, m, err)
			}
		case b.has("json"):
			if !json.Valid(payload) {
				t.Errorf("%s: invalid JSON", at)
			}
		}
	}
	for _, k := range []string{"reject", "accept", "sensor", "alert", "truth", "maintenance"} {
		if counts[k] == 0 {
			t.Errorf("docs/telemetry.md has no %q example; the checker lost track of the doc", k)
		}
	}
}

func TestDocListsEveryReason(t *testing.T) {
	_, doc := readDocBlocks(t)
	for _, r := range Reasons {
		if !strings.Contains(doc, "| `"+string(r)+"` |") {
			t.Errorf("docs/telemetry.md has no table row for reason %q", r)
		}
	}
}

func rejReasons(rej []Rejection) string {
	var s []string
	for _, r := range rej {
		s = append(s, string(r.Reason))
	}
	return strings.Join(s, ",")
}

func strictDecode(t *testing.T, at string, payload []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Errorf("%s: %v", at, err)
	}
}

func checkDocAlert(t *testing.T, at string, a Alert) {
	t.Helper()
	if err := a.MachineID().Validate(); err != nil {
		t.Errorf("%s: %v", at, err)
	}
	if !slices.Contains([]string{AlertAnomaly, AlertRUL}, a.Kind) ||
		!slices.Contains([]string{StateRaised, StateUpdated, StateCleared}, a.State) ||
		!slices.Contains([]string{SeverityWarning, SeverityCritical}, a.Severity) {
		t.Errorf("%s: kind %q, state %q, severity %q not in the contract", at, a.Kind, a.State, a.Severity)
	}
	if a.Cause != "" && (a.Kind != AlertAnomaly || a.State == StateCleared) {
		t.Errorf("%s: cause %q on a %s %s alert; only active anomaly alerts carry one", at, a.Cause, a.State, a.Kind)
	}
	if (a.State == StateUpdated) != (a.Reason != "") || a.Reason != "" && !slices.Contains([]string{ReasonEscalated, ReasonReminder, ReasonNewCause}, a.Reason) {
		t.Errorf("%s: state %q with reason %q: updates carry one of the contract's reasons, other states none", at, a.State, a.Reason)
	}
	if want := a.MachineID().Key() + "/" + a.Kind + "/" + strconv.FormatInt(a.StartedAt.UnixMilli(), 10); a.ID != want {
		t.Errorf("%s: id %q, want %q", at, a.ID, want)
	}
	if (a.Kind == AlertRUL) != (a.RUL != nil) || a.TS.IsZero() || a.StartedAt.After(a.TS) {
		t.Errorf("%s: rul/ts/started_at inconsistent", at)
	}
	sum := 0.0
	for _, c := range a.Top {
		sum += c.Share
	}
	if len(a.Top) > 0 && (sum < 0.999 || sum > 1.001) {
		t.Errorf("%s: top_sensors shares sum to %v, want 1", at, sum)
	}
}

func checkDocTruth(t *testing.T, at string, tr Truth) {
	t.Helper()
	kinds := []string{FaultBearingWear, FaultImbalance, FaultCavitation, FaultLeakage, FaultOverheating,
		FaultSensorStuck, FaultSensorDrift, FaultSensorSpikes, FaultDropout}
	for _, f := range tr.Faults {
		if !slices.Contains(kinds, f.Kind) || f.Onset.IsZero() {
			t.Errorf("%s: fault %+v not in the contract", at, f)
		}
	}
	if tr.Health < 0 || tr.Health > 1 || tr.TS.IsZero() {
		t.Errorf("%s: health %v, ts %v", at, tr.Health, tr.TS)
	}
}
