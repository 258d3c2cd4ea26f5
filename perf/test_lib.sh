# Sourced by the perf/ test scripts (selftest.sh, stats-json-test.sh): a
# scratch directory removed on exit, TAP-style ok / not ok lines with
# counts, and the summary. Sets perf_dir and tmp.
perf_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

ok() {
    passed=$((passed + 1))
    echo "ok - $1"
}

not_ok() {
    failed=$((failed + 1))
    echo "not ok - $1"
    [[ -z ${2:-} ]] || sed 's/^/#   /' <<<"$2"
}

# expect NAME WANT GOT: GOT must equal WANT.
expect() {
    if [[ $3 == "$2" ]]; then ok "$1"; else not_ok "$1" "want: $2"$'\n'"got:  $3"; fi
}

# The last line of a test script: the counts, and its exit status.
finish() {
    echo "$passed passed, $failed failed"
    ((failed == 0))
}
