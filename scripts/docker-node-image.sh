#!/usr/bin/env bash
# Imports an image with this host's node and npm, without any registry (bench/pipeline.mjs's
# Docker half runs every job in it): Debian's busybox-static for the tools; the host's `dash`
# (as /bin/sh), `node` and GNU `tar`, with the shared libraries they and the native modules of
# common npm packages link (glibc, libstdc++, libgcc_s); the host's npm and certificate
# authorities. Idempotent: an image already present is kept.
#   hiveforge-bench/node:<host node version>   ENV HIVEFORGE_BENCH_IMAGE=node-4
set -euo pipefail

NODE="$(readlink -f "$(command -v node)")"
VERSION="$("$NODE" -p 'process.versions.node')"
TAG="${HIVEFORGE_BENCH_NODE_IMAGE:-hiveforge-bench/node:$VERSION}"

if ! docker info >/dev/null 2>&1; then
  echo "docker-node-image: no Docker engine answers (docker info failed)" >&2
  exit 1
fi
if docker image inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$TAG" 2>/dev/null |
  grep -qx 'HIVEFORGE_BENCH_IMAGE=node-4'; then
  exit 0
fi

if ! dpkg -s busybox-static >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get install -y busybox-static >/dev/null 2>&1 ||
    { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y busybox-static >/dev/null; }
fi
BUSYBOX="$(dpkg -L busybox-static | grep -E '/busybox$' | head -1)"
NPM="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"

ROOT="$(mktemp -d)"
trap 'rm -rf "$ROOT"' EXIT
mkdir -p "$ROOT/bin" "$ROOT/sbin" "$ROOT/usr/bin" "$ROOT/usr/sbin" "$ROOT/usr/lib/node_modules" \
  "$ROOT/etc" "$ROOT/tmp" "$ROOT/root" "$ROOT/workspace"
chmod 1777 "$ROOT/tmp"
cp "$BUSYBOX" "$ROOT/bin/busybox"
for applet in $("$ROOT/bin/busybox" --list-full); do
  [ -e "$ROOT/$applet" ] || ln -s /bin/busybox "$ROOT/$applet"
done

cp "$NODE" "$ROOT/usr/bin/node"
# GNU tar over busybox's: the checkout action's `--exclude` is GNU tar's. And dash as /bin/sh:
# busybox's shell runs its own applets (its tar) before anything on PATH.
TAR="$(readlink -f "$(command -v tar)")"
DASH="$(readlink -f "$(command -v dash)")"
rm -f "$ROOT/bin/tar" "$ROOT/usr/bin/tar" "$ROOT/bin/sh"
cp "$TAR" "$ROOT/usr/bin/tar"
cp "$DASH" "$ROOT/bin/sh"
# Their libraries, and those native modules (rollup's, biome's) link beyond them.
LIBS="$(ldd "$NODE" "$TAR" "$DASH" | awk '/=> \//{print $3} /^\t\/lib/{print $1}' | sort -u)"
for lib in libgcc_s.so.1 librt.so.1 libpthread.so.0 libdl.so.2 libm.so.6 libc.so.6 libstdc++.so.6; do
  LIBS="$LIBS $(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64|x86_64/ {print $NF; exit}')"
done
for lib in $LIBS; do
  [ -n "$lib" ] || continue
  mkdir -p "$ROOT$(dirname "$lib")"
  cp -L "$lib" "$ROOT$lib"
done
cp -a "$NPM" "$ROOT/usr/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ROOT/usr/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ROOT/usr/bin/npx"

# The host's certificate authorities: npm in a container reaches the registry as npm on the host does.
CA="${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}"
mkdir -p "$ROOT/etc/ssl/certs"
[ -r "$CA" ] && cp -L "$CA" "$ROOT/etc/ssl/certs/ca-certificates.crt"

cat >"$ROOT/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$ROOT/etc/group" <<'GROUP'
root:x:0:
nogroup:x:65534:
GROUP

tar -C "$ROOT" --numeric-owner --owner=0 --group=0 -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV HOME=/root' \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  --change 'ENV HIVEFORGE_BENCH_IMAGE=node-4' \
  --change 'CMD ["/bin/sh"]' \
  - "$TAG" >/dev/null
echo "docker-node-image: imported $TAG"
