# The report of one workload, from four inputs (run with -F, except the
# first, which is tab-separated and read by its own rules):
#   1. paths TSV:    name, label, available (1/0), description, note
#   2. runs CSV:     workload,run,path,wall_us,exit_status,ok,why
#   3. results CSV:  workload,run,path,<name>,<keys...>
#   4. counters CSV: workload,run,path,counter,value (may have no rows)
# Only runs marked ok count. Medians, not means: the machines are shared.
# Writes the markdown section body on stdout, and, when the variables name
# them, appends rows to csv_out (the table as CSV), writes json_out (this
# workload as one JSON object) and plot_out (gnuplot data).
# Variables:
#   workload, title  name and one-line description
#   all_paths   every path the bench knows, in CSV column order
#   metric      results column compared (smaller is faster)
#   ops_key     results column with the operation count ("" = 1 per row)
#   unit        "cycles" or "us": how cells are printed
#   row_word    what a row is ("kernel", "workload")
#   ratios      "label=num/den;...": per row, num's median / den's median,
#               i.e. how many times faster den is than num
#   range_paths paths shown with (min–max)
#   spread_paths paths whose spread is held to spread_limit (percent)
#   counter_keys counters (flattened --stats=json names) shown per path
#   csv_header  1: write the CSV header line first
BEGIN {
    FS = ","
    nall = split(all_paths, all_path, " ")
    nrange = split(range_paths, tmp, " ")
    for (i = 1; i <= nrange; i++) with_range[tmp[i]] = 1
    nsp = split(spread_paths, spread_path, " ")
    spread_word = unit == "instructions" ? "Run-to-run difference of the tpvm counts" : "Spread of the tpvm runs"
    nck = split(counter_keys, ckey, " ")
    nratios = split(ratios, item, ";")
    for (r = 1; r <= nratios; r++) {
        eq = index(item[r], "="); rest = substr(item[r], eq + 1); slash = index(rest, "/")
        rlabel[r] = substr(item[r], 1, eq - 1)
        rnum[r] = substr(rest, 1, slash - 1)
        rden[r] = substr(rest, slash + 1)
    }
    file = 0
}

FNR == 1 { file++ }

# ---- 1. paths
file == 1 {
    split($0, f, "\t")
    p = f[1]; path[++npaths] = p; is_path[p] = 1
    label[p] = f[2]; avail[p] = f[3] + 0; desc[p] = f[4]; note[p] = f[5]
    next
}

# ---- 2. runs
file == 2 {
    if (FNR == 1 || !is_path[$3]) next
    tried[$3]++
    if ($6 != 1) { failed_why[$3] = failed_why[$3] (failed_why[$3] == "" ? "" : "; ") "run " $2 ": " $7; next }
    ok_run[$2, $3] = 1
    nok[$3]++
    wall[$3, nok[$3]] = $4
    next
}

# ---- 3. results
file == 3 {
    if (FNR == 1) {
        for (i = 1; i <= NF; i++) col[$i] = i
        if (!(metric in col)) { print "report: no column " metric > "/dev/stderr"; fatal = 2; exit }
        next
    }
    if (!ok_run[$2, $3]) next
    name = $4
    if (!(name in seen_row)) { seen_row[name] = 1; row[++nrows] = name }
    if (!(($3, name) in path_row)) { path_row[$3, name] = 1; path_order[$3, ++path_nrows[$3]] = name }
    k = name SUBSEP $3
    val[k, ++nval[k]] = $(col[metric])
    if (ops_key != "" && (ops_key in col)) ops_sum[name] = $(col[ops_key]) # the same on every run
    next
}

# ---- 4. counters
file == 4 {
    if (FNR == 1 || !ok_run[$2, $3]) next
    k = $3 SUBSEP $4
    cval[k, ++ncval[k]] = $5
    has_counters[$3, "has"] = 1
    if ($4 ~ /^bt\.helper_by_kind\./ && !(($4) in is_helper)) { is_helper[$4] = 1; helper[++nhelpers] = $4 }
    if ($4 ~ /^vmi\.calls\./ && !(($4) in is_vcall)) { is_vcall[$4] = 1; vcall[++nvcalls] = $4 }
    next
}

