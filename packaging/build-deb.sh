#!/bin/sh
# Build build/quench_<version>_<arch>.deb with dpkg-deb from a staged tree (called by `make deb`).
#
#   packaging/build-deb.sh [BINARY]     BINARY: the release build (default .build/release/quench)
#
# Inputs: the binary, man/quench.1 and packaging/deb/ (control, changelog, copyright, unit, default
# file, maintainer scripts). The version is read from Sources/QuenchApp/Version.swift, its one
# source; the script fails when the binary, the man page's .Os line or the Debian changelog says
# otherwise. Depends is computed by dpkg-shlibdeps. Needs dpkg-dev and binutils; not root.
set -eu

cd "$(dirname "$0")/.."
BIN=${1:-.build/release/quench}
PKG=packaging/deb
OUT=build
STAGE=$OUT/deb/quench          # the package's file tree
WORK=$OUT/deb/work             # dpkg-shlibdeps/dpkg-gencontrol want a debian/ directory

die() { echo "build-deb: $*" >&2; exit 1; }

# --- the version, from its one source, and the places that must agree with it ---------------
VERSION=$(sed -n 's/^ *public static let string = "\([^"]*\)".*/\1/p' Sources/QuenchApp/Version.swift)
[ -n "$VERSION" ] && [ "$(printf '%s\n' "$VERSION" | wc -l)" -eq 1 ] ||
	die "cannot read the version from Sources/QuenchApp/Version.swift"

MAN_VERSION=$(sed -n 's/^\.Os quench \(.*\)$/\1/p' man/quench.1)
[ "$MAN_VERSION" = "$VERSION" ] ||
	die "man/quench.1 says '.Os quench $MAN_VERSION' but Version.swift says $VERSION: fix the man page"

DEB_VERSION=$(dpkg-parsechangelog -l "$PKG/changelog" -SVersion)
[ "${DEB_VERSION%-*}" = "$VERSION" ] ||
	die "$PKG/changelog is at $DEB_VERSION but Version.swift says $VERSION: add a changelog entry ($VERSION-1)"

[ -x "$BIN" ] || die "no binary at $BIN (run make release)"
BIN_VERSION=$("$BIN" --version)
[ "$BIN_VERSION" = "$VERSION" ] || die "$BIN --version prints '$BIN_VERSION', not $VERSION: rebuild it (make release)"
# The release build carries the Swift runtime inside; a dynamically linked one would not run where
# the toolchain is absent (another build into .build may have replaced it).
if readelf -d "$BIN" | grep -q 'NEEDED.*\(libswift\|libFoundation\|libdispatch\)'; then
	die "$BIN links the Swift runtime dynamically: rebuild with make release (--static-swift-stdlib)"
fi

ARCH=$(dpkg --print-architecture)    # a native build
DEB=$OUT/quench_${DEB_VERSION}_${ARCH}.deb
SOURCE_DATE_EPOCH=$(dpkg-parsechangelog -l "$PKG/changelog" -STimestamp)
export SOURCE_DATE_EPOCH

# --- stage the file tree ----------------------------------------------------------------------
rm -rf "$OUT/deb"
umask 022
mkdir -p "$STAGE/DEBIAN" "$WORK/debian"
install -d "$STAGE/usr/bin" "$STAGE/usr/share/man/man1" "$STAGE/usr/share/doc/quench" \
	"$STAGE/usr/share/lintian/overrides" "$STAGE/lib/systemd/system" "$STAGE/etc/default"

# Stripped as dh_strip does it; the Swift metadata sections (swift5_*) are allocated and stay.
strip --remove-section=.comment --remove-section=.note -o "$STAGE/usr/bin/quench" "$BIN"
chmod 0755 "$STAGE/usr/bin/quench"
gzip -9nc man/quench.1 >"$STAGE/usr/share/man/man1/quench.1.gz"
gzip -9nc "$PKG/changelog" >"$STAGE/usr/share/doc/quench/changelog.Debian.gz"
install -m 0644 "$PKG/copyright" "$STAGE/usr/share/doc/quench/copyright"
install -m 0644 "$PKG/quench.service" "$STAGE/lib/systemd/system/quench.service"
install -m 0644 "$PKG/quench.default" "$STAGE/etc/default/quench"
# Each override carries its reason as a comment in packaging/deb/lintian-overrides.
install -m 0644 "$PKG/lintian-overrides" "$STAGE/usr/share/lintian/overrides/quench"
chmod 0644 "$STAGE/usr/share/man/man1/quench.1.gz" "$STAGE/usr/share/doc/quench/changelog.Debian.gz"

# --- control area ------------------------------------------------------------------------------
for script in postinst prerm postrm; do
	install -m 0755 "$PKG/$script" "$STAGE/DEBIAN/$script"
done
echo /etc/default/quench >"$STAGE/DEBIAN/conffiles"
chmod 0644 "$STAGE/DEBIAN/conffiles"

cp "$PKG/control" "$PKG/changelog" "$WORK/debian/"
STAGE_ABS=$(cd "$STAGE" && pwd)
(
	cd "$WORK"
	# Depends from the libraries the binary needs (libwebsockets17, libc6, libstdc++6, ...).
	dpkg-shlibdeps -Tdebian/quench.substvars "$STAGE_ABS/usr/bin/quench"
	dpkg-gencontrol -pquench -v"$DEB_VERSION" -Tdebian/quench.substvars -P"$STAGE_ABS" \
		-cdebian/control -ldebian/changelog -fdebian/files
)
(cd "$STAGE" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | LC_ALL=C sort |
	xargs md5sum >DEBIAN/md5sums)
chmod 0644 "$STAGE/DEBIAN/md5sums"

rm -f "$OUT"/quench_*.deb
dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$DEB" >/dev/null
echo "$DEB"
dpkg-deb --field "$DEB" Package Version Architecture Installed-Size Depends | sed 's/^/  /'
echo "  /usr/bin/quench: $(stat -c %s "$STAGE/usr/bin/quench") bytes stripped"
