// OAuth 2.0 / OpenID Connect authorization server for flowcal's integration
// tests, built on the npm package oidc-provider 9.x (OpenID certified). See
// SOURCES.md beside this file.
//
//   node server.mjs '{"clients":[{"client_id":"flowcal","client_secret":"s3cret",
//     "redirect_uris":["http://127.0.0.1:8080/oauth/callback"]}],
//     "resource_scopes":"calendar","access_token_ttl":3600,"tenant":"t-1"}'
//
// Listens on 127.0.0.1 at a free port, then prints one line to stdout,
// `READY http://127.0.0.1:<port>` (the issuer, unless "issuer" names another).
// Everything else goes to stderr.
// Exits on SIGTERM, SIGINT, and when its stdin (a pipe) closes.
//
// Logins and consents need no browser: GET /interaction/:uid answers at once
// with a 303 back to the authorization endpoint. The account is the request's
// login_hint (alice@example.com without one); a hint containing `+deny` makes
// the user decline, one containing `+partial` grants only the OpenID scopes and
// none of the resource scopes.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';

// oidc-provider prints its notices with console.info; stdout carries only the
// READY line, so every console output but that line goes to stderr.
console.log = console.error;
console.info = console.error;
console.debug = console.error;

const { default: Provider, errors } = await import('oidc-provider');

const RESOURCE = 'urn:flowcal:calendar';
const OIDC_SCOPES = ['openid', 'offline_access', 'email', 'profile'];

function fail(message) {
  process.stderr.write(`oidc peer: ${message}\n`);
  process.exit(2);
}

let config;
try {
  config = JSON.parse(process.argv[2] ?? '{}');
} catch (err) {
  fail(`the argument is not JSON: ${err.message}`);
}
if (config === null || typeof config !== 'object' || Array.isArray(config)) {
  fail('the argument must be a JSON object');
}

const clientsIn = config.clients ?? [];
if (!Array.isArray(clientsIn)) fail('"clients" must be an array');
const resourceScopes = String(config.resource_scopes ?? 'calendar').split(' ').filter(Boolean);
const accessTokenTTL = config.access_token_ttl ?? 3600;
if (!Number.isSafeInteger(accessTokenTTL) || accessTokenTTL <= 0) {
  fail('"access_token_ttl" must be a positive integer (seconds)');
}
const tenant = config.tenant;
// The Issuer Identifier it names (ID tokens, the `iss` answer parameter,
// discovery) when given, e.g. Microsoft's https://login.microsoftonline.com/{tenant}/v2.0;
// its endpoints stay at its own address, the one on the READY line.
const issuerIn = config.issuer;
if (issuerIn !== undefined && typeof issuerIn !== 'string') fail('"issuer" must be a string (a URL)');

// Clients: code flow with refresh tokens; any other client metadata given in
// the JSON (token_endpoint_auth_method, grant_types, ...) wins.
const clients = clientsIn.map((c) => ({
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
  ...c,
}));

// Signing key: a fresh RS256 key per process.
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingJwk = {
  ...privateKey.export({ format: 'jwk' }),
  kid: crypto.randomBytes(8).toString('hex'),
  alg: 'RS256',
  use: 'sig',
};

function accountClaims(id) {
  const at = id.indexOf('@');
  const local = at >= 0 ? id.slice(0, at) : id;
  const claims = {
    sub: id,
    email: at >= 0 ? id : `${id}@example.net`,
    email_verified: true,
    name: local,
    preferred_username: local,
  };
  if (at >= 0) claims.hd = id.slice(at + 1);
  if (tenant !== undefined && tenant !== null) claims.tid = String(tenant);
  return claims;
}

// Counts for GET /_test/stats.
const stats = { refresh_grants: 0 };

let provider;

const server = http.createServer((req, res) => {
  handle(req, res).catch((err) => {
    process.stderr.write(`oidc peer: ${req.method} ${req.url}: ${err.stack ?? err}\n`);
    if (!res.headersSent) {
      const status = err instanceof errors.OIDCProviderError ? err.statusCode : 500;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        error: err.error ?? 'server_error',
        error_description: err.error_description ?? String(err.message ?? err),
      }));
    } else {
      res.destroy();
    }
  });
});

