#!/usr/bin/env bash
# Installs the FerretDB binary used by HiveForge's MongoDB-wire tests (store/mongodb/store.test.ts,
# test/helpers/ferretdb.ts) into $(go env GOPATH)/bin (or $GOBIN).
#
# Idempotent: when a 1.24.x ferretdb is already there it does nothing.
#
# Why not `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2`:
#  - FerretDB 1.x refuses to start when built that way: its build/version package panics unless
#    build/version/version.txt exists, and that file is generated, not part of the module zip.
#  - `go install pkg@version` also looks up the module's latest version (to print deprecation
#    notices), which fails behind Go module mirrors that do not serve `@v/list`.
# So this script downloads the module source through the Go module proxy (`go mod download`,
# checked against go.sum / GONOSUMDB as usual), copies it to a temporary directory, writes
# version.txt and commit.txt the way FerretDB's `task gen-version` does, and builds
# ./cmd/ferretdb there. It needs only the Go toolchain and a reachable GOPROXY; a cold build
# takes a few minutes.
#
# One line of FerretDB's SQLite backend is changed before the build, and the binary says so
# (`ferretdb --version` prints `package: source+sqlite-id-index`):
#  - The backend creates its unique `_id` index on the expression `_ferretdb_sjson->"_id"`, but
#    looks documents up by `_ferretdb_sjson->'$._id'`. The two select the same value, yet SQLite
#    only uses an expression index for the very same expression, so every find, update and
#    delete by `_id` read the whole table (`explain` shows `SCAN`), and got slower with each
#    document stored.
#  - The change makes the lookups use the index's expression (`metadata.IDColumn`), so they
#    `SEARCH ... USING INDEX`. Results are unchanged; only the query plan differs.
#  - Set FERRETDB_PATCH=0 to build the unchanged source (everything still works, only slower).
#
# Usage: scripts/install-ferretdb.sh            # prints the binary's path on success
#        FERRETDB_VERSION=v1.24.2 scripts/install-ferretdb.sh
set -euo pipefail

version="${FERRETDB_VERSION:-v1.24.2}"
patch="${FERRETDB_PATCH:-1}"
if [ "$patch" = 1 ]; then
  package="source+sqlite-id-index"
else
  package="source"
fi
module="github.com/FerretDB/FerretDB"
# Only the major.minor line is checked, so any 1.24 patch release already installed is accepted.
wanted_line="$(echo "${version#v}" | cut -d. -f1,2)"

if ! command -v go >/dev/null 2>&1; then
  echo "install-ferretdb: the Go toolchain is required (https://go.dev/dl/); 'go' is not on PATH" >&2
  exit 1
fi

gobin="$(go env GOBIN)"
if [ -z "$gobin" ]; then
  gobin="$(go env GOPATH)/bin"
fi
bin="$gobin/ferretdb"

installed_package() {
  "$bin" --version 2>/dev/null | sed -n 's/^package:[[:space:]]*//p' | head -n 1
}

installed_version() {
  # `ferretdb --version` prints lines such as "version: v1.24.2".
  "$bin" --version 2>/dev/null | sed -n 's/^version:[[:space:]]*v\{0,1\}\([0-9][0-9.]*\).*/\1/p' | head -n 1
}

if [ -x "$bin" ]; then
  current="$(installed_version || true)"
  current_package="$(installed_package || true)"
  case "$current" in
    "$wanted_line".*)
      if [ "$current_package" = "$package" ]; then
        echo "install-ferretdb: ferretdb $current ($current_package) already installed" >&2
        echo "$bin"
        exit 0
      fi
      ;;
  esac
  echo "install-ferretdb: found ferretdb '${current:-unknown}' (${current_package:-unknown package}) at $bin; installing $version ($package)" >&2
fi

start="$(date +%s)"
echo "install-ferretdb: downloading $module@$version" >&2
# Run outside any Go module so the caller's go.mod/go.work cannot interfere.
work="$(mktemp -d)"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
info="$(cd "$work" && GOFLAGS= GO111MODULE=on go mod download -json "$module@$version")"
dir="$(printf '%s\n' "$info" | sed -n 's/^[[:space:]]*"Dir":[[:space:]]*"\(.*\)",\{0,1\}$/\1/p' | head -n 1)"
commit="$(printf '%s\n' "$info" | sed -n 's/^[[:space:]]*"Hash":[[:space:]]*"\([0-9a-f]*\)",\{0,1\}$/\1/p' | head -n 1)"
if [ -z "$dir" ] || [ ! -f "$dir/go.mod" ]; then
  echo "install-ferretdb: 'go mod download' did not return the module directory:" >&2
  printf '%s\n' "$info" >&2
  exit 1
fi

src="$work/src"
cp -R "$dir" "$src"
chmod -R u+w "$src"
printf '%s\n' "$version" >"$src/build/version/version.txt"
if [ -n "$commit" ]; then
  printf '%s\n' "$commit" >"$src/build/version/commit.txt"
fi
printf '%s\n' "$package" >"$src/build/version/package.txt"
if [ "$patch" = 1 ]; then
  metadata="$src/internal/backends/sqlite/metadata/metadata.go"
  # IDColumn = DefaultColumn + "->'$._id'"   becomes   IDColumn = DefaultColumn + `->"_id"`
  # (the expression registry.go's indexesCreate gives the `_id` index).
  sed -i.orig "s|IDColumn = DefaultColumn + \"->'\\\$._id'\"|IDColumn = DefaultColumn + \`->\"_id\"\`|" "$metadata"
  if ! grep -q 'IDColumn = DefaultColumn + `->"_id"`' "$metadata"; then
    echo "install-ferretdb: could not apply the _id index change to $metadata (unexpected source)" >&2
    exit 1
  fi
  if ! grep -q 'fmt.Sprintf("%s->%s", DefaultColumn, strings.Join(fields, "->"))' "$src/internal/backends/sqlite/metadata/registry.go" ||
    ! grep -q 'fields\[j\] = fmt.Sprintf("%q", f)' "$src/internal/backends/sqlite/metadata/registry.go"; then
    echo "install-ferretdb: the _id index of this FerretDB is not built the way the change expects" >&2
    exit 1
  fi
fi

echo "install-ferretdb: building $module/cmd/ferretdb@$version (this can take a few minutes)" >&2
mkdir -p "$gobin"
# The module's own go.mod and go.sum pin every dependency, so nothing is resolved, only fetched.
(cd "$src" && GOFLAGS= GOWORK=off CGO_ENABLED=0 go build -trimpath -buildvcs=false -o "$bin.tmp" ./cmd/ferretdb)
mv -f "$bin.tmp" "$bin"
echo "install-ferretdb: built in $(($(date +%s) - start))s" >&2

current="$(installed_version || true)"
case "$current" in
  "$wanted_line".*) ;;
  *)
    echo "install-ferretdb: $bin reports version '${current:-unknown}', expected $wanted_line.x" >&2
    exit 1
    ;;
esac
echo "$bin"
