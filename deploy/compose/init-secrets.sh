#!/usr/bin/env bash
# Creates the secrets docker-compose.yml mounts, in deploy/compose/secrets/ (git-ignored):
# the InfluxDB operator token and admin password, the Grafana admin password, and the
# broker's password file with one password per MQTT user (deploy/mosquitto/gen-passwd.sh).
# Existing files are kept; delete one and re-run to rotate it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir="$here/secrets"
umask 077
mkdir -p "$dir"

new_secret() {
  local f="$dir/$1"
  if [ ! -s "$f" ]; then
    head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' >"$f"
    echo "created $f"
  fi
  # Bind-mounted into containers running as other uids (influxdb, grafana 472,
  # faultline 65532); the directory stays private to you on the host.
  chmod 0644 "$f"
}

new_secret influx_token
new_secret influx_admin_password
new_secret grafana_admin_password
"$here/../mosquitto/gen-passwd.sh" "$dir"
echo "secrets ready in $dir (keep this directory private: chmod 700 is set)"
