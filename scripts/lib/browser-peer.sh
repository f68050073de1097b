# Makes sure Debian's Chromium and ChromeDriver are installed (apt-get when
# missing) for the browser tests, with a Japanese font (IPA Gothic) so that
# pages in Japanese are drawn with their characters, and installs axe-core (npm, the version
# pinned by tests/peers/axe/package-lock.json) into target/peers/axe.
# Exports FLOWCAL_CHROMIUM, FLOWCAL_CHROMEDRIVER and FLOWCAL_AXE (axe.min.js,
# which the browser test runs on every page). Sourced by scripts/test and
# scripts/screenshots; expects `root`, `step` and `die`.
browser_packages=(chromium chromium-driver fonts-ipafont-gothic)
browser_ready() {
    [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] \
        && dpkg-query -W -f='${Status}' fonts-ipafont-gothic 2>/dev/null | grep -q 'ok installed'
}

if ! browser_ready; then
    step "installing Chromium, ChromeDriver and a Japanese font (apt-get: ${browser_packages[*]})"
    command -v apt-get >/dev/null || die "apt-get is missing: install ${browser_packages[*]} by hand"
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q "${browser_packages[@]}" >&2 \
        || { "${sudo_cmd[@]}" apt-get update -q >&2 \
             && DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q "${browser_packages[@]}" >&2; } \
        || die "apt-get could not install ${browser_packages[*]}: the browser tests need them"
    browser_ready || die "${browser_packages[*]} were installed but Chromium, ChromeDriver or the font is missing"
fi

export FLOWCAL_CHROMIUM=/usr/bin/chromium
export FLOWCAL_CHROMEDRIVER=/usr/bin/chromedriver

# axe-core: node_modules is (re)installed when missing or when the committed
# lock file differs from the one it was installed from.
axe_src="$root/tests/peers/axe"
axe_dir="$root/target/peers/axe"
# shellcheck source=npm-peer.sh
. "$root/scripts/lib/npm-peer.sh"
npm_peer "axe-core" "$axe_src" "$axe_dir" node_modules/axe-core/axe.min.js
export FLOWCAL_AXE="$axe_dir/node_modules/axe-core/axe.min.js"