END {
    if (fatal) exit fatal
    order_rows()
    for (p = 1; p <= npaths; p++) has_data[path[p]] = nok[path[p]] > 0
    for (r = 1; r <= nratios; r++) usable[r] = has_data[rnum[r]] && has_data[rden[r]]

    # Per row and path: median, min, max, spread.
    for (i = 1; i <= nrows; i++) {
        for (p = 1; p <= npaths; p++) {
            k = row[i] SUBSEP path[p]
            if (!nval[k]) continue
            stats_of(k)
            med[k] = s_med; lo[k] = s_min; hi[k] = s_max
            spread[k] = s_min > 0 ? (s_max / s_min - 1) * 100 : 0
        }
        for (r = 1; r <= nratios; r++) {
            a = med[row[i] SUBSEP rnum[r]]; b = med[row[i] SUBSEP rden[r]]
            if (usable[r] && a > 0 && b > 0 && (substr(row[i], 1, 1) != "_" || row[i] == "_total")) {
                x = a / b; ratio[i, r] = x
                if (substr(row[i], 1, 1) == "_") continue # a whole-run row, not a workload
                nx[r]++; xs[r, nx[r]] = x; logsum[r] += log(x)
            }
        }
    }
    markdown()
    if (csv_out != "") csv()
    if (json_out != "") json()
    if (plot_out != "") plot()
}

# Rows in the order of the path that reports the most of them (the guest,
# not native, which covers only some), then any others.
function order_rows(    p, q, best, i, n, placed, r) {
    best = ""
    for (p = 1; p <= npaths; p++) {
        q = path[p]
        if (path_nrows[q] > path_nrows[best] + 0) best = q
    }
    if (best == "") return
    n = 0
    for (i = 1; i <= path_nrows[best]; i++) { r[++n] = path_order[best, i]; placed[r[n]] = 1 }
    for (i = 1; i <= nrows; i++) if (!(row[i] in placed)) r[++n] = row[i]
    for (i = 1; i <= n; i++) row[i] = r[i]
}

