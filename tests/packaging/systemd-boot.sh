#!/bin/bash
# tests/packaging/systemd-boot.sh DEB: installs DEB in a container that runs
# systemd as PID 1 and checks the units for real (tests/packaging/in-container.sh:
# postinst enabling and starting them, the hardened driftgate.service serving
# and validating traffic, reload, the report service, stop, dpkg -r/-P).
#
# The container is systemd-nspawn (Debian package systemd-container) on a
# throw-away overlay of this machine's own root filesystem: nothing is
# downloaded, nothing the container does reaches the real root, and it has
# its own network namespace (loopback only), so its ports cannot collide
# with anything running here. It boots basic.target only (none of this
# machine's services start) plus one test unit, which powers it off.
#
# Exit status: 0 all checks passed, 1 a check failed, 77 cannot run here
# (no systemd-nspawn, not root, no overlayfs).
set -u
deb=$(readlink -f "${1:?usage: systemd-boot.sh DEB}")
here=$(cd "$(dirname "$0")" && pwd)

[ "$(id -u)" = 0 ] || { echo "skip - systemd boot test: needs root"; exit 77; }
command -v systemd-nspawn >/dev/null || { echo "skip - systemd boot test: systemd-nspawn missing (apt-get install systemd-container)"; exit 77; }

tmp=$(mktemp -d /tmp/driftgate-nspawn.XXXXXX)
cleanup() {
    if mountpoint -q "$tmp/root"; then
        umount "$tmp/root" 2>/dev/null || umount -l "$tmp/root"
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/upper" "$tmp/work" "$tmp/root"
if ! mount -t overlay overlay -o "lowerdir=/,upperdir=$tmp/upper,workdir=$tmp/work" "$tmp/root" 2>/dev/null; then
    echo "skip - systemd boot test: cannot mount an overlay of /"
    exit 77
fi
r=$tmp/root
mkdir -p "$r/dgtest"
cp "$deb" "$r/dgtest/driftgate.deb"
cp "$here/in-container.sh" "$here/upstream.py" "$r/dgtest/"
systemd-id128 new > "$r/etc/machine-id"
# A leftover of the real machine must not be mistaken for the package's.
rm -rf "$r/etc/driftgate" "$r/var/lib/driftgate"
# Container images (this machine's too) often carry a policy-rc.d that
# forbids starting services from maintainer scripts (exit 101); postinst
# honours it through deb-systemd-invoke. The container plays a real server.
rm -f "$r/usr/sbin/policy-rc.d"
cat > "$r/etc/systemd/system/dgtest.service" <<'EOF'
[Unit]
Description=driftgate packaging test
After=basic.target
SuccessAction=poweroff
FailureAction=poweroff
[Service]
Type=oneshot
ExecStart=/bin/bash /dgtest/in-container.sh /dgtest/driftgate.deb
StandardOutput=append:/dgtest/result.log
StandardError=inherit
TimeoutStartSec=240
EOF
mkdir -p "$r/etc/systemd/system/basic.target.wants"
ln -sf ../dgtest.service "$r/etc/systemd/system/basic.target.wants/dgtest.service"

timeout 300 systemd-nspawn --quiet --keep-unit --register=no --link-journal=no \
    --private-network --console=pipe -D "$r" --boot -- systemd.unit=basic.target \
    >"$tmp/boot.log" 2>&1
rc=$?
if [ ! -s "$tmp/upper/dgtest/result.log" ]; then
    echo "FAIL - systemd boot test: no result (systemd-nspawn exit $rc)"
    tail -20 "$tmp/boot.log" | sed 's/^/#   /'
    exit 1
fi
sed 's/^\(ok\|FAIL\) - /\1 - [systemd] /' "$tmp/upper/dgtest/result.log"
grep -q '^# in-container: ' "$tmp/upper/dgtest/result.log" ||
    { echo "FAIL - [systemd] the in-container test did not finish"; exit 1; }
if grep -q '^FAIL' "$tmp/upper/dgtest/result.log"; then
    [ -s "$tmp/upper/dgtest/dpkg.log" ] && sed 's/^/#   dpkg: /' "$tmp/upper/dgtest/dpkg.log" | tail -20
    exit 1
fi
exit 0
