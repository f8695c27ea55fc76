#!/usr/bin/env bash
# Fetches a model file, verifies it, and moves it into the model directory atomically.
#
# Settings (environment, see deploy/gateway/fetch-model.env):
#   FAULTLINE_MODEL_URL        URL of the model; URL.sha256 holds its checksum (required)
#   FAULTLINE_MODEL_DIR        destination directory (default /var/lib/faultline/models)
#   FAULTLINE_MODEL_NAME       destination file name (default: last part of the URL)
#   FAULTLINE_MODEL_CA_FILE    CA bundle for the model server (optional)
#   FAULTLINE_MODEL_TOKEN_FILE file with a bearer token (optional; never on the command line)
#
# The download goes to a temporary file in the destination directory, so the final
# rename(2) is atomic: the daemon's file watch sees either the old model or the new one,
# never half a file. A file whose checksum does not match is deleted and the old model
# stays. Exit codes: 0 installed or already current, 1 failure (nothing changed).
set -euo pipefail

url=${FAULTLINE_MODEL_URL:?set FAULTLINE_MODEL_URL to the model URL}
dir=${FAULTLINE_MODEL_DIR:-/var/lib/faultline/models}
name=${FAULTLINE_MODEL_NAME:-$(basename "${url%%\?*}")}
case $name in
  ""|.*|*/*) echo "fetch-model: bad model name '$name'" >&2; exit 1 ;;
esac
# The checksum comes from the same server: only TLS makes it worth anything
# (docs/security.md). Redirects may not leave https either.
case $url in
  https://*) ;;
  *) echo "fetch-model: FAULTLINE_MODEL_URL must be an https:// URL (got '$url')" >&2; exit 1 ;;
esac

curl_args=(--fail --silent --show-error --location --proto '=https' --proto-redir '=https' --max-time 300 --retry 3)
if [ -n "${FAULTLINE_MODEL_CA_FILE:-}" ]; then
  curl_args+=(--cacert "$FAULTLINE_MODEL_CA_FILE")
fi
if [ -n "${FAULTLINE_MODEL_TOKEN_FILE:-}" ]; then
  # The header is read by curl from stdin, so the token never shows in ps.
  curl_args+=(--header @-)
fi

fetch() { # fetch URL OUT
  if [ -n "${FAULTLINE_MODEL_TOKEN_FILE:-}" ]; then
    printf 'Authorization: Bearer %s\n' "$(tr -d '\r\n' <"$FAULTLINE_MODEL_TOKEN_FILE")" |
      curl "${curl_args[@]}" --output "$2" "$1"
  else
    curl "${curl_args[@]}" --output "$2" "$1"
  fi
}

mkdir -p "$dir"
tmp=$(mktemp "$dir/.fetch-$name.XXXXXX")
sum=$(mktemp "$dir/.fetch-$name.sha256.XXXXXX")
trap 'rm -f "$tmp" "$sum"' EXIT

fetch "$url.sha256" "$sum"
fetch "$url" "$tmp"

want=$(awk 'NR==1 {print $1}' "$sum")
if ! [[ $want =~ ^[0-9a-f]{64}$ ]]; then
  echo "fetch-model: $url.sha256 does not hold a sha256 checksum" >&2
  exit 1
fi
got=$(sha256sum "$tmp" | awk '{print $1}')
if [ "$got" != "$want" ]; then
  echo "fetch-model: checksum mismatch for $url (got $got, want $want); keeping the current model" >&2
  exit 1
fi
if [ ! -s "$tmp" ]; then
  echo "fetch-model: $url is empty; keeping the current model" >&2
  exit 1
fi

dest="$dir/$name"
if [ -f "$dest" ] && cmp -s "$tmp" "$dest"; then
  echo "fetch-model: $name is current"
  exit 0
fi
chmod 0640 "$tmp"
sync "$tmp" 2>/dev/null || sync
mv -f "$tmp" "$dest"
echo "fetch-model: installed $name ($got)"
