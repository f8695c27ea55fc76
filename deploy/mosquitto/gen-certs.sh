#!/usr/bin/env bash
# Generates a private CA and a broker certificate for the TLS listener
# (deploy/mosquitto/mosquitto-tls.conf), with openssl.
#
#   deploy/mosquitto/gen-certs.sh OUTDIR DNS-NAME [DNS-NAME|IP...]
#
# Writes OUTDIR/ca.crt + ca.key (keep ca.key offline: whoever holds it can impersonate
# the broker), OUTDIR/server.crt + server.key (broker), valid FAULTLINE_CERT_DAYS days
# (default 825). Clients trust ca.crt via FAULTLINE_MQTT_CA_FILE and must connect with a
# name listed here (the URL host is checked against the certificate's SAN).
# An existing CA is reused, so re-running renews the server certificate only.
set -euo pipefail

[ $# -ge 2 ] || { echo "usage: $0 OUTDIR DNS-NAME [DNS-NAME|IP...]" >&2; exit 2; }
outdir=$1
shift
days=${FAULTLINE_CERT_DAYS:-825}
umask 077
mkdir -p "$outdir"

san=""
for n in "$@"; do
  if [[ $n =~ ^[0-9.]+$ || $n == *:* ]]; then
    san="${san:+$san,}IP:$n"
  else
    san="${san:+$san,}DNS:$n"
  fi
done

if [ ! -s "$outdir/ca.key" ]; then
  openssl req -x509 -newkey rsa:3072 -sha256 -nodes -days 3650 \
    -subj "/CN=Faultline broker CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$outdir/ca.key" -out "$outdir/ca.crt" 2>/dev/null
fi

ext="$outdir/server.ext"
trap 'rm -f "$ext" "$outdir/server.csr"' EXIT
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' "$san" >"$ext"
openssl req -newkey rsa:2048 -sha256 -nodes -subj "/CN=$1" \
  -keyout "$outdir/server.key" -out "$outdir/server.csr" 2>/dev/null
openssl x509 -req -sha256 -days "$days" -in "$outdir/server.csr" \
  -CA "$outdir/ca.crt" -CAkey "$outdir/ca.key" -CAcreateserial \
  -extfile "$ext" -out "$outdir/server.crt" 2>/dev/null
# The broker runs as uid 1883 (container) or mosquitto (Debian): let it read its key via
# group or ownership; here it is readable by the owner only, adjust with chown on install.
chmod 0644 "$outdir/ca.crt" "$outdir/server.crt"
chmod 0600 "$outdir/ca.key" "$outdir/server.key"
openssl verify -CAfile "$outdir/ca.crt" "$outdir/server.crt" >/dev/null
echo "wrote $outdir/ca.crt and $outdir/server.{crt,key} for $san"
