#!/usr/bin/env bash
# Installs the Faultline edge daemon (and ingest) on a Linux gateway with systemd.
#
#   sudo deploy/gateway/install.sh            # after `make cross` filled dist/
#
# Picks dist/linux-{amd64,arm64,armv7}/ by `uname -m`, installs the binaries to
# /usr/local/bin, creates the system user "faultline", /etc/faultline with example
# settings (kept if present), /etc/faultline/credentials (root-only), the systemd units
# and the model-fetch timer, and enables faultline-infer. The daemon starts once its
# password file exists (it is never created here).
#
# Environment: FAULTLINE_DIST (default: dist/ of this checkout), FAULTLINE_ARCH
# (overrides uname -m), DESTDIR (install into a staging root; skips useradd/systemctl).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
dist=${FAULTLINE_DIST:-$repo/dist}
root=${DESTDIR:-}

machine=${FAULTLINE_ARCH:-$(uname -m)}
case $machine in
  x86_64|amd64) arch=amd64 ;;
  aarch64|arm64) arch=arm64 ;;
  armv7l|armv7|armhf|armv8l) arch=armv7 ;;
  *) echo "install: no Faultline build for machine '$machine' (have amd64, arm64, armv7)" >&2; exit 1 ;;
esac
src="$dist/linux-$arch"
for b in infer ingest; do
  if [ ! -x "$src/$b" ]; then
    echo "install: $src/$b missing: run 'make cross' first (or set FAULTLINE_DIST)" >&2
    exit 1
  fi
done
if [ -z "$root" ] && [ "$(id -u)" != 0 ]; then
  echo "install: run as root (sudo), or set DESTDIR to stage the files" >&2
  exit 1
fi

install -d -m 0755 "$root/usr/local/bin" "$root/usr/local/lib/faultline" "$root/etc/systemd/system"
install -m 0755 "$src/infer" "$src/ingest" "$root/usr/local/bin/"
install -m 0755 "$here/fetch-model.sh" "$root/usr/local/lib/faultline/fetch-model.sh"

if [ -z "$root" ] && ! id faultline >/dev/null 2>&1; then
  useradd --system --home-dir /var/lib/faultline --no-create-home --shell /usr/sbin/nologin faultline
fi
install -d -m 0755 "$root/etc/faultline"
install -d -m 0700 "$root/etc/faultline/credentials"
for f in infer.env ingest.env fetch-model.env; do
  if [ ! -e "$root/etc/faultline/$f" ]; then
    install -m 0644 "$here/$f" "$root/etc/faultline/$f"
    echo "install: wrote example $root/etc/faultline/$f: edit it for this plant"
  fi
done
for u in faultline-infer.service faultline-ingest.service faultline-fetch-model.service faultline-fetch-model.timer; do
  install -m 0644 "$here/../systemd/$u" "$root/etc/systemd/system/$u"
done

if [ -n "$root" ]; then
  echo "install: staged into $root (no user created, systemd untouched)"
  exit 0
fi
systemctl daemon-reload
systemctl enable faultline-infer.service faultline-fetch-model.timer
cat <<MSG
install: Faultline $arch installed. Next:
  1. edit /etc/faultline/infer.env and /etc/faultline/fetch-model.env
  2. put the broker CA at /etc/faultline/ca.crt
  3. install -m 0600 /dev/stdin /etc/faultline/credentials/mqtt-infer.password  (paste, Ctrl-D)
  4. systemctl start faultline-fetch-model.service faultline-infer.service
  (ingest on this host too: the same with ingest.env, mqtt-ingest.password, influx-token,
   then systemctl enable --now faultline-ingest.service)
MSG
