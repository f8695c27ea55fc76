package telemetry

import (
	"strings"
	"time"
)

// Alert kinds.
const (
	AlertAnomaly = "anomaly"
	AlertRUL     = "rul"
)

// Alert states: an alert is raised once, updated when its severity changes, when
// another sensor takes the blame (a second fault) or as a reminder, and cleared once.
const (
	StateRaised  = "raised"
	StateUpdated = "updated"
	StateCleared = "cleared"
)

// Reasons of an updated or cleared alert (Alert.Reason).
const (
	ReasonEscalated = "escalated" // warning became critical
	ReasonReminder  = "reminder"
	ReasonNewCause  = "new_cause" // another sensor now drives the alert: likely a second fault
	// ReasonMaintenance clears an alert because work was done on the machine
	// (Maintenance), not because its scores calmed down.
	ReasonMaintenance = "maintenance"
)

// Announces reports whether the alert tells of a problem not reported before: a raise,
// or an update naming a new cause. Summaries count these; the others follow one up.
func (a Alert) Announces() bool {
	return a.State == StateRaised || a.State == StateUpdated && a.Reason == ReasonNewCause
}

// FaultText is the fault for people: "process", "sensor stuck" (with the issue) or ""
// when the alert carries none (clears, RUL alerts, daemons from before).
func (a Alert) FaultText() string {
	if a.Fault == FaultSensor && a.Issue != "" {
		return a.Fault + " " + a.Issue
	}
	return a.Fault
}

// ReasonText is the reason for people: "new cause: bearing_temp_c", "escalated", ""
// for none.
func (a Alert) ReasonText() string {
	t := strings.ReplaceAll(a.Reason, "_", " ")
	if a.Reason == ReasonNewCause && a.Cause != "" {
		// The new cause need not lead this window's ranking (a second fault under a
		// first whose residual is ten times larger): name it.
		t += ": " + a.Cause
	}
	return t
}

// Severities.
const (
	SeverityWarning  = "warning"
	SeverityCritical = "critical"
)

// Contribution is one sensor's share of an anomaly score.
type Contribution struct {
	Sensor string  `json:"sensor"`
	Share  float64 `json:"share"` // 0..1, shares of one alert sum to 1
}

// Alert is the payload on .../alerts (state changes) and, for the current state, on the
// retained .../alerts/state topic.
type Alert struct {
	ID           string         `json:"id"`
	Site         string         `json:"site"`
	Line         string         `json:"line"`
	Machine      string         `json:"machine"`
	Kind         string         `json:"kind"`
	State        string         `json:"state"`
	Reason       string         `json:"reason,omitempty"` // updated: escalated, reminder or new_cause; cleared: maintenance or none
	Severity     string         `json:"severity"`
	Score        float64        `json:"score"`
	Threshold    float64        `json:"threshold"`
	RUL          *float64       `json:"rul,omitempty"` // predicted remaining useful life, RUL alerts
	StartedAt    time.Time      `json:"started_at"`
	TS           time.Time      `json:"ts"`
	Model        string         `json:"model"`
	ModelVersion string         `json:"model_version"`
	Top          []Contribution `json:"top_sensors,omitempty"`
	// Cause is the sensor an active anomaly alert blames: the largest share when it was
	// raised, then each new cause (reason new_cause). top_sensors is this window's
	// ranking and may differ for a while.
	Cause string `json:"cause,omitempty"`
	// Fault (anomaly alerts) says what is likely broken: FaultSensor when the cause is
	// a faulty sensor itself (stuck, spiking, silent: Issue says which), FaultProcess
	// for the machine or process. The fix differs: a technician with a spare
	// transmitter, or maintenance on the machine.
	Fault   string `json:"fault,omitempty"`
	Issue   string `json:"sensor_issue,omitempty"`
	Message string `json:"message"`

	// RULLo and RULHi bound the predicted RUL (the model's band, 80% by default); a
	// RUL alert compares RULLo (then also in Score) with the horizon (Threshold).
	// Absent from alerts of models without a band.
	RULLo *float64 `json:"rul_lo,omitempty"`
	RULHi *float64 `json:"rul_hi,omitempty"`

	// Baseline (anomaly alerts) is the factor the score was divided by because the
	// machine's recent normal has moved above its training history (the model's
	// baseline); absent while it has not, and for models without one. An operator
	// reads it as "judged against a normal that moved this much".
	Baseline float64 `json:"baseline,omitempty"`
}

// Alert.Fault values.
const (
	FaultSensor  = "sensor"
	FaultProcess = "process"
)

// MachineID returns the machine the alert is about.
func (a Alert) MachineID() Machine { return Machine{Site: a.Site, Line: a.Line, Machine: a.Machine} }

// Fault kinds the simulator injects and reports in Truth.
const (
	FaultBearingWear  = "bearing_wear"
	FaultImbalance    = "imbalance"
	FaultCavitation   = "cavitation"
	FaultLeakage      = "leakage"
	FaultOverheating  = "overheating"
	FaultSensorStuck  = "sensor_stuck"
	FaultSensorDrift  = "sensor_drift"
	FaultSensorSpikes = "sensor_spikes"
	FaultDropout      = "sensor_dropout"
)

// Fault is one injected fault as the simulator knows it.
type Fault struct {
	Kind      string     `json:"kind"`
	Sensor    string     `json:"sensor,omitempty"` // sensor faults only
	Onset     time.Time  `json:"onset"`
	FailureAt *time.Time `json:"failure_at,omitempty"` // nil for faults that do not end the machine's life
}

// Truth is the simulator's ground truth for one machine at one instant, written as JSON
// lines and published on .../truth. Evaluation compares alerts against it.
type Truth struct {
	TS      time.Time `json:"ts"`
	Site    string    `json:"site"`
	Line    string    `json:"line"`
	Machine string    `json:"machine"`
	Type    string    `json:"type"`   // machine type, e.g. pump
	Health  float64   `json:"health"` // 1 new .. 0 failed
	// RULSeconds is the remaining useful life in simulated seconds; nil while no
	// life-ending fault is active.
	RULSeconds *float64 `json:"rul_s,omitempty"`
	Faults     []Fault  `json:"faults,omitempty"`
	Event      string   `json:"event,omitempty"` // "fault_onset", "failure", "maintenance", "" for periodic
}
