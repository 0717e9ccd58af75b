#!/bin/sh
# Tests the demo three ways (heuristic, fake Gemini, fake Ollama), plus Ctrl-C,
# DEMO_KEEP_RUNNING and a taken port. Usage: demo/test.sh [path/to/driftgate]
here=$(cd "$(dirname "$0")" && pwd)
exec timeout -k 10 240 python3 "$here/test.py" "$@"
