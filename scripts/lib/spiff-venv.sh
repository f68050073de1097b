# Installs the Python peers into target/peers/venv (idempotent, fast when
# present): SpiffWorkflow (BPMN behaviour and speed), Radicale and Xandikos
# (CalDAV servers), icalendar and ical (iCalendar validators), numpy
# (busday_offset, the work-calendar day arithmetic peer). Exports
# FLOWCAL_PEER_PYTHON. Sourced by scripts/test and
# scripts/bench; expects `root`, `step` and `die` from the caller.
venv="$root/target/peers/venv"
py="$venv/bin/python"
spiff_spec='SpiffWorkflow==3.*'
radicale_specs=('radicale==3.*' 'bcrypt' 'xandikos' 'cryptography' 'icalendar' 'ical')
numpy_spec='numpy==2.*'

spiff_ready() {
    "$py" - <<'PY' 2>/dev/null
import importlib.metadata, SpiffWorkflow, radicale, bcrypt, xandikos, icalendar, ical, numpy
ok = importlib.metadata.version("SpiffWorkflow").split(".")[0] == "3"
ok = ok and importlib.metadata.version("radicale").split(".")[0] == "3"
ok = ok and importlib.metadata.version("numpy").split(".")[0] == "2"
raise SystemExit(0 if ok else 1)
PY
}

if ! spiff_ready; then
    step "installing the Python peers (SpiffWorkflow, Radicale, Xandikos, icalendar, ical, numpy) into target/peers/venv"
    command -v python3 >/dev/null || die "python3 is not installed: the SpiffWorkflow peer needs it"
    # A venv whose interpreter no longer runs (python3 upgraded or moved) is rebuilt.
    if [ -e "$venv" ] && ! "$py" -c 'import sys' 2>/dev/null; then
        rm -rf "$venv"
    fi
    if [ ! -x "$py" ]; then
        mkdir -p "$(dirname "$venv")"
        python3 -m venv "$venv" \
            || die "could not create a Python venv at $venv (on Debian: apt-get install python3-venv)"
    fi
    "$py" -m pip install -q --disable-pip-version-check "$spiff_spec" "${radicale_specs[@]}" "$numpy_spec" \
        || die "pip could not install $spiff_spec ${radicale_specs[*]} $numpy_spec into $venv: the peer tests cannot run without them"
    spiff_ready || die "$spiff_spec, ${radicale_specs[*]} and $numpy_spec were installed into $venv but do not import"
fi

export FLOWCAL_PEER_PYTHON="$py"
