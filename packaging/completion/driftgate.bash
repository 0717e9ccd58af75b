# bash completion for driftgate(1).
# Installed as /usr/share/bash-completion/completions/driftgate (loaded on
# demand by bash-completion); also works when sourced on its own, without the
# bash-completion package.
#
# Completes subcommands, each subcommand's options, the values of options
# with a fixed set of values, file names where a file is expected, directory
# names for `report --out`, and API names for `--api` (read from the
# `--config` file given earlier on the line).

# Option lists per subcommand: keep them in step with `driftgate CMD --help`
# (tests/packaging/run.sh compares them).
_driftgate_opts_run='--config --spec --upstream --listen --admin --mode --profile --ref-map --ca-file --insecure --workers --log --log-level --anomalies --store --help'
_driftgate_opts_check_config='--quiet --help'
_driftgate_opts_validate='--spec --operation --method --path --status --content-type --schema --dialect --ref-map --format --max-errors --include-values --request --no-format-assert --help'
_driftgate_opts_lint='--ref-map --format --help'
_driftgate_opts_replay='--spec --upstream-host --ref-map --config --api --store --anomalies --format --verbose --max-bytes --help'
_driftgate_opts_explain='--config --store --api --dry-run --timeout --help'
_driftgate_opts_report='--store --out --since --api --owner --per-owner --format --top --no-save --help'

# API names (`- name: x` entries) of the config file named by --config.
_driftgate_api_names()
{
    local i cfg=
    for ((i = 1; i < COMP_CWORD; i++)); do
        [[ ${COMP_WORDS[i]} == --config ]] && cfg=${COMP_WORDS[i + 1]}
    done
    cfg=${cfg/#\~/$HOME}
    [[ -n $cfg && -r $cfg ]] || return 0
    sed -n 's/^[[:space:]]*-[[:space:]]*name:[[:space:]]*["'\'']\{0,1\}\([a-z0-9_.-]\{1,64\}\).*/\1/p' "$cfg" 2>/dev/null
}

_driftgate_files()
{
    local IFS=$'\n'
    compopt -o filenames 2>/dev/null
    COMPREPLY=($(compgen -f -- "$1"))
}

_driftgate_dirs()
{
    local IFS=$'\n'
    compopt -o filenames 2>/dev/null
    COMPREPLY=($(compgen -d -- "$1"))
}

_driftgate()
{
    local cur prev words cword
    if declare -F _init_completion >/dev/null 2>&1; then
        _init_completion || return
    else
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD - 1]}
    fi
    COMPREPLY=()

    # The subcommand is the first word after `driftgate`.
    if ((cword == 1)); then
        COMPREPLY=($(compgen -W 'run check-config validate lint replay explain report version help --help --version' -- "$cur"))
        return 0
    fi
    local cmd=${words[1]}

    # Values of the option just typed.
    case $prev in
    --config | --spec | --schema | --log | --anomalies | --store | --ca-file)
        _driftgate_files "$cur"
        return 0
        ;;
    --out)
        _driftgate_dirs "$cur"
        return 0
        ;;
    --mode)
        COMPREPLY=($(compgen -W 'monitor enforce off' -- "$cur"))
        return 0
        ;;
    --profile)
        COMPREPLY=($(compgen -W 'strict third-party report-only' -- "$cur"))
        return 0
        ;;
    --log-level)
        COMPREPLY=($(compgen -W 'debug info warn error' -- "$cur"))
        return 0
        ;;
    --dialect)
        COMPREPLY=($(compgen -W 'draft4 2020-12 oas3.0 oas3.1' -- "$cur"))
        return 0
        ;;
    --format)
        if [[ $cmd == report ]]; then
            # A comma-separated list: complete the last element.
            local head= last=$cur
            [[ $cur == *,* ]] && head=${cur%,*}, && last=${cur##*,}
            COMPREPLY=($(compgen -P "$head" -W 'html md json' -- "$last"))
            compopt -o nospace 2>/dev/null
        else
            COMPREPLY=($(compgen -W 'text json' -- "$cur"))
        fi
        return 0
        ;;
    --method)
        COMPREPLY=($(compgen -W 'GET POST PUT PATCH DELETE HEAD OPTIONS' -- "$cur"))
        return 0
        ;;
    --since)
        COMPREPLY=($(compgen -W '24h 7d 30d' -- "$cur"))
        return 0
        ;;
    --api)
        COMPREPLY=($(compgen -W "$(_driftgate_api_names)" -- "$cur"))
        return 0
        ;;
    --upstream | --listen | --admin | --ref-map | --workers | --operation | \
        --path | --status | --content-type | --max-errors | --upstream-host | \
        --max-bytes | --timeout | --owner | --top)
        # A free-form value: nothing sensible to offer.
        return 0
        ;;
    esac

    local opts
    case $cmd in
    run) opts=$_driftgate_opts_run ;;
    check-config) opts=$_driftgate_opts_check_config ;;
    validate) opts=$_driftgate_opts_validate ;;
    lint) opts=$_driftgate_opts_lint ;;
    replay) opts=$_driftgate_opts_replay ;;
    explain) opts=$_driftgate_opts_explain ;;
    report) opts=$_driftgate_opts_report ;;
    *) return 0 ;;
    esac

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        return 0
    fi
    # Positional arguments: the config (check-config), the spec (lint), the
    # bodies (validate) and the recordings (replay) are files.
    case $cmd in
    check-config | lint | validate | replay) _driftgate_files "$cur" ;;
    esac
    return 0
}
complete -F _driftgate driftgate