async function handle(req, res) {
  const { pathname } = new URL(req.url, 'http://127.0.0.1');
  if (req.method === 'GET' && pathname === '/_test/stats') {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(stats));
    return;
  }
  if (req.method === 'GET' && pathname.startsWith('/interaction/')) {
    await interaction(req, res);
    return;
  }
  await provider.callback()(req, res);
}

// One interaction step, decided at once: login, consent, or a refusal.
async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params, session } = details;
  const hint = params.login_hint ?? session?.accountId ?? 'alice@example.com';
  let result;

  if (hint.includes('+deny')) {
    result = { error: 'access_denied', error_description: 'The user declined' };
  } else if (prompt.name === 'login') {
    result = { login: { accountId: hint } };
  } else if (prompt.name === 'consent') {
    const partial = hint.includes('+partial');
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = prompt.details;

    if (missingOIDCScope) {
      const granted = partial ? missingOIDCScope.filter((s) => OIDC_SCOPES.includes(s)) : missingOIDCScope;
      const refused = missingOIDCScope.filter((s) => !granted.includes(s));
      if (granted.length) grant.addOIDCScope(granted.join(' '));
      // Refused scopes are recorded so the policy does not prompt again.
      if (refused.length) grant.rejectOIDCScope(refused.join(' '));
    }
    if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
    if (missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(missingResourceScopes)) {
        if (partial) {
          grant.rejectResourceScope(indicator, scopes.join(' '));
        } else {
          grant.addResourceScope(indicator, scopes.join(' '));
        }
      }
    }
    result = { consent: { grantId: await grant.save() } };
  } else {
    throw new Error(`unexpected interaction prompt ${prompt.name}`);
  }

  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
}

function shutdown() {
  server.close();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

// Exit when the parent goes away: it holds the write end of our stdin pipe.
// A stdin that is not a pipe or socket (/dev/null, a terminal, none) is not
// watched, since /dev/null would end at once.
let watchStdin = false;
try {
  const st = fs.fstatSync(0);
  watchStdin = st.isFIFO() || st.isSocket();
} catch {
  watchStdin = false;
}
if (watchStdin) {
  process.stdin.on('end', shutdown);
  process.stdin.on('close', shutdown);
  process.stdin.on('error', shutdown);
  process.stdin.on('data', () => {});
  process.stdin.resume();
} else {
  process.stderr.write('oidc peer: stdin is not a pipe; stop me with SIGTERM\n');
}

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const address = `http://127.0.0.1:${port}`;
  const issuer = issuerIn ?? address;

  provider = new Provider(issuer, {
    clients,
    responseTypes: ['code'],
    jwks: { keys: [signingJwk] },
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    pkce: { required: () => true }, // oidc-provider 9 supports S256 only
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      introspection: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => RESOURCE,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (ctx, resourceIndicator) => {
          if (resourceIndicator !== RESOURCE) throw new errors.InvalidTarget();
          return {
            scope: resourceScopes.join(' '),
            accessTokenFormat: 'opaque',
            accessTokenTTL,
          };
        },
      },
    },
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: () => true,
    // Refresh tokens outlive the login session, as Google's do.
    expiresWithSession: async () => false,
    conformIdTokenClaims: false,
    claims: {
      openid: ['sub', 'hd', 'tid'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
    },
    scopes: [...new Set([...OIDC_SCOPES, ...resourceScopes])],
    findAccount: async (ctx, id) => ({
      accountId: id,
      claims: async () => accountClaims(id),
    }),
    interactions: { url: async (ctx, interaction) => `/interaction/${interaction.uid}` },
    ttl: {
      AccessToken: (ctx, token) => token.resourceServer?.accessTokenTTL ?? accessTokenTTL,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 600,
      Session: 3600,
      Grant: 86400,
      RefreshToken: 86400,
    },
    clientBasedCORS: () => false,
    renderError: async (ctx, out) => {
      ctx.type = 'json';
      ctx.body = out;
    },
  });

  provider.on('grant.success', (ctx) => {
    if (ctx.oidc.params.grant_type === 'refresh_token') stats.refresh_grants += 1;
  });
  for (const event of ['server_error', 'grant.error', 'authorization.error', 'introspection.error', 'revocation.error']) {
    provider.on(event, (ctx, err) => {
      const detail = err.error_detail ? ` (${err.error_detail})` : '';
      process.stderr.write(`oidc peer: ${event}: ${err.error ?? ''} ${err.error_description ?? err.message ?? ''}${detail}\n`);
    });
  }

  process.stdout.write(`READY ${address}\n`);
});
