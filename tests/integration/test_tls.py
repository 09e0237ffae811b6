"""TLS on the gateway listener, mTLS identities, TLS to upstreams and the reload of TLS material
on SIGHUP. Every certificate is made by the `openssl` command line at test time (a CA, a
second CA the gateway does not trust, server certificates for 127.0.0.1 with an IP SAN, client
certificates valid, untrusted and expired); the clients and the TLS upstream are Python's ssl
module, an implementation independent of the gateway's."""
import hashlib
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

from harness import (BIN, HOST, Apitrail, RecordingUpstream, admin_metrics, b64url, hs256_token, raw_request,
                     run_cli, wait_until)


def openssl(cwd, *args):
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise AssertionError(f"openssl {' '.join(args)}: {r.stderr}")
    return r.stdout


class Pki:
    """A small PKI in a directory: name.pem / name.key for every certificate."""

    def __init__(self, d):
        self.d = d
        self.ca("ca", "Test CA")
        self.ca("ca2", "Other CA")
        server_ext = "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth"
        self.leaf("server", "ca", "/CN=gateway-one", server_ext)
        self.leaf("server2", "ca", "/CN=gateway-two", server_ext)
        self.leaf("upstream", "ca", "/CN=upstream.test",
                  "subjectAltName=DNS:upstream.test,IP:127.0.0.1\nextendedKeyUsage=serverAuth")
        client_ext = "extendedKeyUsage=clientAuth"
        self.leaf("client", "ca", "/O=apitrail-test/CN=client-cn",
                  "subjectAltName=URI:spiffe://test/client-a,email:a@example.com\n" + client_ext)
        self.leaf("client_cn", "ca", "/O=apitrail-test/CN=only-a-cn", client_ext)
        self.leaf("stranger", "ca2", "/CN=stranger", client_ext)
        self.leaf("expired", "ca", "/CN=expired", client_ext, days="-1")

    def ca(self, name, cn):
        openssl(self.d, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", name + ".key", "-out", name + ".pem", "-days", "2",
                "-subj", f"/O=apitrail-test/CN={cn}")

    def leaf(self, name, ca, subject, ext, days="2"):
        with open(os.path.join(self.d, name + ".ext"), "w") as f:
            f.write(ext + "\nbasicConstraints=CA:FALSE\nsubjectKeyIdentifier=hash\n"
                    "authorityKeyIdentifier=keyid\n")
        openssl(self.d, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", name + ".key", "-out", name + ".csr", "-subj", subject)
        openssl(self.d, "x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey",
                ca + ".key", "-set_serial", str(secrets.randbits(62)), "-days", days,
                "-out", name + ".pem", "-extfile", name + ".ext")

    def path(self, name, ext="pem"):
        return os.path.join(self.d, f"{name}.{ext}")

    def fingerprint(self, name):
        """What `openssl x509 -fingerprint -sha256` prints, as lower-case hex without colons."""
        out = openssl(self.d, "x509", "-in", name + ".pem", "-noout", "-fingerprint", "-sha256")
        return out.strip().split("=", 1)[1].replace(":", "").lower()

    def der(self, name):
        with open(self.path(name)) as f:
            return ssl.PEM_cert_to_DER_cert(f.read())


class TlsCase(unittest.TestCase):
    """One gateway per test, its listener and/or upstream configured by the class attributes."""
    GATEWAY_TLS = None    # YAML lines under gateway.tls, {pki} replaced by the PKI directory
    UPSTREAM_TLS = None   # YAML lines under upstreams[0].tls
    UPSTREAM_CERT = None  # the upstream speaks HTTPS with this certificate
    WORKERS = None        # gateway.workers, when not the harness's
    EXTRA = ""

    @classmethod
    def setUpClass(cls):
        cls.pki_dir = tempfile.mkdtemp(prefix="apitrail-pki-")
        cls.pki = Pki(cls.pki_dir)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.pki_dir, ignore_errors=True)

    def make_upstream(self):
        up_ctx = None
        if self.UPSTREAM_CERT:
            up_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            up_ctx.load_cert_chain(self.pki.path(self.UPSTREAM_CERT), self.pki.path(self.UPSTREAM_CERT, "key"))
        return RecordingUpstream(ssl_context=up_ctx)

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="apitrail-it-")
        self.upstream = self.make_upstream()
        self.gw = Apitrail(self.root, self.upstream.port, self.EXTRA.format(pki=self.pki_dir))
        with open(self.gw.config) as f:
            text = f.read()
        if self.GATEWAY_TLS:
            block = "".join(f"    {line}\n" for line in self.GATEWAY_TLS.format(pki=self.pki_dir).splitlines())
            text = text.replace("gateway:\n", "gateway:\n  tls:\n" + block, 1)
        if self.UPSTREAM_TLS is not None:
            address = f"    address: {HOST}:{self.upstream.port}\n"
            block = "".join(f"      {line}\n" for line in self.UPSTREAM_TLS.format(pki=self.pki_dir).splitlines())
            text = text.replace(address, address + "    tls:\n" + (block or "      {}\n"), 1)
        if self.WORKERS is not None:
            text = text.replace("  workers: 2\n", f"  workers: {self.WORKERS}\n", 1)
        with open(self.gw.config, "w") as f:
            f.write(text)
        os.makedirs(self.gw.data, exist_ok=True)
        self.key = self.gw.create_key("alice", ["orders:read"])
        self.gw.start()

    def tearDown(self):
        self.gw.stop(signal.SIGKILL)
        self.upstream.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def client_ctx(self, cert=None, ca="ca"):
        ctx = ssl.create_default_context(cafile=self.pki.path(ca))
        if cert:
            ctx.load_cert_chain(self.pki.path(cert), self.pki.path(cert, "key"))
        return ctx

    def https(self, path, headers=None, cert=None, ctx=None, method="GET"):
        conn = http.client.HTTPSConnection(HOST, self.gw.gateway_port, timeout=10,
                                           context=ctx or self.client_ctx(cert))
        try:
            conn.request(method, path, headers=headers or {})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def auth(self):
        return {"Authorization": f"Bearer {self.key}"}

    def assert_refused(self, cert):
        """The TLS handshake fails or the connection is cut before any HTTP answer. (With TLS 1.3
        the client may finish its side of the handshake before the server's alert arrives.)"""
        with self.assertRaises((ssl.SSLError, ConnectionError, http.client.RemoteDisconnected)):
            self.https("/v1/orders/1", cert=cert)


