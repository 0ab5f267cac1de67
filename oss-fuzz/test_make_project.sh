#!/usr/bin/env bash
# Tests oss-fuzz/make_project.sh (scripts/fuzz.sh oss-fuzz-project): good values
# give a complete projects/ziggyalloc/ with every template variable filled in;
# each kind of bad value is refused with exit 2 and a message, writing nothing.
# Run by oss-fuzz/check.sh and as the meson test fuzz/oss_fuzz_project.
#
#   oss-fuzz/test_make_project.sh       # prints "N passed, 0 failed"
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MAKE="$HERE/make_project.sh"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passed=0 failed=0

ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

# Good values (test data, not a real repository): every file written, filled in.
repo=https://git.fuzz-test-host.dev/team/ziggyalloc.git
mail=fuzz-reports@fuzz-test-host.dev
out="$TMP/good"
if bash "$MAKE" "$repo" "$mail" "$out" >"$TMP/log" 2>&1; then
    d="$out/projects/ziggyalloc"
    for f in project.yaml Dockerfile build.sh; do
        [ -s "$d/$f" ] && ok || bad "good values: $f not written"
    done
    grep -q '@[A-Z_]*@' "$d/project.yaml" "$d/Dockerfile" &&
        bad "good values: a template variable left" || ok
    grep -q '^#@' "$d/project.yaml" "$d/Dockerfile" && bad "good values: template notes left" || ok
    grep -qx "main_repo: \"$repo\"" "$d/project.yaml" && ok || bad "main_repo not $repo"
    grep -qx "homepage: \"${repo%.git}\"" "$d/project.yaml" && ok || bad "homepage not ${repo%.git}"
    grep -qx "primary_contact: \"$mail\"" "$d/project.yaml" && ok || bad "primary_contact not $mail"
    grep -qx "RUN git clone --depth 1 $repo ziggyalloc" "$d/Dockerfile" && ok ||
        bad "Dockerfile does not clone $repo"
    cmp -s "$HERE/build.sh" "$d/build.sh" && [ -x "$d/build.sh" ] && ok ||
        bad "build.sh is not oss-fuzz/build.sh"
    # Run again over the same directory: overwritten, still complete.
    bash "$MAKE" "$repo" "$mail" "$out" >/dev/null 2>&1 && ok || bad "second run over $out failed"
else
    bad "good values refused: $(cat "$TMP/log")"
fi

# refuse WHAT EXPECTED_MESSAGE ARGS...: exit 2, the message on stderr, nothing written.
refuse() {
    local what=$1 expect=$2 out="$TMP/bad$((passed + failed))"
    shift 2
    local status=0
    bash "$MAKE" "$@" "$out" >"$TMP/out" 2>"$TMP/err" || status=$?
    if [ "$status" -eq 2 ] && grep -q "$expect" "$TMP/err" && [ ! -e "$out" ]; then
        ok
    else
        bad "$what: exit $status, stderr '$(cat "$TMP/err")', wrote: $(ls "$out" 2>/dev/null)"
    fi
}
refuse "empty URL" "repository URL is empty" "" "$mail"
refuse "empty email" "contact email is empty" "$repo" ""
refuse "http URL" "invalid repository URL" http://git.fuzz-test-host.dev/team/ziggyalloc "$mail"
refuse "URL without path" "invalid repository URL" https://git.fuzz-test-host.dev "$mail"
refuse "URL with a space" "invalid repository URL" "https://host.dev/team/zig alloc" "$mail"
refuse "URL with a quote" "invalid repository URL" 'https://host.dev/team/"x' "$mail"
refuse "URL with a template variable" "invalid repository URL" "https://host.dev/@REPO_URL@" "$mail"
refuse "email without @" "invalid contact email" "$repo" fuzz-reports.fuzz-test-host.dev
refuse "email without domain" "invalid contact email" "$repo" "fuzz@"
refuse "email with a space" "invalid contact email" "$repo" "fuzz reports@host.dev"
refuse "email at .invalid" "reserved domain" "$repo" maintainers@ziggyalloc.invalid
refuse "email at example.com" "reserved domain" "$repo" me@Example.COM
# Missing and extra arguments: usage.
status=0
bash "$MAKE" "$repo" "$mail" >/dev/null 2>"$TMP/err" || status=$?
[ "$status" -eq 2 ] && grep -q usage "$TMP/err" && ok || bad "two arguments: exit $status"
status=0
bash "$MAKE" "$repo" "$mail" "$TMP/x" extra >/dev/null 2>"$TMP/err" || status=$?
[ "$status" -eq 2 ] && grep -q usage "$TMP/err" && [ ! -e "$TMP/x" ] && ok || bad "four arguments: exit $status"
status=0
bash "$MAKE" "$repo" "$mail" "" >/dev/null 2>"$TMP/err" || status=$?
[ "$status" -eq 2 ] && grep -q "output directory is empty" "$TMP/err" && ok || bad "empty OUT_DIR: exit $status"

echo "oss-fuzz-project: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
