#!/usr/bin/env bash
# Tests of tpvm --stats=json (`make check` runs it): the hello guest under
# tpvm; the JSON must parse (perf/json_flatten.awk, and python3 -m
# json.tool when there is one), hold every counter --stats prints as text,
# and count what the guest did (its COM1 bytes are the bytes on stdout).
# Also --stats=json:PATH, --stats=text and bad --stats values.
# Environment: TPVM [build/tpvm], HELLO_ELF [build/guests/hello.elf].
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/test_lib.sh"
root=$(cd "$perf_dir/.." && pwd)
tpvm=${TPVM:-$root/build/tpvm}
hello=${HELLO_ELF:-$root/build/guests/hello.elf}

for f in "$tpvm" "$hello"; do
    if [[ ! -e $f ]]; then
        echo "not ok - $f is not built (make all)"
        exit 1
    fi
done

flat() { LC_ALL=C awk -f "$perf_dir/json_flatten.awk" "$1"; }
value() { awk -F'\t' -v k="$1" '$1 == k { print $2; found = 1 } END { exit !found }' "$tmp/flat"; }

# ---- the checker itself must reject what is not JSON
printf '{"a": 1, "b": [true, null, -2.5e3, "x\\"y"], "c": {}}' >"$tmp/good.json"
flat "$tmp/good.json" >/dev/null 2>&1
expect "json checker: accepts valid JSON" 0 $?
bad=0
for text in '{"a": 1,}' '{"a": 01}' '{"a" 1}' '[1 2]' '{"a": 1} x' '{"a": "x' '{"a": tru}' '' \
    '{"a": 1, "a": 2}'; do
    printf '%s' "$text" >"$tmp/bad.json"
    if flat "$tmp/bad.json" >/dev/null 2>&1; then
        not_ok "json checker: rejects $text"
        bad=1
    fi
done
((bad)) || ok "json checker: rejects 9 kinds of broken JSON"

# ---- --stats=json on stderr
"$tpvm" --mode bt --stats=json "$hello" >"$tmp/out" 2>"$tmp/stats.json"
status=$?
"$tpvm" --mode bt "$hello" >/dev/null 2>&1
expect "--stats=json keeps the guest's exit status" "$?" "$status"
if flat "$tmp/stats.json" >"$tmp/flat" 2>"$tmp/flat.err"; then
    ok "--stats=json prints valid JSON on stderr"
else
    not_ok "--stats=json prints valid JSON on stderr" "$(cat "$tmp/flat.err")"$'\n'"$(head -n 20 "$tmp/stats.json")"
fi
if command -v python3 >/dev/null && python3 -c 'import json' 2>/dev/null; then
    if python3 -m json.tool "$tmp/stats.json" >/dev/null 2>"$tmp/py.err"; then
        ok "python3 -m json.tool accepts it"
    else
        not_ok "python3 -m json.tool accepts it" "$(cat "$tmp/py.err")"
    fi
else
    echo "# python3 not installed: json_flatten.awk alone checked the JSON"
fi
missing=""
for k in schema version commit mode run_time_us host.user_us bt.blocks_translated \
    bt.tlb_fills bt.tlb_flushes bt.exits_to_loop bt.dispatch_lookups bt.jc_fills \
    bt.helper_calls bt.hypercalls bt.interrupts_delivered bt.helper_by_kind.io \
    vmm.run_loop_iterations vmm.run_time_us vmm.serial_bytes_out; do
    value "$k" >/dev/null || missing+=" $k"
done
expect "the key counters are there" "" "$missing"
expect "mode is the one asked for" bt "$(value mode)"
expect "vmm.serial_bytes_out = the bytes the guest printed" "$(wc -c <"$tmp/out" | tr -d ' ')" \
    "$(value vmm.serial_bytes_out)"
com1=$(awk -F'\t' '$1 ~ /^io\.[0-9]+\.name$/ && $2 == "com1" { split($1, p, "."); print p[2] }' "$tmp/flat")
writes=$(value "io.$com1.writes" 2>/dev/null)
if [[ -n $com1 && ${writes:-0} -ge $(value vmm.serial_bytes_out) ]]; then
    ok "io: com1 has at least one write per byte printed ($writes)"
else
    not_ok "io: com1 has at least one write per byte printed" "com1 index '$com1', writes '$writes'"
fi
if [[ $(value bt.helper_by_kind.io) -gt 0 && $(value bt.blocks_translated) -gt 0 ]]; then
    ok "translator counters count (blocks translated, io helper calls)"
else
    not_ok "translator counters count" "$(grep -E 'blocks_translated|helper_by_kind.io' "$tmp/flat")"
fi

# Every counter of the text form is in the JSON, under the same name (in
# the default mode, which has the VMI back end too).
"$tpvm" --stats "$hello" 2>"$tmp/stats.txt" >/dev/null
"$tpvm" --stats=json "$hello" 2>"$tmp/auto.json" >/dev/null
flat "$tmp/auto.json" >"$tmp/flat" 2>/dev/null
text_names=$(awk '$1 == "bt" && $2 != "helper" && $2 != "exception" && $2 != "interrupt" { print "bt." $2 }
    $1 == "vmm" { print "vmm." $2 }
    $1 == "vmi" && $2 != "call" { print "vmi." $2 }' "$tmp/stats.txt" | sort)
json_names=$(cut -f1 "$tmp/flat" | grep -E '^(bt|vmm|vmi)\.[a-z0-9_]+$' | sort)
expect "--stats text and JSON list the same counters" "$text_names" "$json_names"
if grep -q '^vmi\.' <<<"$json_names"; then
    ok "the VMI back end's counters are in the JSON"
else
    not_ok "the VMI back end's counters are in the JSON" "$(cut -f1 "$tmp/flat" | head -n 80)"
fi
expect "--stats (text) starts with its title" "tpvm stats:" "$(head -n 1 "$tmp/stats.txt")"
"$tpvm" --stats=text "$hello" 2>"$tmp/stats2.txt" >/dev/null
expect "--stats=text is the text form" "tpvm stats:" "$(head -n 1 "$tmp/stats2.txt")"

# ---- --stats=json:PATH
"$tpvm" --stats=json:"$tmp/file.json" "$hello" >/dev/null 2>"$tmp/err"
expect "--stats=json:PATH leaves stderr empty" "" "$(cat "$tmp/err")"
if flat "$tmp/file.json" >/dev/null 2>&1; then
    ok "--stats=json:PATH writes valid JSON to PATH"
else
    not_ok "--stats=json:PATH writes valid JSON to PATH" "$(head -c 300 "$tmp/file.json" 2>&1)"
fi

# ---- bad values
"$tpvm" --stats=xml "$hello" >/dev/null 2>"$tmp/err"
expect "--stats=xml is a usage error" "2" "$?"
expect "... and says what is expected" 1 "$(grep -c 'expected text or json' "$tmp/err")"
"$tpvm" --stats=json: "$hello" >/dev/null 2>&1
expect "--stats=json: without a file is a usage error" 2 $?
"$tpvm" --stats=json:/nonexistent-dir/x.json "$hello" >/dev/null 2>"$tmp/err"
expect "an unwritable --stats file is reported" 1 "$(grep -c 'cannot write /nonexistent-dir/x.json' "$tmp/err")"

finish
