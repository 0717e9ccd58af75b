#!/bin/bash
# tests/packaging/run.sh: the proof for packaging/.
#
#   1. static checks: man page and bash completion against every --help,
#      maintainer scripts' syntax, the default config, the container image's
#      package lists and HEALTHCHECK, the Kubernetes manifests
#   2. builds the .deb with packaging/deb/build.sh into a temporary directory
#   3. lintian: no E: or W: that is not overridden
#   4. the .deb in a container running systemd (tests/packaging/systemd-boot.sh,
#      a throw-away overlay of this machine; skipped without systemd-nspawn)
#   5. installs it into THIS system with dpkg -i (no apt: the Depends must
#      already be installed, as scripts/deps.sh does), checks the installed
#      files, the user, the config, man, completion, systemd-analyze verify
#   6. dpkg -r, then dpkg -P, checking what each leaves behind
#
# It installs into the real system: run it as root on a disposable machine
# (CI is one). It refuses to start when a driftgate package, user or file is
# already there, and a trap purges what it installed, even on failure: the
# machine is left as it was found (step 6 compares before and after).
#
# Prints ok/FAIL/skip lines and a summary; exit status 0 all passed, 1 not.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
here=$top/tests/packaging
cd "$top"

npass=0
nfail=0
nskip=0
ok() { echo "ok - $*"; npass=$((npass + 1)); }
fail() { echo "FAIL - $*"; nfail=$((nfail + 1)); }
skip() { echo "skip - $*"; nskip=$((nskip + 1)); }
check() { # check DESCRIPTION COMMAND...: ok when COMMAND succeeds
    local d=$1
    shift
    if "$@" >/dev/null 2>&1; then ok "$d"; else fail "$d"; fi
}
summary() {
    echo "# packaging: $npass passed, $nfail failed, $nskip skipped"
    [ "$nfail" -eq 0 ]
}

if [ "$(id -u)" != 0 ]; then
    echo "FAIL - tests/packaging/run.sh installs a package into this system: run it as root"
    exit 1
fi

# What this test touches, to compare before and after.
snapshot() {
    find /etc/systemd/system /var/lib/systemd/deb-systemd-helper-enabled \
        /var/lib/systemd/deb-systemd-helper-masked /etc/driftgate /var/lib/driftgate \
        /var/log/driftgate /usr/share/doc/driftgate /etc/logrotate.d /lib/systemd/system \
        /usr/share/bash-completion/completions /usr/share/man/man1 /usr/bin \
        /usr/share/lintian/overrides 2>/dev/null | sort
    getent passwd driftgate
    getent group driftgate
    dpkg-query -W -f='${Status}\n' driftgate 2>/dev/null
}

# Refuse to touch a machine that already has driftgate in some form: purging
# would destroy it.
status=$(dpkg-query -W -f='${Status}' driftgate 2>/dev/null)
if [ -n "$status" ] && [ "$status" != "unknown ok not-installed" ] && [ "$status" != "deinstall ok not-installed" ]; then
    echo "FAIL - a driftgate package is already on this machine ($status): refusing to install over it"
    exit 1
fi
for p in /usr/bin/driftgate /etc/driftgate /var/lib/driftgate /var/log/driftgate; do
    if [ -e "$p" ]; then
        echo "FAIL - $p already exists (not from this test): refusing to install over it"
        exit 1
    fi
done
if getent passwd driftgate >/dev/null || getent group driftgate >/dev/null; then
    echo "FAIL - a driftgate user or group already exists: refusing (purge would delete it)"
    exit 1
fi

