#!/bin/sh
# scripts/embed.sh SYMBOL FILE: prints a C file defining `const char
# SYMBOL[]` (the file's bytes plus a NUL) and `const size_t SYMBOL_len`.
# Used to compile policies/config.schema.json into the binary.
set -eu
sym=$1
f=$2
echo "/* generated from $f by scripts/embed.sh; do not edit */"
echo "#include <stddef.h>"
echo "extern const char ${sym}[];"
echo "extern const size_t ${sym}_len;"
echo "const char ${sym}[] = {"
od -An -v -tx1 "$f" | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'
echo "0x00};"
echo "const size_t ${sym}_len = sizeof ${sym} - 1;"
