#!/bin/sh
# The driftgate demo: `make demo`, or demo/run.sh [path/to/driftgate].
# Everything is in demo/demo.py; see demo/README.md.
here=$(cd "$(dirname "$0")" && pwd)
command -v python3 >/dev/null 2>&1 || { echo "demo: python3 is needed (apt-get install python3)" >&2; exit 1; }
exec python3 "$here/demo.py" "$@"
