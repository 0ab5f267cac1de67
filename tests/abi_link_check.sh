#!/usr/bin/env bash
# Usage: abi_link_check.sh SOURCE INCLUDE_DIR LIBRARY WRONG_SYMBOL
#                          RIGHT_DEFINES... -- WRONG_DEFINES... -- COMPILER...
# A program compiled with the library's own defines links against it; one
# compiled with other defines fails to, and the linker names the pool ABI
# symbol those defines ask for (see ZIGGY_POOL_ABI_SYMBOL). Exit 0 when both hold.
set -u
src=$1 inc=$2 lib=$3 wrong_symbol=$4
shift 4
right=() wrong=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do right+=("$1"); shift; done
shift
while [ $# -gt 0 ] && [ "$1" != "--" ]; do wrong+=("$1"); shift; done
shift
compiler=("$@")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

link() { # defines... ; output in $dir/log
    "${compiler[@]}" -std=c++20 -I"$inc" "$@" "$src" "$lib" -pthread -o "$dir/a.out" >"$dir/log" 2>&1
}

if ! link "${right[@]}"; then
    cat "$dir/log"
    echo "FAIL: with the library's defines (${right[*]:-none}) the program does not link"
    exit 1
fi
echo "ok: links with the library's defines (${right[*]:-none})"
if link "${wrong[@]}"; then
    echo "FAIL: with other defines (${wrong[*]}) the program links against the library"
    exit 1
fi
if ! grep -q "$wrong_symbol" "$dir/log"; then
    cat "$dir/log"
    echo "FAIL: the link failed, but the linker did not name $wrong_symbol"
    exit 1
fi
echo "ok: with ${wrong[*]} the link fails on $wrong_symbol:"
grep -m1 "$wrong_symbol" "$dir/log"