# ---- markdown ---------------------------------------------------------------
function markdown(    p, q, i, r, line, rule, k, cell, gm, mk, n) {
    line = ""
    for (p = 1; p <= npaths; p++) {
        q = path[p]
        line = line (p > 1 ? ", " : "") label[q] " " (avail[q] ? (nok[q] + 0) "/" (tried[q] + 0) : "unavailable")
    }
    print "Ok runs: " line "."
    for (p = 1; p <= npaths; p++) {
        q = path[p]
        if (failed_why[q] == "") continue
        print ""
        print "**" label[q] " failed runs** (left out of the numbers): " failed_why[q]
    }
    print ""
    if (nrows == 0) { print "No results: no run of this workload completed."; return }

    line = "| " row_word " |"; rule = "| :--- |"
    if (ops_key != "") { line = line " ops |"; rule = rule " ---: |" }
    for (p = 1; p <= npaths; p++) {
        q = path[p]
        line = line " " label[q] " " unit_word() (with_range[q] ? " (min–max)" : "") " |"; rule = rule " ---: |"
    }
    for (r = 1; r <= nratios; r++) if (usable[r]) { line = line " **" rlabel[r] "** |"; rule = rule " ---: |" }
    print line; print rule

    for (i = 1; i <= nrows; i++) {
        line = "| " row[i] " |"
        if (ops_key != "") line = line " " (row[i] in ops_sum ? human(ops_sum[row[i]]) : "–") " |"
        for (p = 1; p <= npaths; p++) {
            q = path[p]; k = row[i] SUBSEP q
            if (!avail[q]) { line = line " n/a |"; continue }
            if (!nval[k]) { line = line " – |"; continue }
            cell = show(med[k])
            if (with_range[q]) cell = cell " (" show(lo[k]) "–" show(hi[k]) ")"
            line = line " " cell " |"
        }
        for (r = 1; r <= nratios; r++) if (usable[r]) line = line " " ((i, r) in ratio ? fmt_ratio(ratio[i, r]) : "–") " |"
        print line
    }
    if (nrows > 1 && any_usable()) {
        gm = "| **geometric mean** |"; mk = "| **median " row_word "** |"
        n = npaths + (ops_key != "")
        for (p = 1; p <= n; p++) { gm = gm " |"; mk = mk " |" }
        for (r = 1; r <= nratios; r++) {
            if (!usable[r]) continue
            if (!nx[r]) { gm = gm " – |"; mk = mk " – |"; continue }
            gm = gm " **" fmt_ratio(exp(logsum[r] / nx[r])) "** |"
            mk = mk " **" fmt_ratio(ratio_median(r)) "** |"
        }
        print gm; print mk
    }
    print ""
    if (unit == "instructions")
        print "Cells: median host instructions (callgrind Ir) per operation over the ok runs, (min–max) over the same runs: " \
            "the instructions tpvm (or the native program) executed from the previous output line to this RESULT line, " \
            "divided by its ops. _startup: process start to the guest's first instruction; _total: the whole run."
    else
        print "Cells: median " (unit == "us" ? "time" : ops_key != "" ? "cycles per operation" : "cycles per " row_word " run") \
            " over the ok runs" (unit == "us" ? "" : ", as the guest counted them (TSC)") "; (min–max) over the same runs."
    if (any_usable()) {
        line = ""
        for (r = 1; r <= nratios; r++)
            if (usable[r]) line = line (line == "" ? "" : "; ") "**" rlabel[r] "** = " label[rnum[r]] " ÷ " label[rden[r]]
        if (unit == "instructions")
            print "Ratios (host instructions of one path per instruction of the other; lower is better): " line "."
        else
            print "Ratios (how many times faster the first-named path is; higher is better): " line "."
    }
    spread_line()
    wall_table()
    counters_md()
}

function any_usable(    r) { for (r = 1; r <= nratios; r++) if (usable[r]) return 1; return 0 }

# The worst spread per held path, and every row over the limit.
function spread_line(    s, q, i, k, p, worst, wrow, over, line, ctx, held) {
    for (s = 1; s <= nsp; s++) held[spread_path[s]] = 1
    line = ""; over = ""
    for (s = 1; s <= nsp; s++) {
        q = spread_path[s]
        if (!has_data[q]) continue
        worst = -1
        for (i = 1; i <= nrows; i++) {
            k = row[i] SUBSEP q
            if (!nval[k]) continue
            if (spread[k] > worst) { worst = spread[k]; wrow = row[i] }
            if (spread[k] >= spread_limit) over = over (over == "" ? "" : ", ") label[q] " " row[i] " " pct(spread[k])
        }
        if (worst < 0) continue
        worst_spread[q] = worst; worst_row[q] = wrow
        line = line (line == "" ? "" : "; ") label[q] " worst " pct(worst) " (" wrow ")"
    }
    if (line == "") return
    # The paths the limit does not hold show how much the host itself moved.
    ctx = ""
    for (p = 1; p <= npaths; p++) {
        q = path[p]
        if ((q in held) || !has_data[q]) continue
        worst = -1
        for (i = 1; i <= nrows; i++) {
            k = row[i] SUBSEP q
            if (nval[k] > 1 && spread[k] > worst) { worst = spread[k]; wrow = row[i] }
        }
        if (worst >= 0) ctx = ctx (ctx == "" ? "" : ", ") label[q] " " pct(worst) " (" wrow ")"
    }
    if (ctx != "") ctx = " For comparison, the same spread on the other paths: worst " ctx "."
    print ""
    if (over == "")
        print spread_word " (max ÷ min − 1): " line ". All under " spread_limit "%." ctx
    else
        print spread_word " (max ÷ min − 1): " line ". **Over " spread_limit "%: " over "**" \
            (unit == "instructions" ? "." : " (a noisy host: rerun when it is quieter, or use --callgrind).") ctx
}

