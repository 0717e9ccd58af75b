#!/bin/bash
# Runs inside the systemd-nspawn container that tests/packaging/systemd-boot.sh
# boots (systemd as PID 1, a throw-away overlay of this machine's root):
# installs the .deb with systemd running, so postinst really enables and
# starts the units, and checks the hardened driftgate.service end to end.
# Prints ok/FAIL lines (to /dgtest/result.log via the unit's StandardOutput).
set -u
deb=$1
fails=0
ok() { echo "ok - $*"; }
fail() { echo "FAIL - $*"; fails=$((fails + 1)); }
check() { # check DESCRIPTION COMMAND...
    local d=$1
    shift
    if "$@" >/dev/null 2>&1; then ok "$d"; else fail "$d"; fi
}
wait_for() { # wait_for SECONDS COMMAND...
    local n=$(($1 * 10))
    shift
    while [ $n -gt 0 ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
        n=$((n - 1))
    done
    return 1
}
metric() { curl -s http://127.0.0.1:9090/metrics | grep -F "$1" | awk '{print $NF}' | head -1; }

echo "# systemd $(systemctl --version | head -1 | cut -d' ' -f2) is PID 1: $(cat /proc/1/comm)"
if DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" >/dgtest/dpkg.log 2>&1; then
    ok "dpkg -i with systemd running"
else
    fail "dpkg -i with systemd running: $(tail -3 /dgtest/dpkg.log)"
fi
v=$(cd /tmp && systemd-analyze verify /lib/systemd/system/driftgate.service /lib/systemd/system/driftgate-report.service /lib/systemd/system/driftgate-report.timer 2>&1)
check "systemd-analyze verify: the installed units are clean (systemd running)" test $? = 0 -a -z "$v"
[ -n "$v" ] && echo "$v" | sed 's/^/#   /'
check "postinst enabled driftgate.service" test "$(systemctl is-enabled driftgate.service)" = enabled
check "postinst enabled driftgate-report.timer" test "$(systemctl is-enabled driftgate-report.timer)" = enabled
check "driftgate-report.timer is active (waiting)" test "$(systemctl is-active driftgate-report.timer)" = active
if wait_for 15 curl -sf http://127.0.0.1:9090/readyz; then
    ok "postinst started driftgate.service: /readyz answers 200"
else
    fail "driftgate.service did not become ready: $(systemctl status driftgate.service --no-pager 2>&1 | tail -15)"
fi

pid=$(systemctl show -p MainPID --value driftgate.service)
if [ -n "$pid" ] && [ "$pid" != 0 ]; then
    st=/proc/$pid/status
    check "runs as the driftgate user" test "$(stat -c %U /proc/$pid)" = driftgate
    check "NoNewPrivs is set" grep -q '^NoNewPrivs:[[:space:]]*1' "$st"
    check "a seccomp filter is installed (SystemCallFilter, MemoryDenyWriteExecute)" grep -q '^Seccomp:[[:space:]]*2' "$st"
    check "no effective or bounding capabilities" sh -c "grep -q '^CapEff:[[:space:]]*0*\$' $st && grep -q '^CapBnd:[[:space:]]*0*\$' $st"
else
    fail "driftgate.service has no main PID"
fi

# An upgrade (the same .deb again) restarts the running proxy.
if DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" >>/dgtest/dpkg.log 2>&1 &&
    wait_for 15 sh -c "[ \"\$(systemctl show -p MainPID --value driftgate.service)\" != '$pid' ] && curl -sf http://127.0.0.1:9090/readyz"; then
    ok "upgrade: postinst restarted driftgate.service (new main PID) and it is ready again"
else
    fail "upgrade: driftgate.service was not restarted"
fi

# Traffic through the proxy: the upstream answers on 127.0.0.1:3000 as the
# default config expects.
/usr/bin/python3 /dgtest/upstream.py 3000 &
up=$!
wait_for 10 curl -sf http://127.0.0.1:3000/health
code=$(curl -s -o /dgtest/ok.json -w '%{http_code}' http://127.0.0.1:8080/items/ok-1)
check "a valid response passes unchanged (200)" sh -c "[ $code = 200 ] && curl -s http://127.0.0.1:3000/items/ok-1 | cmp -s - /dgtest/ok.json"
code=$(curl -s -o /dgtest/bad.json -w '%{http_code}' http://127.0.0.1:8080/items/bad-1)
check "monitor mode: an invalid response passes unchanged (200)" sh -c "[ $code = 200 ] && curl -s http://127.0.0.1:3000/items/bad-1 | cmp -s - /dgtest/bad.json"
v=$(metric 'driftgate_violations_total{api="example",operation="getItem",status="200",kind="pattern"}')
if [ "$v" = 1 ]; then
    ok "the tags pattern (PCRE2, JIT denied by MemoryDenyWriteExecute) found the violation: kind=pattern 1"
else
    fail "driftgate_violations_total{...kind=\"pattern\"} is '$v', expected 1"
fi
v=$(metric 'driftgate_responses_validated_total{api="example",operation="getItem",result="valid"}')
check "driftgate_responses_validated_total{result=valid} = 1" test "$v" = 1

# Reload: ExecReload runs check-config, then SIGHUP.
check "systemctl reload driftgate" systemctl reload driftgate.service
wait_for 10 sh -c "curl -s http://127.0.0.1:9090/metrics | grep -q 'driftgate_config_reloads_total{result=\"success\"} 1'" &&
    ok "the reload was applied (driftgate_config_reloads_total{result=success} 1)" ||
    fail "no successful reload in the metrics"
cp /etc/driftgate/driftgate.yaml /dgtest/driftgate.yaml.orig
sed -i 's/mode: monitor/mode: enforced/' /etc/driftgate/driftgate.yaml
if systemctl reload driftgate.service >/dev/null 2>&1; then
    fail "systemctl reload with a broken config succeeded"
else
    ok "systemctl reload with a broken config fails (ExecReload's check-config)"
fi
check "... and the service keeps running" test "$(systemctl is-active driftgate.service)" = active
cp /dgtest/driftgate.yaml.orig /etc/driftgate/driftgate.yaml

# The nightly report, started by hand, once the drift store has been written.
wait_for 20 test -s /var/lib/driftgate/drift.db
sleep 6 # flush_interval 5s
if systemctl start driftgate-report.service; then
    ok "driftgate-report.service ran (oneshot, exit 0)"
else
    fail "driftgate-report.service failed: $(journalctl -u driftgate-report.service --no-pager 2>&1 | tail -5)"
fi
check "reports written to /var/lib/driftgate/reports (index.html, example.json)" \
    test -s /var/lib/driftgate/reports/index.html -a -s /var/lib/driftgate/reports/example.json
check "the report lists the pattern drift" grep -q '"pattern"' /var/lib/driftgate/reports/example.json
check "reports are owned by driftgate" test "$(stat -c %U /var/lib/driftgate/reports/index.html)" = driftgate

echo "# $(systemd-analyze security driftgate.service 2>/dev/null | tail -1)"
echo "# $(systemd-analyze security driftgate-report.service 2>/dev/null | tail -1)"
bad=$(journalctl -u driftgate.service --no-pager -o cat 2>/dev/null | grep -ciE 'seccomp|operation not permitted|permission denied|read-only file system')
check "the journal of driftgate.service has no permission/seccomp errors" test "$bad" = 0

# Stop: SIGTERM, drain, exit 0 (CLD_EXITED with status 0, not killed).
if systemctl is-active --quiet driftgate.service; then
    systemctl stop driftgate.service
    check "systemctl stop: driftgate drained and exited 0 after SIGTERM" \
        test "$(systemctl show -p ExecMainCode --value driftgate.service)/$(systemctl show -p ExecMainStatus --value driftgate.service)/$(systemctl show -p Result --value driftgate.service)" = "1/0/success"
else
    fail "driftgate.service was not running before systemctl stop"
fi
kill $up 2>/dev/null
systemctl start driftgate.service
wait_for 15 curl -sf http://127.0.0.1:9090/readyz

# Removal with systemd running: prerm stops the units.
DEBIAN_FRONTEND=noninteractive dpkg -r driftgate >>/dgtest/dpkg.log 2>&1
check "dpkg -r stopped driftgate.service" sh -c "! systemctl is-active --quiet driftgate.service"
check "dpkg -r stopped driftgate-report.timer" sh -c "! systemctl is-active --quiet driftgate-report.timer"
check "nothing listens on 127.0.0.1:9090 any more" sh -c "! curl -s -o /dev/null http://127.0.0.1:9090/healthz"
DEBIAN_FRONTEND=noninteractive dpkg -P driftgate >>/dgtest/dpkg.log 2>&1
check "dpkg -P removed the user, /var/lib/driftgate and /etc/driftgate" \
    sh -c "! getent passwd driftgate && ! test -e /var/lib/driftgate && ! test -e /etc/driftgate"
check "no unit symlinks left in /etc/systemd/system" \
    sh -c "! find /etc/systemd/system -name 'driftgate*' | grep -q ."

echo "# in-container: $fails failure(s)"
