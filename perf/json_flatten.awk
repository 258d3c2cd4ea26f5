# Checks that the input is one JSON value (RFC 8259) and prints it flat:
# one "path<TAB>value" line per number, string, true, false or null, where
# path joins object keys and array indexes with dots ("bt.tlb_fills",
# "io.0.name"). Strings are printed as their JSON text without the quotes
# (escapes kept). It lets shell scripts read tpvm --stats=json, and tests
# validate JSON, where python3 or jq may be missing.
# Exit status 0, or 1 with "json: <file>:<line>: <what>" on stderr.
# Variables: quiet=1 checks only (prints nothing).
BEGIN { text = ""; nlines = 0 }

{ text = text $0 "\n"; nlines++ }

END {
    pos = 1; len = length(text); line = 1
    skip_ws()
    if (pos > len) fail("empty input")
    value("")
    skip_ws()
    if (pos <= len) fail("text after the JSON value")
    exit 0
}

function fail(what) {
    printf "json: %s:%d: %s\n", (FILENAME == "" ? "-" : FILENAME), line, what > "/dev/stderr"
    exit 1
}

function skip_ws(    c) {
    while (pos <= len) {
        c = substr(text, pos, 1)
        if (c == "\n") line++
        else if (c != " " && c != "\t" && c != "\r") return
        pos++
    }
}

function emit(path, v) { if (!quiet) print path "\t" v }

function join(path, key) { return path == "" ? key : path "." key }

function value(path,    c, s, n) {
    c = substr(text, pos, 1)
    if (c == "{") return object(path)
    if (c == "[") return array(path)
    if (c == "\"") { emit(path, string()); return }
    if (substr(text, pos, 4) == "true") { pos += 4; emit(path, "true"); return }
    if (substr(text, pos, 5) == "false") { pos += 5; emit(path, "false"); return }
    if (substr(text, pos, 4) == "null") { pos += 4; emit(path, "null"); return }
    s = substr(text, pos, 64)
    if (match(s, /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/)) {
        n = substr(s, 1, RLENGTH); pos += RLENGTH
        emit(path, n); return
    }
    fail("expected a value, found '" substr(text, pos, 12) "'")
}

function object(path,    key, c) {
    pos++
    skip_ws()
    if (substr(text, pos, 1) == "}") { pos++; return }
    for (;;) {
        skip_ws()
        if (substr(text, pos, 1) != "\"") fail("expected a key string")
        key = string()
        if ((path, key) in dup) fail("duplicate key '" key "'")
        dup[path, key] = 1
        skip_ws()
        if (substr(text, pos, 1) != ":") fail("expected ':' after key '" key "'")
        pos++
        skip_ws()
        value(join(path, key))
        skip_ws()
        c = substr(text, pos, 1); pos++
        if (c == "}") return
        if (c != ",") fail("expected ',' or '}' in an object")
    }
}

function array(path,    i, c) {
    pos++
    skip_ws()
    if (substr(text, pos, 1) == "]") { pos++; return }
    for (i = 0; ; i++) {
        skip_ws()
        value(join(path, i))
        skip_ws()
        c = substr(text, pos, 1); pos++
        if (c == "]") return
        if (c != ",") fail("expected ',' or ']' in an array")
    }
}

# A string token at pos; returns its text between the quotes.
function string(    start, c, s) {
    start = ++pos
    while (pos <= len) {
        c = substr(text, pos, 1)
        if (c == "\"") { s = substr(text, start, pos - start); pos++; return s }
        if (c == "\\") {
            c = substr(text, pos + 1, 1)
            if (c == "u") {
                if (substr(text, pos + 2, 4) !~ /^[0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F]$/)
                    fail("bad \\u escape")
                pos += 6; continue
            }
            if (index("\"\\/bfnrt", c) == 0) fail("bad escape '\\" c "'")
            pos += 2; continue
        }
        if (c < " ") fail("control character in a string")
        pos++
    }
    fail("unterminated string")
}
