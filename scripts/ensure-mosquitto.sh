#!/usr/bin/env bash
# Installs Mosquitto from Debian when it is missing. Tests and the demo start their own
# broker processes; the packaged service is not needed and is not started.
set -euo pipefail
if command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ]; then
  exit 0
fi
echo "installing mosquitto from Debian (apt-get install -y mosquitto)"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq mosquitto >/dev/null
# Debian's package starts a system broker on 1883; we never use it, and it would
# only hold the port.
if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl stop mosquitto >/dev/null 2>&1 || true; fi