SERVER_TLS = "cert_file: {pki}/server.pem\nkey_file: {pki}/server.key"


class GatewayTlsTest(TlsCase):
    GATEWAY_TLS = SERVER_TLS

    def test_https_request_proxied_and_recorded(self):
        status, headers, body = self.https("/v1/orders/7", self.auth())
        self.assertEqual(status, 200, body)
        self.assertTrue(headers["x-request-id"])
        got = self.upstream.received()
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0]["headers"]["x-forwarded-proto"], "https")
        e = self.gw.events()[0]
        self.assertEqual((e["status"], e["subject"], e["auth_method"], e["path"]),
                         (200, "alice", "api_key", "/v1/orders/7"))
        self.assertEqual(e["correlation_id"], headers["x-request-id"])

    def test_keep_alive_over_tls(self):
        conn = http.client.HTTPSConnection(HOST, self.gw.gateway_port, timeout=10, context=self.client_ctx())
        for i in range(5):
            conn.request("GET", f"/v1/orders/{i}", headers=self.auth())
            r = conn.getresponse()
            self.assertEqual(r.status, 200)
            r.read()
        conn.close()
        self.assertEqual(len(self.gw.events()), 5)

    def test_plain_http_to_tls_port_fails_cleanly_not_audited(self):
        before = admin_metrics(self.gw)["apitrail_tls_handshake_failures_total"]
        t0 = time.time()
        out = raw_request(self.gw.gateway_port, b"GET /v1/orders/1 HTTP/1.1\r\nHost: x\r\n\r\n", timeout=5)
        self.assertLess(time.time() - t0, 4, "the gateway should close, not wait for a timeout")
        self.assertFalse(out.startswith(b"HTTP/"), out[:100])
        after = admin_metrics(self.gw)["apitrail_tls_handshake_failures_total"]
        self.assertGreaterEqual(after, before + 1)
        self.assertEqual(self.gw.events(), [])
        self.assertEqual(self.upstream.received(), [])
        self.assertEqual(self.https("/v1/orders/1", self.auth())[0], 200)  # still serving
        self.assertGreaterEqual(admin_metrics(self.gw)["apitrail_tls_handshakes_total"], 1)

    def test_stalled_handshake_closed_after_header_timeout(self):
        before = admin_metrics(self.gw)["apitrail_tls_handshake_failures_total"]
        t0 = time.time()
        with socket.create_connection((HOST, self.gw.gateway_port), timeout=10) as s:
            s.sendall(b"\x16\x03\x01")  # the start of a TLS record, never finished
            self.assertEqual(s.recv(100), b"")  # closed by the gateway, nothing sent
        elapsed = time.time() - t0
        self.assertGreater(elapsed, 1.5)  # header_timeout_ms: 2000 in the harness config
        self.assertLess(elapsed, 5)
        self.assertGreaterEqual(admin_metrics(self.gw)["apitrail_tls_handshake_failures_total"], before + 1)
        self.assertEqual(self.gw.events(), [])

    def test_untrusted_gateway_certificate_is_rejected_by_the_client(self):
        with self.assertRaises(ssl.SSLCertVerificationError):
            self.https("/v1/orders/1", self.auth(), ctx=self.client_ctx(ca="ca2"))

    def test_tls_below_minimum_refused(self):
        ctx = self.client_ctx()
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        with self.assertRaises((ssl.SSLError, ConnectionError)):
            self.https("/v1/orders/1", self.auth(), ctx=ctx)

    def test_sighup_swaps_certificate_keeping_open_connections(self):
        old = http.client.HTTPSConnection(HOST, self.gw.gateway_port, timeout=10, context=self.client_ctx())
        old.request("GET", "/v1/orders/1", headers=self.auth())
        r = old.getresponse()
        r.read()
        self.assertEqual(r.status, 200)
        first_der = self.pki.der("server")
        self.assertEqual(old.sock.getpeercert(binary_form=True), first_der)
        # Replace the files in place (the paths in the config stay), then SIGHUP.
        shutil.copy(self.pki.path("server2"), os.path.join(self.pki_dir, "server.pem"))
        shutil.copy(self.pki.path("server2", "key"), os.path.join(self.pki_dir, "server.key"))
        try:
            self.gw.proc.send_signal(signal.SIGHUP)

            def new_cert():
                with socket.create_connection((HOST, self.gw.gateway_port), timeout=5) as s:
                    with self.client_ctx().wrap_socket(s, server_hostname=HOST) as t:
                        return t.getpeercert(binary_form=True) == self.pki.der("server2")
            wait_until(new_cert, timeout=5, what="the new certificate")
            self.assertEqual(self.https("/v1/orders/2", self.auth())[0], 200)
            # The connection opened before the reload keeps working, with its old session.
            old.request("GET", "/v1/orders/3", headers=self.auth())
            r = old.getresponse()
            r.read()
            self.assertEqual(r.status, 200)
            self.assertEqual(old.sock.getpeercert(binary_form=True), first_der)
            old.close()
        finally:
            # Later tests use the class's PKI: restore the first certificate.
            self.pki.leaf("server", "ca", "/CN=gateway-one", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth")

    def test_sighup_with_broken_key_keeps_serving_old_material(self):
        key_path = os.path.join(self.pki_dir, "server.key")
        with open(key_path) as f:
            saved = f.read()
        shutil.copy(self.pki.path("server2", "key"), key_path)  # does not match server.pem
        try:
            self.gw.proc.send_signal(signal.SIGHUP)
            wait_until(lambda: "configuration not reloaded" in self.gw.logs(), timeout=5, what="the reload error")
            self.assertIn("gateway.tls.key_file", self.gw.logs())
            self.assertEqual(self.https("/v1/orders/1", self.auth())[0], 200)
        finally:
            with open(key_path, "w") as f:
                f.write(saved)


class MtlsOptionalTest(TlsCase):
    GATEWAY_TLS = SERVER_TLS + "\nclient_ca_file: {pki}/ca.pem\nclient_auth: optional"
    EXTRA = "auth:\n  mtls:\n    enabled: true\n"

    def test_client_certificate_is_the_identity(self):
        status, _, body = self.https("/v1/orders/1", cert="client")
        self.assertEqual(status, 200, body)
        e = self.gw.events()[0]
        self.assertEqual(e["auth_method"], "mtls")
        self.assertEqual(e["subject"], "spiffe://test/client-a")
        self.assertEqual(e["credential_id"], self.pki.fingerprint("client"))
        self.assertEqual(len(e["credential_id"]), 64)
        self.assertEqual(e["issuer"], "CN=Test CA,O=apitrail-test")
        self.assertEqual(self.upstream.received()[0]["headers"]["x-apitrail-auth-method"], "mtls")

    def test_common_name_when_no_san(self):
        self.assertEqual(self.https("/v1/orders/1", cert="client_cn")[0], 200)
        e = self.gw.events()[0]
        self.assertEqual((e["subject"], e["credential_id"]), ("only-a-cn", self.pki.fingerprint("client_cn")))

    def test_bearer_credential_takes_precedence_over_certificate(self):
        self.assertEqual(self.https("/v1/orders/1", self.auth(), cert="client")[0], 200)
        self.assertEqual(self.gw.events()[0]["auth_method"], "api_key")
        # A bad token is not excused by a good certificate.
        status, _, _ = self.https("/v1/orders/1", {"Authorization": "Bearer nope"}, cert="client")
        self.assertEqual(status, 401)

    def test_no_certificate_and_no_credential_is_401(self):
        status, headers, body = self.https("/v1/orders/1")
        self.assertEqual(status, 401, body)
        self.assertIn(b"missing_credentials", body)
        e = self.gw.events()[0]
        self.assertEqual((e["status"], e["deny_reason"]), (401, "missing_credentials"))

    def test_untrusted_or_expired_certificate_refused(self):
        self.assert_refused("stranger")
        self.assert_refused("expired")
        self.assertEqual(self.gw.events(), [])
        self.assertEqual(self.upstream.received(), [])


class MtlsRequiredTest(TlsCase):
    GATEWAY_TLS = SERVER_TLS + "\nclient_ca_file: {pki}/ca.pem\nclient_auth: required"
    EXTRA = "auth:\n  mtls:\n    enabled: true\n    subject_from: [cn]\n"

    def test_missing_certificate_refused(self):
        before = admin_metrics(self.gw)["apitrail_tls_handshake_failures_total"]
        self.assert_refused(None)
        self.assert_refused("stranger")
        # With TLS 1.3 the client may see the refusal before the gateway's handshake returns.
        wait_until(lambda: admin_metrics(self.gw)["apitrail_tls_handshake_failures_total"] >= before + 2,
                   timeout=5, what="both refusals counted")
        self.assertEqual(self.upstream.received(), [])

    def test_valid_certificate_subject_from_cn(self):
        self.assertEqual(self.https("/v1/orders/1", cert="client")[0], 200)
        e = self.gw.events()[0]
        self.assertEqual((e["subject"], e["auth_method"]), ("client-cn", "mtls"))


BOUND_SECRET = "bound-token-test-secret-0123456789abcdef"
BOUND_ISS = "https://idp.bound.test"


class CertificateBoundTokenTest(TlsCase):
    """RFC 8705: a JWT whose cnf names a client certificate's x5t#S256 works only over a
    connection presenting that certificate (auth.mtls is off: the certificate is not the
    identity here, the token is); a DPoP-bound token is refused, since the gateway cannot check
    its proof. Tokens are signed with the stdlib's hmac."""
    GATEWAY_TLS = SERVER_TLS + "\nclient_ca_file: {pki}/ca.pem\nclient_auth: optional"
    EXTRA = (f"auth:\n  jwt:\n    - issuer: {BOUND_ISS}\n      algorithms: [HS256]\n"
             "      audiences: [orders-api]\n      secret_file: {pki}/bound.secret\n")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with open(os.path.join(cls.pki_dir, "bound.secret"), "w") as f:
            f.write(BOUND_SECRET + "\n")

    def token(self, cnf):
        return hs256_token(BOUND_SECRET, {"iss": BOUND_ISS, "sub": "bound-client", "jti": "bound-1",
                                          "aud": "orders-api", "exp": int(time.time()) + 300, "cnf": cnf})

    def bearer(self, token):
        return {"Authorization": "Bearer " + token}

    def test_token_works_only_with_its_certificate(self):
        thumbprint = b64url(hashlib.sha256(self.pki.der("client")).digest())
        token = self.token({"x5t#S256": thumbprint})
        status, _, body = self.https("/v1/orders/1", self.bearer(token), cert="client")
        self.assertEqual(status, 200, body)
        self.assertEqual(self.upstream.received()[0]["headers"]["x-apitrail-subject"], "bound-client")
        # Stolen: the same token without a certificate, and with another valid certificate.
        for cert in (None, "client_cn"):
            with self.subTest(cert=cert):
                status, headers, body = self.https("/v1/orders/2", self.bearer(token), cert=cert)
                self.assertEqual(status, 401, body)
                self.assertEqual(json.loads(body)["error"], "certificate_binding_mismatch")
                self.assertIn('error="invalid_token"', headers["www-authenticate"])
        self.assertEqual(len(self.upstream.received()), 1)
        events = wait_until(lambda: (lambda e: e if len(e) == 3 else None)(self.gw.events()),
                            what="three events", describe=self.gw.events)
        denied = [e for e in events if e["decision"] == "deny"]
        self.assertEqual([e["deny_reason"] for e in denied], ["certificate_binding_mismatch"] * 2)
        # The refusal still records whose token was replayed.
        self.assertEqual({(e["subject"], e["credential_id"]) for e in denied}, {("bound-client", "bound-1")})
        # `jwt verify` shows the binding and says the certificate was not part of its verdict.
        token_file = os.path.join(self.root, "bound.jwt")
        with open(token_file, "w") as f:
            f.write(token)
        r = run_cli("jwt", "verify", "--token-file", token_file, "--secret-file",
                    os.path.join(self.pki_dir, "bound.secret"), "--issuer", BOUND_ISS, "--audience", "orders-api")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual(out["identity"]["bound_certificate"], thumbprint)
        self.assertEqual(out["not_checked"], ["cnf"])

    def test_open_connection_loses_the_binding_with_its_ca(self):
        """A reload that no longer trusts the certificate's CA ends its binding on a keep-alive
        connection opened before it, as it does for new connections (refused in the handshake)."""
        token = self.token({"x5t#S256": b64url(hashlib.sha256(self.pki.der("client")).digest())})
        conn = http.client.HTTPSConnection(HOST, self.gw.gateway_port, timeout=10, context=self.client_ctx("client"))
        conn.request("GET", "/v1/orders/1", headers=self.bearer(token))
        r = conn.getresponse()
        self.assertEqual(r.status, 200, r.read())
        r.read()
        sock = conn.sock
        self.gw.edit_config(f"client_ca_file: {self.pki_dir}/ca.pem", f"client_ca_file: {self.pki_dir}/ca2.pem")
        self.gw.proc.send_signal(signal.SIGHUP)

        def refused():
            try:
                # (A connection accepted just before its worker took the reload: 401 instead.)
                return self.https("/v1/orders/3", self.bearer(token), cert="client")[0] == 401
            except (ssl.SSLError, ConnectionError, http.client.RemoteDisconnected):
                return True
        wait_until(refused, timeout=5, what="the reload")
        self.assertIs(conn.sock, sock)
        conn.request("GET", "/v1/orders/2", headers=self.bearer(token))
        r = conn.getresponse()
        body = r.read()
        self.assertEqual(r.status, 401, body)
        self.assertEqual(json.loads(body)["error"], "invalid_client_certificate")
        self.assertEqual(r.getheader("connection"), "close")
        conn.close()
        e, = wait_until(lambda: [e for e in self.gw.events() if e["path"] == "/v1/orders/2"] or None,
                        what="the refusal's event")
        self.assertEqual((e["status"], e["deny_reason"], e["subject"]), (401, "invalid_client_certificate", "bound-client"))

    def test_dpop_bound_and_malformed_bindings_refused(self):
        for cnf in ({"jkt": b64url(b"k" * 32)}, {"x5t#S256": "not-a-thumbprint"}, "x5t"):
            with self.subTest(cnf=cnf):
                status, _, body = self.https("/v1/orders/1", self.bearer(self.token(cnf)), cert="client")
                self.assertEqual(status, 401, body)
                self.assertEqual(json.loads(body)["error"], "token_binding_unsupported")
        self.assertEqual(self.upstream.received(), [])


class UpstreamTlsTest(TlsCase):
    UPSTREAM_CERT = "upstream"
    UPSTREAM_TLS = "ca_file: {pki}/ca.pem"

    def test_verified_upstream(self):
        for i in range(3):  # the pooled TLS connection is reused
            status, _, body = self.gw.request("GET", f"/v1/orders/{i}", self.auth())
            self.assertEqual(status, 200, body)
        self.assertEqual(len(self.upstream.received()), 3)
        self.assertEqual(self.gw.events()[0]["status"], 200)


class UpstreamTlsByNameTest(TlsCase):
    UPSTREAM_CERT = "upstream"
    UPSTREAM_TLS = "ca_file: {pki}/ca.pem\nserver_name: upstream.test"

    def test_verified_by_dns_name(self):
        self.assertEqual(self.gw.request("GET", "/v1/orders/1", self.auth())[0], 200)


class UpstreamTlsWrongCaTest(TlsCase):
    UPSTREAM_CERT = "upstream"
    UPSTREAM_TLS = "ca_file: {pki}/ca2.pem"

    def test_untrusted_upstream_502_audited(self):
        status, _, body = self.gw.request("GET", "/v1/orders/1", self.auth())
        self.assertEqual(status, 502, body)
        e = self.gw.events()[0]
        self.assertEqual((e["status"], e["subject"]), (502, "alice"))
        self.assertIn("certificate verify failed: unable to get local issuer certificate", e["message"])
        self.assertEqual(self.upstream.received(), [])
        self.assertEqual(admin_metrics(self.gw)["apitrail_upstream_tls_failures_total"], 1)


class UpstreamTlsWrongNameTest(TlsCase):
    UPSTREAM_CERT = "upstream"
    UPSTREAM_TLS = "ca_file: {pki}/ca.pem\nserver_name: other.test"

    def test_wrong_name_502_audited(self):
        status, _, body = self.gw.request("GET", "/v1/orders/1", self.auth())
        self.assertEqual(status, 502, body)
        e = self.gw.events()[0]
        self.assertEqual(e["status"], 502)
        self.assertIn("hostname mismatch", e["message"])
        self.assertEqual(self.upstream.received(), [])


class ForgingUpstream:
    """An HTTPS upstream that answers the first request of its first connection with a
    response and then a forged second response: as two TLS records in the same TCP segment
    (one read of the gateway takes both), or `delay` seconds later. That
    connection then stays open and answers nothing more; every other connection answers each
    request with {"conn": N}. A gateway that reused the first connection would hand the
    forged response to the next request as its answer."""

    FORGED = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{"forged": 1}'

    def __init__(self, cert, key, delay=0.0):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.delay = delay
        self.sock = socket.create_server((HOST, 0))
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.connections = 0
        self.requests_after_forged = 0
        self.forged_sent = threading.Event()  # the forged record has left (is in the gateway's socket)
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                n = self.connections
            threading.Thread(target=self._serve, args=(conn, n), daemon=True).start()

    def _serve(self, conn, n):
        try:
            tls = self.ctx.wrap_socket(conn, server_side=True)
            buf = b""
            first = True
            while True:
                while b"\r\n\r\n" not in buf:
                    data = tls.recv(65536)
                    if not data:
                        return
                    buf += data
                _, buf = buf.split(b"\r\n\r\n", 1)
                if n == 1 and not first:
                    with self.lock:
                        self.requests_after_forged += 1
                    continue  # never answered: only the forged record could answer it
                body = json.dumps({"conn": n}).encode()
                head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
                if n == 1 and self.delay:
                    tls.sendall(head + body)
                    time.sleep(self.delay)
                    tls.sendall(self.FORGED)
                    self.forged_sent.set()
                elif n == 1:
                    # Corked: both records leave in one segment, so the gateway's one read takes both.
                    tls.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
                    tls.sendall(head + body)
                    tls.sendall(self.FORGED)
                    tls.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)
                    self.forged_sent.set()
                else:
                    tls.sendall(head + body)
                first = False
        except OSError:  # ssl.SSLError is one
            return
        finally:
            conn.close()

    def stop(self):
        self.stopped = True
        self.sock.close()


