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
# The directory is tracked in git (for its .gitignore), so a checkout creates it 0755
# and umask does not apply: make it private explicitly. It is what keeps the secrets
# below from other users of this host.
chmod 0700 "$dir"

new_secret() {
  local f="$dir/$1"
  if [ ! -s "$f" ]; then
    head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' >"$f"
    echo "created $f"
  fi
  # Compose bind-mounts file secrets into containers that run as other uids (influxdb,
  # grafana 472, faultline 65532) and cannot change their owner or mode (no uid
  # remapping for bind mounts), so each file must be readable by those uids: 0644. On
  # the host only the owner can reach it, through the 0700 directory above.
  chmod 0644 "$f"
}

new_secret influx_token
new_secret influx_admin_password
new_secret grafana_admin_password
"$here/../mosquitto/gen-passwd.sh" "$dir"
# Check what the message below promises.
if [ "$(stat -c %a "$dir")" != 700 ]; then
  echo "could not make $dir private (mode $(stat -c %a "$dir"), want 700)" >&2
  exit 1
fi
echo "secrets ready in $dir (private to $(id -un): mode 700; keep it that way)"
