#!/usr/bin/env bash
# Generates the broker's password file and one random password per Faultline user.
#
#   deploy/mosquitto/gen-passwd.sh OUTDIR [USER...]
#
# Writes OUTDIR/passwd (salted hashes, for Mosquitto's password_file) and
# OUTDIR/mqtt-USER.password (the plain password, for that service's
# FAULTLINE_MQTT_PASSWORD_FILE). Default users match deploy/mosquitto/acl.
# Existing password files are kept, so re-running adds users without rotating others;
# delete OUTDIR/mqtt-USER.password to rotate one.
# Passwords never appear on a command line: a plain "user:password" file is hashed in
# place with `mosquitto_passwd -U` (from Debian's mosquitto package, or the
# eclipse-mosquitto:2 image when FAULTLINE_MOSQUITTO_PASSWD_IMAGE is set and docker runs).
set -euo pipefail

usage() { echo "usage: $0 OUTDIR [USER...]" >&2; exit 2; }
[ $# -ge 1 ] || usage
outdir=$1
shift
users=("$@")
if [ ${#users[@]} -eq 0 ]; then
  users=(simulator ingest infer maintenance viewer evaluator)
fi

umask 077
mkdir -p "$outdir"

random_password() {
  # 32 bytes from the kernel CSPRNG, URL-safe base64 without padding.
  head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'
}

hash_in_place() {
  local file=$1
  if command -v mosquitto_passwd >/dev/null 2>&1; then
    mosquitto_passwd -U "$file"
  elif [ -n "${FAULTLINE_MOSQUITTO_PASSWD_IMAGE:-}" ]; then
    local dir
    dir=$(cd "$(dirname "$file")" && pwd)
    docker run --rm -v "$dir:/work" "$FAULTLINE_MOSQUITTO_PASSWD_IMAGE" \
      mosquitto_passwd -U "/work/$(basename "$file")"
  else
    echo "mosquitto_passwd not found: apt-get install mosquitto, or set FAULTLINE_MOSQUITTO_PASSWD_IMAGE=eclipse-mosquitto:2" >&2
    exit 1
  fi
}

plain="$outdir/passwd.plain"
: >"$plain"
trap 'rm -f "$plain"' EXIT
for u in "${users[@]}"; do
  case $u in
    *[!a-zA-Z0-9_-]*|"") echo "bad user name: $u" >&2; exit 2 ;;
  esac
  pwfile="$outdir/mqtt-$u.password"
  if [ ! -s "$pwfile" ]; then
    random_password >"$pwfile"
  fi
  printf '%s:%s\n' "$u" "$(cat "$pwfile")" >>"$plain"
done
hash_in_place "$plain"
mv "$plain" "$outdir/passwd"
# The broker (uid 1883 in eclipse-mosquitto) and the services (uid 65532) read these
# through bind mounts; the directory itself stays 0700 for the owner on the host.
chmod 0644 "$outdir/passwd" "$outdir"/mqtt-*.password
echo "wrote $outdir/passwd for: ${users[*]}"
