"""Edges of TLS on the gateway listener, mTLS identities, TLS to upstreams and the reload of TLS
material, through the real binary: clients that stall or speak the wrong protocol, old versions
and renegotiation, client certificates the handshake must refuse (other CA, self-signed, not yet
valid, server-only usage, a chain too deep) and ones it accepts whose subject is unusable, session
resumption (a resumed session keeps the identity of its own handshake and never outlives a
reload or its certificate), upstreams that must not be trusted, and reloads with a damaged file.
Certificates are made by the `openssl` command line; clients are Python's ssl module and
`openssl s_client`, implementations independent of the gateway's."""
import calendar
import hashlib
import http.client
import json
import os
import secrets
import select
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

from harness import ADMIN_TOKEN, HOST, Apitrail, RecordingUpstream, admin_metrics, raw_request, run_cli, wait_until

PKI_DIR = None


def openssl(cwd, *args):
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise AssertionError(f"openssl {' '.join(args)}: {r.stderr}")
    return r.stdout


def utc(offset_s):
    """An `openssl ca` date offset_s seconds from now."""
    return time.strftime("%Y%m%d%H%M%SZ", time.gmtime(time.time() + offset_s))


def short_lived(prefix, cn, use, life=3):
    """A client certificate valid from a minute ago until about `life` s from now, and
    use(name) done while it is. Returns (name, its notAfter as a Unix time, what use returned).
    When use() ended only after notAfter (on a loaded host, `openssl` and the handshakes took
    that long), what it saw says nothing about a valid certificate: it is done again with a new
    certificate living twice as long. A failure while the certificate was valid is raised."""
    while True:
        name = prefix + secrets.token_hex(4)
        not_after = utc(life)
        PKI.dated(name, "ca", cn, utc(-60), not_after)
        end = calendar.timegm(time.strptime(not_after, "%Y%m%d%H%M%SZ"))
        try:
            result = use(name)
        except (AssertionError, ssl.SSLError, ConnectionError):
            if time.time() < end or life >= 48:
                raise
        else:
            if time.time() < end:
                return name, end, result
            if life >= 48:
                raise AssertionError(f"a certificate living {life} s expired before its first use ended")
        life *= 2


CA_CNF = """[ca]
default_ca = d
[d]
database = index.txt
serial = serial
new_certs_dir = .
default_md = sha256
policy = p
unique_subject = no
[p]
commonName = supplied
"""


