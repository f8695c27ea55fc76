#!/usr/bin/env bash
# The long fault/load/hostile-input/security run (`make chaos`): the test/chaos suite at
# full size (1,000 machines x 8 sensors at 1 Hz for 5 minutes with InfluxDB stopped for
# 60 s, ingest SIGKILLed twice, Mosquitto and the edge daemon restarted; 50,000-machine
# cardinality attack), test/security, then every fuzz target for FUZZTIME each.
#
#   scripts/chaos.sh            # FUZZTIME defaults to 30s
#   FUZZTIME=5m scripts/chaos.sh
#
# The fault table and RSS figures are printed on stdout; copy the latest into
# docs/security.md ("Verified by the suite").
set -euo pipefail
cd "$(dirname "$0")/.."
export FAULTLINE_CHAOS=long FAULTLINE_REQUIRE_SERVERS=1
go test -count=1 -timeout 30m -v ./test/chaos/ ./test/security/
scripts/fuzz.sh "${FUZZTIME:-30s}"
