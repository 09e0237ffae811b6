// Test-only: a real OAuth 2.0 / OpenID Connect authorization server (the npm package
// oidc-provider) for tests/integration/test_oauth.py, served over HTTPS on 127.0.0.1.
//
//   node server.mjs --port P --cert server.pem --key server.key --keys keys.json [--rotate]
//
// keys.json holds the provider's private signing JWKS; it is created with one RS256 key if
// missing, and --rotate prepends a new key (new kid) that signs from then on while the old
// one stays published. Clients (client_credentials): "gateway" (introspects; Basic auth),
// "gateway-post" (introspects; client_secret_post) and "app" (gets tokens). Tokens for the
// resource "urn:apitrail:jwt" are JWTs, all others opaque. Prints "READY <issuer>" once
// listening. GET /__counts answers how often each path was requested (test instrumentation
// around the real provider: the test counts introspection calls with it). POST
// /__refresh_token stores a real refresh token of "app" for the account "alice", as the
// authorization-code flow would after a login (which needs a browser), through the
// provider's own Grant and RefreshToken models, and answers {"refresh_token": ...}.
import fs from 'node:fs';
import https from 'node:https';
import { generateKeyPair, exportJWK } from 'jose';
import Provider from 'oidc-provider';

const args = process.argv.slice(2);
const arg = (name) => { const i = args.indexOf(name); return i < 0 ? undefined : args[i + 1]; };
const port = Number(arg('--port'));
const issuer = `https://127.0.0.1:${port}`;
const keysPath = arg('--keys');

let jwks = fs.existsSync(keysPath) ? JSON.parse(fs.readFileSync(keysPath, 'utf8')) : { keys: [] };
if (jwks.keys.length === 0 || args.includes('--rotate')) {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  jwk.kid = `k${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  jwk.alg = 'RS256';
  jwk.use = 'sig';
  jwks.keys.unshift(jwk);
  fs.writeFileSync(keysPath, JSON.stringify(jwks));
}
const signingKid = jwks.keys[0].kid;

const provider = new Provider(issuer, {
  clients: [
    { client_id: 'gateway', client_secret: 'gateway-secret-0123456789', grant_types: [],
      redirect_uris: [], response_types: [], token_endpoint_auth_method: 'client_secret_basic' },
    { client_id: 'gateway-post', client_secret: 'gateway-post-secret-0123', grant_types: [],
      redirect_uris: [], response_types: [], token_endpoint_auth_method: 'client_secret_post' },
    { client_id: 'app', client_secret: 'app-secret-0123456789', grant_types: ['client_credentials'],
      redirect_uris: [], response_types: [], scope: 'orders:read orders:write',
      token_endpoint_auth_method: 'client_secret_basic' },
  ],
  jwks,
  // openid and offline_access, the provider's defaults, kept: without offline_access it
  // registers no refresh_token grant and introspection never finds a refresh token.
  scopes: ['openid', 'offline_access', 'orders:read', 'orders:write'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => 'urn:apitrail:opaque',
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource) => ({
        scope: 'orders:read orders:write',
        audience: resource,
        accessTokenTTL: 600,
        accessTokenFormat: resource === 'urn:apitrail:jwt' ? 'jwt' : 'opaque',
        jwt: { sign: { alg: 'RS256', kid: signingKid } },
      }),
    },
  },
});

const counts = {};
provider.use(async (ctx, next) => {
  if (ctx.path === '/__counts') {
    ctx.body = counts;
    return;
  }
  if (ctx.path === '/__refresh_token' && ctx.method === 'POST') {
    const client = await provider.Client.find('app');
    const grant = new provider.Grant({ clientId: client.clientId, accountId: 'alice' });
    grant.addOIDCScope('openid offline_access');
    const grantId = await grant.save();
    const token = new provider.RefreshToken({
      client, accountId: 'alice', grantId, gty: 'authorization_code', scope: 'openid offline_access',
    });
    ctx.body = { refresh_token: await token.save() };
    return;
  }
  counts[ctx.path] = (counts[ctx.path] || 0) + 1;
  await next();
});

const server = https.createServer(
  { cert: fs.readFileSync(arg('--cert')), key: fs.readFileSync(arg('--key')) },
  provider.callback(),
);
server.listen(port, '127.0.0.1', () => console.log(`READY ${issuer}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