tmp=$(mktemp -d /tmp/driftgate-pkgtest.XXXXXX)
before=$tmp/before.txt
snapshot > "$before"
installed=0
cleanup() {
    if [ "$installed" = 1 ]; then
        local s
        s=$(dpkg-query -W -f='${Status}' driftgate 2>/dev/null)
        if [ -n "$s" ] && [ "$s" != "unknown ok not-installed" ]; then
            echo "# cleanup: purging the driftgate package this test installed"
            DEBIAN_FRONTEND=noninteractive dpkg -P driftgate >/dev/null 2>&1
        fi
        getent passwd driftgate >/dev/null && userdel driftgate 2>/dev/null
        getent group driftgate >/dev/null && groupdel driftgate 2>/dev/null
        rm -rf /etc/driftgate /var/lib/driftgate /var/log/driftgate
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

version=$(sed -n 's/^VERSION[[:space:]]*:=[[:space:]]*//p' Makefile)

# --- 1. build -----------------------------------------------------------------
echo "# building the .deb (packaging/deb/build.sh)"
if deb=$(packaging/deb/build.sh "$tmp/out" 2>"$tmp/build.log" | tail -1) && [ -f "$deb" ]; then
    ok "packaging/deb/build.sh built $(basename "$deb")"
else
    fail "packaging/deb/build.sh failed"
    tail -20 "$tmp/build.log" | sed 's/^/#   /'
    summary
    exit 1
fi
dg=$top/${BUILD:-build/deb}/driftgate # the same code, unstripped, for the static checks

# --- 2. static checks -----------------------------------------------------------
for s in postinst prerm postrm; do
    check "packaging/deb/$s: sh -n" sh -n "packaging/deb/$s"
done
check "packaging/deb/build.sh, completion: bash -n" sh -c "bash -n packaging/deb/build.sh && bash -n packaging/completion/driftgate.bash"

# The man page renders without warnings and names every option of every
# subcommand's --help in that subcommand's section.
man_txt=$tmp/man.txt
sed "s/@VERSION@/$version/g" packaging/man/driftgate.1 > "$tmp/driftgate.1"
warn=$(LC_ALL=C.UTF-8 MANWIDTH=1000 man --warnings -l "$tmp/driftgate.1" 2>&1 >"$man_txt")
check "man page: renders without warnings (man --warnings)" test -z "$warn"
[ -n "$warn" ] && echo "$warn" | head -5 | sed 's/^/#   /'
sec_of() { # the text of the man page's "<cmd> —" subsection
    awk -v c="$1" '/^   [a-z-]+ — / { on = ($1 == c) ; next } /^[A-Z]/ { on = 0 } on' "$man_txt"
}
help_opts() { "$dg" "$1" --help 2>&1 | grep -o -- '--[a-z][a-z-]*' | grep -v -- '--help' | sort -u; }
for cmd in run check-config validate lint replay explain report; do
    missing=$(for o in $(help_opts "$cmd"); do sec_of "$cmd" | grep -q -- "$o" || echo "$o"; done)
    if [ -z "$missing" ]; then
        ok "man page: every option of 'driftgate $cmd --help' is in its section"
    else
        fail "man page: 'driftgate $cmd' section lacks $(echo $missing)"
    fi
    var=_driftgate_opts_${cmd//-/_}
    comp=$(bash -c "source packaging/completion/driftgate.bash; echo \$$var" | tr ' ' '\n' | grep -v -- '--help' | sort -u)
    if [ "$comp" = "$(help_opts "$cmd")" ]; then
        ok "completion: the options of 'driftgate $cmd' are exactly those of its --help"
    else
        fail "completion: 'driftgate $cmd' options differ from --help: $(diff <(echo "$comp") <(help_opts "$cmd") | grep '^[<>]' | tr '\n' ' ')"
    fi
done

# The default config and the example spec, as installed side by side.
mkdir -p "$tmp/etc/specs"
cp packaging/config/driftgate.yaml "$tmp/etc/"
cp packaging/config/specs/example.yaml "$tmp/etc/specs/"
check "default config: check-config accepts it" "$dg" check-config --quiet "$tmp/etc/driftgate.yaml"
check "example spec: lint finds no problem" "$dg" lint "$tmp/etc/specs/example.yaml"

# MemoryDenyWriteExecute (driftgate.service) against PCRE2's JIT: under the
# same seccomp filter systemd installs, the JIT cannot get W+X memory, and
# driftgate's pattern checks still work (the interpreter takes over).
if cc -std=c11 -O2 -Wall -Werror -o "$tmp/mdwe" "$here/mdwe.c" $(pkg-config --cflags --libs libpcre2-8) 2>"$tmp/mdwe.log"; then
    j1=$("$tmp/mdwe" --no-filter --probe-jit)
    j2=$("$tmp/mdwe" --probe-jit)
    check "PCRE2 JIT works here without the filter ($j1)" test "${j1#jit: yes}" != "$j1"
    check "PCRE2 JIT is refused under MemoryDenyWriteExecute's filter ($j2)" test "${j2#jit: no}" != "$j2"
    printf '{"id":"ok-1","name":"lamp","price":19.99,"tags":["new","color:red","Bad Tag"],"updated_at":"2026-11-26T10:00:00Z"}' > "$tmp/bad.json"
    a=$("$dg" validate --spec "$tmp/etc/specs/example.yaml" --operation getItem "$tmp/bad.json" 2>&1)
    b=$("$tmp/mdwe" "$dg" validate --spec "$tmp/etc/specs/example.yaml" --operation getItem "$tmp/bad.json" 2>&1)
    rc=$?
    check "under the filter, validate finds the same pattern violation (interpreter fallback)" \
        test "$a" = "$b" -a "$rc" = 1 -a -n "$(echo "$b" | grep '/tags/2: pattern:')"
else
    fail "tests/packaging/mdwe.c does not compile: $(head -3 "$tmp/mdwe.log")"
fi

# Container image: what can be checked without a Docker daemon.
df=packaging/container/Dockerfile
stage_pkgs() { # the packages apt-get installs in the stage starting at FROM $1
    awk -v from="$1" '$1 == "FROM" { on = ($2 == from) } on' "$df" |
        sed -n '/apt-get install/,/rm -rf/p' | tr ' \\' '\n\n' |
        grep -E '^[a-z0-9][a-z0-9.+-]+$' | grep -vE '^(apt-get|install|rm|rf|DEBIAN_FRONTEND|noninteractive)$' | sort -u
}
build_pkgs=$(stage_pkgs debian:12)
run_pkgs=$(stage_pkgs debian:12-slim)
depends=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/(.*)//; s/[[:space:]]//g' | grep -vE '^(adduser|libc6)$' | sort -u)
extra=$(comm -13 <(echo "$depends") <(echo "$run_pkgs") | tr '\n' ' ')
lack=$(comm -23 <(echo "$depends") <(echo "$run_pkgs") | tr '\n' ' ')
check "container: the runtime stage installs the package's shared-library Depends (dpkg-shlibdeps) and only ca-certificates besides [${extra% }]" \
    test -z "$lack" -a "${extra% }" = "ca-certificates"
[ -n "$lack" ] && echo "#   runtime stage lacks: $lack"
pcs=$(awk '/^PKGS[[:space:]]*:=/ { on = 1 } on { line = line " " $0; if ($0 !~ /\\$/) exit } END { print line }' Makefile |
    sed 's/PKGS[[:space:]]*:=//; s/\\//g' | tr ' ' '\n' | grep . | sort -u)
devs=$(for pc in $pcs; do
    p=$(dpkg -S "*/pkgconfig/$pc.pc" 2>/dev/null | head -1 | cut -d: -f1)
    echo "${p:-no-package-owns-$pc.pc}"
done | sort -u)
lack=$(comm -23 <(echo "$devs") <(echo "$build_pkgs") | tr '\n' ' ')
check "container: the build stage installs the -dev package of every library in the Makefile's PKGS" test -z "$lack"
[ -n "$lack" ] && echo "#   build stage lacks: $lack"
if [ -n "$(ls /var/lib/apt/lists/*_Packages* 2>/dev/null)" ]; then
    none=$(for p in $build_pkgs $run_pkgs; do
        apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [0-9]' || echo "$p"
    done | tr '\n' ' ')
    check "container: every package the Dockerfile names exists in Debian 12 (apt-cache policy)" test -z "$none"
    [ -n "$none" ] && echo "#   not found: $none"
else
    skip "container: apt package lists are empty here (apt-get update never ran): package names not looked up"
fi
ports=$(sed -n 's/^EXPOSE //p' "$df")
cports=$(sed -n 's/^\(listen\|admin\): [0-9.]*:\([0-9]*\).*/\2/p' packaging/container/driftgate.yaml | tr '\n' ' ')
check "container: EXPOSE ($ports) = the image config's listen and admin ports" test "$ports" = "${cports% }"
hc=$(sed -n '/^HEALTHCHECK/,/^  CMD/p' "$df" | sed -n 's/^  CMD //p')
hc_cmd=$(printf '%s' "$hc" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[2])' 2>/dev/null)
if [ -z "$hc_cmd" ]; then
    fail "container: HEALTHCHECK CMD is not a JSON array [\"bash\", \"-c\", ...]"
else
    # The image's config, run in a private network namespace (its 0.0.0.0:8080
    # and :9090 cannot collide with anything here), asked by the exact
    # HEALTHCHECK command.
    mkdir -p "$tmp/ct/specs"
    cp packaging/config/specs/example.yaml "$tmp/ct/specs/"
    sed "s#/var/lib/driftgate/drift.db#$tmp/ct/drift.db#" packaging/container/driftgate.yaml > "$tmp/ct/driftgate.yaml"
    printf '%s' "$hc_cmd" > "$tmp/ct/hc.sh"
    out=$(unshare -n bash -c '
        ip link set lo up
        bash "$3" 2>/dev/null && echo "healthy before start"
        "$1" run --config "$2" 2>/dev/null & pid=$!
        for i in $(seq 50); do bash "$3" 2>/dev/null && break; sleep 0.1; done
        bash "$3" 2>/dev/null && echo "healthy when up"
        kill $pid; wait $pid' _ "$dg" "$tmp/ct/driftgate.yaml" "$tmp/ct/hc.sh" 2>&1)
    check "container: the HEALTHCHECK command fails before driftgate is up and passes once /readyz is 200" \
        test "$out" = "healthy when up"
fi
check "container: CMD runs the config the image copies" sh -c "grep -q '^COPY packaging/container/driftgate.yaml /etc/driftgate/driftgate.yaml' $df && grep -q '^CMD \[\"run\", \"--config\", \"/etc/driftgate/driftgate.yaml\"\]' $df"

# Kubernetes manifests (PyYAML from Debian's python3-yaml).
if /usr/bin/python3 -c 'import yaml' 2>/dev/null; then
    while IFS= read -r line; do
        case $line in
        ok*) ok "${line#ok - }" ;;
        FAIL*) fail "${line#FAIL - }" ;;
        *) echo "$line" ;;
        esac
    done < <(/usr/bin/python3 "$here/check_k8s.py" packaging/k8s packaging/config/specs/example.yaml "$dg" 2>&1)
