package docs

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/servers"
	"github.com/faultline/faultline/internal/testenv"
)

// TestDeadLetterExampleIntegration compares docs/telemetry.md's dead-letter example
// with what `ingest --dead-letter` publishes for the example's own payload (internal/
// telemetry's doc test checks the decoder; this checks the message ingest builds).
func TestDeadLetterExampleIntegration(t *testing.T) {
	needBinaries(t)
	example := deadLetterExample(t)
	var doc struct {
		Topic   string `json:"topic"`
		Payload string `json:"payload"`
	}
	must(t, json.Unmarshal([]byte(example), &doc))
	broker, influx := testenv.Mosquitto(t, servers.MosquittoOptions{Extra: brokerConf}), testenv.Influx(t)
	w := newWorkspace(t, broker, influx)
	dl := w.watch("factory/_deadletter/ingest")
	ing := w.start("bin/ingest --dead-letter --spool-dir spool", nil)
	waitUntil(t, ing, "ingest ready", time.Minute, func() bool { return httpOK("http://" + ing.httpAddr + "/readyz") })
	// QoS 0 dead letters: publish until one arrives (the first may precede the
	// watcher's or ingest's subscription).
	waitUntil(t, ing, "a dead letter", time.Minute, func() bool {
		w.publish(doc.Topic, false, []byte(doc.Payload))
		time.Sleep(200 * time.Millisecond)
		return dl.any("/_deadletter/ingest")
	})
	var got, want any
	must(t, json.Unmarshal([]byte(dl.last("factory/_deadletter/ingest")), &got))
	must(t, json.Unmarshal([]byte(example), &want))
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		wn, _ := json.Marshal(want)
		t.Errorf("ingest sends\n%s\ndocs/telemetry.md shows\n%s", g, wn)
	}
	if err := ing.stop(t); err != nil {
		t.Fatalf("ingest stop: %v\n%s", err, ing.output())
	}
}

// deadLetterExample is the JSON block under "### Dead letters".
func deadLetterExample(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "docs/telemetry.md"))
	must(t, err)
	_, after, ok := strings.Cut(string(raw), "### Dead letters")
	if !ok {
		t.Fatal(`docs/telemetry.md has no "### Dead letters" section`)
	}
	_, block, ok := strings.Cut(after, "```json\n")
	body, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatal("no JSON block under Dead letters")
	}
	return body
}
