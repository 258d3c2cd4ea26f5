# Writes the markdown report of one workload from its runs CSV and results
# CSV (in that order, both with headers; run with -F,). Only runs marked ok
# count. Medians, not means: the machines are shared and noisy.
# Variables: paths        comma-separated path names, in column order
#            labels       comma-separated display names, same order
#            metric       results column to compare (smaller = faster)
#            range_paths  space-separated paths shown with min-max
#            ratios       "label=num/den:fmt;..." per-row ratios of the
#                         metric medians, num's median / den's median; fmt
#                         x shows "2.50x", % shows it times 100 as "40%"
#            wall_ratios  the same, over whole-run wall time
BEGIN {
    npaths = split(paths, path, ",")
    split(labels, label, ",")
    for (p = 1; p <= npaths; p++) { is_path[path[p]] = 1; label_of[path[p]] = label[p] }
    n = split(range_paths, tmp, " ")
    for (i = 1; i <= n; i++) with_range[tmp[i]] = 1
    nratios = parse_ratios(ratios, "r")
    nwratios = parse_ratios(wall_ratios, "w")
}

# --- runs CSV: workload,run,path,wall_us,exit_status,ok,why
FNR == NR {
    if (FNR == 1) next
    tried[$3]++
    if ($6 != 1) next
    ok_run[$2, $3] = 1
    nok[$3]++
    wall[$3, nok[$3]] = $4
    next
}

# --- results CSV: workload,run,path,<name>,<metric>,...
FNR == 1 {
    for (i = 1; i <= NF; i++) col[$i] = i
    if (!(metric in col)) { print "report_md: no column " metric > "/dev/stderr"; fatal = 2; exit }
    next
}

{
    if (!ok_run[$2, $3] || !is_path[$3]) next
    name = $4
    if (!(name in seen)) { seen[name] = 1; kernel[++nkernels] = name }
    k = name SUBSEP $3
    val[k, ++nval[k]] = $(col[metric])
}

END {
    if (fatal) exit fatal
    runs_note = ""
    for (p = 1; p <= npaths; p++)
        runs_note = runs_note (p > 1 ? ", " : "") label_of[path[p]] " " (nok[path[p]] + 0) "/" (tried[path[p]] + 0)
    print "Ok runs: " runs_note "."
    print ""

    meaning = ""
    for (r = 1; r <= nratios; r++) {
        if (!usable("r", r)) continue
        meaning = meaning (meaning == "" ? "" : "; ") explain("r", r)
    }
    if (meaning != "") print "Ratios: " meaning "."
    print "Cells: median " metric " per kernel as the program counted them itself (TSC), over the ok runs, with (min–max)."
    print ""

    # Header.
    line = "| kernel |"; rule = "| :--- |"
    for (p = 1; p <= npaths; p++) {
        line = line " " label_of[path[p]] " " metric (with_range[path[p]] ? " (min–max)" : "") " |"
        rule = rule " ---: |"
    }
    for (r = 1; r <= nratios; r++) {
        if (!usable("r", r)) continue
        line = line " **" rlabel["r", r] "** |"; rule = rule " ---: |"
    }
    print line; print rule

    for (i = 1; i <= nkernels; i++) {
        name = kernel[i]
        line = "| " name " |"
        for (p = 1; p <= npaths; p++) {
            k = name SUBSEP path[p]
            if (!nval[k]) { line = line " – |"; med[k] = 0; continue }
            stats(k)
            med[k] = s_med
            cell = human(s_med)
            if (with_range[path[p]]) cell = cell " (" human(s_min) "–" human(s_max) ")"
            line = line " " cell " |"
        }
        for (r = 1; r <= nratios; r++) {
            if (!usable("r", r)) continue
            a = med[name SUBSEP rnum["r", r]]; b = med[name SUBSEP rden["r", r]]
            if (a > 0 && b > 0) {
                x = a / b
                nx[r]++; xs[r, nx[r]] = x; logsum[r] += log(x)
                line = line " " fmt_ratio(x, rfmt["r", r]) " |"
            } else {
                line = line " – |"
            }
        }
        print line
    }

    # Summary rows: geometric mean and median of the per-kernel ratios.
    if (nratios_used("r") > 0 && nkernels > 1) {
        gm = "| **geometric mean** |"; mk = "| **median kernel** |"
        for (p = 1; p <= npaths; p++) { gm = gm " |"; mk = mk " |" }
        for (r = 1; r <= nratios; r++) {
            if (!usable("r", r)) continue
            if (!nx[r]) { gm = gm " – |"; mk = mk " – |"; continue }
            gm = gm " **" fmt_ratio(exp(logsum[r] / nx[r]), rfmt["r", r]) "** |"
            for (j = 1; j <= nx[r]; j++) tmpv[j] = xs[r, j]
            mk = mk " **" fmt_ratio(median_of(tmpv, nx[r]), rfmt["r", r]) "** |"
        }
        print gm; print mk
    }

    # Whole-run wall time.
    print ""
    print "Whole-run wall time (process start to exit: start-up, boot and all kernels), median of the ok runs:"
    print ""
    print "| path | median | min–max |"
    print "| :--- | ---: | ---: |"
    for (p = 1; p <= npaths; p++) {
        q = path[p]
        if (!nok[q]) { print "| " label_of[q] " | – | – |"; wmed[q] = 0; continue }
        for (j = 1; j <= nok[q]; j++) tmpv[j] = wall[q, j]
        sort(tmpv, nok[q])
        wmed[q] = median_of(tmpv, nok[q])
        print "| " label_of[q] " | " secs(wmed[q]) " | " secs_range(tmpv[1], tmpv[nok[q]]) " |"
    }
    for (r = 1; r <= nwratios; r++) {
        if (!usable("w", r)) continue
        a = wmed[rnum["w", r]]; b = wmed[rden["w", r]]
        print ""
        print "**" rlabel["w", r] " (wall)** = " label_of[rnum["w", r]] " wall ÷ " label_of[rden["w", r]] " wall: " \
            (a > 0 && b > 0 ? "**" fmt_ratio(a / b, rfmt["w", r]) "**" : "–")
    }
}

