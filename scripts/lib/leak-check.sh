# The end-of-run check: a test run leaves no process and no test database behind.
#
# Every process the run starts inherits LEAKCHECK_RUN=<an id of this run> in its
# environment (also through the double forks of Chromium's helpers, which leave
# any process group), so at the end /proc names what this run left running and
# nothing else (not the machine's PostgreSQL, not another engineer's run). The
# name has no FLOWCAL_ prefix because tests strip FLOWCAL_* from their children.
# Test databases are those TestDb::postgres creates: <base>_t<8 hex digits> on
# FLOWCAL_TEST_DATABASE_URL's server.
#
# Sourced by scripts/test and scripts/check-leaks: leak_check_begin before the
# run, leak_check_end after it (non-zero, naming what was left, when it leaked).

leak_check_begin() {
    LEAKCHECK_RUN="flowcal-$(date +%s)-$$-$RANDOM"
    export LEAKCHECK_RUN
}

# "PID COMMAND LINE" of every process still carrying this run's id. The scan
# itself runs without the variable so that it does not find itself.
leak_check_survivors() {
    env -u LEAKCHECK_RUN bash -c '
        grep -lzx "LEAKCHECK_RUN=$1" /proc/[0-9]*/environ 2>/dev/null | while read -r f; do
            p="${f%/environ}"
            printf "%s %s\n" "${p#/proc/}" "$(tr "\0" " " <"$p/cmdline" 2>/dev/null | cut -c1-200)"
        done' leak-check "$LEAKCHECK_RUN"
}

# Test databases left on FLOWCAL_TEST_DATABASE_URL's server, one name a line.
leak_check_databases() {
    [ -n "${FLOWCAL_TEST_DATABASE_URL:-}" ] || return 0
    local base="${FLOWCAL_TEST_DATABASE_URL##*/}"
    base="${base%%\?*}"
    command -v psql >/dev/null || { echo "warning: psql is missing: test databases were not checked" >&2; return 0; }
    psql -X -w -q -tA -v ON_ERROR_STOP=1 -v base="$base" -d "$FLOWCAL_TEST_DATABASE_URL" <<'SQL'
SELECT datname FROM pg_database
WHERE starts_with(datname, :'base' || '_t') AND length(datname) = length(:'base') + 10
ORDER BY datname;
SQL
}

leak_check_end() {
    [ -n "${LEAKCHECK_RUN:-}" ] || return 0
    local left="" dbs="" failed=0
    printf '\n==> %s\n' "leak check: no process of this run ($LEAKCHECK_RUN) and no test database left" >&2
    # Up to 10 s: a process killed a moment ago may still be on its way out.
    for _ in $(seq 1 50); do
        left="$(leak_check_survivors)"
        [ -z "$left" ] && break
        sleep 0.2
    done
    if [ -n "$left" ]; then
        failed=1
        printf 'error: the test run left these processes running (stopped now with SIGKILL):\n%s\n' "$left" >&2
        # shellcheck disable=SC2046
        kill -KILL $(printf '%s\n' "$left" | cut -d' ' -f1) 2>/dev/null || true
    fi
    if ! dbs="$(leak_check_databases)"; then
        failed=1
        echo "error: could not list the databases on FLOWCAL_TEST_DATABASE_URL's server" >&2
    elif [ -n "$dbs" ]; then
        failed=1
        printf 'error: the test run left these test databases (drop them with DROP DATABASE ... WITH (FORCE)):\n%s\n' "$dbs" >&2
    fi
    [ "$failed" -eq 0 ] && echo "leak check: nothing left behind" >&2
    return "$failed"
}
