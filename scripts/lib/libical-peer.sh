# Makes sure libical 3 can be driven from Python (Debian's python3-gi and
# gir1.2-ical-3.0, for Debian's /usr/bin/python3), installing them with
# apt-get when missing. Exports FLOWCAL_LIBICAL_PYTHON. Sourced by scripts/test;
# expects `step` and `die` from the caller.
libical_py=/usr/bin/python3

libical_ready() {
    "$libical_py" -c 'import gi; gi.require_version("ICalGLib", "3.0"); from gi.repository import ICalGLib' \
        >/dev/null 2>&1
}

if ! libical_ready; then
    step "installing libical's Python binding (apt-get: python3-gi gir1.2-ical-3.0)"
    command -v apt-get >/dev/null || die "apt-get is missing: install python3-gi and gir1.2-ical-3.0 (libical 3) by hand"
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q python3-gi gir1.2-ical-3.0 >&2 \
        || { "${sudo_cmd[@]}" apt-get update -q >&2 \
             && DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q python3-gi gir1.2-ical-3.0 >&2; } \
        || die "apt-get could not install python3-gi gir1.2-ical-3.0: the feed tests need libical"
    libical_ready || die "python3-gi and gir1.2-ical-3.0 are installed but $libical_py cannot load ICalGLib 3.0"
fi

export FLOWCAL_LIBICAL_PYTHON="$libical_py"
