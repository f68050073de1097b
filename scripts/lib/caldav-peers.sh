# Makes sure the CalDAV peers that come from Debian are installed, with
# apt-get when missing: Cyrus IMAP with its CalDAV module (cyrus-imapd,
# cyrus-caldav; sasl2-bin for saslpasswd2) and SabreDAV 1.8 under PHP's
# built-in server (php-sabre-dav, php-cli, php-sqlite3). The tests start
# both themselves, on 127.0.0.1, with all their state in a temporary
# directory (crates/flowcal/tests/it/caldav_peers.rs). Exports
# FLOWCAL_CYRUS_MASTER, FLOWCAL_SASLPASSWD2 and FLOWCAL_PHP. Sourced by
# scripts/test; expects `step` and `die` from the caller.
#
# The packaged Cyrus service is never used, and never left running: while
# apt-get installs, a policy-rc.d (exit 101, unless the machine has one of its
# own) forbids maintainer scripts to start any service (Cyrus's, and the
# mail transport agent cyrus-common depends on); then cyrus-imapd is stopped
# and disabled, so it does not start at boot either. The machine's
# /etc/imapd.conf, /etc/cyrus.conf and /var/lib/cyrus are left as installed.
caldav_peer_packages=(cyrus-imapd cyrus-caldav sasl2-bin php-cli php-sqlite3 php-sabre-dav)
cyrus_master=/usr/lib/cyrus/bin/master
cyrus_saslpasswd2=/usr/sbin/saslpasswd2
caldav_php=/usr/bin/php

caldav_peers_ready() {
    [ -x "$cyrus_master" ] && [ -x "$(dirname "$cyrus_master")/httpd" ] && [ -x "$cyrus_saslpasswd2" ] \
        && [ -x "$caldav_php" ] && [ -r /usr/share/php/Sabre/autoload.php ] \
        && "$caldav_php" -r 'exit(extension_loaded("pdo_sqlite") ? 0 : 1);' >/dev/null 2>&1
}

if ! caldav_peers_ready; then
    step "installing Cyrus IMAP and SabreDAV (apt-get: ${caldav_peer_packages[*]})"
    command -v apt-get >/dev/null || die "apt-get is missing: install ${caldav_peer_packages[*]} by hand"
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    # No service starts while installing (see above); our policy-rc.d goes
    # again however apt-get ends.
    own_policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\n# scripts/lib/caldav-peers.sh: no service starts while it installs\nexit 101\n' \
            | "${sudo_cmd[@]}" tee /usr/sbin/policy-rc.d >/dev/null
        "${sudo_cmd[@]}" chmod 755 /usr/sbin/policy-rc.d
        own_policy=1
    fi
    caldav_apt_ok=
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q "${caldav_peer_packages[@]}" >&2 \
        || { "${sudo_cmd[@]}" apt-get update -q >&2 \
             && DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q "${caldav_peer_packages[@]}" >&2; } \
        && caldav_apt_ok=1
    [ -z "$own_policy" ] || "${sudo_cmd[@]}" rm -f /usr/sbin/policy-rc.d
    [ -n "$caldav_apt_ok" ] \
        || die "apt-get could not install ${caldav_peer_packages[*]}: the CalDAV peer tests need Cyrus IMAP and SabreDAV"
    # The packaged service: stopped (had anything started it) and disabled.
    if [ -d /run/systemd/system ]; then
        "${sudo_cmd[@]}" systemctl disable --now cyrus-imapd.service >&2 \
            || die "could not stop and disable the packaged cyrus-imapd service (systemctl disable --now cyrus-imapd)"
    else
        "${sudo_cmd[@]}" service cyrus-imapd stop >/dev/null 2>&1 || true
        "${sudo_cmd[@]}" update-rc.d cyrus-imapd disable >/dev/null 2>&1 \
            || die "could not disable the packaged cyrus-imapd service (update-rc.d cyrus-imapd disable)"
    fi
    caldav_peers_ready || die "${caldav_peer_packages[*]} are installed but $cyrus_master, its httpd, $cyrus_saslpasswd2, $caldav_php, SabreDAV or PHP's pdo_sqlite is missing"
fi

export FLOWCAL_CYRUS_MASTER="$cyrus_master"
export FLOWCAL_SASLPASSWD2="$cyrus_saslpasswd2"
export FLOWCAL_PHP="$caldav_php"
