# Checks a results CSV (header first) for agreement: for each row name, the
# value of column `key` must be the same on every path and run, and every
# run of a path must report every name that path reported in any run (a
# path may cover only some rows: native has no mini-OS system calls).
# Variables: key   column that must agree (e.g. check)
#            run   optional "workload,run,path": report only that run's rows
# Prints one line per disagreement; exit status 1 if there was any.
BEGIN { FS = ","; bad = 0 }

FNR == 1 {
    for (i = 1; i <= NF; i++) col[$i] = i
    if (!(key in col)) { print "check_agree: no column " key > "/dev/stderr"; fatal = 2; exit }
    next
}

{
    id = $1 "," $2 "," $3              # workload,run,path
    name = $1 "/" $4
    if (!(id in seen_run)) { seen_run[id] = 1; order[++nruns] = id }
    if (!(name in seen_name)) { seen_name[name] = 1; names[++nnames] = name }
    has[id, name] = 1
    path_has[$3, name] = 1
    v = $(col[key])
    if (!(name in ref)) {
        ref[name] = v
        ref_from[name] = $3 " run " $2
    } else if (v != ref[name] && (run == "" || run == id)) {
        print name ": " $3 " run " $2 " has " key "=" v ", " ref_from[name] " has " ref[name]
        bad = 1
    }
}

END {
    if (fatal) exit fatal
    for (r = 1; r <= nruns; r++) {
        id = order[r]
        if (run != "" && run != id) continue
        split(id, part, ",")
        for (n = 1; n <= nnames; n++) {
            if (index(names[n], part[1] "/") == 1 && ((part[3], names[n]) in path_has) &&
                !((id, names[n]) in has)) {
                print names[n] ": missing from " part[3] " run " part[2]
                bad = 1
            }
        }
    }
    exit bad
}
