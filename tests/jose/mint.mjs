// Mints keys and JWTs with `jose` — an implementation independent of apitrail — for
// tests/integration/test_jwt.py. Usage: node mint.mjs OUT_DIR
//
// Writes into OUT_DIR:
//   jwks.json            public keys of every algorithm, each with kid = alg name and `alg`
//   jwks-noalg.json      the same keys without `alg` (key pinning then comes from kty/crv)
//   pem/<ALG>.pem        SPKI public key for each asymmetric algorithm
//   secret/<ALG>.txt     the HMAC secret (printable, exactly the hash length) for HS*
//   tokens/<name>.jwt    one compact token per case
//   manifest.json        {"now": s, "iss", "aud", "cases": {name: {alg, kid, claims}}}
// The expected verdicts live in the test, not here: this script only mints.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import * as jose from 'jose';

const out = process.argv[2];
if (!out) {
  console.error('usage: node mint.mjs OUT_DIR');
  process.exit(2);
}
for (const d of ['pem', 'secret', 'tokens']) mkdirSync(join(out, d), { recursive: true });

const ISS = 'https://idp.test';
const AUD = 'orders-api';
const now = Math.floor(Date.now() / 1000);
const enc = new TextEncoder();

const HS = { HS256: 32, HS384: 48, HS512: 64 };
const ASYM = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

// Keys: one RSA pair serves RS* and PS* (as issuers commonly do); one pair per curve.
const rsa = await jose.generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
const otherRsa = await jose.generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
const pairs = { RS256: rsa, RS384: rsa, RS512: rsa, PS256: rsa, PS384: rsa, PS512: rsa };
pairs.ES256 = await jose.generateKeyPair('ES256', { extractable: true });
pairs.ES384 = await jose.generateKeyPair('ES384', { extractable: true });
pairs.ES512 = await jose.generateKeyPair('ES512', { extractable: true });
pairs.EdDSA = await jose.generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });

const secrets = {};
for (const [alg, len] of Object.entries(HS)) {
  // Printable so the file form is unambiguous; exactly the minimum length RFC 7518 allows.
  secrets[alg] = randomBytes(len).toString('base64url').slice(0, len);
  writeFileSync(join(out, 'secret', `${alg}.txt`), secrets[alg] + '\n');
}

const keys = [];
for (const alg of ASYM) {
  const jwk = await jose.exportJWK(pairs[alg].publicKey);
  keys.push({ ...jwk, kid: alg, alg, use: 'sig' });
  writeFileSync(join(out, 'pem', `${alg}.pem`), await jose.exportSPKI(pairs[alg].publicKey));
}
for (const alg of Object.keys(HS)) {
  keys.push({ kty: 'oct', k: jose.base64url.encode(enc.encode(secrets[alg])), kid: alg, alg });
}
writeFileSync(join(out, 'jwks.json'), JSON.stringify({ keys }, null, 1));
writeFileSync(join(out, 'jwks-noalg.json'),
  JSON.stringify({ keys: keys.map(({ alg, ...k }) => k) }, null, 1));

const manifest = { now, iss: ISS, aud: AUD, cases: {} };

function baseClaims(name) {
  return {
    iss: ISS, aud: AUD, sub: `user-${name}`, jti: `jti-${name}`,
    scope: 'orders:read orders:write', iat: now, exp: now + 600,
  };
}

async function mint(name, { alg, kid = alg, key, claims, header = {}, signOptions } = {}) {
  const c = claims ?? baseClaims(name);
  const protectedHeader = { alg, typ: 'JWT', ...header };
  if (kid !== null) protectedHeader.kid = kid;
  const token = await new jose.SignJWT(c).setProtectedHeader(protectedHeader).sign(key, signOptions);
  writeFileSync(join(out, 'tokens', `${name}.jwt`), token + '\n');
  manifest.cases[name] = { alg, kid, claims: c };
  return token;
}

function keyFor(alg) {
  return alg in HS ? enc.encode(secrets[alg]) : pairs[alg].privateKey;
}

