# Turns one run's output into CSV rows: each "RESULT key=value ..." line
# becomes "prefix,<value of each key in keys>". Other lines are ignored.
# Variables: prefix  CSV text put before the values (workload,run,path)
#            keys    space-separated keys, in CSV column order; the first
#                    names the row (kernel) and must be unique in a run
#            numeric space-separated keys whose values must be numbers
#            done    how the line a complete run prints last begins ("" = none)
#            defaults space-separated "key=value" or "key=@other": the value
#                    of a key the line lacks (a constant, or another key's
#                    value), so one program's lines can fill another's
#                    columns (native: ops=1 per_op_cycles=@cycles)
# Exit status: 0 ok; 1 malformed RESULT line; 2 no RESULT line; 3 no done
# line. The first line on stderr says why.
BEGIN {
    nkeys = split(keys, key, " ")
    split(numeric, tmp, " ")
    for (i in tmp) is_numeric[tmp[i]] = 1
    seen_done = (done == "")
    ndef = split(defaults, tmp, " ")
    for (i = 1; i <= ndef; i++) {
        eq = index(tmp[i], "=")
        dflt[substr(tmp[i], 1, eq - 1)] = substr(tmp[i], eq + 1)
    }
    rows = 0
    status = 0
}

{ sub(/\r$/, "") }   # serial consoles may end lines with CR LF

done != "" && index($0, done) == 1 { seen_done = 1; next }

$1 == "RESULT" {
    split("", val)
    for (i = 2; i <= NF; i++) {
        eq = index($i, "=")
        if (eq < 2) { fail(1, "malformed field '" $i "' in: " $0); next }
        val[substr($i, 1, eq - 1)] = substr($i, eq + 1)
    }
    for (k in dflt)
        if (!(k in val)) val[k] = substr(dflt[k], 1, 1) == "@" ? val[substr(dflt[k], 2)] : dflt[k]
    row = prefix
    for (k = 1; k <= nkeys; k++) {
        v = val[key[k]]
        if (v == "" || v ~ /[,"]/) { fail(1, "bad or missing " key[k] " in: " $0); next }
        if (is_numeric[key[k]] && v !~ /^[0-9]+(\.[0-9]+)?$/) {
            fail(1, key[k] " is not a number in: " $0); next
        }
        row = row "," v
    }
    if (val[key[1]] in seen_name) { fail(1, "duplicate " key[1] "=" val[key[1]]); next }
    seen_name[val[key[1]]] = 1
    print row
    rows++
}

END {
    if (status == 0 && rows == 0) fail(2, "no RESULT lines")
    if (status == 0 && !seen_done) fail(3, "run did not finish: no '" done "' line")
    exit status
}

function fail(code, msg) {
    if (status == 0) status = code
    print msg > "/dev/stderr"
}
