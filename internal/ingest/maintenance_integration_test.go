package ingest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/telemetry"
)

// Work announced on a machine's maintenance topic is stored in InfluxDB (measurement
// "maintenance"), through a real Mosquitto and a real InfluxDB: the history a later
// look at the alerts needs, which MQTT does not keep. A malformed announcement is
// counted as rejected and stores nothing.
func TestMaintenanceStoredIntegration(t *testing.T) {
	e := newEnv(t)
	r := start(t, e.config(t, "ingest-maint"))
	p := newPublisher(t, e.broker.URL, "pub-maint")
	m := telemetry.Machine{Site: "s1", Line: "l1", Machine: "pump-0001"}
	p.send(topics.Maintenance(m), []byte("not json"))
	p.send(topics.Maintenance(m), telemetry.EncodeMaintenance(nil, telemetry.Maintenance{TS: t0, Action: "bearing replaced", By: "WO-17"}))
	var got [][]any
	waitFor(t, "the maintenance point", 30*time.Second, func() bool {
		got = maintenanceRows(t, e.influx.URL)
		return len(got) > 0
	})
	// Columns: time, then as selected: action, done_by, line, machine, site.
	if len(got) != 1 || got[0][0] != t0.Format(time.RFC3339) || got[0][1] != "bearing replaced" || got[0][2] != "WO-17" || got[0][4] != "pump-0001" {
		t.Fatalf("maintenance rows %v, want one at %s: bearing replaced, WO-17, pump-0001", got, t0.Format(time.RFC3339))
	}
	if st := r.svc.Stats(); st.Rejected != 1 {
		t.Fatalf("rejected %d, want the malformed announcement counted", st.Rejected)
	}
}

// maintenanceRows reads measurement maintenance through InfluxDB's query API.
func maintenanceRows(t *testing.T, influxURL string) [][]any {
	t.Helper()
	q := url.Values{"db": {"factory"}, "q": {"SELECT action, done_by, line, machine, site FROM maintenance"}}
	resp, err := http.Get(strings.TrimRight(influxURL, "/") + "/query?" + q.Encode())
	if err != nil {
		t.Logf("query: %v", err)
		return nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out struct {
		Results []struct {
			Series []struct {
				Values [][]any `json:"values"`
			} `json:"series"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &out); err != nil || len(out.Results) == 0 || len(out.Results[0].Series) == 0 {
		return nil
	}
	return out.Results[0].Series[0].Values
}
