"""Adversarial edges of token authentication through the real gateway: JWT algorithm
confusion, alg none, crit, header-embedded keys, claim types, duplicate members, non-canonical
base64url, ECDSA signature encodings, and API key / credential-combination edges.

Every refused request must get 401 with a JSON body naming the deny_reason, and must never
reach the upstream. Keys are made and tokens signed with the `openssl` command line (an
implementation independent of apitrail's); the rest is the Python standard library."""
import base64
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import GatewayTestCase, b64url

RS_ISS = "https://rs.test"
HS_ISS = "https://hs.test"
EC_ISS = "https://ec.test"
AUD = "orders-api"
SECRET = b"an-hmac-secret-that-is-long-enough-0123456789"
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _openssl(*args, data=None):
    r = subprocess.run(["openssl", *args], input=data, capture_output=True, timeout=30)
    if r.returncode != 0:
        raise AssertionError("openssl " + " ".join(args) + ": " + r.stderr.decode())
    return r.stdout


def _der_ecdsa_to_ints(der):
    """Minimal DER SEQUENCE { INTEGER r, INTEGER s } parser (P-256: short lengths only)."""
    assert der[0] == 0x30
    pos = 2
    out = []
    for _ in range(2):
        assert der[pos] == 0x02
        n = der[pos + 1]
        out.append(int.from_bytes(der[pos + 2:pos + 2 + n], "big"))
        pos += 2 + n
    return out


class _Keys:
    dir = None

    @classmethod
    def make(cls):
        if cls.dir is not None:
            return cls.dir
        d = tempfile.mkdtemp(prefix="apitrail-authedges-")
        _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                 "-out", os.path.join(d, "rsa.key"))
        _openssl("pkey", "-in", os.path.join(d, "rsa.key"), "-pubout", "-out", os.path.join(d, "rsa.pem"))
        _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                 "-out", os.path.join(d, "evil.key"))
        _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-out", os.path.join(d, "ec.key"))
        _openssl("pkey", "-in", os.path.join(d, "ec.key"), "-pubout", "-out", os.path.join(d, "ec.pem"))
        with open(os.path.join(d, "hs.secret"), "wb") as f:
            f.write(SECRET + b"\n")
        cls.dir = d
        return d


def tearDownModule():
    if _Keys.dir:
        shutil.rmtree(_Keys.dir, ignore_errors=True)


def seg(obj):
    if isinstance(obj, bytes):
        return b64url(obj)
    return b64url(json.dumps(obj).encode())


def claims(issuer, **extra):
    c = {"iss": issuer, "aud": AUD, "sub": "alice", "exp": int(time.time()) + 600}
    c.update(extra)
    return {k: v for k, v in c.items() if v is not ...}


