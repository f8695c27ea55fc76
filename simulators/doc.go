// Package simulators is Faultline's simulated plant: pumps, motors and compressors whose
// sensors are physically coupled, that change operating regime over a shift, wear out,
// fail, get repaired, and report the ground truth of all of it.
//
// The physics (types.go, physics.go, regime.go, faults.go) is pure: no clock, no I/O,
// one math/rand/v2 PCG source per machine seeded from (seed, machine index), so a seed
// and a configuration always give the same numbers. Plant.Step advances every machine by
// one sample period and returns what each one emitted; Plant.Run paces the steps in real
// or accelerated time and writes them to an MQTT Publisher, per-machine CSV files and a
// truth JSON-lines file (run.go, csv.go). Replay (replay.go) publishes an existing CSV
// as telemetry.
//
// Machine ids are "{type}-{NNNN}" (pump-0001), so TypeOf recovers the type from the id.
// Sensors and units, per type (see docs/simulator.md for the coupling equations):
//
//	pump:       speed_rpm, flow_m3h, discharge_pressure_bar (gauge), motor_current_a,
//	            bearing_temp_c, vibration_rms_mm_s, ambient_temp_c
//	motor:      speed_rpm, load_pct, current_a, winding_temp_c, bearing_temp_c,
//	            vibration_rms_mm_s, vibration_kurtosis, ambient_temp_c
//	compressor: discharge_pressure_bar (gauge), discharge_temp_c, power_kw, flow_m3min,
//	            vibration_rms_mm_s, ambient_temp_c, production_pct, speed_rpm
//
// A life-ending fault (bearing_wear, overheating) drives the health index from 1 to 0
// exactly at its failure time; at that step the machine stops publishing telemetry
// (silence, as when a failed machine's drive trips) until maintenance after Downtime,
// when health returns to 1. Other faults lower health to no less than 0.7 and end with a
// repair, reported as a "maintenance" event without downtime.
package simulators
