#!/usr/bin/env bash
# Installs what deploy/'s tests use, from Debian, when missing: docker-compose (parses
# docker-compose.yml only; no Docker engine is needed or started), shellcheck, and
# mosquitto (mosquitto_passwd). kubectl/kustomize are used when present, not installed.
set -euo pipefail
need=()
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
command -v mosquitto_passwd >/dev/null 2>&1 || need+=(mosquitto)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "installing from Debian: ${need[*]}"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian's mosquitto package starts a system broker on 1883; tests never use it.
if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl stop mosquitto >/dev/null 2>&1 || true; fi
