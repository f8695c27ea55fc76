package infer

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/artifact/artifacttest"
	"github.com/faultline/faultline/internal/telemetry"
)

var (
	testSensors = []string{"bearing_temp", "vib_rms", "flow", "pressure"}
	testTopics  = telemetry.MustTopics("factory")
	t0          = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
)

const testWindow = 5

// writeModel saves an artifacttest model (net predicts 0, residual scale 1: a
// sensor's window mean is its residual) and returns its path.
func writeModel(t testing.TB, dir, name, match string) string {
	t.Helper()
	m := artifacttest.Anomaly(testSensors, testWindow)
	m.Name, m.Match = name, match
	p := filepath.Join(dir, name+".model")
	if err := m.Save(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func machineID(id string) telemetry.Machine {
	return telemetry.Machine{Site: "plant", Line: "l1", Machine: id}
}

// driftValue is the scenario every drift test shares: calm for 20 s, bearing_temp
// ramping to 5 over 10 s and staying there 15 s, then calm again for 25 s. The other
// sensors carry a small steady signal so the top sensor is the only one drifting.
func driftValue(sensor string, sec int, drifting bool) float64 {
	if !drifting {
		return 0.05
	}
	switch {
	case sensor != "bearing_temp":
		return 0.05
	case sec < 20:
		return 0.05
	case sec < 30:
		return 0.5 * float64(sec-19)
	case sec < 45:
		return 5
	}
	return 0.05
}

const driftSeconds = 70

func sampleAt(sec int, drifting bool) telemetry.Sample {
	s := telemetry.Sample{Time: t0.Add(time.Duration(sec) * time.Second)}
	for _, name := range testSensors {
		s.Values = append(s.Values, telemetry.Value{Sensor: name, V: driftValue(name, sec, drifting)})
	}
	return s
}

// collector gathers emitted alerts.
type collector struct {
	mu     sync.Mutex
	alerts []telemetry.Alert
}

func (c *collector) emit(a telemetry.Alert) {
	c.mu.Lock()
	c.alerts = append(c.alerts, a)
	c.mu.Unlock()
}

func (c *collector) get() []telemetry.Alert {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]telemetry.Alert(nil), c.alerts...)
}

func states(as []telemetry.Alert) string {
	var s []string
	for _, a := range as {
		s = append(s, a.Machine+":"+a.State)
	}
	return strings.Join(s, " ")
}

func newTestEngine(t testing.TB, c EngineConfig, col *collector) (*Engine, *Metrics) {
	t.Helper()
	if c.MaxMachines == 0 {
		c.MaxMachines = 100
	}
	c.Topics, c.Limits = testTopics, telemetry.DefaultLimits()
	c.Limits.MaxFuture = 0
	met := NewMetrics(nil)
	e, err := NewEngine(c, met, zerolog.Nop(), col.emit, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e, met
}

func writeCSV(t testing.TB, path string, rows func(w func(string))) {
	t.Helper()
	var b strings.Builder
	rows(func(line string) { b.WriteString(line); b.WriteByte('\n') })
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// driftCSV writes the drift scenario for one machine as ts,sensors....
func driftCSV(t testing.TB, path string) {
	writeCSV(t, path, func(w func(string)) {
		w("ts," + strings.Join(testSensors, ","))
		for sec := 0; sec < driftSeconds; sec++ {
			s := sampleAt(sec, true)
			line := s.Time.Format(time.RFC3339)
			for _, v := range s.Values {
				line += fmt.Sprintf(",%g", v.V)
			}
			w(line)
		}
	})
}

// value reads a counter or gauge.
func value(c prometheus.Metric) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}