# "label=num/den:fmt;..." into rlabel/rnum/rden/rfmt[set, i]; returns the count.
function parse_ratios(spec, set,    n, i, item, eq, rest, slash, colon) {
    n = split(spec, item, ";")
    for (i = 1; i <= n; i++) {
        eq = index(item[i], "="); rest = substr(item[i], eq + 1)
        slash = index(rest, "/"); colon = index(rest, ":")
        rlabel[set, i] = substr(item[i], 1, eq - 1)
        rnum[set, i] = substr(rest, 1, slash - 1)
        rden[set, i] = substr(rest, slash + 1, colon - slash - 1)
        rfmt[set, i] = substr(rest, colon + 1)
    }
    return n
}

# A ratio is shown only when both of its paths ran.
function usable(set, i) { return is_path[rnum[set, i]] && is_path[rden[set, i]] }

function nratios_used(set,    i, c) {
    for (i = 1; i <= (set == "r" ? nratios : nwratios); i++) c += usable(set, i)
    return c
}

function explain(set, i,    a, b) {
    a = label_of[rnum[set, i]]; b = label_of[rden[set, i]]
    if (rfmt[set, i] == "%")
        return "**" rlabel[set, i] "** = " a " ÷ " b " × 100, " b "'s speed as a share of " a "'s (100% = as fast; higher is better)"
    return "**" rlabel[set, i] "** = " a " ÷ " b ", how many times faster " b " is than " a " (higher is better)"
}

function fmt_ratio(x, f) {
    if (f == "%") { x *= 100; return sprintf(x < 10 ? "%.1f%%" : "%.0f%%", x) }
    return sprintf(x < 10 ? "%.2f×" : x < 100 ? "%.1f×" : "%.0f×", x)
}

# s_med, s_min, s_max of val[k, 1..nval[k]].
function stats(k,    j, m) {
    m = nval[k]
    for (j = 1; j <= m; j++) tmpv[j] = val[k, j]
    sort(tmpv, m)
    s_min = tmpv[1]; s_max = tmpv[m]; s_med = median_of(tmpv, m)
}

# Median of a[1..n]; sorts a.
function median_of(a, n) {
    sort(a, n)
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}

# Insertion sort, numeric: n is a handful of runs or kernels.
function sort(a, n,    i, j, v) {
    for (i = 2; i <= n; i++) {
        v = a[i] + 0
        for (j = i - 1; j >= 1 && a[j] + 0 > v; j--) a[j + 1] = a[j]
        a[j + 1] = v
    }
}

# 3 significant digits with k/M/G, so a row fits on a screen; exact numbers are in the CSV.
function human(v,    u, units) {
    if (v < 10000) return sprintf("%.0f", v)
    split("k M G T", units, " ")
    for (u = 1; u <= 4; u++) {
        v /= 1000
        if (v < 999.5 || u == 4)
            return sprintf(v < 9.995 ? "%.2f" : v < 99.95 ? "%.1f" : "%.0f", v) units[u]
    }
}

function secs(us) { return num_secs(us) " s" }
function secs_range(a, b) { return num_secs(a) "–" num_secs(b) " s" }
function num_secs(us) { return sprintf(us < 10e6 ? "%.3f" : "%.2f", us / 1e6) }
