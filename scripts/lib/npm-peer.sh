# npm_peer WHAT SRC DIR NEEDED: installs the npm packages pinned by
# SRC/package-lock.json into DIR/node_modules with `npm ci`, when missing or
# when the committed lock file differs from the one DIR was installed from;
# NEEDED (a path under DIR) must exist afterwards. WHAT names the peer in
# messages. Sourced by the peer scripts; expects `step` and `die`.
npm_peer() {
    local what="$1" src="$2" dir="$3" needed="$4"
    command -v npm >/dev/null || die "npm is not installed: $what is installed with it (on Debian: apt-get install npm)"
    mkdir -p "$dir" || die "could not create $dir"
    if [ ! -e "$dir/$needed" ] || ! cmp -s "$src/package-lock.json" "$dir/node_modules/.flowcal-installed-lock.json"; then
        step "installing $what (npm) into ${dir#"$root/"}"
        cp "$src/package.json" "$src/package-lock.json" "$dir/" || die "could not copy $what's package files into $dir"
        (cd "$dir" && npm ci --no-audit --no-fund) >&2 || die "npm ci failed in $dir: the tests cannot run without $what"
        [ -e "$dir/$needed" ] || die "npm installed $what but $dir/$needed is missing"
        cp "$src/package-lock.json" "$dir/node_modules/.flowcal-installed-lock.json"
    fi
}
