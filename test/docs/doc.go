// Package docs runs the documentation as a test: every shell command in the code
// blocks of README.md and docs/*.md is extracted (extract_test.go), run with the
// binaries `make build` produces, against a real Mosquitto and InfluxDB on free ports
// where it needs them, and its promised outcome is checked: exit status, the files,
// topics, status messages or HTTP endpoints the doc says appear (checks_test.go).
//
// A command the suite cannot run (a Docker engine, a Kubernetes cluster, root on a
// gateway, runs of minutes) is marked in the doc with an HTML comment before its block,
// which readers do not see rendered:
//
//	<!-- docs-test: skip REASON -->                     every command of the next block
//	<!-- docs-test: skip-command "PREFIX" REASON -->     its commands starting with PREFIX
//
// and is reported as a named skip with that reason. A command with neither a check nor
// a marker fails the suite, so a new command in the docs cannot go untested silently.
// Durations and paths are changed only where a check says so (rewrite), with the reason.
package docs
