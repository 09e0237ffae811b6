"""JWT verification against tokens minted by an independent implementation: the npm package
`jose` (tests/jose, pinned in its package-lock.json), run with Node.js at test time.

`apitrail jwt verify` must accept every algorithm with the right key and refuse every bad
token with the exact deny_reason; a few tokens also go through a running gateway, whose audit
events must carry the JWT identity. The npm install (tests/jose/install.sh) runs here, bounded;
if node, npm or the registry is missing the test FAILS rather than skips, so `make test` on a
fresh machine cannot pass without having exercised the independent tokens."""
import base64
import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import unittest

from harness import npm_install, GatewayTestCase, run_cli, wait_until

JOSE_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "jose"))
ISS = "https://idp.test"
AUD = "orders-api"
HS = ["HS256", "HS384", "HS512"]
ASYM = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
ALL = HS + ASYM

# name -> deny_reason when verified with --jwks jwks.json --issuer ISS --audience AUD.
REFUSED_WITH_JWKS = {
    "alg_none": "alg_none",
    "alg_confusion_kid": "alg_key_mismatch",  # HS256 under the RSA key's kid
    "curve_mismatch": "alg_key_mismatch",     # ES384 under the P-256 key's kid
    "ps_under_rs_kid": "alg_key_mismatch",    # PS256 under a JWK pinned to RS256
    "wrong_key": "bad_signature",
    "bad_signature": "bad_signature",
    "expired": "expired_token",
    "not_yet_valid": "token_not_yet_valid",
    "wrong_iss": "wrong_issuer",
    "wrong_aud": "wrong_audience",
    "unknown_kid": "unknown_kid",
    "unknown_crit": "unsupported_crit",
    "oversize": "token_too_large",
    "malformed_parts": "malformed_token",
    "malformed_json": "malformed_token",
}

_minted = None


def mint():
    """Installs jose (once) and mints into a temp dir shared by every test in this module."""
    global _minted
    if _minted is not None:
        return _minted
    npm_install(JOSE_DIR)
    out = tempfile.mkdtemp(prefix="apitrail-jose-")
    r = subprocess.run(["node", os.path.join(JOSE_DIR, "mint.mjs"), out], capture_output=True,
                       text=True, timeout=120)
    if r.returncode != 0:
        shutil.rmtree(out, ignore_errors=True)
        raise AssertionError("mint.mjs failed: " + r.stdout + r.stderr)
    with open(os.path.join(out, "manifest.json")) as f:
        _minted = (out, json.load(f))
    return _minted


def tearDownModule():
    if _minted is not None:
        shutil.rmtree(_minted[0], ignore_errors=True)


class JwtVerifyCliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir, cls.manifest = mint()

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def verify(self, name, *args, expect_rc=None):
        r = run_cli("jwt", "verify", "--token-file", self.path("tokens", name + ".jwt"), *args)
        self.assertIn(r.returncode, (0, 1), f"{name}: rc {r.returncode}: {r.stdout}{r.stderr}")
        out = json.loads(r.stdout)
        self.assertEqual(r.returncode, 0 if out["decision"] == "valid" else 1, r.stdout)
        if expect_rc is not None:
            self.assertEqual(r.returncode, expect_rc, f"{name} {args}: {r.stdout}")
        return out

    def assert_valid(self, name, out):
        self.assertEqual(out["decision"], "valid", f"{name}: {out}")
        self.assertEqual(out["deny_reason"], "")
        claims = self.manifest["cases"][name]["claims"]
        self.assertEqual(out["claims"], claims)
        self.assertEqual(out["identity"]["subject"], claims["sub"])
        self.assertEqual(out["identity"]["issuer"], ISS)
        self.assertEqual(out["identity"]["credential_id"], claims["jti"])
        self.assertEqual(out["identity"]["scopes"], ["orders:read", "orders:write"])
        self.assertEqual(out["header"]["alg"], self.manifest["cases"][name]["alg"])

    def test_every_algorithm_from_jwks(self):
        for alg in ALL:
            for name in (f"valid_{alg}", f"valid_nokid_{alg}"):
                with self.subTest(name=name):
                    out = self.verify(name, "--jwks", self.path("jwks.json"), "--issuer", ISS,
                                      "--audience", AUD, expect_rc=0)
                    self.assert_valid(name, out)

    def test_every_asymmetric_algorithm_from_pem(self):
        for alg in ASYM:
            with self.subTest(alg=alg):
                out = self.verify(f"valid_{alg}", "--key", self.path("pem", alg + ".pem"),
                                  "--alg", alg, expect_rc=0)
                self.assert_valid(f"valid_{alg}", out)

    def test_every_hmac_algorithm_from_secret_file(self):
        for alg in HS:
            with self.subTest(alg=alg):
                out = self.verify(f"valid_{alg}", "--secret-file", self.path("secret", alg + ".txt"),
                                  expect_rc=0)
                self.assert_valid(f"valid_{alg}", out)

    def test_rsa_key_without_alg_is_pss_only_when_listed(self):
        # A PEM (or a JWK without `alg`) RSA key: RS* by default; PS* only when --alg names it.
        for alg in ("PS256", "PS384", "PS512"):
            with self.subTest(alg=alg):
                pem = self.path("pem", alg + ".pem")
                self.assertEqual(self.verify(f"valid_{alg}", "--key", pem)["deny_reason"], "alg_key_mismatch")
                self.verify(f"valid_{alg}", "--key", pem, "--alg", alg, expect_rc=0)
                noalg = self.path("jwks-noalg.json")
                self.assertEqual(self.verify(f"valid_{alg}", "--jwks", noalg)["deny_reason"], "alg_key_mismatch")
                self.verify(f"valid_{alg}", "--jwks", noalg, "--alg", alg, expect_rc=0)
        # And an RS-only list refuses PSS tokens outright.
        out = self.verify("valid_PS256", "--key", self.path("pem", "RS256.pem"), "--alg", "RS256")
        self.assertEqual(out["deny_reason"], "alg_not_allowed")

    def test_keys_are_pinned_to_their_curve(self):
        # ES384 token against the P-256 PEM, ES256 token against the P-384 PEM.
        self.assertEqual(self.verify("valid_ES384", "--key", self.path("pem", "ES256.pem"))["deny_reason"],
                         "alg_key_mismatch")
        self.assertEqual(self.verify("valid_ES256", "--key", self.path("pem", "ES384.pem"))["deny_reason"],
                         "alg_key_mismatch")
        # An HS512 token against a 32-byte secret: too short for HS512, so not an HS512 key.
        self.assertEqual(self.verify("valid_HS512", "--secret-file", self.path("secret", "HS256.txt"))["deny_reason"],
                         "alg_key_mismatch")

    def test_rejections_with_exact_deny_reason(self):
        for name, reason in REFUSED_WITH_JWKS.items():
            with self.subTest(name=name):
                out = self.verify(name, "--jwks", self.path("jwks.json"), "--issuer", ISS,
                                  "--audience", AUD, expect_rc=1)
                self.assertEqual(out["decision"], "invalid")
                self.assertEqual(out["deny_reason"], reason, out)
                if reason in ("expired_token", "token_not_yet_valid", "wrong_issuer", "wrong_audience"):
                    # Authentic token, claim failure: the verified claims are shown.
                    self.assertTrue(out["signature_valid"])
                    self.assertEqual(out["claims"]["sub"], "user-" + name)
                else:
                    self.assertFalse(out["signature_valid"])
                    self.assertNotIn("claims", out)  # unverified claims are never echoed

    def test_algorithm_confusion_with_rsa_public_key_as_hmac_secret(self):
        pem = self.path("pem", "RS256.pem")
        self.assertEqual(self.verify("alg_confusion", "--key", pem, expect_rc=1)["deny_reason"], "alg_key_mismatch")
        self.assertEqual(self.verify("alg_confusion", "--key", pem, "--alg", "RS256")["deny_reason"],
                         "alg_not_allowed")
        # Allowing HS256 as well changes nothing: the RSA key is never an HMAC key.
        self.assertEqual(self.verify("alg_confusion", "--key", pem, "--alg", "RS256", "--alg", "HS256")["deny_reason"],
                         "alg_key_mismatch")

    def test_signature_only_ignores_claims_but_not_signatures(self):
        jwks = self.path("jwks.json")
        for name in ("expired", "not_yet_valid", "wrong_iss", "wrong_aud"):
            with self.subTest(name=name):
                out = self.verify(name, "--jwks", jwks, "--issuer", ISS, "--audience", AUD,
                                  "--signature-only", expect_rc=0)
                self.assertEqual(out["checked"], "signature")
                self.assertEqual(out["claims"]["sub"], "user-" + name)
        for name in ("bad_signature", "wrong_key", "alg_none", "curve_mismatch", "unknown_crit"):
            with self.subTest(name=name):
                out = self.verify(name, "--jwks", jwks, "--signature-only", expect_rc=1)
                self.assertEqual(out["deny_reason"], REFUSED_WITH_JWKS[name])

    def test_custom_subject_claim_and_scope_array(self):
        out = self.verify("valid_scp_array", "--jwks", self.path("jwks.json"), "--subject-claim", "client_id",
                          expect_rc=0)
        self.assertEqual(out["identity"]["subject"], "svc-9")
        self.assertEqual(out["identity"]["scopes"], ["a:read", "b:write"])
        # Without --issuer/--audience those claims were not looked at, and the answer says so.
        self.assertEqual(out["not_checked"], ["iss", "aud"])
        out = self.verify("valid_ES256", "--jwks", self.path("jwks.json"), "--issuer", ISS, "--audience", AUD,
                          expect_rc=0)
        self.assertEqual(out["not_checked"], [])
        out = self.verify("valid_ES256", "--jwks", self.path("jwks.json"), "--signature-only", expect_rc=0)
        self.assertNotIn("not_checked", out)

    def test_usage_errors_exit_2(self):
        tok = self.path("tokens", "valid_ES256.jwt")
        for args in ([], ["--key", self.path("pem", "ES256.pem"), "--jwks", self.path("jwks.json")],
                     ["--key", self.path("missing.pem")], ["--jwks", self.path("jwks.json"), "--alg", "none"],
                     ["--jwks", self.path("jwks.json"), "--alg", "ES256"]):
            with self.subTest(args=args):
                r = run_cli("jwt", "verify", "--token-file", tok, *args)
                if args[-2:] == ["--alg", "ES256"]:
                    self.assertEqual(r.returncode, 0, r.stdout + r.stderr)  # control: valid
                else:
                    self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        r = run_cli("jwt", "verify", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("OIDC discovery", r.stdout)


class JwtThroughGatewayTest(GatewayTestCase):
    """Tokens from jose through the real gateway: allowed ones forwarded with the verified
    identity, refused ones answered 401; every one audited with the JWT identity."""
    _dir = None

    @classmethod
    def setUpClass(cls):
        cls._dir, cls.manifest = mint()
        cls.EXTRA_CONFIG = f"""
auth:
  jwt:
    - issuer: {ISS}
      audiences: [{AUD}]
      algorithms: [RS256, PS256, ES256, ES384, ES512, EdDSA]
      jwks_file: {os.path.join(cls._dir, "jwks.json")}
"""

    def token(self, name):
        with open(os.path.join(self._dir, "tokens", name + ".jwt")) as f:
            return f.read().strip()

    def test_valid_tokens_are_forwarded_and_audited_with_identity(self):
        names = ["valid_RS256", "valid_PS256", "valid_ES384", "valid_nokid_ES512", "valid_EdDSA"]
        for name in names:
            with self.subTest(name=name):
                status, _, body = self.gw.request("GET", "/v1/orders/7",
                                                  {"Authorization": "Bearer " + self.token(name)})
                self.assertEqual(status, 200, body)
                fwd = self.upstream.received()[-1]["headers"]
                self.assertEqual(fwd.get("x-apitrail-subject"), "user-" + name)
                self.assertEqual(fwd.get("x-apitrail-auth-method"), "jwt")
        # Twice more with the same token: the verified-token cache answers; still audited.
        for _ in range(2):
            self.assertEqual(self.gw.request("GET", "/v1/orders/8",
                                             {"Authorization": "Bearer " + self.token("valid_RS256")})[0], 200)
        events = wait_until(lambda: (lambda e: e if len(e) >= len(names) + 2 else None)(
            [e for e in self.gw.events(decision="allow") if e.get("auth_method") == "jwt"]),
            what="jwt allow events", describe=lambda: self.gw.events())
        by_subject = {}
        for e in events:
            by_subject.setdefault(e["subject"], []).append(e)
        for name in names:
            e = by_subject["user-" + name][0]
            self.assertEqual(e["auth_method"], "jwt")
            self.assertEqual(e["issuer"], ISS)
            self.assertEqual(e["credential_id"], "jti-" + name)
            self.assertEqual(e["scopes"], ["orders:read", "orders:write"])
        self.assertEqual(len(by_subject["user-valid_RS256"]), 3)
        for e in by_subject["user-valid_RS256"]:
            self.assertEqual(e["credential_id"], "jti-valid_RS256")

    def test_refused_tokens_get_401_with_deny_reason(self):
        cases = {"alg_none": "alg_none", "alg_confusion": "alg_not_allowed", "expired": "expired_token",
                 "wrong_aud": "wrong_audience", "unknown_kid": "unknown_kid",
                 "bad_signature": "bad_signature", "valid_HS256": "alg_not_allowed",
                 "curve_mismatch": "alg_key_mismatch"}
        for name, reason in cases.items():
            with self.subTest(name=name):
                status, _, body = self.gw.request("GET", "/v1/orders/9",
                                                  {"Authorization": "Bearer " + self.token(name)})
                self.assertEqual(status, 401, body)
                self.assertIn(reason.encode(), body)
        self.assertEqual(self.upstream.received(), [])  # nothing refused was forwarded
        events = wait_until(lambda: (lambda e: e if len(e) >= len(cases) else None)(
            self.gw.events(decision="deny")), what="deny events", describe=lambda: self.gw.events())
        reasons = sorted(e["deny_reason"] for e in events)
        self.assertEqual(reasons, sorted(cases.values()))
        expired = [e for e in events if e["deny_reason"] == "expired_token"][0]
        # Authentic but expired: the audit still knows who it was.
        self.assertEqual(expired["subject"], "user-expired")
        self.assertEqual(expired["auth_method"], "jwt")
        self.assertEqual(expired["credential_id"], "jti-expired")
        # Forged ones carry no claimed identity.
        forged = [e for e in events if e["deny_reason"] == "bad_signature"][0]
        self.assertEqual(forged.get("subject", ""), "")


class JwksUnavailableTest(GatewayTestCase):
    """An issuer whose JWKS URL answers 404: its tokens get 503 keys_unavailable, and the
    answer to the (unauthenticated) client names neither the internal URL nor the error; the
    gateway's log does."""

    @classmethod
    def setUpClass(cls):
        class NotFound(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

        cls.key_server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
        cls.key_server.daemon_threads = True
        threading.Thread(target=cls.key_server.serve_forever, daemon=True).start()
        cls.jwks_url = f"http://127.0.0.1:{cls.key_server.server_address[1]}/internal/jwks?tenant=acme"
        cls.EXTRA_CONFIG = f"""
auth:
  jwt:
    - issuer: {ISS}
      audiences: [{AUD}]
      algorithms: [RS256]
      jwks_url: {cls.jwks_url}
      allow_insecure_http: true
      fetch_timeout_ms: 500
"""

    @classmethod
    def tearDownClass(cls):
        cls.key_server.shutdown()
        cls.key_server.server_close()

    def test_503_does_not_show_the_key_url_or_fetch_error(self):
        def b64(obj):
            return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
        token = b64({"alg": "RS256", "kid": "k1"}) + "." + b64({"iss": ISS, "sub": "x", "aud": AUD}) + ".AAAA"
        status, _, body = self.gw.request("GET", "/v1/orders/1", {"Authorization": "Bearer " + token})
        self.assertEqual(status, 503, body)
        self.assertEqual(json.loads(body)["error"], "keys_unavailable")
        for leak in (b"127.0.0.1", b"/jwks", b"tenant=acme", b"404"):
            self.assertNotIn(leak, body)
        # The operator still learns which URL failed and how.
        log = wait_until(lambda: (lambda t: t if "/internal/jwks" in t else None)(self.gw.logs()),
                         what="the fetch failure in the log", describe=self.gw.logs)
        self.assertIn("404", log)


if __name__ == "__main__":
    unittest.main()
