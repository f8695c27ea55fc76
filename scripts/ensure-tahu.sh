#!/usr/bin/env bash
# Installs the Eclipse Tahu JavaScript Sparkplug B client (npm sparkplug-client and
# sparkplug-payload, pinned) into .cache/tahu for the Sparkplug interoperability test
# (test/sparkplug). Node.js and npm come from Debian when missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${FAULTLINE_TAHU_DIR:-$root/.cache/tahu}
client=3.2.4
payload=1.0.3
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  "$root/scripts/apt-install.sh" nodejs npm
fi
want="$client/$payload"
if [ -f "$dir/.installed" ] && [ "$(cat "$dir/.installed")" = "$want" ]; then
  exit 0
fi
echo "installing sparkplug-client@$client and sparkplug-payload@$payload from npm into $dir"
mkdir -p "$dir"
# A private package.json keeps npm from walking up into the repository.
[ -f "$dir/package.json" ] || echo '{"name":"faultline-tahu-interop","private":true}' >"$dir/package.json"
npm install --prefix "$dir" --no-audit --no-fund --loglevel=error \
  "sparkplug-client@$client" "sparkplug-payload@$payload" >/dev/null
echo "$want" >"$dir/.installed"