function wall_table(    p, q, j, m) {
    print ""
    print "Whole-run wall time (process start to exit, including start-up and boot):"
    print ""
    print "| path | median | min–max |"
    print "| :--- | ---: | ---: |"
    for (p = 1; p <= npaths; p++) {
        q = path[p]
        if (!nok[q]) continue
        m = nok[q]
        for (j = 1; j <= m; j++) tmpv[j] = wall[q, j]
        sort(tmpv, m)
        wmed[q] = median_of(tmpv, m); wlo[q] = tmpv[1]; whi[q] = tmpv[m]
        print "| " label[q] " | " secs(wmed[q]) " | " secs(wlo[q]) "–" secs(whi[q]) " |"
    }
}

# Counter medians per tpvm path, and one sentence on what differs.
function counters_md(    p, q, c, line, rule, cp, k, n, bt, pv) {
    n = 0
    for (p = 1; p <= npaths; p++) if ((path[p], "has") in has_counters) cp[++n] = path[p]
    if (!n) return
    for (p = 1; p <= n; p++)
        for (c = 1; c <= nck; c++) counter_stats(cp[p], ckey[c])
    print ""
    print "tpvm counters (`--stats=json`, median per run over the whole boot):"
    print ""
    line = "| counter |"; rule = "| :--- |"
    for (p = 1; p <= n; p++) { line = line " " label[cp[p]] " |"; rule = rule " ---: |" }
    bt = ("tpvm-bt", "has") in has_counters; pv = ("tpvm-pv", "has") in has_counters
    if (bt && pv) { line = line " PV ÷ BT |"; rule = rule " ---: |" }
    print line; print rule
    for (c = 1; c <= nck; c++) {
        k = ckey[c]
        line = "| " short_counter(k) " |"
        for (p = 1; p <= n; p++) line = line " " (((cp[p], k) in cmed) ? human(cmed[cp[p], k]) : "–") " |"
        if (bt && pv) line = line " " ratio_cell(cmed["tpvm-pv", k], cmed["tpvm-bt", k]) " |"
        print line
    }
    why = explain()
    print ""
    print "Why: " why
}

function ratio_cell(a, b) {
    if (a == "" || b == "") return "–"
    if (b == 0) return a == 0 ? "=" : "new"
    return fmt_ratio(a / b)
}

function short_counter(k) { sub(/^(bt|vmm|host|vmi)\./, "", k); return k }

# median/min/max of a counter over a path's ok runs, into cmed/clo/chi.
function counter_stats(q, k,    kk, m, j) {
    kk = q SUBSEP k; m = ncval[kk]
    if (!m) return
    for (j = 1; j <= m; j++) tmpv[j] = cval[kk, j]
    sort(tmpv, m)
    cmed[q, k] = median_of(tmpv, m); clo[q, k] = tmpv[1]; chi[q, k] = tmpv[m]
}

