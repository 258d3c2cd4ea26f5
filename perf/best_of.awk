# Merges the outputs of the launches of one run (files given in launch
# order) into one output: the first launch's lines, with each RESULT line's
# numeric fields replaced by their smallest value over the launches.
#
# Why: on the shared bench host a process can spend its whole life ~1.5x
# slower than the next one started a second later, in guest and host-native
# code alike (perf/README.md, "Launches"); noise only adds time, so the
# fewest cycles over a few launches is the work's own cost, as the fewest
# over chunks and rounds is inside a launch.
#
# Variables: name   the key that names a RESULT line (e.g. name)
#            check  the key whose value every launch must repeat ("" = none)
# Fields other than name and check are minimised when every launch gives a
# number, else must be the same in every launch. A RESULT line missing from
# a launch, a check that differs, or a field that is neither fails.
# Exit status: 0 ok; 1 the launches disagree (the first line on stderr says
# how).
function fail(msg) {
    if (!failed) print msg > "/dev/stderr"
    failed = 1
}

function is_number(v) { return v ~ /^[0-9]+(\.[0-9]+)?$/ }

{ sub(/\r$/, "") }

FNR == 1 { launch++ }

launch == 1 { line[++nlines] = $0 }

$1 == "RESULT" {
    id = ""
    for (i = 2; i <= NF; i++)
        if (index($i, name "=") == 1) id = substr($i, length(name) + 2)
    if (id == "") { fail("launch " launch ": RESULT line without " name "=: " $0); next }
    seen[launch, id] = 1
    if (launch == 1) {
        ids[++nids] = id
        nf[id] = NF
    }
    for (i = 2; i <= NF; i++) {
        eq = index($i, "=")
        k = substr($i, 1, eq - 1); v = substr($i, eq + 1)
        if (launch == 1) {
            fkey[id, i] = k; best[id, k] = v
            continue
        }
        if (!((id, k) in best)) { fail("launch " launch ": " name "=" id " has " k "=, launch 1 does not"); continue }
        b = best[id, k]
        if (k == name) continue
        if (k == check || !is_number(v) || !is_number(b)) {
            if (v != b) fail("launch " launch ": " name "=" id " " k "=" v ", launch 1 " k "=" b)
        } else if (v + 0 < b + 0) {
            best[id, k] = v
        }
    }
}

END {
    for (j = 1; j <= nids; j++)
        for (l = 2; l <= launch; l++)
            if (!((l, ids[j]) in seen)) fail("launch " l ": no RESULT line for " name "=" ids[j])
    if (failed) exit 1
    for (n = 1; n <= nlines; n++) {
        $0 = line[n]
        if ($1 != "RESULT") { print; continue }
        for (i = 2; i <= NF; i++)
            if (index($i, name "=") == 1) id = substr($i, length(name) + 2)
        out = "RESULT"
        for (i = 2; i <= nf[id]; i++)
            out = out " " fkey[id, i] "=" best[id, fkey[id, i]]
        print out
    }
}
