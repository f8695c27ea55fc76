package simulators

import "github.com/faultline/faultline/internal/telemetry"

// Announced says whether the truth record t is work the simulator announces on the
// machine's .../maintenance topic, as a maintenance system would: a maintenance event
// (a repair, or the replacement after a failure) that leaves no fault active. A
// repaired imbalance on a machine whose bearing goes on wearing does not make it new,
// and announcing it would reset the RUL history of that wear. Run publishes exactly
// these; the plant benchmark (eval sim) feeds the same ones to its offline scoring.
func Announced(t telemetry.Truth) bool {
	return t.Event == EventMaintenance && len(t.Faults) == 0
}