# A short explanation from the counters: what the BT run spends its exits
# on, and which counters PV changes most.
function explain(    q, s, h, best, top, i, j, k, a, b, x, used, nd, d, dk, out) {
    q = ("tpvm-bt", "has") in has_counters ? "tpvm-bt" : "tpvm-pv"
    counter_stats(q, "bt.exits_to_loop"); counter_stats(q, "bt.dispatch_lookups")
    counter_stats(q, "bt.helper_calls"); counter_stats(q, "bt.tlb_fills")
    counter_stats(q, "bt.tlb_flushes"); counter_stats(q, "bt.interrupts_delivered")
    s = label[q] " per run: " human(cmed[q, "bt.exits_to_loop"] + 0) " exits to the run loop, " \
        human(cmed[q, "bt.dispatch_lookups"] + 0) " dispatcher lookups, " \
        human(cmed[q, "bt.helper_calls"] + 0) " helper calls"
    # The two busiest helper kinds.
    for (h = 1; h <= nhelpers; h++) counter_stats(q, helper[h])
    top = ""
    for (j = 1; j <= 2; j++) {
        best = ""
        for (h = 1; h <= nhelpers; h++) {
            k = helper[h]
            if ((k in used) || cmed[q, k] + 0 <= 0) continue
            if (best == "" || cmed[q, k] + 0 > cmed[q, best] + 0) best = k
        }
        if (best == "") break
        used[best] = 1
        top = top (top == "" ? "" : ", ") short_helper(best) " " human(cmed[q, best])
    }
    if (top != "") s = s " (" top ")"
    s = s ", " human(cmed[q, "bt.tlb_fills"] + 0) " TLB fills, " human(cmed[q, "bt.tlb_flushes"] + 0) \
        " TLB flushes, " human(cmed[q, "bt.interrupts_delivered"] + 0) " interrupts."
    # The VMI calls the PV guest made most.
    if (("tpvm-pv", "has") in has_counters && nvcalls) {
        for (h = 1; h <= nvcalls; h++) counter_stats("tpvm-pv", vcall[h])
        top = ""
        for (j = 1; j <= 3; j++) {
            best = ""
            for (h = 1; h <= nvcalls; h++) {
                k = vcall[h]
                if ((k in used) || cmed["tpvm-pv", k] + 0 <= 0) continue
                if (best == "" || cmed["tpvm-pv", k] + 0 > cmed["tpvm-pv", best] + 0) best = k
            }
            if (best == "") break
            used[best] = 1
            k = best; sub(/^vmi\.calls\./, "", k)
            top = top (top == "" ? "" : ", ") k " " human(cmed["tpvm-pv", best])
        }
        if (top != "") s = s " PV's most frequent VMI calls per run: " top "."
    }
    if (!(("tpvm-bt", "has") in has_counters) || !(("tpvm-pv", "has") in has_counters)) return s
    # Counters that PV changes by 2x or more (and that are not tiny).
    nd = 0
    for (i = 1; i <= nck; i++) {
        k = ckey[i]
        if (k ~ /^host\./ || k ~ /_us$/) continue
        a = cmed["tpvm-bt", k] + 0; b = cmed["tpvm-pv", k] + 0
        if ((a > b ? a : b) < 100) continue
        x = (a + 1) / (b + 1)
        if (x < 2 && x > 0.5) continue
        d[++nd] = (x > 1 ? x : 1 / x); dk[nd] = k
    }
    for (i = 2; i <= nd; i++)       # by how much they changed, most first
        for (j = i; j > 1 && d[j] > d[j - 1]; j--) {
            x = d[j]; d[j] = d[j - 1]; d[j - 1] = x
            x = dk[j]; dk[j] = dk[j - 1]; dk[j - 1] = x
        }
    out = ""
    for (i = 1; i <= nd && i <= 4; i++)
        out = out (out == "" ? "" : "; ") short_counter(dk[i]) " " human(cmed["tpvm-bt", dk[i]] + 0) " → " human(cmed["tpvm-pv", dk[i]] + 0)
    if (out == "") return s " PV vs BT: no counter differs by 2× or more, so PV runs the same translated code here."
    return s " PV vs BT: " out "."
}

function short_helper(k) { sub(/^bt\.helper_by_kind\./, "", k); return k }

