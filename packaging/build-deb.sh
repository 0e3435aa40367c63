#!/usr/bin/env bash
# Builds mcpvisor_VERSION_ARCH.deb with dpkg-deb from a release build
# directory (no debian/ folder, no debhelper): the binary, the library, the
# public headers and mcpvisor.pc under /usr; the systemd unit; a default
# config in /etc/mcpvisor (a conffile); the README and docs.
#
#   packaging/build-deb.sh [BUILD_DIR] [OUT_DIR]     (build, .)
#
# Prints the path of the package. Depends: lists the Debian packages that
# hold the shared libraries the binary and library link, at least the
# versions installed here.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
out=$(mkdir -p "${2:-.}" && cd "${2:-.}" && pwd)
stage=$(mktemp -d /tmp/mcpvisor-deb-XXXXXX)
trap 'rm -rf "$stage"' EXIT

version=$(meson introspect "$build" --projectinfo | sed -n 's/.*"version": *"\([^"]*\)".*/\1/p')
arch=$(dpkg --print-architecture)
prefix=$(meson introspect "$build" --buildoptions \
  | tr '{' '\n' | sed -n 's/.*"name": *"prefix", *"value": *"\([^"]*\)".*/\1/p')

# installed under /usr; the build directory's own prefix is put back after
{
  meson configure "$build" --prefix=/usr &&
  DESTDIR="$stage/root" meson install -C "$build" --quiet
} >&2
meson configure "$build" --prefix="${prefix:-/usr/local}" >&2

pkg="$stage/root"
install -D -m 0644 "$root/packaging/mcpvisor.service" "$pkg/lib/systemd/system/mcpvisor.service"
install -D -m 0644 "$root/packaging/mcpvisor.toml" "$pkg/etc/mcpvisor/mcpvisor.toml"
install -d "$pkg/usr/share/doc/mcpvisor"
install -m 0644 "$root/README.md" "$root"/docs/*.md "$pkg/usr/share/doc/mcpvisor/"

# the packages of the shared libraries the binary and the library name
# (DT_NEEDED), at least the versions installed here; our own is not one
libdir=$(dirname "$(ls "$pkg"/usr/lib/*/libmcpvisor.so.* | head -n 1)")
depends=$(
  for f in "$pkg/usr/bin/mcpvisor" "$libdir"/libmcpvisor.so.*.*; do
    resolved=$(LD_LIBRARY_PATH="$libdir" ldd "$f")
    objdump -p "$f" | awk '$1 == "NEEDED" { print $2 }' | while read -r soname; do
      case "$soname" in libmcpvisor.so*) continue ;; esac
      path=$(awk -v s="$soname" '$1 == s && $2 == "=>" { print $3 }' <<< "$resolved")
      [ -n "$path" ] || continue
      owner=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -n 1 | cut -d: -f1)
      [ -n "$owner" ] || owner=$(dpkg -S "$path" 2>/dev/null | head -n 1 | cut -d: -f1)
      [ -n "$owner" ] && echo "$owner (>= $(dpkg-query -W -f='${Version}' "$owner"))"
    done
  done | sort -u | paste -sd, - | sed 's/,/, /g')

size=$(du -sk "$pkg" | cut -f1)
mkdir -p "$pkg/DEBIAN"
cat > "$pkg/DEBIAN/control" <<CONTROL
Package: mcpvisor
Version: $version
Architecture: $arch
Maintainer: mcpvisor developers <mcpvisor@localhost>
Installed-Size: $size
Depends: $depends
Section: net
Priority: optional
Homepage: https://modelcontextprotocol.io
Description: MCP server runtime supervised like an OTP system
 mcpvisor serves the Model Context Protocol (2025-11-25 sessions and
 2026-07-28 stateless requests) over Streamable HTTP, WebSocket, the
 2024-11-05 HTTP+SSE transport and stdio, with TLS and OAuth 2.1 bearer
 tokens. Every session is an actor under one-for-one supervisors; an
 andon cord halts intake on overload; an admin endpoint shows the tree.
 Includes the library, headers and pkg-config file for C++ tools.
CONTROL
echo "/etc/mcpvisor/mcpvisor.toml" > "$pkg/DEBIAN/conffiles"
# the shared library: ld.so's cache is refreshed after install and removal
echo "activate-noawait ldconfig" > "$pkg/DEBIAN/triggers"
cat > "$pkg/DEBIAN/postinst" <<'SCRIPT'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null || true
fi
SCRIPT
cat > "$pkg/DEBIAN/prerm" <<'SCRIPT'
#!/bin/sh
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
  systemctl stop mcpvisor.service >/dev/null 2>&1 || true
  systemctl disable mcpvisor.service >/dev/null 2>&1 || true
fi
SCRIPT
cat > "$pkg/DEBIAN/postrm" <<'SCRIPT'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null || true
fi
SCRIPT
chmod 0755 "$pkg/DEBIAN/postinst" "$pkg/DEBIAN/prerm" "$pkg/DEBIAN/postrm"

deb="$out/mcpvisor_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >&2
echo "$deb"