// Valid: one per algorithm, with and without kid.
for (const alg of [...Object.keys(HS), ...ASYM]) {
  await mint(`valid_${alg}`, { alg, key: keyFor(alg) });
  await mint(`valid_nokid_${alg}`, { alg, kid: null, key: keyFor(alg) });
}
// Scopes as an array claim (Okta/Azure style) and a custom subject claim.
await mint('valid_scp_array', {
  alg: 'ES256', key: keyFor('ES256'),
  claims: { ...baseClaims('valid_scp_array'), scope: undefined, scp: ['a:read', 'b:write'], client_id: 'svc-9' },
});

// Rejections.
const unsecured = new jose.UnsecuredJWT(baseClaims('alg_none')).encode();
writeFileSync(join(out, 'tokens', 'alg_none.jwt'), unsecured + '\n');
manifest.cases.alg_none = { alg: 'none', kid: null, claims: baseClaims('alg_none') };

// Algorithm confusion: HS256 "signed" with the RSA public key's PEM text as the HMAC secret.
const rsaPem = await jose.exportSPKI(rsa.publicKey);
await mint('alg_confusion', { alg: 'HS256', kid: null, key: enc.encode(rsaPem) });
await mint('alg_confusion_kid', { alg: 'HS256', kid: 'RS256', key: enc.encode(rsaPem) });

await mint('wrong_key', { alg: 'RS256', key: otherRsa.privateKey });
// ES384 signature presented under the ES256 key's kid: the P-256 key never verifies ES384.
await mint('curve_mismatch', { alg: 'ES384', kid: 'ES256', key: keyFor('ES384') });
// PS256 under the RS256 key's kid: the JWK pins that key to RS256.
await mint('ps_under_rs_kid', { alg: 'PS256', kid: 'RS256', key: keyFor('PS256') });
await mint('expired', { alg: 'ES256', key: keyFor('ES256'),
  claims: { ...baseClaims('expired'), iat: now - 7200, exp: now - 3600 } });
await mint('not_yet_valid', { alg: 'ES256', key: keyFor('ES256'),
  claims: { ...baseClaims('not_yet_valid'), nbf: now + 3600 } });
await mint('wrong_iss', { alg: 'EdDSA', key: keyFor('EdDSA'),
  claims: { ...baseClaims('wrong_iss'), iss: 'https://evil.test' } });
await mint('wrong_aud', { alg: 'RS256', key: keyFor('RS256'),
  claims: { ...baseClaims('wrong_aud'), aud: ['billing-api', 'other'] } });
await mint('unknown_kid', { alg: 'RS256', kid: 'rotated-away', key: keyFor('RS256') });
await mint('unknown_crit', { alg: 'ES256', key: keyFor('ES256'),
  header: { crit: ['x-ext'], 'x-ext': 1 }, signOptions: { crit: { 'x-ext': true } } });
await mint('oversize', { alg: 'HS256', key: keyFor('HS256'),
  claims: { ...baseClaims('oversize'), pad: 'x'.repeat(10000) } });

// Bad signature: a valid ES512 token with one signature byte changed.
{
  const good = await mint('bad_signature', { alg: 'ES512', key: keyFor('ES512') });
  const [h, p, s] = good.split('.');
  const sig = Buffer.from(s, 'base64url');
  sig[10] ^= 0x01;
  writeFileSync(join(out, 'tokens', 'bad_signature.jwt'), `${h}.${p}.${sig.toString('base64url')}\n`);
}
// Malformed: two parts, and a header that is not JSON.
writeFileSync(join(out, 'tokens', 'malformed_parts.jwt'), 'eyJhbGciOiJIUzI1NiJ9.e30\n');
writeFileSync(join(out, 'tokens', 'malformed_json.jwt'),
  `${jose.base64url.encode('{"alg":')}.${jose.base64url.encode('{}')}.AAAA\n`);
manifest.cases.malformed_parts = { alg: null, kid: null, claims: null };
manifest.cases.malformed_json = { alg: null, kid: null, claims: null };

writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest, null, 1));
console.log(`minted ${Object.keys(manifest.cases).length} tokens into ${out}`);
