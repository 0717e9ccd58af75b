#!/usr/bin/env bash
# packaging/deb/build.sh OUTDIR: builds driftgate_<version>_<arch>.deb into
# OUTDIR and prints its path on the last line of stdout.
#
# Plain `dpkg-deb --build` over a staged tree, not dpkg-buildpackage: the
# repository's Makefile is the build system (no debian/ directory at the top
# to maintain beside it), nothing beyond dpkg-dev is needed (no debhelper),
# and it works offline. The steps debhelper would do are done here, each
# visibly: hardening flags from dpkg-buildflags, stripping, gzip -9n of the
# man page and changelog, md5sums, Depends from dpkg-shlibdeps, the
# maintainer scripts' systemd handling (written out in packaging/deb/).
#
# Environment: BUILD (object directory, default build/deb), MAKE (default
# make), SOURCE_DATE_EPOCH (default: the changelog's date; file times and
# the archive's are clamped to it, so two builds of one commit are
# byte-identical).
set -euo pipefail

usage() { echo "usage: $0 OUTDIR" >&2; exit 2; }
[ $# -eq 1 ] || usage
outdir=$1
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
pkg=$top/packaging
BUILD=${BUILD:-build/deb}
MAKE=${MAKE:-make}

for tool in dpkg-deb dpkg-shlibdeps dpkg-buildflags dpkg-parsechangelog strip gzip; do
    command -v "$tool" >/dev/null || { echo "build.sh: $tool is missing (apt-get install dpkg-dev binutils)" >&2; exit 2; }
done

# The version comes from the Makefile; the changelog must have an entry for
# it (a Debian revision such as -1 on top), or the package would lie.
version=$(sed -n 's/^VERSION[[:space:]]*:=[[:space:]]*//p' "$top/Makefile")
[ -n "$version" ] || { echo "build.sh: no VERSION in $top/Makefile" >&2; exit 2; }
debversion=$(dpkg-parsechangelog -l "$here/changelog" -S Version)
if [ "${debversion%-*}" != "$version" ]; then
    echo "build.sh: packaging/deb/changelog's newest entry is $debversion, the Makefile's VERSION is $version;" >&2
    echo "          add an entry 'driftgate ($version-1) ...' at the top of packaging/deb/changelog" >&2
    exit 2
fi
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(dpkg-parsechangelog -l "$here/changelog" -S Timestamp)}
arch=$(dpkg --print-architecture)
maintainer=$(dpkg-parsechangelog -l "$here/changelog" -S Maintainer)

# Build with Debian's hardening flags (PIE, full RELRO, bindnow, stack
# protector, _FORTIFY_SOURCE) in a build directory of its own. The Makefile
# appends CFLAGS/LDFLAGS to its own, so -Werror and -O2 stay.
cd "$top"
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
cflags="$(dpkg-buildflags --get CPPFLAGS) $(dpkg-buildflags --get CFLAGS)"
ldflags=$(dpkg-buildflags --get LDFLAGS)
"$MAKE" --no-print-directory BUILD="$BUILD" PREFIX=/usr CFLAGS="$cflags" LDFLAGS="$ldflags" all >&2

work=$(mktemp -d "${TMPDIR:-/tmp}/driftgate-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/debian/driftgate
umask 022
mkdir -p "$root"

# /usr/bin/driftgate through the Makefile's own install target, then
# stripped the way dh_strip strips an executable.
"$MAKE" --no-print-directory BUILD="$BUILD" PREFIX=/usr DESTDIR="$root" CFLAGS="$cflags" LDFLAGS="$ldflags" install >&2
strip --remove-section=.comment --remove-section=.note "$root/usr/bin/driftgate"

# Configuration (conffiles).
install -D -m 0644 "$pkg/config/driftgate.yaml" "$root/etc/driftgate/driftgate.yaml"
install -D -m 0644 "$pkg/config/specs/example.yaml" "$root/etc/driftgate/specs/example.yaml"
install -D -m 0644 "$here/logrotate" "$root/etc/logrotate.d/driftgate"

# systemd units.
for u in driftgate.service driftgate-report.service driftgate-report.timer; do
    install -D -m 0644 "$pkg/systemd/$u" "$root/lib/systemd/system/$u"
done

# Manual page, bash completion.
install -d "$root/usr/share/man/man1"
sed "s/@VERSION@/$version/g" "$pkg/man/driftgate.1" | gzip -9n > "$root/usr/share/man/man1/driftgate.1.gz"
install -D -m 0644 "$pkg/completion/driftgate.bash" "$root/usr/share/bash-completion/completions/driftgate"

# Documentation: copyright, changelog, the READMEs (compressed: Debian
# policy 12.3), the example policies with their specs (uncompressed, so
# that `driftgate check-config` can load them where they are).
doc=$root/usr/share/doc/driftgate
install -D -m 0644 "$here/copyright" "$doc/copyright"
gzip -9n < "$here/changelog" > "$doc/changelog.Debian.gz"
gzip -9n < "$top/README.md" > "$doc/README.md.gz"
gzip -9n < "$top/policies/README.md" > "$doc/README.policies.md.gz"
install -d "$doc/examples"
cp -R "$top/policies/examples/." "$doc/examples/"
find "$doc/examples" -type d -exec chmod 0755 {} +
find "$doc/examples" -type f -exec chmod 0644 {} +

# Lintian overrides, each with its reason (none may be needed).
if grep -qv '^\(#.*\)\?$' "$here/lintian-overrides" 2>/dev/null; then
    install -D -m 0644 "$here/lintian-overrides" "$root/usr/share/lintian/overrides/driftgate"
fi

# Control files.
install -d -m 0755 "$root/DEBIAN"
install -m 0644 "$here/conffiles" "$root/DEBIAN/conffiles"
for s in postinst prerm postrm; do
    install -m 0755 "$here/$s" "$root/DEBIAN/$s"
done
# Depends: the shared libraries the binary links (dpkg-shlibdeps reads the
# shlibs/symbols files of the installed -dev packages' libraries), plus
# adduser for postinst.
mkdir -p "$work/debian"
printf 'Source: driftgate\n\nPackage: driftgate\nArchitecture: any\n' > "$work/debian/control"
shlibs=$(cd "$work" && dpkg-shlibdeps -O "debian/driftgate/usr/bin/driftgate" | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "build.sh: dpkg-shlibdeps found no dependencies" >&2; exit 2; }
depends="adduser, $shlibs"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z \
    | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums"
installed_size=$(du -s -k --apparent-size --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@DEBVERSION@/$debversion/" -e "s/@ARCH@/$arch/" -e "s/@MAINTAINER@/$maintainer/" \
    -e "s/@INSTALLED_SIZE@/$installed_size/" -e "s/@DEPENDS@/$depends/" \
    "$here/control.in" > "$root/DEBIAN/control"

# Reproducible file times.
find "$root" -newermt "@$SOURCE_DATE_EPOCH" -print0 | xargs -0r touch -h -d "@$SOURCE_DATE_EPOCH"

deb=$outdir/driftgate_${debversion}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >&2
echo "$deb"
