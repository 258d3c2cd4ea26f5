# Splits a callgrind run's host instruction count (Ir) by the output lines
# of the program it ran. Callgrind was started with --dump-before=<fn> for
# a function called once per output unit (tpvm: chardev_putc, once per
# byte the guest writes to COM1; a line-buffered host program: write, once
# per line), so part j of the profile ends where output unit j begins, and
# the part that ends at the first unit of a line holds the work done since
# the previous line: for a RESULT line, the kernel it reports.
# Input: the run's stdout, then every part file (callgrind.out.N*).
# Variables: unit      "byte" or "line": what one trigger dump stands for
#            trigger   the --dump-before function of the output units
#            start     a --dump-before function that ends start-up ("" = none)
#            bytes     size of the stdout file (to know if it ends in \n)
#            prefix    CSV text put before each row
# Prints CSV rows "prefix,<name>,<ops>,<ir>": one per RESULT line (name=,
# ops= or 1), then "_startup" (process start to `start`), "_other"
# (output lines that are not RESULT lines), "_exit" (after the last
# output) and "_total". Exit 1 with a message if dumps and output differ.
BEGIN { nl = 0; file = 0 }

FNR == 1 { file++ }

# ---- the program's output
file == 1 {
    nl++
    len[nl] = length($0) + 1
    text[nl] = $0
    next
}

# ---- the profile parts
/^part:/ { part = $2 + 0; if (part > nparts) nparts = part; next }
/^desc: Trigger:/ { trig[part] = $0; next }
/^(summary|totals):/ { if (!(part in ir)) ir[part] = $2 + 0; next }

END {
    # Output units in order: one per byte or per line.
    total_bytes = 0
    for (i = 1; i <= nl; i++) total_bytes += len[i]
    if (nl > 0 && bytes != "" && total_bytes == bytes + 1) len[nl]-- # no final newline
    nunits = 0
    for (i = 1; i <= nl; i++) {
        n = unit == "byte" ? len[i] : 1
        for (j = 1; j <= n; j++) unit_line[++nunits] = i
    }
    # Walk the parts in order, charging each to what it ends at.
    u = 0; startup = 0; tail = 0; all = 0
    for (p = 1; p <= nparts; p++) {
        if (!(p in ir)) { print "callgrind_lines: part " p " is missing" > "/dev/stderr"; exit 1 }
        all += ir[p]
        if (trig[p] ~ ("--dump-before=" trigger "$")) {
            if (++u > nunits) break
            line_ir[unit_line[u]] += ir[p]
        } else if (start != "" && trig[p] ~ ("--dump-before=" start "$")) {
            startup += ir[p]
        } else {
            tail += ir[p] # program termination
        }
    }
    if (u != nunits) {
        printf "callgrind_lines: %d dumps at %s for %d output %ss: cannot attribute\n", \
            u, trigger, nunits, unit > "/dev/stderr"
        exit 1
    }
    other = 0
    for (i = 1; i <= nl; i++) {
        if (text[i] !~ /^RESULT /) { other += line_ir[i]; continue }
        name = field(text[i], "name"); ops = field(text[i], "ops")
        if (name == "") { other += line_ir[i]; continue }
        printf "%s,%s,%s,%.0f\n", prefix, name, (ops == "" ? 1 : ops), line_ir[i]
    }
    printf "%s,_startup,1,%.0f\n", prefix, startup
    printf "%s,_other,1,%.0f\n", prefix, other
    printf "%s,_exit,1,%.0f\n", prefix, tail
    printf "%s,_total,1,%.0f\n", prefix, all
}

function field(s, key,    n, i, f, kv) {
    sub(/\r$/, "", s)
    n = split(s, f, " ")
    for (i = 2; i <= n; i++)
        if (index(f[i], key "=") == 1) return substr(f[i], length(key) + 2)
    return ""
}
