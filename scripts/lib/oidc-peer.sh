# Installs the OpenID Connect peer (npm oidc-provider, tests/peers/oidc) into
# target/peers/oidc (idempotent, fast when present) and exports
# FLOWCAL_OIDC_PEER, the server script the tests start with node. Sourced by
# scripts/test; expects `root`, `step` and `die` from the caller.
oidc_src="$root/tests/peers/oidc"
oidc_dir="$root/target/peers/oidc"

command -v node >/dev/null || die "node is not installed: the OpenID Connect peer needs Node.js 20 or later (on Debian: apt-get install nodejs npm)"
command -v npm >/dev/null || die "npm is not installed: the OpenID Connect peer is installed with it (on Debian: apt-get install npm)"

mkdir -p "$oidc_dir" || die "could not create $oidc_dir"

# node_modules is (re)installed when missing or when the committed lock file
# differs from the one it was installed from.
if [ ! -d "$oidc_dir/node_modules/oidc-provider" ] \
    || ! cmp -s "$oidc_src/package-lock.json" "$oidc_dir/node_modules/.flowcal-installed-lock.json"; then
    step "installing the OpenID Connect peer (npm oidc-provider) into target/peers/oidc"
    cp "$oidc_src/package.json" "$oidc_src/package-lock.json" "$oidc_dir/" \
        || die "could not copy the OpenID Connect peer's package files into $oidc_dir"
    (cd "$oidc_dir" && npm ci --no-audit --no-fund) >&2 \
        || die "npm ci failed in $oidc_dir: the OpenID Connect peer tests cannot run without oidc-provider"
    cp "$oidc_src/package-lock.json" "$oidc_dir/node_modules/.flowcal-installed-lock.json"
fi

# The server script is copied every time, so edits to it take effect; node
# resolves oidc-provider from $oidc_dir/node_modules.
cp "$oidc_src/server.mjs" "$oidc_dir/server.mjs" \
    || die "could not copy the OpenID Connect peer's server.mjs into $oidc_dir"

export FLOWCAL_OIDC_PEER="$oidc_dir/server.mjs"