else
    skip "k8s manifests: python3-yaml is not installed"
fi

# --- 3. lintian -----------------------------------------------------------------
if command -v lintian >/dev/null; then
    lintian -EvIL +pedantic --show-overrides --tag-display-limit 0 "$deb" >"$tmp/lintian.txt" 2>&1
    grep -E '^[EWIPO]: ' "$tmp/lintian.txt" | sed 's/^/#   lintian: /'
    bad=$(grep -cE '^[EW]: ' "$tmp/lintian.txt")
    check "lintian: no error or warning that is not overridden (overridden: $(grep -c '^O: ' "$tmp/lintian.txt"))" test "$bad" = 0
else
    fail "lintian is not installed (apt-get install lintian)"
fi

# --- 4. with systemd as PID 1 ------------------------------------------------------
"$here/systemd-boot.sh" "$deb" >"$tmp/boot.txt" 2>&1
rc=$?
while IFS= read -r line; do
    case $line in
    ok*) ok "${line#ok - }" ;;
    FAIL*) fail "${line#FAIL - }" ;;
    skip*) skip "${line#skip - }" ;;
    *) echo "$line" ;;
    esac
done <"$tmp/boot.txt"
[ $rc = 0 ] || [ $rc = 77 ] || grep -q '^FAIL' "$tmp/boot.txt" || fail "systemd boot test exited $rc"