class UpstreamTlsExtraRecordTest(TlsCase):
    """A TLS record the upstream sent behind a complete response is not read as the next
    request's response: the pooled connection it arrived on is not reused. Here the record
    came in the response's segment: it waits inside the TLS stream, past the socket's reach."""
    UPSTREAM_TLS = "ca_file: {pki}/ca.pem"
    WORKERS = 1  # one pool
    DELAY = 0.0

    def make_upstream(self):
        return ForgingUpstream(self.pki.path("upstream"), self.pki.path("upstream", "key"), self.DELAY)

    def test_record_behind_a_response_is_not_the_next_answer(self):
        auth = {"Authorization": f"Bearer {self.key}"}
        status, _, body = self.gw.request("GET", "/v1/orders/1", auth)
        self.assertEqual((status, json.loads(body)), (200, {"conn": 1}))
        # A late record is in the pooled connection's socket once sent (loopback); a sleep of
        # twice the delay was not enough when the upstream's thread ran late on a loaded host,
        # and the next request then took the connection before the record came.
        self.assertTrue(self.upstream.forged_sent.wait(30), "the upstream never sent the forged record")
        for i in (2, 3):
            status, _, body = self.gw.request("GET", f"/v1/orders/{i}", auth)
            self.assertEqual(status, 200, body)
            self.assertNotIn(b"forged", body)
            self.assertEqual(json.loads(body), {"conn": 2})  # a fresh connection, then pooled
        self.assertEqual(self.upstream.requests_after_forged, 0)
        self.assertEqual(self.upstream.connections, 2)
        statuses = sorted(e["status"] for e in self.gw.events())
        self.assertEqual(statuses, [200, 200, 200])


