#!/usr/bin/env bash
# Imports the base images the Docker tests run on, without any registry: a root filesystem made
# of Debian's busybox-static (`docker import`). Idempotent: an image already present is kept.
#   hiveforge-test/busybox:1  busybox applets, /etc/os-release ID=hiveforge-busybox,
#                             ENV HIVEFORGE_TEST_IMAGE=busybox
set -euo pipefail

TAG="${HIVEFORGE_TEST_IMAGE:-hiveforge-test/busybox:1}"

if ! docker info >/dev/null 2>&1; then
  echo "docker-test-images: no Docker engine answers (docker info failed)" >&2
  exit 1
fi
# Present and made by this script (its ENV marks it): nothing to do.
if docker image inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$TAG" 2>/dev/null |
  grep -qx 'HIVEFORGE_TEST_IMAGE=busybox'; then
  exit 0
fi

# Debian's busybox-static: one statically linked binary, so the image needs no libraries.
if ! dpkg -s busybox-static >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get install -y busybox-static >/dev/null 2>&1 ||
    { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y busybox-static >/dev/null; }
fi
BUSYBOX="$(dpkg -L busybox-static | grep -E '/busybox$' | head -1)"

ROOT="$(mktemp -d)"
trap 'rm -rf "$ROOT"' EXIT
mkdir -p "$ROOT/bin" "$ROOT/sbin" "$ROOT/usr/bin" "$ROOT/usr/sbin" "$ROOT/etc" "$ROOT/tmp" "$ROOT/root" "$ROOT/workspace"
chmod 1777 "$ROOT/tmp"
cp "$BUSYBOX" "$ROOT/bin/busybox"
for applet in $("$ROOT/bin/busybox" --list-full); do
  [ -e "$ROOT/$applet" ] || ln -s /bin/busybox "$ROOT/$applet"
done
cat >"$ROOT/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$ROOT/etc/group" <<'GROUP'
root:x:0:
nogroup:x:65534:
GROUP
cat >"$ROOT/etc/os-release" <<'OSRELEASE'
NAME="HiveForge test busybox"
ID=hiveforge-busybox
VERSION_ID=1
PRETTY_NAME="HiveForge test busybox 1"
OSRELEASE

tar -C "$ROOT" --numeric-owner --owner=0 --group=0 -c . | docker import \
  --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV HIVEFORGE_TEST_IMAGE=busybox' \
  --change 'CMD ["/bin/sh"]' \
  - "$TAG" >/dev/null
echo "docker-test-images: imported $TAG"
