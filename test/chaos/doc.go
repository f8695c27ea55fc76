// Package chaos is Faultline's fault, load, hostile-input and security suite: it runs the
// real bin programs (built by the test binary from this module) as subprocesses against
// real Mosquitto and InfluxDB processes, breaks things while telemetry flows (InfluxDB
// stopped, ingest SIGKILLed, the broker and the edge daemon restarted, a full spool, a
// slow database, hostile payloads) and checks afterwards that nothing was lost.
//
// The non-test files hold the harness shared with test/security: building the
// programs, running one as a killable subprocess with its log captured, scraping its
// /metrics and sampling its RSS from /proc.
//
//	go test ./test/chaos/                           # short fault run (~100 machines, ~50 s)
//	FAULTLINE_CHAOS=long go test -timeout 30m ./test/chaos/   # 1,000 machines x 8 sensors, 5 min
//
// See docs/security.md ("Verified by the suite") for the latest figures.
package chaos