class UpstreamTlsLateRecordTest(UpstreamTlsExtraRecordTest):
    """The same record sent after the response was relayed: it waits in the socket."""
    DELAY = 0.2


class StartupErrorsTest(unittest.TestCase):
    """Bad TLS files stop `serve` with the key path and the file named."""

    def setUp(self):
        self.pki_dir = tempfile.mkdtemp(prefix="apitrail-pki-")
        self.pki = Pki.__new__(Pki)
        self.pki.d = self.pki_dir
        self.pki.ca("ca", "Test CA")
        self.pki.leaf("server", "ca", "/CN=a", "subjectAltName=IP:127.0.0.1")
        self.pki.leaf("server2", "ca", "/CN=b", "subjectAltName=IP:127.0.0.1")
        self.root = tempfile.mkdtemp(prefix="apitrail-it-")

    def tearDown(self):
        shutil.rmtree(self.pki_dir, ignore_errors=True)
        shutil.rmtree(self.root, ignore_errors=True)

    def serve_fails(self, tls_lines):
        gw = Apitrail(self.root, 9, "")
        block = "".join(f"    {line}\n" for line in tls_lines.format(pki=self.pki_dir).splitlines())
        gw.edit_config("\ngateway:\n", "\ngateway:\n  tls:\n" + block)
        r = subprocess.run([BIN, "serve", "-c", gw.config],
                           capture_output=True, text=True, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        check = subprocess.run([BIN, "config", "check", "-c", gw.config], capture_output=True, text=True, timeout=30)
        self.assertEqual(check.returncode, 2, check.stdout + check.stderr)
        self.assertIn("gateway.tls.", check.stderr)
        return r.stdout + r.stderr

    def test_valid_files_pass_config_check(self):
        gw = Apitrail(self.root, 9, "")
        tls = f"  tls:\n    cert_file: {self.pki_dir}/server.pem\n    key_file: {self.pki_dir}/server.key\n"
        gw.edit_config("\ngateway:\n", "\ngateway:\n" + tls)
        check = subprocess.run([BIN, "config", "check", "-c", gw.config], capture_output=True, text=True, timeout=30)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)

    def test_missing_mismatched_and_garbage_files_named(self):
        out = self.serve_fails("cert_file: {pki}/nope.pem\nkey_file: {pki}/server.key")
        self.assertIn("gateway.tls.cert_file: cannot read", out)
        self.assertIn("nope.pem", out)
        out = self.serve_fails("cert_file: {pki}/server.pem\nkey_file: {pki}/server2.key")
        self.assertIn("gateway.tls.key_file", out)
        self.assertIn("does not match gateway.tls.cert_file", out)
        out = self.serve_fails("cert_file: {pki}/server.key\nkey_file: {pki}/server.key")
        self.assertIn("holds no PEM certificate", out)
        out = self.serve_fails("cert_file: {pki}/server.pem\nkey_file: {pki}/server.key\n"
                               "client_auth: required\nclient_ca_file: {pki}/missing-ca.pem")
        self.assertIn("gateway.tls.client_ca_file: cannot read", out)


if __name__ == "__main__":
    unittest.main()