# --- 5. install into this system ---------------------------------------------------
installed=1
if DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" >"$tmp/dpkg-i.log" 2>&1; then
    ok "dpkg -i $(basename "$deb") (dependencies already satisfied, no network)"
else
    fail "dpkg -i failed:"
    sed 's/^/#   /' "$tmp/dpkg-i.log" | tail -15
    summary
    exit 1
fi
check "dpkg: driftgate is 'install ok installed'" test "$(dpkg-query -W -f='${Status}' driftgate)" = "install ok installed"
check "/usr/bin/driftgate version prints 'driftgate $version'" test "$(/usr/bin/driftgate version)" = "driftgate $version"
check "/usr/bin/driftgate check-config /etc/driftgate/driftgate.yaml" /usr/bin/driftgate check-config /etc/driftgate/driftgate.yaml
for ex in /usr/share/doc/driftgate/examples/*.yaml; do
    check "check-config accepts the installed example $(basename "$ex")" /usr/bin/driftgate check-config --quiet "$ex"
done
conff=$(dpkg-query -W -f='${Conffiles}\n' driftgate | awk 'NF {print $1}' | sort | tr '\n' ' ')
check "conffiles: /etc/driftgate/driftgate.yaml, specs/example.yaml, /etc/logrotate.d/driftgate" \
    test "$conff" = "/etc/driftgate/driftgate.yaml /etc/driftgate/specs/example.yaml /etc/logrotate.d/driftgate "
IFS=: read -r _ _ uid _ _ home shell < <(getent passwd driftgate)
check "postinst created the system user driftgate (uid $uid < 1000, home /var/lib/driftgate, no login shell)" \
    test -n "$uid" -a "${uid:-1000}" -lt 1000 -a "$home" = /var/lib/driftgate -a "$shell" = /usr/sbin/nologin
check "postinst created the group driftgate" getent group driftgate
for d in /var/lib/driftgate /var/log/driftgate; do
    check "$d: driftgate:driftgate 750" test "$(stat -c '%U:%G %a' "$d" 2>/dev/null)" = "driftgate:driftgate 750"
done
check "postinst enabled the units without a running systemd (deb-systemd-helper)" \
    test -L /etc/systemd/system/multi-user.target.wants/driftgate.service -a -L /etc/systemd/system/timers.target.wants/driftgate-report.timer

# The upgrade path (postinst configure with the old version): the same .deb
# again, over a locally changed conffile.
cp /etc/driftgate/driftgate.yaml "$tmp/conf.orig"
echo "# local change" >> /etc/driftgate/driftgate.yaml
if DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" >"$tmp/dpkg-u.log" 2>&1; then
    check "reinstall/upgrade: keeps the user (uid $uid) and the locally changed conffile" \
        sh -c "test \"\$(id -u driftgate)\" = '$uid' && grep -q '^# local change' /etc/driftgate/driftgate.yaml"
else
    fail "reinstall/upgrade: dpkg -i of the same .deb failed: $(tail -3 "$tmp/dpkg-u.log")"
fi
cp "$tmp/conf.orig" /etc/driftgate/driftgate.yaml

# The report unit's command line, as the driftgate user, on a store filled by
# replay: the state directory works for the service user.
cat > "$tmp/capture.jsonl" <<'EOF'
{"method": "GET", "url": "/items/bad-1", "status": 200, "headers": {"Content-Type": "application/json"}, "body": "{\"id\":\"bad-1\",\"name\":\"lamp\",\"price\":19.99,\"tags\":[\"Bad Tag\"],\"updated_at\":\"2026-11-26T10:00:00Z\"}"}
EOF
chmod 0644 "$tmp/capture.jsonl"
chmod 0755 "$tmp"
runuser -u driftgate -- /usr/bin/driftgate replay --config /etc/driftgate/driftgate.yaml \
    --store /var/lib/driftgate/drift.db "$tmp/capture.jsonl" >"$tmp/replay.txt" 2>&1
check "as driftgate: replay into /var/lib/driftgate/drift.db (exit 1: the capture is invalid)" test $? = 1
exec_start=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/driftgate-report.service)
# shellcheck disable=SC2086 # the unit's command line, split as systemd does (no quotes in it)
runuser -u driftgate -- $exec_start >"$tmp/report.txt" 2>&1
check "as driftgate: the report unit's ExecStart ($exec_start) writes index.html" \
    test $? = 0 -a -s /var/lib/driftgate/reports/index.html

# man, bash completion.
if grep -qs 'path-exclude.*/usr/share/man' /etc/dpkg/dpkg.cfg.d/*; then
    skip "man: dpkg excludes /usr/share/man on this machine (path-exclude)"