class Pki:
    """name.pem / name.key for every certificate, in one directory shared by the module. One
    `openssl req` per certificate (`-CA` signs with another): the PKI is most of this file's
    time."""

    CLIENT = "extendedKeyUsage=clientAuth"

    def __init__(self, d):
        self.d = d
        for name, text in (("ca.cnf", CA_CNF), ("req.cnf", "[req]\ndistinguished_name = dn\n[dn]\n"),
                           ("index.txt", ""), ("serial", "01\n")):
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        ca = "basicConstraints=critical,CA:TRUE"
        self.cert("ca", None, "/O=edge/CN=Edge CA", ca)
        self.cert("ca2", None, "/O=edge/CN=Other CA", ca)
        server = "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth"
        self.cert("server", "ca", "/CN=gateway-one", server)
        self.cert("server2", "ca", "/CN=gateway-two", server)
        self.cert("upstream", "ca", "/CN=upstream.test",
                  "subjectAltName=DNS:upstream.test,IP:127.0.0.1\nextendedKeyUsage=serverAuth")
        self.cert("upstream_self", None, "/CN=upstream.test", "subjectAltName=IP:127.0.0.1")
        # Client certificates the handshake accepts, with subjects of every shape.
        self.cert("client", "ca", "/O=edge/CN=client-cn", "subjectAltName=URI:spiffe://edge/a\n" + self.CLIENT)
        self.cert("client_b", "ca", "/O=edge/CN=client-b", "subjectAltName=URI:spiffe://edge/b\n" + self.CLIENT)
        self.cert("email_only", "ca", "/CN=mail-cn", "subjectAltName=email:ops@example.com\n" + self.CLIENT)
        self.cert("dns_only", "ca", "/CN=dns-cn", "subjectAltName=DNS:svc.example.com\n" + self.CLIENT)
        self.cert("no_subject", "ca", "/O=edge/OU=nobody", self.CLIENT)
        self.cert("two_cns", "ca", "/O=edge/CN=first/CN=second", self.CLIENT)
        self.cert("utf8_cn", "ca", "/CN=Zo\u00eb", self.CLIENT)
        self.cert("long_uri", "ca", "/CN=fallback-cn",
                  "subjectAltName=URI:spiffe://edge/" + "x" * 300 + "\n" + self.CLIENT)
        # Client certificates the handshake refuses.
        self.cert("stranger", "ca2", "/CN=stranger", self.CLIENT)
        self.cert("self_signed", None, "/CN=self-signed", self.CLIENT)
        self.cert("server_usage", "ca", "/CN=server-usage", "extendedKeyUsage=serverAuth")
        self.dated("not_yet_valid", "ca", "not-yet-valid", utc(365 * 86400), utc(366 * 86400))
        # Edge CA -> Int 1 -> ... -> Int 9 -> deep: one intermediate more than the gateway's
        # verify depth (8) allows; deep8 stops at Int 8, shallow at Int 1.
        parent = "ca"
        for i in range(1, 10):
            self.cert(f"int{i}", parent, f"/CN=Int {i}", ca)
            parent = f"int{i}"
        self.cert("deep", "int9", "/CN=deep", self.CLIENT)
        self.cert("deep8", "int8", "/CN=deep8", self.CLIENT)
        self.cert("shallow", "int1", "/CN=shallow", self.CLIENT)
        self.bundle("deep_chain", ["deep"] + [f"int{i}" for i in range(9, 0, -1)])
        self.bundle("deep8_chain", ["deep8"] + [f"int{i}" for i in range(8, 0, -1)])
        self.bundle("shallow_chain", ["shallow", "int1"])

    def cert(self, name, ca, subject, ext):
        """A certificate signed by `ca` (None: self-signed) with a key of its own."""
        args = ["req", "-config", "req.cnf", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-utf8", "-keyout", name + ".key", "-out", name + ".pem", "-days", "2",
                "-set_serial", str(secrets.randbits(62)), "-subj", subject]
        if ca:
            args += ["-CA", ca + ".pem", "-CAkey", ca + ".key"]
        for line in ext.splitlines():
            args += ["-addext", line]
        openssl(self.d, *args)

    def dated(self, name, ca, cn, start, end):
        """A client certificate with chosen validity dates (`openssl req` has only -days)."""
        with open(os.path.join(self.d, name + ".ext"), "w") as f:
            f.write(self.CLIENT + "\nbasicConstraints=CA:FALSE\n")
        openssl(self.d, "req", "-config", "req.cnf", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", name + ".key", "-out", name + ".csr", "-subj", f"/CN={cn}")
        openssl(self.d, "ca", "-config", "ca.cnf", "-batch", "-notext", "-rand_serial", "-cert", ca + ".pem",
                "-keyfile", ca + ".key", "-in", name + ".csr", "-out", name + ".pem", "-startdate", start,
                "-enddate", end, "-extfile", name + ".ext")

    def bundle(self, name, parts):
        with open(self.path(name), "w") as out:
            for p in parts:
                with open(self.path(p)) as f:
                    out.write(f.read())
        shutil.copy(self.path(parts[0], "key"), self.path(name, "key"))

    def path(self, name, ext="pem"):
        return os.path.join(self.d, f"{name}.{ext}")

    def der(self, name):
        with open(self.path(name)) as f:
            return ssl.PEM_cert_to_DER_cert(f.read())

    def fingerprint(self, name):
        """`openssl x509 -fingerprint -sha256`, lower-case hex without colons."""
        return hashlib.sha256(self.der(name)).hexdigest()


PKI = None


def setUpModule():
    global PKI_DIR, PKI
    PKI_DIR = tempfile.mkdtemp(prefix="apitrail-pki-edges-")
    PKI = Pki(PKI_DIR)


def tearDownModule():
    shutil.rmtree(PKI_DIR, ignore_errors=True)


def metric(gw, name):
    return admin_metrics(gw).get(name, 0)


class EdgeCase(unittest.TestCase):
    """One gateway per test. GATEWAY_TLS: lines under gateway.tls ({pki}: the PKI directory,
    {root}: the test's own directory, for files a test changes); UPSTREAM_TLS: lines under
    upstreams[0].tls; UPSTREAM_CERT: the upstream speaks HTTPS with this certificate."""
    GATEWAY_TLS = None
    UPSTREAM_TLS = None
    UPSTREAM_CERT = None
    EXTRA = ""
    IDLE_TIMEOUT_MS = None  # gateway.idle_timeout_ms instead of the harness's 5000

    def prepare(self):
        """Runs before the gateway starts (files a test's configuration names)."""

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="apitrail-it-")
        up_ctx = None
        if self.UPSTREAM_CERT:
            up_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            up_ctx.load_cert_chain(PKI.path(self.UPSTREAM_CERT), PKI.path(self.UPSTREAM_CERT, "key"))
        self.upstream = RecordingUpstream(ssl_context=up_ctx)
        self.prepare()
        fmt = {"pki": PKI_DIR, "root": self.root}
        self.gw = Apitrail(self.root, self.upstream.port, self.EXTRA.format(**fmt))
        if self.GATEWAY_TLS:
            block = "".join(f"    {line}\n" for line in self.GATEWAY_TLS.format(**fmt).splitlines())
            self.gw.edit_config("\ngateway:\n", "\ngateway:\n  tls:\n" + block)
        if self.UPSTREAM_TLS is not None:
            address = f"    address: {HOST}:{self.upstream.port}\n"
            block = "".join(f"      {line}\n" for line in self.UPSTREAM_TLS.format(**fmt).splitlines())
            self.gw.edit_config(address, address + "    tls:\n" + (block or "      {}\n"))
        if self.IDLE_TIMEOUT_MS is not None:
            self.gw.edit_config("  idle_timeout_ms: 5000\n", f"  idle_timeout_ms: {self.IDLE_TIMEOUT_MS}\n")
        os.makedirs(self.gw.data, exist_ok=True)
        self.key = self.gw.create_key("alice", ["orders:read"])
        self.gw.start()

    def tearDown(self):
        errors = None
        if self.gw.proc is not None and self.gw.proc.poll() is None:
            errors = metric(self.gw, "apitrail_session_errors_total")
        self.gw.stop(signal.SIGKILL)
        self.upstream.stop()
        shutil.rmtree(self.root, ignore_errors=True)
        self.assertEqual(errors, 0, "connection(s) ended on an internal error")

    def client_ctx(self, cert=None, ca="ca", chain=None):
        ctx = ssl.create_default_context(cafile=PKI.path(ca))
        if cert:
            ctx.load_cert_chain(PKI.path(chain or cert), PKI.path(cert, "key"))
        return ctx

    def https(self, path="/v1/orders/1", headers=None, cert=None, ctx=None, chain=None, method="GET", body=None):
        conn = http.client.HTTPSConnection(HOST, self.gw.gateway_port, timeout=30,
                                           context=ctx or self.client_ctx(cert, chain=chain))
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def auth(self):
        return {"Authorization": f"Bearer {self.key}"}

    def assert_refused(self, cert, chain=None):
        """The handshake fails, or (TLS 1.3: the client's side may finish first) the connection
        is cut before any HTTP answer."""
        with self.assertRaises((ssl.SSLError, ConnectionError, http.client.RemoteDisconnected), msg=cert):
            self.https(cert=cert, chain=chain)

    def s_client(self, *args, stdin=b"", timeout=15):
        return subprocess.run(["openssl", "s_client", "-connect", f"{HOST}:{self.gw.gateway_port}",
                               "-CAfile", PKI.path("ca"), *args],
                              input=stdin, capture_output=True, timeout=timeout)


