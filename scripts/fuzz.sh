#!/usr/bin/env bash
# Runs every Fuzz* target in the module for the given time each (default 30s).
set -euo pipefail
t=${1:-30s}
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/func //' | sort -u); do
    echo "== $pkg $f ($t)"
    # A new input is minimized before it is kept, for up to 60 s by default, and execs
    # stop meanwhile; a minimization still running when the time is up ended the run
    # with "context deadline exceeded" and no failing input. Bound it.
    go test -run '^$' -fuzz "^$f\$" -fuzztime "$t" -fuzzminimizetime 3s "$pkg"
  done
done
