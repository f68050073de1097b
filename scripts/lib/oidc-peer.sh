# Installs the OpenID Connect peer (npm oidc-provider, tests/peers/oidc) into
# target/peers/oidc (idempotent, fast when present) and exports
# FLOWCAL_OIDC_PEER, the server script the tests start with node. Sourced by
# scripts/test; expects `root`, `step` and `die` from the caller.
oidc_src="$root/tests/peers/oidc"
oidc_dir="$root/target/peers/oidc"

command -v node >/dev/null || die "node is not installed: the OpenID Connect peer needs Node.js 20 or later (on Debian: apt-get install nodejs npm)"
# shellcheck source=npm-peer.sh
. "$root/scripts/lib/npm-peer.sh"
npm_peer "the OpenID Connect peer (oidc-provider)" "$oidc_src" "$oidc_dir" node_modules/oidc-provider

# The server script is copied every time, so edits to it take effect; node
# resolves oidc-provider from $oidc_dir/node_modules.
cp "$oidc_src/server.mjs" "$oidc_dir/server.mjs" \
    || die "could not copy the OpenID Connect peer's server.mjs into $oidc_dir"

export FLOWCAL_OIDC_PEER="$oidc_dir/server.mjs"