# ---- CSV --------------------------------------------------------------------
function csv_name(s) { s = tolower(s); gsub(/÷/, "_per_", s); gsub(/\//, "_over_", s); gsub(/[^a-z0-9_]/, "_", s); return s }

function csv(    i, p, q, k, line, r) {
    if (csv_header) {
        line = "workload,name,unit,ops"
        for (p = 1; p <= nall; p++) {
            q = csv_name(all_path[p])
            line = line "," q "_median," q "_min," q "_max," q "_runs," q "_spread_pct"
        }
        for (r = 1; r <= nratios; r++) line = line "," csv_name(rlabel[r])
        print line > csv_out
    }
    for (i = 1; i <= nrows; i++) {
        line = workload "," row[i] "," unit "," (row[i] in ops_sum ? ops_sum[row[i]] : (ops_key == "" ? 1 : ""))
        for (p = 1; p <= nall; p++) {
            k = row[i] SUBSEP all_path[p]
            if (nval[k]) line = line "," num(med[k]) "," num(lo[k]) "," num(hi[k]) "," nval[k] "," sprintf("%.2f", spread[k])
            else line = line ",,,,,"
        }
        for (r = 1; r <= nratios; r++) line = line "," ((i, r) in ratio ? sprintf("%.4f", ratio[i, r]) : "")
        print line >> csv_out
    }
}

# ---- JSON -------------------------------------------------------------------
function jstr(s) {
    gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); gsub(/\t/, "\\t", s); gsub(/\r/, "\\r", s); gsub(/\n/, "\\n", s)
    return "\"" s "\""
}

function jnum(v) { return v == "" ? "null" : num(v) }

function json(    o, p, q, i, k, r, sep, j, c, s, m) {
    o = json_out
    printf "{\n  \"name\": %s,\n  \"title\": %s,\n  \"status\": \"ran\",\n", jstr(workload), jstr(title) > o
    printf "  \"unit\": %s,\n  \"metric\": %s,\n  \"ops_key\": %s,\n  \"rows_are\": %s,\n", \
        jstr(unit), jstr(metric), (ops_key == "" ? "null" : jstr(ops_key)), jstr(row_word) > o
    printf "  \"spread_limit_pct\": %s,\n  \"paths\": [", spread_limit + 0 > o
    for (p = 1; p <= npaths; p++) {
        q = path[p]
        printf "%s\n    {\"name\": %s, \"label\": %s, \"available\": %s, \"description\": %s, \"note\": %s, " \
            "\"runs\": %d, \"ok_runs\": %d, \"failures\": %s", (p > 1 ? "," : ""), jstr(q), jstr(label[q]), \
            (avail[q] ? "true" : "false"), jstr(desc[q]), jstr(note[q]), tried[q], nok[q], jstr(failed_why[q]) > o
        if (nok[q]) printf ", \"wall_us\": {\"median\": %s, \"min\": %s, \"max\": %s}", num(wmed[q]), num(wlo[q]), num(whi[q]) > o
        if (q in worst_spread) printf ", \"worst_spread_pct\": %.2f, \"worst_spread_row\": %s", worst_spread[q], jstr(worst_row[q]) > o
        printf "}" > o
    }
    printf "\n  ],\n  \"rows\": [" > o
    for (i = 1; i <= nrows; i++) {
        printf "%s\n    {\"name\": %s, \"ops\": %s, \"per_op\": {", (i > 1 ? "," : ""), jstr(row[i]), \
            (row[i] in ops_sum ? num(ops_sum[row[i]]) : (ops_key == "" ? 1 : "null")) > o
        sep = ""
        for (p = 1; p <= npaths; p++) {
            q = path[p]; k = row[i] SUBSEP q
            if (!nval[k]) continue
            printf "%s\n      %s: {\"median\": %s, \"min\": %s, \"max\": %s, \"spread_pct\": %.2f, \"runs\": [", \
                sep, jstr(q), num(med[k]), num(lo[k]), num(hi[k]), spread[k] > o
            for (j = 1; j <= nval[k]; j++) printf "%s%s", (j > 1 ? ", " : ""), num(val[k, j]) > o
            printf "]}" > o
            sep = ","
        }
        printf "},\n      \"ratios\": {" > o
        sep = ""
        for (r = 1; r <= nratios; r++)
            if ((i, r) in ratio) { printf "%s%s: %.4f", sep, jstr(rlabel[r]), ratio[i, r] > o; sep = ", " }
        printf "}}" > o
    }
    printf "\n  ],\n  \"summary\": {" > o
    sep = ""
    for (r = 1; r <= nratios; r++) {
        if (!nx[r]) continue
        printf "%s\n    %s: {\"geometric_mean\": %.4f, \"median\": %.4f, \"rows\": %d}", sep, jstr(rlabel[r]), \
            exp(logsum[r] / nx[r]), ratio_median(r), nx[r] > o
        sep = ","
    }
    printf "\n  },\n  \"counters\": {" > o
    sep = ""
    for (p = 1; p <= npaths; p++) {
        q = path[p]
        if (!((q, "has") in has_counters)) continue
        printf "%s\n    %s: {", sep, jstr(q) > o
        s = ""
        for (c = 1; c <= nck; c++) {
            k = ckey[c]
            counter_stats(q, k)
            if (!((q, k) in cmed)) continue
            printf "%s\n      %s: {\"median\": %s, \"min\": %s, \"max\": %s}", s, jstr(k), num(cmed[q, k]), num(clo[q, k]), num(chi[q, k]) > o
            s = ","
        }
        printf "\n    }" > o
        sep = ","
    }
    printf "\n  },\n  \"why\": %s\n}\n", (why == "" ? "null" : jstr(why)) > o
    close(o)
}

# ---- gnuplot data: name, then median min max per path of all_paths ---------
function plot(    i, p, k, line) {
    print "# " workload ": " row_word ", then median min max per path: " all_paths > plot_out
    for (i = 1; i <= nrows; i++) {
        if (substr(row[i], 1, 1) == "_") continue # whole-run rows: another scale
        line = row[i]
        for (p = 1; p <= nall; p++) {
            k = row[i] SUBSEP all_path[p]
            line = line (nval[k] ? " " num(med[k]) " " num(lo[k]) " " num(hi[k]) : " - - -")
        }
        print line >> plot_out
    }
    close(plot_out)
}

# ---- numbers ----------------------------------------------------------------
function ratio_median(r,    j) {
    for (j = 1; j <= nx[r]; j++) tmpv[j] = xs[r, j]
    return median_of(tmpv, nx[r])
}

function stats_of(k,    j, m) {
    m = nval[k]
    for (j = 1; j <= m; j++) tmpv[j] = val[k, j]
    sort(tmpv, m)
    s_min = tmpv[1]; s_max = tmpv[m]; s_med = median_of(tmpv, m)
}

function median_of(a, n) {
    sort(a, n)
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}

function sort(a, n,    i, j, v) {
    for (i = 2; i <= n; i++) {
        v = a[i] + 0
        for (j = i - 1; j >= 1 && a[j] + 0 > v; j--) a[j + 1] = a[j]
        a[j + 1] = v
    }
}

# Integers exactly, others (medians of an even count) to 0.1 or 6 digits.
function num(v) { return v == int(v) && v < 1e15 ? sprintf("%d", v) : v >= 1e5 ? sprintf("%.1f", v) : sprintf("%.6g", v) }

function unit_word() { return unit == "us" ? "time" : unit == "instructions" ? "Ir" : "cycles" }

function show(v) { return unit == "us" ? usecs(v) : human(v) }

function pct(x) { return sprintf(x < 10 ? "%.1f%%" : "%.0f%%", x) }

function fmt_ratio(x) { return sprintf(x < 10 ? "%.2f×" : x < 100 ? "%.1f×" : "%.0f×", x) }

# 3 significant digits with k/M/G, so a row fits on a screen; the CSV has
# the exact numbers.
function human(v,    u, units) {
    if (v < 10000) return sprintf(v == int(v) || v >= 100 ? "%.0f" : "%.3g", v)
    split("k M G T", units, " ")
    for (u = 1; u <= 4; u++) {
        v /= 1000
        if (v < 999.5 || u == 4)
            return sprintf(v < 9.995 ? "%.2f" : v < 99.95 ? "%.1f" : "%.0f", v) units[u]
    }
}

function usecs(us) {
    if (us >= 1e6) return sprintf(us < 10e6 ? "%.2f s" : "%.1f s", us / 1e6)
    if (us >= 1e3) return sprintf(us < 10e3 ? "%.2f ms" : us < 100e3 ? "%.1f ms" : "%.0f ms", us / 1e3)
    return sprintf("%.0f µs", us)
}

function secs(us) { return sprintf(us < 10e6 ? "%.3f s" : "%.2f s", us / 1e6) }
