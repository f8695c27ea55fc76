package infer

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/faultline/faultline/internal/mqttclient"
	"github.com/faultline/faultline/internal/telemetry"
)

// Subscriber is what watch needs from the MQTT client.
type Subscriber interface {
	Subscribe(filter string, qos byte, h mqttclient.Handler)
	Connect(ctx context.Context) error
	Disconnect(quiesce time.Duration)
}

// Watch prints every alert under the topic tree until ctx ends: one readable line each,
// or the raw JSON payload when raw is set.
func Watch(ctx context.Context, cl Subscriber, topics telemetry.Topics, out io.Writer, raw bool) error {
	var mu sync.Mutex
	cl.Subscribe(topics.AlertsFilter(), 1, func(m mqttclient.Message) {
		line := FormatAlertLine(m.Payload(), raw)
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintln(out, line)
	})
	if err := cl.Connect(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	cl.Disconnect(250 * time.Millisecond)
	return nil
}

// FormatAlertLine renders one alert payload, e.g.
//
//	2026-01-01T00:00:10Z  plant/l1/pump-0003  raised   warning   score 2.40 / 1.00  [process]  top: bearing_temp 61%, vib_rms 30%
//
// A payload that is not an alert is shown as such rather than dropped.
func FormatAlertLine(payload []byte, raw bool) string {
	if raw {
		return strings.TrimSpace(string(payload))
	}
	var a telemetry.Alert
	if err := json.Unmarshal(payload, &a); err != nil {
		return fmt.Sprintf("(not an alert: %v) %.200s", err, payload)
	}
	sev := a.Severity
	if a.State == telemetry.StateCleared {
		sev = "-"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %s  %-8s %-9s ", a.TS.UTC().Format(time.RFC3339), a.MachineID().Key(), a.State, sev)
	if a.Reason == telemetry.ReasonMaintenance {
		// Work on the machine cleared it: no score to show; the message says what was done.
		b.WriteString(a.Message)
		return b.String()
	}
	if a.RUL != nil {
		fmt.Fprintf(&b, "rul %s / %s", num(*a.RUL), num(a.Threshold))
		if a.RULLo != nil && a.RULHi != nil {
			fmt.Fprintf(&b, "  band %s-%s", num(*a.RULLo), num(*a.RULHi))
		}
	} else {
		fmt.Fprintf(&b, "score %s / %s", num(a.Score), num(a.Threshold))
	}
	if f := a.FaultText(); f != "" {
		b.WriteString("  [")
		b.WriteString(f)
		b.WriteByte(']')
	}
	if len(a.Top) > 0 {
		b.WriteString("  top: ")
		b.WriteString(FormatTop(a.Top))
	}
	if a.Reason != "" {
		b.WriteString("  (")
		b.WriteString(a.ReasonText())
		b.WriteByte(')')
	}
	return b.String()
}