else
    check "man -w driftgate finds /usr/share/man/man1/driftgate.1.gz" test "$(man -w driftgate 2>/dev/null)" = /usr/share/man/man1/driftgate.1.gz
    check "man driftgate renders without warnings" test -z "$(MANWIDTH=80 man --warnings driftgate 2>&1 >/dev/null)"
fi
complete_words() { # complete_words WORD...: COMPREPLY for the last word, one line
    bash --norc --noprofile -c '
        [ -n "$BC" ] && source "$BC"
        source /usr/share/bash-completion/completions/driftgate
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
        _driftgate
        printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' _ "$@"
}
check_completion() { # check_completion EXPECTED WORD...
    local want=$1
    shift
    local got
    got=$(complete_words "$@")
    if [ "$got" = "$want" ]; then ok "completion$how: '$*<TAB>' -> $want"; else fail "completion$how: '$*<TAB>' -> '$got', expected '$want'"; fi
}
# Alone, and with the bash-completion package's helpers (_init_completion)
# loaded first, as in an interactive shell, when it is installed.
for BC in "" /usr/share/bash-completion/bash_completion; do
    export BC
    how=${BC:+ (with bash-completion)}
    if [ -n "$BC" ] && [ ! -r "$BC" ]; then
        skip "completion with bash-completion: the package is not installed"
        continue
    fi
    check_completion "replay report " driftgate rep
    check_completion "check-config " driftgate check
    check_completion "--per-owner " driftgate report --per
    check_completion "enforce monitor off " driftgate run --mode ""
    check_completion "oas3.0 oas3.1 " driftgate validate --dialect oas
    check_completion "html,json " driftgate report --format html,j
    check_completion "/etc/driftgate/driftgate.yaml " driftgate check-config /etc/driftgate/drift
    check_completion "/etc/driftgate/specs/example.yaml " driftgate lint /etc/driftgate/specs/ex
    check_completion "example " driftgate explain --config /etc/driftgate/driftgate.yaml --api ""
    check_completion "/etc/driftgate " driftgate report --out /etc/driftg