SERVER_TLS = "cert_file: {pki}/server.pem\nkey_file: {pki}/server.key"
MTLS_OPTIONAL = SERVER_TLS + "\nclient_ca_file: {pki}/ca.pem\nclient_auth: optional"
MTLS_ON = "auth:\n  failure_limit:\n    enabled: false\n  mtls:\n    enabled: true\n"


class ListenerEdgesTest(EdgeCase):
    GATEWAY_TLS = SERVER_TLS

    def test_silent_and_stalled_handshakes_close_in_time_without_holding_workers(self):
        before = metric(self.gw, "apitrail_tls_handshake_failures_total")
        socks = []
        t0 = time.time()
        for i in range(24):  # more than the two workers could hold if a handshake blocked one
            s = socket.create_connection((HOST, self.gw.gateway_port), timeout=10)
            if i % 3 == 1:
                s.sendall(b"\x16\x03\x01")  # a record header, never finished
            elif i % 3 == 2:
                s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # a ClientHello cut short
            socks.append(s)
        # Meanwhile the gateway serves: the stalled handshakes wait without a thread each.
        status, _, body = self.https(headers=self.auth())
        self.assertEqual(status, 200, body)
        self.assertLess(time.time() - t0, 1.5)
        for s in socks:
            self.assertEqual(s.recv(100), b"")  # closed by the gateway, nothing sent
            s.close()
        elapsed = time.time() - t0
        self.assertGreater(elapsed, 1.5)  # header_timeout_ms: 2000 in the harness config
        self.assertLess(elapsed, 5)
        wait_until(lambda: metric(self.gw, "apitrail_tls_handshake_failures_total") >= before + 24,
                   timeout=5, what="every stalled handshake counted")
        self.assertEqual(len(self.gw.events()), 1)

    def test_trickled_client_hello_closed_at_the_header_timeout(self):
        """The handshake's limit is a deadline, not an idle time: a byte of a real ClientHello
        every 100 ms never lets it run out, yet the connection ends at header_timeout_ms."""
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = self.client_ctx().wrap_bio(incoming, outgoing, server_hostname=HOST)
        with self.assertRaises(ssl.SSLWantReadError):
            tls.do_handshake()
        hello = outgoing.read()
        t0 = time.time()
        with socket.create_connection((HOST, self.gw.gateway_port), timeout=10) as s:
            closed = False
            for i in range(len(hello) - 1):  # never the last byte
                try:
                    s.sendall(hello[i:i + 1])
                except OSError:
                    closed = True
                    break
                time.sleep(0.1)
                if time.time() - t0 > 4:
                    break
            if not closed:
                s.settimeout(3)
                self.assertEqual(s.recv(100), b"")
        elapsed = time.time() - t0
        self.assertGreater(elapsed, 1.5)
        self.assertLess(elapsed, 4)

    def test_refused_body_still_being_sent_gets_the_answer(self):
        """A reply that ends the connection while the client still sends its body reaches the
        client over TLS too: what arrives after the close_notify is drained, not answered with
        a reset (the client saw an EOF instead of the 413 or 401)."""
        for _ in range(2):
            status, _, body = self.https("/v1/orders", self.auth(), method="POST", body=b"z" * (16 << 20))
            self.assertEqual(status, 413, body)
            self.assertIn(b"body_too_large", body)
            status, _, body = self.https("/v1/orders", method="POST", body=b"z" * (512 << 10))
            self.assertEqual(status, 401, body)
        self.assertEqual(self.upstream.received(), [])
        self.assertEqual(sorted(e["status"] for e in self.gw.events()), [401, 401, 413, 413])

    def test_old_protocol_versions_refused(self):
        for flag in ("-tls1", "-tls1_1"):
            with self.subTest(flag=flag):
                r = self.s_client(flag, "-cipher", "DEFAULT:@SECLEVEL=0", stdin=b"")
                self.assertNotIn(b"Cipher is ECDHE", r.stdout)
                self.assertRegex(r.stdout + r.stderr, rb"(alert|no protocols available|unsupported protocol)")
        self.assertEqual(self.https(headers=self.auth())[0], 200)

    def test_client_initiated_renegotiation_refused(self):
        """TLS 1.2 renegotiation started by the client (s_client's `R` command) is refused: a
        renegotiated handshake could present another client certificate under an identity
        derived once per connection. The gateway carries on."""
        p = subprocess.Popen(["openssl", "s_client", "-connect", f"{HOST}:{self.gw.gateway_port}", "-tls1_2",
                              "-CAfile", PKI.path("ca")], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        out = b""
        try:
            # `R` is a command only once the handshake is done: wait for s_client's session
            # summary rather than a fixed 0.5 s (a loaded host's handshake took longer).
            deadline = time.monotonic() + 20
            while b"Verify return code" not in out and time.monotonic() < deadline:
                ready, _, _ = select.select([p.stdout], [], [], 0.5)
                if ready:
                    chunk = os.read(p.stdout.fileno(), 65536)
                    if not chunk:
                        break
                    out += chunk
            self.assertIn(b"Verify return code", out, "no handshake")
            p.stdin.write(b"R\n")
            p.stdin.flush()
            try:
                p.wait(timeout=10)  # stdin stays open: s_client exits only on the refusal
            except subprocess.TimeoutExpired:
                pass
        finally:
            if p.poll() is None:
                p.kill()
            rest, _ = p.communicate()
            out += rest
        self.assertIsNone(self.gw.proc.poll(), "the gateway exited")
        self.assertIn(b"RENEGOTIATING", out)
        self.assertIn(b"no renegotiation", out)
        self.assertEqual(self.https(headers=self.auth())[0], 200)

    def test_sni_for_another_name_gets_the_one_certificate(self):
        r = self.s_client("-servername", "unknown.example", "-verify_return_error", "-ign_eof",
                          stdin=b"GET /v1/orders/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                b"Authorization: Bearer " + self.key.encode() + b"\r\n\r\n")
        self.assertIn(b"CN = gateway-one", r.stdout)
        self.assertIn(b"HTTP/1.1 200", r.stdout)

    def test_only_h2_offered_in_alpn_still_speaks_http11(self):
        ctx = self.client_ctx()
        ctx.set_alpn_protocols(["h2"])
        with socket.create_connection((HOST, self.gw.gateway_port), timeout=10) as s:
            with ctx.wrap_socket(s, server_hostname=HOST) as t:
                self.assertIsNone(t.selected_alpn_protocol())  # never claims h2
                t.sendall(f"GET /v1/orders/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                          f"Authorization: Bearer {self.key}\r\n\r\n".encode())
                self.assertTrue(t.recv(100).startswith(b"HTTP/1.1 200"))


class Tls13OnlyTest(EdgeCase):
    GATEWAY_TLS = SERVER_TLS + '\nmin_version: "1.3"'

    def test_tls12_refused_tls13_served(self):
        ctx = self.client_ctx()
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        with self.assertRaises((ssl.SSLError, ConnectionError)):
            self.https(headers=self.auth(), ctx=ctx)
        self.assertEqual(self.https(headers=self.auth())[0], 200)


class TlsClientOnPlainPortTest(EdgeCase):
    def test_client_hello_to_plain_listener_is_a_bad_request(self):
        with self.assertRaises((ssl.SSLError, ConnectionError, socket.timeout)):
            with socket.create_connection((HOST, self.gw.gateway_port), timeout=5) as s:
                self.client_ctx().wrap_socket(s, server_hostname=HOST)
        self.assertEqual(self.gw.request("GET", "/v1/orders/1", self.auth())[0], 200)
        self.assertEqual(len(self.upstream.received()), 1)
        # The ClientHello is a malformed request: answered 400 (which the client cannot read)
        # and audited like one.
        events = self.gw.events()
        self.assertEqual([(e["status"], e.get("deny_reason")) for e in events], [(200, None), (400, "bad_request")])


class MtlsSubjectTest(EdgeCase):
    """auth.mtls with the default subject_from [uri, dns, email, cn]."""
    GATEWAY_TLS = MTLS_OPTIONAL
    EXTRA = MTLS_ON

    def test_subject_from_each_source_and_unusable_ones_refused_audited(self):
        accepted = {"email_only": "ops@example.com", "dns_only": "svc.example.com",
                    "long_uri": "fallback-cn", "client": "spiffe://edge/a"}
        for cert, subject in accepted.items():
            with self.subTest(cert=cert):
                status, _, body = self.https(cert=cert)
                self.assertEqual(status, 200, body)
                self.assertEqual(self.upstream.received()[-1]["headers"]["x-apitrail-subject"], subject)
        refused = ("no_subject", "two_cns", "utf8_cn")
        for cert in refused:
            with self.subTest(cert=cert):
                status, headers, body = self.https(cert=cert)
                self.assertEqual(status, 401, body)
                self.assertEqual(json.loads(body)["error"], "invalid_client_certificate")
        self.assertEqual(len(self.upstream.received()), len(accepted))
        # Every request is audited; the refusals name the certificate by its fingerprint. The
        # CLI reads the same store (`apitrail query`).
        events = wait_until(lambda: (lambda e: e if len(e) == 7 else None)(self.gw.events()), what="7 events")
        by_fp = {e["credential_id"]: e for e in events}
        for cert, subject in accepted.items():
            e = by_fp[PKI.fingerprint(cert)]
            self.assertEqual((e["decision"], e["auth_method"], e["subject"]), ("allow", "mtls", subject))
        for cert in refused:
            e = by_fp[PKI.fingerprint(cert)]
            self.assertEqual((e["status"], e["deny_reason"], e["auth_method"]),
                             (401, "invalid_client_certificate", "mtls"))
            self.assertEqual(e["issuer"], "CN=Edge CA,O=edge")
        r = run_cli("query", "--admin", f"{HOST}:{self.gw.admin_port}", "--token", ADMIN_TOKEN,
                    "--decision", "deny", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.count("invalid_client_certificate"), 3, r.stdout)

    def test_certificates_refused_in_the_handshake_not_audited(self):
        before = metric(self.gw, "apitrail_tls_handshake_failures_total")
        refused = [("stranger", None), ("self_signed", None), ("server_usage", None), ("not_yet_valid", None),
                   ("deep", "deep_chain")]
        for cert, chain in refused:
            self.assert_refused(cert, chain)
        wait_until(lambda: metric(self.gw, "apitrail_tls_handshake_failures_total") >= before + len(refused),
                   timeout=5, what="every refusal counted")
        self.assertEqual(self.gw.events(), [])
        self.assertEqual(self.upstream.received(), [])
        # Intermediates the client sends with its certificate are accepted, up to 8 of them.
        for cert, issuer in (("shallow", "CN=Int 1"), ("deep8", "CN=Int 8")):
            status, _, body = self.https(cert=cert, chain=cert + "_chain")
            self.assertEqual(status, 200, body)
            e = self.gw.events()[0]
            self.assertEqual((e["subject"], e["issuer"]), (cert, issuer))

    def test_no_certificate_is_401_audited(self):
        status, _, body = self.https()
        self.assertEqual(status, 401, body)
        e = self.gw.events()[0]
        self.assertEqual((e["status"], e["deny_reason"], e["decision"]), (401, "missing_credentials", "deny"))


class SessionResumptionTest(EdgeCase):
    """A resumed session carries the identity of the handshake that made it — the certificate
    is not sent again — and nothing else: not another client's, not one that outlived a reload
    of the client CAs or the certificate's own validity."""
    GATEWAY_TLS = MTLS_OPTIONAL
    EXTRA = MTLS_ON

    def get_on(self, ctx, session=None, tls13=True):
        """(status, subject header seen upstream or None, session_reused, session)."""
        if not tls13:
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        with socket.create_connection((HOST, self.gw.gateway_port), timeout=10) as s:
            with ctx.wrap_socket(s, server_hostname=HOST, session=session) as t:
                n = len(self.upstream.received())
                t.sendall(b"GET /v1/orders/1 HTTP/1.1\r\nHost: x\r\n\r\n")
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = t.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                status = int(data.split(b" ")[1]) if data.startswith(b"HTTP/") else None
                got = self.upstream.received()[n:]
                subject = got[0]["headers"].get("x-apitrail-subject") if got else None
                # The TLS 1.3 ticket arrives after the handshake; read it before keeping the session.
                return status, subject, t.session_reused, t.session

    def test_resumption_keeps_its_own_identity(self):
        for tls13 in (True, False):
            with self.subTest(tls13=tls13):
                a = self.client_ctx("client")
                status, subject, reused, session = self.get_on(a, tls13=tls13)
                self.assertEqual((status, subject, reused), (200, "spiffe://edge/a", False))
                status, subject, reused, _ = self.get_on(a, session, tls13=tls13)
                self.assertEqual((status, subject, reused), (200, "spiffe://edge/a", True))
                # A session made without a certificate resumes without an identity.
                anon = self.client_ctx()
                status, _, reused, session = self.get_on(anon, tls13=tls13)
                self.assertEqual((status, reused), (401, False))
                status, _, reused, _ = self.get_on(anon, session, tls13=tls13)
                self.assertEqual((status, reused), (401, True))
                # Another client's full handshake is its own identity.
                status, subject, _, _ = self.get_on(self.client_ctx("client_b"), tls13=tls13)
                self.assertEqual((status, subject), (200, "spiffe://edge/b"))

    def test_session_with_another_certificate_loaded_keeps_the_first_identity(self):
        """s_client resumes a session made with one certificate while loaded with another: the
        other is never sent, the session's identity is the first one's (the client holds its
        secret), never the second's."""
        sess = os.path.join(self.root, "a.sess")
        req = b"GET /v1/orders/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        r = self.s_client("-cert", PKI.path("client"), "-key", PKI.path("client", "key"), "-sess_out", sess,
                          "-ign_eof", stdin=req)
        self.assertIn(b"HTTP/1.1 200", r.stdout, r.stderr)
        r = self.s_client("-cert", PKI.path("client_b"), "-key", PKI.path("client_b", "key"), "-sess_in", sess,
                          "-ign_eof", stdin=req)
        self.assertIn(b"HTTP/1.1 200", r.stdout)
        self.assertIn(b"Reused", r.stdout)
        subjects = [q["headers"]["x-apitrail-subject"] for q in self.upstream.received()]
        self.assertEqual(subjects, ["spiffe://edge/a", "spiffe://edge/a"])

    def test_reload_removing_the_ca_ends_resumption(self):
        a = self.client_ctx("client")
        status, _, _, session = self.get_on(a)
        self.assertEqual(status, 200)
        # Trust only the other CA now: the session's certificate no longer verifies.
        self.gw.edit_config(f"client_ca_file: {PKI_DIR}/ca.pem", f"client_ca_file: {PKI_DIR}/ca2.pem")
        self.gw.proc.send_signal(signal.SIGHUP)

        def refused():
            try:
                self.https(cert="client")
            except (ssl.SSLError, ConnectionError, http.client.RemoteDisconnected):
                return True
            return False
        wait_until(refused, timeout=5, what="the reload")
        try:
            status, subject, reused, _ = self.get_on(a, session)
        except (ssl.SSLError, ConnectionError):
            status, subject, reused = None, None, False
        self.assertFalse(reused)
        self.assertIsNone(subject)
        self.assertNotEqual(status, 200)

    def test_session_does_not_outlive_its_certificate(self):
        """A certificate valid for a few seconds: its session, resumed after it expired, must
        not carry it as an identity — a full handshake with it is refused, and short-lived
        certificates are what docs/OPERATIONS.md offers in place of revocation lists."""
        def sessions_of(name):
            sessions = {}
            for tls13 in (True, False):
                ctx = self.client_ctx(name)
                status, subject, _, session = self.get_on(ctx, tls13=tls13)
                self.assertEqual((status, subject), (200, "short-lived"))
                sessions[tls13] = (ctx, session)
            return sessions
        name, end, sessions = short_lived("short_", "short-lived", sessions_of)
        time.sleep(max(0.0, end + 1.1 - time.time()))
        self.assert_refused(name)  # a full handshake
        for tls13, (ctx, session) in sessions.items():
            with self.subTest(tls13=tls13):
                try:
                    status, subject, _, _ = self.get_on(ctx, session, tls13=tls13)
                except (ssl.SSLError, ConnectionError):
                    continue  # refused in the handshake: what a full one does
                self.assertIsNone(subject)
                self.assertNotEqual(status, 200)


class LapsedCertificateTest(EdgeCase):
    """A keep-alive connection's mTLS identity ends when its certificate does: past notAfter, or
    once a reload no longer trusts its CA, the next request is refused as a handshake with that
    certificate would be (401 invalid_client_certificate, audited) and the connection closes —
    else a client keeping its connection busy would outlive the short-lived certificates and CA
    removal that docs/OPERATIONS.md offers in place of revocation lists."""
    GATEWAY_TLS = MTLS_OPTIONAL
    EXTRA = MTLS_ON
    # The connection waits, idle, for its certificate to expire: a few seconds, more on a
    # loaded host (short_lived() then makes one that lives longer).
    IDLE_TIMEOUT_MS = 60000

    def open(self, cert):
        s = socket.create_connection((HOST, self.gw.gateway_port), timeout=10)
        return self.client_ctx(cert).wrap_socket(s, server_hostname=HOST)

    def get(self, t, path="/v1/orders/1"):
        """One request on the open connection t: (status, headers, body)."""
        t.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = t.recv(65536)
            self.assertTrue(chunk, "the connection closed before an answer")
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
        while len(body) < int(headers["content-length"]):
            chunk = t.recv(65536)
            self.assertTrue(chunk, "the connection closed inside an answer")
            body += chunk
        return int(lines[0].split(" ")[1]), headers, body

    def assert_refused_and_closed(self, t, cert, why):
        """The next request on t (to /v1/orders/2, which no other request uses) is refused, t is
        closed, nothing went upstream, and the refusal is in the audit trail."""
        served = len(self.upstream.received())
        status, headers, body = self.get(t, "/v1/orders/2")
        self.assertEqual(status, 401, body)
        self.assertEqual(json.loads(body)["error"], "invalid_client_certificate")
        self.assertIn(why, json.loads(body)["message"])
        self.assertEqual(headers.get("connection"), "close")
        try:
            self.assertEqual(t.recv(65536), b"", "the connection stays open")
        except (ssl.SSLError, ConnectionError):
            pass
        t.close()
        self.assertEqual(len(self.upstream.received()), served)
        r = wait_until(lambda: (lambda r: r if r.returncode == 0 and "/v1/orders/2" in r.stdout else None)(
            run_cli("query", "--admin", f"{HOST}:{self.gw.admin_port}", "--token", ADMIN_TOKEN,
                    "--decision", "deny", "--json")), what="the refusal's event")
        e, = [e for e in json.loads(r.stdout)["events"] if e["path"] == "/v1/orders/2"]
        self.assertEqual((e["status"], e["deny_reason"], e["auth_method"], e["credential_id"]),
                         (401, "invalid_client_certificate", "mtls", PKI.fingerprint(cert)))

    def test_expired_certificate_ends_the_connection_identity(self):
        def first_answer(name):
            t = self.open(name)
            status, _, body = self.get(t)
            self.assertEqual(status, 200, body)
            self.assertEqual(self.upstream.received()[-1]["headers"]["x-apitrail-subject"], "lapsing")
            return t
        name, end, t = short_lived("lapsing_", "lapsing", first_answer)
        # Past notAfter, still within idle_timeout_ms (IDLE_TIMEOUT_MS) of the first answer.
        time.sleep(max(0.0, end + 1.1 - time.time()))
        self.assert_refused_and_closed(t, name, "expired")

    def test_reload_removing_the_ca_ends_the_connection_identity(self):
        t = self.open("client")
        status, _, body = self.get(t)
        self.assertEqual(status, 200, body)
        # A reload that keeps the client CAs leaves the connection's identity alone.
        self.gw.edit_config("log_level: warn", "log_level: info")
        self.gw.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "configuration reloaded" in self.gw.logs(), timeout=5, what="the reload",
                   describe=self.gw.logs)
        status, _, body = self.get(t, "/v1/orders/3")
        self.assertEqual(status, 200, body)
        self.assertEqual(self.upstream.received()[-1]["headers"]["x-apitrail-subject"], "spiffe://edge/a")
        # One that trusts only the other CA: new connections are refused, and so is this one's
        # next request.
        self.gw.edit_config(f"client_ca_file: {PKI_DIR}/ca.pem", f"client_ca_file: {PKI_DIR}/ca2.pem")
        self.gw.proc.send_signal(signal.SIGHUP)

        def refused():
            try:
                # A connection a worker accepted just before it took the reload is refused at
                # its first request instead (401), as the one under test is.
                return self.https(cert="client")[0] == 401
            except (ssl.SSLError, ConnectionError, http.client.RemoteDisconnected):
                return True
        wait_until(refused, timeout=5, what="the reload")
        self.assert_refused_and_closed(t, "client", "client_ca_file")


class TlsReloadTest(EdgeCase):
    """SIGHUP with TLS files that changed: a damaged one is refused as a whole, the old
    material keeps serving; a reload can take TLS off the listener for new connections only."""
    GATEWAY_TLS = "cert_file: {root}/chain.pem\nkey_file: {root}/server.key"

    def prepare(self):
        self.write_chain("server", PKI.path("ca"))
        shutil.copy(PKI.path("server", "key"), os.path.join(self.root, "server.key"))

    def write_chain(self, leaf, tail_path, cut=None):
        with open(PKI.path(leaf)) as f:
            text = f.read()
        with open(tail_path) as f:
            tail = f.read()
        tmp = os.path.join(self.root, "chain.pem.tmp")
        with open(tmp, "w") as f:
            f.write(text + (tail[:cut] if cut else tail))
        os.replace(tmp, os.path.join(self.root, "chain.pem"))

    def served_cn(self):
        r = self.s_client("-showcerts", stdin=b"")
        return r.stdout.count(b"-----BEGIN CERTIFICATE-----"), r.stdout.split(b"subject=", 1)[1].split(b"\n")[0]

    def reload(self):
        before = self.gw.logs().count("not reloaded")
        self.gw.proc.send_signal(signal.SIGHUP)
        return before

    def test_chain_cut_short_is_refused_and_the_old_one_stays(self):
        self.assertEqual(self.served_cn(), (2, b"CN = gateway-one"))
        # A new leaf and a chain file cut in the middle of its second certificate (written
        # while the reload read it): not the new leaf without its chain.
        self.write_chain("server2", PKI.path("ca"), cut=300)
        shutil.copy(PKI.path("server2", "key"), os.path.join(self.root, "server.key"))
        n = self.reload()
        wait_until(lambda: self.gw.logs().count("not reloaded") > n, timeout=5, what="the reload refused",
                   describe=self.gw.logs)
        self.assertIn("gateway.tls.cert_file", self.gw.logs())
        self.assertIn("certificate 2 is damaged", self.gw.logs())
        self.assertEqual(self.served_cn(), (2, b"CN = gateway-one"))
        self.assertEqual(self.https(headers=self.auth())[0], 200)
        # Written whole, the same files load.
        self.write_chain("server2", PKI.path("ca"))
        self.reload()
        wait_until(lambda: self.served_cn() == (2, b"CN = gateway-two"), timeout=5, what="the new chain")
        # `config check` and `serve` refuse a damaged client CA bundle the same way.
        with open(PKI.path("ca")) as f:
            ca = f.read()
        with open(PKI.path("ca2")) as f:
            ca2 = f.read()
        with open(os.path.join(self.root, "cas.pem"), "w") as f:
            f.write(ca + ca2[:len(ca2) // 2])
        self.gw.edit_config("    key_file:", f"    client_auth: optional\n    client_ca_file: {self.root}/cas.pem\n"
                                            "    key_file:")
        r = run_cli("config", "check", "-c", self.gw.config)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("gateway.tls.client_ca_file", r.stderr)
        self.assertIn("certificate 2 is damaged", r.stderr)

    def test_reload_taking_tls_off_keeps_open_tls_connections(self):
        conn = http.client.HTTPSConnection(HOST, self.gw.gateway_port, timeout=10, context=self.client_ctx())
        conn.request("GET", "/v1/orders/1", headers=self.auth())
        r = conn.getresponse()
        r.read()
        self.assertEqual(r.status, 200)
        with open(self.gw.config) as f:
            text = f.read()
        with open(self.gw.config, "w") as f:
            f.write(text[:text.index("  tls:\n")] + text[text.index("  listen:"):])
        self.reload()
        wait_until(self._plain_answers, timeout=5, what="plain HTTP on the listener")
        self.assertEqual(self.gw.request("GET", "/v1/orders/2", self.auth())[0], 200)
        # The TLS connection accepted before the reload carries on.
        conn.request("GET", "/v1/orders/3", headers=self.auth())
        r = conn.getresponse()
        r.read()
        self.assertEqual(r.status, 200)
        conn.close()

    def _plain_answers(self):
        try:
            return raw_request(self.gw.gateway_port,
                               b"GET /v1/orders/9 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                               timeout=3).startswith(b"HTTP/1.1 401")
        except OSError:
            return False


class UpstreamSelfSignedTest(EdgeCase):
    """An upstream with a self-signed certificate, the system trust store (`tls: {}`)."""
    UPSTREAM_CERT = "upstream_self"
    UPSTREAM_TLS = ""

    def test_refused_502_audited(self):
        status, _, body = self.gw.request("GET", "/v1/orders/1", self.auth())
        self.assertEqual(status, 502, body)
        e = self.gw.events()[0]
        self.assertEqual((e["status"], e["subject"]), (502, "alice"))
        self.assertIn("certificate verify failed: self-signed certificate", e["message"])
        self.assertEqual(self.upstream.received(), [])


class UpstreamNoVerifyTest(EdgeCase):
    UPSTREAM_CERT = "upstream_self"
    UPSTREAM_TLS = "verify: false"

    def test_accepted_when_verification_is_off(self):
        self.assertEqual(self.gw.request("GET", "/v1/orders/1", self.auth())[0], 200)


class UpstreamPlainForTlsTest(EdgeCase):
    """`tls` configured, the upstream speaks plain HTTP (and the reverse): 502, never a hang."""
    UPSTREAM_TLS = "ca_file: {pki}/ca.pem"

    def test_plain_upstream_behind_tls_config_502(self):
        t0 = time.time()
        status, _, body = self.gw.request("GET", "/v1/orders/1", self.auth())
        self.assertEqual(status, 502, body)
        self.assertLess(time.time() - t0, 1.4)  # before upstream_response_timeout_ms (1500)
        self.assertIn("upstream TLS handshake failed", self.gw.events()[0]["message"])


class TlsUpstreamForPlainConfigTest(EdgeCase):
    UPSTREAM_CERT = "upstream"

    def test_tls_upstream_behind_plain_config_502(self):
        status, _, body = self.gw.request("GET", "/v1/orders/1", self.auth())
        self.assertIn(status, (502, 504), body)
        self.assertEqual(self.upstream.received(), [])


if __name__ == "__main__":
    unittest.main()
