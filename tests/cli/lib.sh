# tests/cli/lib.sh: the assertions every CLI test script uses (sourced).
# Each counts one check in $n and a failure in $fail; the last command's
# output is expected in $T/o.
fail=0 n=0

check() { # name expected_exit actual_exit
    n=$((n + 1))
    if [ "$2" != "$3" ]; then
        echo "FAIL $1: exit $3, expected $2"; sed 's/^/    /' "$T/o" 2>/dev/null | head -30
        fail=$((fail + 1))
    fi
}
contains() { # name file needle
    n=$((n + 1))
    if ! grep -qF -- "$3" "$2"; then
        echo "FAIL $1: output lacks '$3':"; sed 's/^/    /' "$2" | head -30; fail=$((fail + 1))
    fi
}
lacks() { # name file needle
    n=$((n + 1))
    if grep -qF -- "$3" "$2"; then
        echo "FAIL $1: output has '$3':"; grep -F -- "$3" "$2" | head -5; fail=$((fail + 1))
    fi
}
same() { # name expected actual
    n=$((n + 1))
    if [ "$2" != "$3" ]; then
        echo "FAIL $1: got '$3', expected '$2'"; fail=$((fail + 1))
    fi
}