done

# systemd-analyze verify on the installed units (the binary and the man page
# of Documentation= are there now). Run from an empty directory.
units="/lib/systemd/system/driftgate.service /lib/systemd/system/driftgate-report.service /lib/systemd/system/driftgate-report.timer"
verify=$(cd "$tmp" && systemd-analyze verify $units 2>&1)
rc=$?
check "systemd-analyze verify: the three installed units are clean" test $rc = 0 -a -z "$verify"
[ -n "$verify" ] && echo "$verify" | sed 's/^/#   /'
for u in driftgate.service driftgate-report.service; do
    echo "# systemd-analyze security --offline=yes $u: $(cd "$tmp" && systemd-analyze security --offline=yes /lib/systemd/system/$u 2>/dev/null | tail -1)"
done
if command -v logrotate >/dev/null; then
    check "logrotate -d accepts /etc/logrotate.d/driftgate" logrotate -d /etc/logrotate.d/driftgate
else
    skip "logrotate is not installed: /etc/logrotate.d/driftgate not parsed"
fi

# --- 6. remove, purge ----------------------------------------------------------
echo "# changed a conffile locally, as an administrator would"
echo "# local change" >> /etc/driftgate/driftgate.yaml
if DEBIAN_FRONTEND=noninteractive dpkg -r driftgate >"$tmp/dpkg-r.log" 2>&1; then ok "dpkg -r driftgate"; else fail "dpkg -r driftgate: $(tail -3 "$tmp/dpkg-r.log")"; fi
check "after remove: /usr/bin/driftgate is gone" test ! -e /usr/bin/driftgate
check "after remove: units, man page, completion are gone" \
    sh -c '! ls /lib/systemd/system/driftgate* /usr/share/man/man1/driftgate.1.gz /usr/share/bash-completion/completions/driftgate 2>/dev/null | grep -q .'
check "after remove: status 'deinstall ok config-files'" test "$(dpkg-query -W -f='${Status}' driftgate)" = "deinstall ok config-files"
check "after remove: the conffiles stay (Debian policy 10.7.3), with the local change" grep -q '^# local change' /etc/driftgate/driftgate.yaml
check "after remove: the user and /var/lib/driftgate stay (until purge)" sh -c 'getent passwd driftgate && test -d /var/lib/driftgate/reports'
if DEBIAN_FRONTEND=noninteractive dpkg -P driftgate >"$tmp/dpkg-p.log" 2>&1; then ok "dpkg -P driftgate"; else fail "dpkg -P driftgate: $(tail -3 "$tmp/dpkg-p.log")"; fi
check "after purge: the conffiles and /etc/driftgate are gone" test ! -e /etc/driftgate -a ! -e /etc/logrotate.d/driftgate
check "after purge: the user and group driftgate are gone" sh -c '! getent passwd driftgate && ! getent group driftgate'
check "after purge: /var/lib/driftgate (drift store, reports) and /var/log/driftgate are gone" test ! -e /var/lib/driftgate -a ! -e /var/log/driftgate
check "after purge: no unit symlinks or deb-systemd-helper state left" \
    sh -c '! find /etc/systemd/system /var/lib/systemd/deb-systemd-helper-enabled /var/lib/systemd/deb-systemd-helper-masked -name "*driftgate*" 2>/dev/null | grep -q .'
s=$(dpkg-query -W -f='${Status}' driftgate 2>/dev/null)
check "after purge: dpkg no longer knows the package" test -z "$s" -o "$s" = "unknown ok not-installed" -o "$s" = "deinstall ok not-installed"
snapshot > "$tmp/after.txt"
if diff -u "$before" "$tmp/after.txt" >"$tmp/diff.txt"; then
    ok "the machine is as it was before the test (files, units, user, dpkg status)"
else
    fail "the machine differs from before the test:"
    sed -n '3,30p' "$tmp/diff.txt" | sed 's/^/#   /'
fi
installed=0

summary
