#!/usr/bin/env bash
# Usage: abi_link_check.sh SOURCE INCLUDE_DIR LIBRARY -- COMPILER... -- LINK_FLAGS...
#                          -- RIGHT_FLAGS... [-- SYMBOL_REGEX WRONG_FLAGS...]...
# SOURCE compiled with the library's own flags links against LIBRARY; compiled
# with each set of WRONG_FLAGS it compiles but fails to link, and the linker
# names an undefined symbol matching SYMBOL_REGEX (grep BRE): the pool ABI
# symbol those flags ask for (see ZIGGY_POOL_ABI_SYMBOL). Exit 0 when all of
# that holds. In RIGHT_FLAGS and WRONG_FLAGS, -Wl,* and -fuse-ld=* go to the
# link, -fsanitize=* to the compile and the link (the sanitizer's runtime),
# the others to the compile; LINK_FLAGS go to every link. Every link puts
# first an object of another source compiled with RIGHT_FLAGS, whose own
# reference to the library's symbol must not hide SOURCE's (the linker keeps
# one copy of an inline variable, the first object's).
set -u
export LC_ALL=C # the linker's messages in English: the checks grep them
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
[ "${#groups[@]}" -ge 4 ] || { echo "usage: see the script's head" >&2; exit 2; }
words() { # the words of group $1 into the array `w`
    w=()
    local IFS=$'\x1f'
    [ -n "${groups[$1]}" ] && read -r -a w <<<"${groups[$1]%$'\x1f'}"
    return 0
}
words 1
compiler=("${w[@]}")
words 2
link_flags=("${w[@]}")

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
trap 'exit 1' TERM INT HUP

# split FLAGS...: cflags and lflags of FLAGS, as the usage says.
split() {
    cflags=() lflags=()
    for f in "$@"; do
        case $f in
            -Wl,* | -fuse-ld=*) lflags+=("$f") ;;
            -fsanitize=*) cflags+=("$f") lflags+=("$f") ;;
            *) cflags+=("$f") ;;
        esac
    done
}

# build FLAGS...: compiles (which must succeed), then links after first.o;
# the status of the link, its output in $dir/log.
build() {
    split "$@"
    if ! "${compiler[@]}" -I"$inc" "${cflags[@]}" -c "$src" -o "$dir/a.o" >"$dir/log" 2>&1; then
        cat "$dir/log"
        echo "FAIL: does not compile with: $*"
        exit 1
    fi
    "${compiler[@]}" "$dir/first.o" "$dir/a.o" "$lib" -pthread "${link_flags[@]}" "${lflags[@]}" \
        -o "$dir/a.out" >"$dir/log" 2>&1
}

words 3
split "${w[@]}"
printf '#include <ziggy/system_allocator.hpp>\nint abi_link_check_first() { return 1; }\n' \
    >"$dir/first.cpp"
if ! "${compiler[@]}" -I"$inc" "${cflags[@]}" -c "$dir/first.cpp" -o "$dir/first.o" >"$dir/log" 2>&1; then
    cat "$dir/log"
    echo "FAIL: the first object does not compile with: ${w[*]}"
    exit 1
fi
if ! build "${w[@]}"; then
    cat "$dir/log"
    echo "FAIL: with the library's flags (${w[*]}) the program does not link"
    exit 1
fi
echo "ok: links with the library's flags (${w[*]})"

for ((g = 4; g < ${#groups[@]}; ++g)); do
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