class AuthEdgesTest(GatewayTestCase):
    @classmethod
    def setUpClass(cls):
        d = _Keys.make()
        cls.kdir = d
        cls.EXTRA_CONFIG = f"""
auth:
  failure_limit:
    enabled: false
  jwt:
    - issuer: {RS_ISS}
      audiences: [{AUD}]
      algorithms: [RS256]
      key_file: {os.path.join(d, "rsa.pem")}
    - issuer: {HS_ISS}
      audiences: [{AUD}]
      algorithms: [HS256]
      secret_file: {os.path.join(d, "hs.secret")}
    - issuer: {EC_ISS}
      audiences: [{AUD}]
      algorithms: [ES256]
      key_file: {os.path.join(d, "ec.pem")}
"""

    # --- signing helpers -------------------------------------------------------------------

    def rs256(self, header, payload, key="rsa.key"):
        h = header if isinstance(header, str) else seg(header)
        p = payload if isinstance(payload, str) else seg(payload)
        sig = _openssl("dgst", "-sha256", "-sign", os.path.join(self.kdir, key), data=f"{h}.{p}".encode())
        return f"{h}.{p}.{b64url(sig)}"

    def hs256(self, header, payload, secret=SECRET):
        h = header if isinstance(header, str) else seg(header)
        p = payload if isinstance(payload, str) else seg(payload)
        sig = hmac.new(secret, f"{h}.{p}".encode(), hashlib.sha256).digest()
        return f"{h}.{p}.{b64url(sig)}"

    def es256_der(self, header, payload):
        h = header if isinstance(header, str) else seg(header)
        p = payload if isinstance(payload, str) else seg(payload)
        der = _openssl("dgst", "-sha256", "-sign", os.path.join(self.kdir, "ec.key"), data=f"{h}.{p}".encode())
        return h, p, der

    def es256(self, header, payload):
        h, p, der = self.es256_der(header, payload)
        r, s = _der_ecdsa_to_ints(der)
        return f"{h}.{p}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    # --- assertions ------------------------------------------------------------------------

    def send(self, token, extra_headers=None):
        headers = {"Authorization": "Bearer " + token} if token is not None else {}
        headers.update(extra_headers or {})
        return self.gw.request("GET", "/v1/orders/1", headers)

    def assert_refused(self, token, reason, extra_headers=None):
        before = len(self.upstream.received())
        status, _, body = self.send(token, extra_headers)
        self.assertEqual(status, 401, body)
        doc = json.loads(body)
        self.assertEqual(doc.get("error"), reason, body)
        self.assertEqual(len(self.upstream.received()), before, "a refused request was forwarded")

    def assert_allowed(self, token, subject="alice", extra_headers=None):
        status, _, body = self.send(token, extra_headers)
        self.assertEqual(status, 200, body)
        fwd = self.upstream.received()[-1]["headers"]
        self.assertEqual(fwd.get("x-apitrail-subject"), subject)
        return fwd

    # --- tests -----------------------------------------------------------------------------

    def test_valid_tokens_of_each_issuer(self):
        self.assert_allowed(self.rs256({"alg": "RS256", "typ": "JWT"}, claims(RS_ISS)))
        self.assert_allowed(self.hs256({"alg": "HS256"}, claims(HS_ISS)))
        self.assert_allowed(self.es256({"alg": "ES256"}, claims(EC_ISS)))

    def test_alg_none_in_any_case_is_refused(self):
        for alg in ("none", "None", "NONE", "nOnE"):
            for sig in ("", "AAAA"):
                with self.subTest(alg=alg, sig=sig):
                    token = f"{seg({'alg': alg})}.{seg(claims(RS_ISS))}.{sig}"
                    self.assert_refused(token, "alg_none")

    def test_alg_missing_or_not_a_string_is_malformed(self):
        for header in ({"typ": "JWT"}, {"alg": None}, {"alg": ["RS256"]}, {"alg": 256}):
            with self.subTest(header=header):
                token = self.rs256(header, claims(RS_ISS))
                self.assert_refused(token, "malformed_token")

    def test_alg_names_are_case_sensitive(self):
        h = seg({"alg": "rs256"})
        p = seg(claims(RS_ISS))
        token = self.rs256(h, p)
        self.assert_refused(token, "alg_not_allowed")

    def test_rsa_public_key_as_hmac_secret_is_refused(self):
        with open(os.path.join(self.kdir, "rsa.pem"), "rb") as f:
            pem = f.read()
        for secret in (pem, pem.strip()):
            for iss in (RS_ISS, HS_ISS, "https://other.test"):
                with self.subTest(iss=iss, stripped=secret is not pem):
                    token = self.hs256({"alg": "HS256"}, claims(iss), secret=secret)
                    status, _, body = self.send(token)
                    self.assertEqual(status, 401, body)
                    self.assertIn(json.loads(body)["error"],
                                  ("alg_not_allowed", "bad_signature", "wrong_issuer"))
        self.assertEqual(self.upstream.received(), [])

    def test_ec_key_kid_with_rs_alg_and_es384_are_refused(self):
        # ES384 against a P-256 key (issuer lists only ES256), RS256 against the EC issuer.
        self.assert_refused(self.es256({"alg": "ES384"}, claims(EC_ISS)), "alg_not_allowed")
        self.assert_refused(self.rs256({"alg": "RS256"}, claims(EC_ISS)), "alg_not_allowed")

    def test_header_embedded_keys_are_never_trusted(self):
        # Signed with an attacker key that the header offers as jwk / jku / x5u / x5c.
        pub = _openssl("pkey", "-in", os.path.join(self.kdir, "evil.key"), "-pubout", "-outform", "DER")
        header = {"alg": "RS256", "jku": "http://127.0.0.1:1/jwks", "x5u": "http://127.0.0.1:1/c",
                  "x5c": [base64.b64encode(pub).decode()],
                  "jwk": {"kty": "RSA", "n": b64url(pub[-270:-5]), "e": "AQAB"}}
        token = self.rs256(header, claims(RS_ISS), key="evil.key")
        self.assert_refused(token, "bad_signature")

    def test_crit_header_is_refused(self):
        for crit in (["exp"], ["x-unknown"], [], "b64"):
            with self.subTest(crit=crit):
                token = self.rs256({"alg": "RS256", "crit": crit, "x-unknown": 1}, claims(RS_ISS))
                self.assert_refused(token, "unsupported_crit")

    def test_kid_not_a_string_is_malformed(self):
        self.assert_refused(self.rs256({"alg": "RS256", "kid": 7}, claims(RS_ISS)), "malformed_token")

    def test_claim_types_and_times(self):
        now = int(time.time())
        cases = [
            (claims(RS_ISS, exp=str(now + 600)), "invalid_claims"),
            (claims(RS_ISS, exp=None), "invalid_claims"),
            (claims(RS_ISS, exp=True), "invalid_claims"),
            (claims(RS_ISS, exp=...), "invalid_claims"),       # require_exp defaults to true
            (claims(RS_ISS, exp=-1), "expired_token"),
            (claims(RS_ISS, exp=now - 3600), "expired_token"),
            (claims(RS_ISS, nbf=now + 3600), "token_not_yet_valid"),
            (claims(RS_ISS, nbf=str(now)), "invalid_claims"),
            (claims(RS_ISS, nbf=10 ** 30), "token_not_yet_valid"),
            (claims(RS_ISS, aud=["x", "y"]), "wrong_audience"),
            (claims(RS_ISS, aud=[[AUD]]), "wrong_audience"),
            (claims(RS_ISS, aud=...), "wrong_audience"),
            (claims(RS_ISS, sub="a\r\nX-Apitrail-Subject: admin"), "invalid_claims"),
            (claims(RS_ISS, sub=""), "invalid_claims"),
            (claims(RS_ISS, sub=42), "invalid_claims"),
        ]
        for payload, reason in cases:
            with self.subTest(payload=payload):
                self.assert_refused(self.rs256({"alg": "RS256"}, payload), reason)
        # A non-string iss matches no configured issuer (several issuers: chosen by iss).
        status, _, body = self.send(self.rs256({"alg": "RS256"}, claims([RS_ISS])))
        self.assertEqual(status, 401, body)
        self.assertIn(json.loads(body)["error"], ("wrong_issuer", "invalid_claims"))
        # Wrong iss for the key that signed: the HS issuer's secret with the RS issuer's iss.
        self.assert_refused(self.hs256({"alg": "HS256"}, claims(RS_ISS)), "alg_not_allowed")
        # Audience as an array containing ours, float exp: accepted.
        self.assert_allowed(self.rs256({"alg": "RS256"}, claims(RS_ISS, aud=["x", AUD], exp=now + 600.5)))

    def test_exp_out_of_double_range_is_refused(self):
        p = b64url(('{"iss":"%s","aud":"%s","sub":"alice","exp":1e400}' % (RS_ISS, AUD)).encode())
        self.assert_refused(self.rs256({"alg": "RS256"}, p), "invalid_claims")

    def test_duplicate_members_last_wins_for_every_check(self):
        # RFC 7519 §4 / RFC 7515 §5.2: reject, or use the lexically last member. Whichever is
        # used, exp, sub and the forwarded identity must all agree.
        now = int(time.time())
        raw = '{"iss":"%s","aud":"%s","sub":"alice","exp":%d,"exp":1}' % (RS_ISS, AUD, now + 600)
        status, _, body = self.send(self.rs256({"alg": "RS256"}, b64url(raw.encode())))
        self.assertEqual(status, 401, body)
        raw = '{"iss":"%s","aud":"%s","sub":"mallory","sub":"alice","exp":%d}' % (RS_ISS, AUD, now + 600)
        status, _, body = self.send(self.rs256({"alg": "RS256"}, b64url(raw.encode())))
        if status == 200:
            self.assertEqual(self.upstream.received()[-1]["headers"].get("x-apitrail-subject"), "alice")
        else:
            self.assertEqual(status, 401, body)
        h = b64url(b'{"alg":"none","alg":"RS256"}')
        status, _, body = self.send(self.rs256(h, seg(claims(RS_ISS))))
        self.assertIn(status, (200, 401))  # signed by the issuer; only consistency matters
        h = b64url(b'{"alg":"RS256","alg":"none"}')
        self.assert_refused(self.rs256(h, seg(claims(RS_ISS))), "alg_none")

    def test_non_utf8_and_non_json_payloads_are_malformed(self):
        for raw in (b'{"iss":"x","sub":"al\xffice"}', b"\xef\xbb\xbf{}", b'{"a":1}xx', b"/*c*/{}", b"[]",
                    b'"string"'):
            with self.subTest(raw=raw):
                self.assert_refused(self.rs256({"alg": "RS256"}, b64url(raw)), "malformed_token")

    def test_non_canonical_base64url_is_malformed(self):
        good = self.rs256({"alg": "RS256"}, claims(RS_ISS))
        h, p, s = good.split(".")
        # Force '-' / '_' into the payload's encoding so the std alphabet differs.
        payload = claims(RS_ISS, pad="??>>~~??>>~~" * 4)
        p2 = seg(payload)
        self.assertTrue("-" in p2 or "_" in p2)
        signed = self.rs256({"alg": "RS256"}, p2)
        self.assert_allowed(signed)
        h2, _, s2 = signed.split(".")
        for token in (f"{h}.{p}.{s}=", f"{h}.{p}=.{s}" if len(p) % 4 else f"{h}.{p}==.{s}",
                      f"{h2}.{p2.replace('-', '+').replace('_', '/')}.{s2}",
                      f"{h}.{p}.{s[:-1]}"):
            with self.subTest(token=token[-20:]):
                status, _, body = self.send(token)
                self.assertEqual(status, 401, body)
                self.assertIn(json.loads(body)["error"], ("malformed_token", "bad_signature", "invalid_token"))
        # Trailing bits set in the last signature character (non-canonical).
        last = s[-1]
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        flipped = alphabet[alphabet.index(last) ^ 1]
        status, _, body = self.send(f"{h}.{p}.{s[:-1]}{flipped}")
        self.assertEqual(status, 401, body)

    def test_jwe_and_wrong_part_counts_are_refused(self):
        good = self.rs256({"alg": "RS256"}, claims(RS_ISS))
        for token in (good + ".x", "a.b.c.d.e", good.rsplit(".", 1)[0] + ".",
                      "." + good.split(".", 1)[1]):
            with self.subTest(token=token[:30]):
                status, _, body = self.send(token)
                self.assertEqual(status, 401, body)
                self.assertIn(json.loads(body)["error"], ("malformed_token", "invalid_token"))
        self.assertEqual(self.upstream.received(), [])

    def test_oversize_token_is_refused(self):
        self.assert_refused(self.rs256({"alg": "RS256"}, claims(RS_ISS, pad="x" * 9000)), "token_too_large")

    def test_ecdsa_signature_encodings(self):
        h, p, der = self.es256_der({"alg": "ES256"}, claims(EC_ISS))
        r, s = _der_ecdsa_to_ints(der)
        raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        self.assert_allowed(f"{h}.{p}.{b64url(raw)}")
        # High S (the other valid signature) is fine: ECDSA is malleable, tokens are not ids.
        self.assert_allowed(f"{h}.{p}.{b64url(r.to_bytes(32, 'big') + (P256_N - s).to_bytes(32, 'big'))}")
        for name, sig in (("der", der), ("r=0", bytes(32) + raw[32:]), ("s=0", raw[:32] + bytes(32)),
                          ("zeros", bytes(64)), ("s+n", raw[:32] + (s + P256_N).to_bytes(33, "big")),
                          ("leading zero", b"\0" + raw), ("truncated", raw[:63]), ("empty-ish", b"\0")):
            with self.subTest(sig=name):
                self.assert_refused(f"{h}.{p}.{b64url(sig)}", "bad_signature")

    # --- API keys and credential combinations ------------------------------------------------

    def test_api_key_and_jwt_together_are_refused(self):
        jwt = self.rs256({"alg": "RS256"}, claims(RS_ISS))
        self.assert_refused(jwt, "invalid_token", {"X-API-Key": self.key})
        self.assert_refused(self.key, "invalid_token", {"X-API-Key": jwt})

    def test_two_different_api_keys_are_refused(self):
        other = self.gw.create_key("bob", ["orders:read"])
        self.gw.wait_key_active(other)
        self.assert_refused(self.key, "invalid_token", {"X-API-Key": other})
        self.assert_refused(other, "invalid_token", {"X-API-Key": self.key})
        # A bad key next to a good one is not ignored either.
        bad = self.key[:-1] + ("A" if self.key[-1] != "A" else "B")
        self.assert_refused(self.key, "invalid_token", {"X-API-Key": bad})

    def test_api_key_edits_are_refused(self):
        k = self.key
        cases = [k[:-1], k + "A", k.upper() if k.upper() != k else k.lower(),
                 k[:10] + ("a" if k[10] != "a" else "b") + k[11:]]
        for bad in cases:
            with self.subTest(bad=bad[:12]):
                status, _, body = self.send(None, {"X-API-Key": bad})
                self.assertEqual(status, 401, body)
                self.assertIn(json.loads(body)["error"], ("invalid_key_format", "unknown_key", "invalid_token"))
        self.assertEqual(self.upstream.received(), [])

    def test_revoked_api_key_is_refused(self):
        key_id = self.key.split("_")[1]
        self.gw.wait_key_active(self.key)
        self.gw.cli("keys", "revoke", "--data", self.gw.data, key_id)
        deadline = time.time() + 5
        status = 200
        while time.time() < deadline and status == 200:
            time.sleep(0.2)
            status, _, body = self.send(self.key)
        self.assertEqual(status, 401)
        self.assertEqual(json.loads(body)["error"], "revoked_key")
        before = len(self.upstream.received())
        self.assert_refused(None, "revoked_key", {"X-API-Key": self.key})
        self.assertEqual(len(self.upstream.received()), before)

    def test_api_key_is_not_forwarded_upstream(self):
        self.gw.wait_key_active(self.key)
        fwd = self.assert_allowed(None, extra_headers={"X-API-Key": self.key + " "})
        self.assertNotIn("x-api-key", fwd)
        self.assertNotIn("authorization", fwd)


if __name__ == "__main__":
    unittest.main()
