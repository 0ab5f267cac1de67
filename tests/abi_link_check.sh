#!/usr/bin/env bash
# Usage: abi_link_check.sh SOURCE INCLUDE_DIR LIBRARY -- COMPILER... -- RIGHT_FLAGS...
#                          [-- SYMBOL_REGEX WRONG_FLAGS...]...
# SOURCE compiled with the library's own flags links against LIBRARY; compiled
# with each set of WRONG_FLAGS it compiles but fails to link, and the linker
# names an undefined symbol matching SYMBOL_REGEX: the pool ABI symbol those
# flags ask for (see ZIGGY_POOL_ABI_SYMBOL). Exit 0 when all of that holds.
set -u
src=$1 inc=$2 lib=$3
shift 3
groups=() # each group's words, joined by \x1f
group=""
for arg in "$@"; do
    if [ "$arg" = "--" ]; then
        groups+=("$group")
        group=""
    else
        group+="$arg"$'\x1f'
    fi
done
groups+=("$group")
words() { # the words of group $1 into the array `w`
    w=()
    local IFS=$'\x1f'
    [ -n "${groups[$1]}" ] && read -r -a w <<<"${groups[$1]%$'\x1f'}"
    return 0
}
[ "${#groups[@]}" -ge 3 ] || { echo "usage: see the script's head" >&2; exit 2; }
words 1
compiler=("${w[@]}")

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
trap 'exit 1' TERM INT HUP

# build FLAGS...: compiles (which must succeed), then links; status of the link,
# its output in $dir/log.
build() {
    if ! "${compiler[@]}" -I"$inc" "$@" -c "$src" -o "$dir/a.o" >"$dir/log" 2>&1; then
        cat "$dir/log"
        echo "FAIL: does not compile with: $*"
        exit 1
    fi
    "${compiler[@]}" "$@" "$dir/a.o" "$lib" -pthread -o "$dir/a.out" >"$dir/log" 2>&1
}

words 2
if ! build "${w[@]}"; then
    cat "$dir/log"
    echo "FAIL: with the library's flags (${w[*]}) the program does not link"
    exit 1
fi
echo "ok: links with the library's flags (${w[*]})"

for ((g = 3; g < ${#groups[@]}; ++g)); do
    words "$g"
    symbol=${w[0]}
    wrong=("${w[@]:1}")
    if build "${wrong[@]}"; then
        echo "FAIL: with other flags (${wrong[*]}) the program links against the library"
        exit 1
    fi
    if ! grep "undefined" "$dir/log" | grep -q "$symbol"; then
        cat "$dir/log"
        echo "FAIL: the link with ${wrong[*]} failed, but not on an undefined $symbol"
        exit 1
    fi
    echo "ok: with ${wrong[*]} the link fails:"
    grep "undefined" "$dir/log" | grep -m1 "$symbol"
done
