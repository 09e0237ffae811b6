"""Secrets never leave where they belong: not into the audit log (events, segments, sealed
parts), the gateway's log at any level, /metrics, an answer's body or headers, a config error
or a CLI's output (the one place printing a new key aside).

Every path where one could slip out is driven with distinctive values (all containing
SECRETMARKER): API keys wrong, unknown, revoked and malformed, in each key header; JWTs with
bad signatures, expired, malformed, too long, for an issuer whose keys cannot be fetched; opaque
tokens whose introspection fails every way (HTTP 500 and 401, bad JSON, a timeout, inactive);
other Authorization schemes, Cookie and Proxy-Authorization; secret query parameters (built-in
and configured names) on allowed, refused and malformed requests; the admin API with wrong
tokens; upstream failures; a refused SIGHUP. Then every place is searched for the markers.
The remote peers (introspection, JWKS, webhook witness) are plain-HTTP stdlib servers."""
import base64
import hashlib
import hmac
import http.server
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest

from harness import (BIN, HOST, RecordingUpstream, all_events, b64url, crc32c, free_ports,
                     http_request, raw_request, run_cli, wait_until)

M = "SECRETMARKER"
ADMIN = M + "-admin-token-0123456789"
HS_KEY = M + "-hs256-shared-key-0123456789abcdef"
CLIENT_SECRET = M + "-client-secret-0123"
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def api_key(key_id, secret):
    """A well-formed key (prefix, id, 32-char secret, CRC-32C checksum in base62)."""
    body = f"atk_{key_id}_{secret}"
    v, check = crc32c(body.encode()), ""
    for _ in range(6):
        check = B62[v % 62] + check
        v //= 62
    return body + check


def jws(header, claims, signature):
    return f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}.{signature}"


def hs256(claims, key=HS_KEY):
    signing_input = b64url(b'{"alg":"HS256"}') + "." + b64url(json.dumps(claims).encode())
    return signing_input + "." + b64url(hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest())


class Peer:
    """Introspection endpoint, JWKS endpoint and webhook receiver in one plain-HTTP server.
    What the introspection answers depends on the token: s500, s401, badjson, slow (1.5 s,
    beyond the gateway's timeout), inactive; anything else is active."""

    def __init__(self):
        outer = self
        self.webhook_posts = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def answer(self, code, body):
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the gateway gave up waiting

            def do_GET(self):  # the JWKS: not JSON, so the issuer's keys are never fetched
                self.answer(200, b"<html>" + M.encode() + b"</html>")

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                if self.path.startswith("/ckpt"):
                    outer.webhook_posts += 1
                    return self.answer(500, b"{}")
                token = dict(p.split("=", 1) for p in body.split("&") if "=" in p).get("token", "")
                if "slow" in token:
                    time.sleep(1.5)
                if "s500" in token:
                    return self.answer(500, json.dumps({"error": "server_error", "token": token}).encode())
                if "s401" in token:
                    return self.answer(401, b'{"error":"invalid_client"}')
                if "badjson" in token:
                    return self.answer(200, b"{not json " + token.encode())
                if "inactive" in token:
                    return self.answer(200, b'{"active":false}')
                return self.answer(200, json.dumps({"active": True, "sub": "intro-user", "token_type": "Bearer",
                                                    "exp": int(time.time()) + 600}).encode())

        self.server = http.server.ThreadingHTTPServer((HOST, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class SecretLeakCase(unittest.TestCase):
    """One gateway with every credential kind configured (inline secrets on purpose, so a
    config error or log line quoting them would show), its log at `trace`."""

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="apitrail-leaks-")
        self.data = os.path.join(self.root, "data")
        os.makedirs(self.data)
        self.upstream = RecordingUpstream()
        self.peer = Peer()
        self.proc = None
        self.gw_port, self.admin_port, self.dead_port = free_ports(3)
        self.config_text = f"""
node: leak-node
log_level: trace
gateway:
  listen: {HOST}:{self.gw_port}
  workers: 2
  upstream_connect_timeout_ms: 500
  upstream_response_timeout_ms: 1000
upstreams:
  - name: api
    address: {HOST}:{self.upstream.port}
  - name: dead
    address: {HOST}:{self.dead_port}
routes:
  - match: GET /v1/orders/{{order_id}}
    upstream: api
  - match: GET /v1/reset/{{token}}/confirm/{{user_id}}
    upstream: api
  - match: "* /dead/**"
    upstream: dead
auth:
  failure_limit:
    enabled: false
  api_keys:
    headers: [Authorization, X-API-Key, X-Custom-Key]
  jwt:
    - issuer: hs-iss
      audiences: [api]
      algorithms: [HS256]
      secret: {HS_KEY}
    - issuer: rs-iss
      audiences: [api]
      algorithms: [RS256]
      jwks_url: http://{HOST}:{self.peer.port}/jwks?access_token={M}-jwks-query
      allow_insecure_http: true
      fetch_timeout_ms: 500
  introspection:
    endpoint: http://{HOST}:{self.peer.port}/introspect?client_token={M}-introspection-query
    client_id: gateway
    client_secret: {CLIENT_SECRET}
    allow_insecure_http: true
    timeout_ms: 700
redaction:
  extra: [mycustom]
audit:
  data_dir: {self.data}
  max_segment_bytes: 65536
  checkpoints:
    max_lag_ms: 100
    witness_retry_max_ms: 200
    witnesses:
      - type: webhook
        url: http://{HOST}:{self.peer.port}/ckpt?token={M}-webhook-query
        timeout_ms: 1000
admin:
  listen: {HOST}:{self.admin_port}
  tokens: [{ADMIN}]
"""
        self.config = os.path.join(self.root, "apitrail.yaml")
        with open(self.config, "w") as f:
            f.write(self.config_text)
        self.key = run_cli("keys", "create", "--data", self.data, "--subject", "alice").stdout.strip()
        self.revoked = run_cli("keys", "create", "--data", self.data, "--subject", "bob").stdout.strip()
        self.assertEqual(run_cli("keys", "revoke", "--data", self.data, self.revoked[4:12]).returncode, 0)
        self.log_path = os.path.join(self.root, "serve.log")
        self.responses = []  # every (status, headers, body) the gateway and admin API sent

    def tearDown(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.upstream.stop()
        self.peer.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def start(self):
        self.log = open(self.log_path, "ab")
        self.addCleanup(self.log.close)
        self.proc = subprocess.Popen([BIN, "serve", "-c", self.config], stdout=self.log, stderr=subprocess.STDOUT)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError("apitrail exited: " + self.read_log())
            try:
                http_request(self.admin_port, "GET", "/healthz", timeout=1)
                http_request(self.gw_port, "GET", "/", timeout=1)
                return True
            except OSError:
                return False
        wait_until(up, timeout=15, what="apitrail listening")

    def read_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def request(self, path, headers, port=None):
        try:
            status, hdrs, body = http_request(port or self.gw_port, "GET", path, headers, timeout=10)
        except OSError as e:
            status, hdrs, body = -1, {}, repr(e).encode()
        self.responses.append((status, hdrs, body))
        return status, body

    def admin(self, path):
        """For harness.all_events: (status, parsed JSON) of an admin API GET."""
        status, _, body = http_request(self.admin_port, "GET", path, {"Authorization": "Bearer " + ADMIN})
        return status, json.loads(body) if body else None

    def admin_get(self, path):
        status, _, body = http_request(self.admin_port, "GET", path, {"Authorization": "Bearer " + ADMIN})
        self.assertEqual(status, 200, body)
        return body

    def assertNoSecret(self, where, text, secrets):
        for name, value in secrets.items():
            i = text.find(value)
            if i >= 0:
                self.fail(f"{name} in {where}: ...{text[max(0, i - 200):i + len(value) + 40]!r}")


class SecretsStayOutTest(SecretLeakCase):

    def test_failed_credentials_and_secret_parameters_leave_no_trace(self):
        checked = run_cli("config", "check", "-c", self.config)
        self.assertEqual(checked.returncode, 0, checked.stderr)
        self.assertNotIn(M, checked.stdout + checked.stderr)
        self.start()
        now = int(time.time())
        good_claims = {"iss": "hs-iss", "aud": "api", "sub": "carol", "exp": now + 600}
        credentials = {
            "unknown key": api_key("Abcdefgh", M + "unknownkey012345678901"),
            "wrong key secret": api_key(self.key[4:12], M + "wrongsecret01234567890"),
            "malformed key": "atk_" + M + "_malformed",
            "revoked key": self.revoked,
            "JWT, bad signature": jws({"alg": "HS256"}, good_claims, b64url((M + "signature").encode() * 3)),
            "JWT, expired": hs256(dict(good_claims, exp=now - 6000)),
            "JWT, wrong audience": hs256(dict(good_claims, aud="other")),
            "JWT, bad base64": "!!" + M + ".eyJ4IjoxfQ.c2ln",
            "JWT, bad JSON": b64url(b'{"alg":"HS256",' + M.encode()) + "." + b64url(b"{}") + ".c2ln",
            "JWT, keys unavailable": jws({"alg": "RS256", "kid": "k1"}, dict(good_claims, iss="rs-iss"),
                                        b64url((M + "rs").encode() * 20)),
            "JWT, too long": "eyJhbGciOiJIUzI1NiJ9." + b64url(M.encode() * 600) + ".c2ln",
            "introspection HTTP 500": M + "-opaque-s500",
            "introspection HTTP 401": M + "-opaque-s401",
            "introspection bad JSON": M + "-opaque-badjson",
            "introspection timeout": M + "-opaque-slow",
            "introspection inactive": M + "-opaque-inactive",
            "introspection token too long": M + "x" * 5000,
        }
        query_jwt = hs256(dict(good_claims, sub="in-a-query"))
        query = (f"password={M}-q-password&mycustom={M}-q-custom&myCustom={M}-q-camel"
                 f"&access_token={M}-q-access-token&page=2&k={self.key}&t={query_jwt}")
        for name, credential in credentials.items():
            for header in ("Authorization", "X-API-Key", "X-Custom-Key"):
                value = "Bearer " + credential if header == "Authorization" else credential
                status, body = self.request("/v1/orders/1?" + query, {header: value})
                self.assertIn(status, (401, 503), (name, header, body))
        # Allowed requests carry secret parameters too, and credentials other than the one used.
        for headers in ({"X-API-Key": self.key, "Cookie": f"session={M}-cookie"},
                        {"X-API-Key": self.key, "Proxy-Authorization": f"Basic {M}-proxy-authorization"},
                        {"Authorization": "Bearer " + hs256(good_claims)},
                        {"Authorization": f"Bearer {M}-opaque-active"}):
            self.assertEqual(self.request("/v1/orders/2?" + query, headers)[0], 200)
        for headers in ({"Authorization": "Basic " + base64.b64encode(f"user:{M}-basic".encode()).decode()},
                        {"Authorization": f"Digest {M}-digest"},
                        {"Authorization": "Bearer " + self.key,
                         "X-API-Key": api_key("Zzzzzzzz", M + "secondkey01234567890a")}):
            self.assertEqual(self.request("/v1/orders/3?" + query, headers)[0], 401)
        self.assertEqual(self.request("/dead/x?" + query, {"X-API-Key": self.key})[0], 502)
        for token in (M + "-wrong-admin-token", ADMIN + "x", ADMIN[:-1]):
            status, _ = self.request(f"/api/v1/events?token={M}-admin-query", {"Authorization": "Bearer " + token},
                                     port=self.admin_port)
            self.assertEqual(status, 401)
        # A reload refused for a secret that is too short, and one of the wrong type.
        for bad in (self.config_text.replace(f"secret: {HS_KEY}", f"secret: {M}-short"),
                    self.config_text.replace(f"client_secret: {CLIENT_SECRET}", f"client_secret: [{M}-list]")):
            with open(self.config, "w") as f:
                f.write(bad)
            before = self.read_log().count("not reloaded")
            self.proc.send_signal(signal.SIGHUP)
            wait_until(lambda: self.read_log().count("not reloaded") > before, what="the refused reload logged")
        with open(self.config, "w") as f:
            f.write(self.config_text)
        # Proxy-Authorization is this proxy's business: the upstream never sees it.
        self.assertFalse([r for r in self.upstream.received() if "proxy-authorization" in r["headers"]])
        wait_until(lambda: self.peer.webhook_posts > 0, what="a checkpoint posted to the webhook")
        wait_until(lambda: "remote JWT keys" in self.read_log(), what="the JWKS failure logged")

        # Enough records for a sealed part (zstd-compressed: read back through the API below).
        for i in range(150):
            self.request(f"/v1/orders/{i}?secret={M}-filler-{i}&note=" + "n" * 400, {"X-API-Key": self.key})

        def parts():
            for line in self.admin_get("/metrics").decode().splitlines():
                if line.startswith("apitrail_store_parts "):
                    return float(line.split()[1]) >= 1
            return False
        wait_until(parts, timeout=20, what="a sealed part")
        # The CLI's admin client with a wrong token says so without repeating it.
        r = run_cli("query", "--admin", f"{HOST}:{self.admin_port}", "--token", M + "-cli-admin-token")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("401", r.stderr)
        self.assertNotIn(M, r.stdout + r.stderr)

        events = all_events(self)
        self.assertGreaterEqual(len(events), 59)
        metrics = self.admin_get("/metrics").decode()
        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.proc.wait(timeout=20), 0)

        secrets = {name: c for name, c in credentials.items()}
        secrets.update({name + " (signature)": c.rsplit(".", 1)[1] for name, c in credentials.items()
                        if c.count(".") == 2 and len(c.rsplit(".", 1)[1]) > 8})
        secrets.update({"admin token": ADMIN, "HS256 key": HS_KEY, "client secret": CLIENT_SECRET,
                        "API key": self.key, "API key secret": self.key[13:45], "marker": M,
                        "JWT in a query": query_jwt})
        places = {"the gateway's log": self.read_log(), "/metrics": metrics,
                  "the events": json.dumps(events),
                  # The upstream's own answers echo the query it was sent: only the gateway's.
                  "the answers": "\n".join(repr(r) for r in self.responses if r[0] != 200)}
        for directory, _, files in os.walk(self.data):
            for name in files:
                with open(os.path.join(directory, name), "rb") as f:
                    places[os.path.relpath(os.path.join(directory, name), self.root)] = f.read().decode(errors="replace")
        for where, text in places.items():
            self.assertNoSecret(where, text, secrets)
        # The parameters were recorded, redacted, on every kind of request.
        redacted = [e for e in events if e.get("query", {}).get("myCustom") == "[REDACTED]"]
        self.assertGreaterEqual(len(redacted), 55)
        self.assertTrue(all(e["query"]["password"] == "[REDACTED]" and e["query"]["page"] == "2" for e in redacted))
        self.assertTrue(all(e["query"]["k"] == e["query"]["t"] == "[REDACTED]" for e in redacted))

    def test_refused_request_targets_are_recorded_without_their_secrets(self):
        self.start()
        targets = {
            f"//v1/orders/1?password={M}-1&page=2": ("//v1/orders/1", "path contains an empty segment"),
            f"/v1/../x?token={M}-2&page=2": ("/v1/../x", "dot segment"),
            f"/v1/orders/1?token={M}-3&page=2#{M}-3f": ("/v1/orders/1", "forbidden character"),
            f"/v1/orders/%zz?api_key={M}-4&page=2": ("/v1/orders/%zz", "malformed percent-escape"),
            f"/v1/orders/1?page=2&mycustom={M}-5&x=" + "a" * 9000: ("/v1/orders/1", "too long"),
            f"http://user:{M}-6@127.0.0.1/v1/orders/1?token={M}-7&page=2":
                ("http://[REDACTED]@127.0.0.1/v1/orders/1", "must start with '/'"),
            f"/v1/orders/1#access_token={M}-8": ("/v1/orders/1", "forbidden character"),
        }
        for target, (_, why) in targets.items():
            answer = raw_request(self.gw_port, f"GET {target} HTTP/1.1\r\nHost: x\r\nX-API-Key: {self.key}\r\n"
                                               "Connection: close\r\n\r\n".encode())
            self.assertIn(b" 400 ", answer.split(b"\r\n")[0], target[:80])
            self.assertIn(why.encode(), answer)
            self.assertNotIn(M.encode(), answer)
        # A Host field with user info is refused too, and recorded without it.
        answer = raw_request(self.gw_port, f"GET /v1/orders/1 HTTP/1.1\r\nHost: user:{M}-9@api.example\r\n"
                                           f"X-API-Key: {self.key}\r\nConnection: close\r\n\r\n".encode())
        self.assertIn(b"invalid Host header", answer)
        events = wait_until(lambda: (lambda e: e if len(e) > len(targets) else None)(
            [e for e in all_events(self) if e.get("deny_reason") == "bad_request"]), what="the refused requests")
        self.assertNotIn(M, json.dumps(events))
        self.assertEqual([e["host"] for e in events if e["path"] == "/v1/orders/1" and "query" not in e
                          and e.get("message") == "invalid Host header"], ["[REDACTED]@api.example"])
        events = [e for e in events if e.get("message") != "invalid Host header"]
        self.assertEqual(sorted(e["path"] for e in events), sorted(p for p, _ in targets.values()))
        with_query = [e for e in events if "query" in e]
        self.assertEqual(len(with_query), 6)  # all but the one whose '?' followed a '#'
        for e in with_query:
            self.assertEqual(e["query"]["page"], "2", e)
            for name in ("password", "token", "api_key", "mycustom"):
                self.assertEqual(e["query"].get(name, "[REDACTED]"), "[REDACTED]", e)
        with open(os.path.join(self.root, "serve.log")) as f:
            self.assertNotIn(M, f.read())


    def test_secret_path_parameters_are_recorded_redacted(self):
        # A reset link's token in the path: the resource and the recorded path hide it (the
        # query rule alone recorded it twice), and the upstream gets the path as sent.
        self.start()
        path = f"/v1/reset/{M}-path/confirm/42"
        answer = raw_request(self.gw_port, f"GET {path}?page=2 HTTP/1.1\r\nHost: x\r\nX-API-Key: {self.key}\r\n"
                                           "Connection: close\r\n\r\n".encode())
        self.assertIn(b" 200 ", answer.split(b"\r\n")[0])
        self.assertIn(path + "?page=2", [r["path"] for r in self.upstream.requests])
        events = wait_until(lambda: [e for e in all_events(self) if e.get("route", "").startswith("GET /v1/reset/")],
                            what="the reset request's event")
        self.assertEqual(events[0]["path"], "/v1/reset/[REDACTED]/confirm/42")
        self.assertEqual(events[0]["resources"], {"token": "[REDACTED]", "user_id": "42"})
        self.assertNotIn(M, json.dumps(events))


class ConfigAndCliTest(unittest.TestCase):
    """Config errors on secret-bearing keys (config check and serve), and the CLI given a
    secret where something else belongs."""

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="apitrail-leaks-cli-")
        self.addCleanup(shutil.rmtree, self.root, True)

    def file(self, name, text):
        path = os.path.join(self.root, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def assertSilent(self, result, what):
        out = result.stdout + result.stderr
        self.assertNotIn(M, out, what)
        return out

    def test_config_errors_never_quote_a_secret(self):
        pem = "-----BEGIN PRIVATE KEY-----\n" + base64.b64encode((M * 8).encode()).decode() + "\n-----END PRIVATE KEY-----\n"
        files = {"short.key": M + "\n", "tokens": f"# admin tokens\n{M}\n", "bad.pem": pem,
                 "client.secret": M + "-client-secret\n",
                 "oct.jwks": json.dumps({"keys": [{"kty": "oct", "k": b64url(M.encode()), "alg": "HS256"}]})}
        paths = {name: self.file(name, text) for name, text in files.items()}
        cases = {
            "upstream address with a token": f"upstreams:\n  - name: api\n    address: https://ghp_{M}@api.internal\n",
            "upstream address with user:password": f"upstreams:\n  - name: api\n    address: user:{M}@api.internal:443\n",
            "admin listen with user info": f"admin:\n  listen: {M}@127.0.0.1:9\n  tokens: [{ADMIN}]\n",
            "HS256 secret too short": f"auth:\n  jwt:\n    - {{issuer: a, audiences: [b], algorithms: [HS256], secret: {M}}}\n",
            "HS256 secret a list": f"auth:\n  jwt:\n    - {{issuer: a, audiences: [b], algorithms: [HS256], secret: [{M}]}}\n",
            "HS256 secret with a tag": f"auth:\n  jwt:\n    - {{issuer: a, audiences: [b], algorithms: [HS256], secret: !secret {HS_KEY}}}\n",
            "HS256 secret and secret_file": f"auth:\n  jwt:\n    - {{issuer: a, audiences: [b], algorithms: [HS256], secret: {HS_KEY}, secret_file: {paths['short.key']}}}\n",
            "HS256 secret for RS256": f"auth:\n  jwt:\n    - {{issuer: a, audiences: [b], algorithms: [RS256], secret: {HS_KEY}}}\n",
            "HS256 secret_file too short": f"auth:\n  jwt:\n    - {{issuer: a, audiences: [b], algorithms: [HS256], secret_file: {paths['short.key']}}}\n",
            "jwks_file oct key too short": f"auth:\n  jwt:\n    - {{issuer: a, audiences: [b], algorithms: [HS256], jwks_file: {paths['oct.jwks']}}}\n",
            "jwks_url with user info": f"auth:\n  jwt:\n    - {{issuer: a, audiences: [b], algorithms: [RS256], jwks_url: 'https://u:{M}@idp.example/jwks'}}\n",
            "introspection secret a map": f"auth:\n  introspection:\n    endpoint: https://idp.example/introspect\n    client_id: gw\n    client_secret: {{x: {M}}}\n",
            "introspection endpoint with user info": f"auth:\n  introspection:\n    endpoint: 'http://u:{M}@127.0.0.1/x'\n    client_id: gw\n    client_secret: {CLIENT_SECRET}\n",
            "introspection secret and secret file": f"auth:\n  introspection:\n    endpoint: https://idp.example/introspect\n    client_id: gw\n    client_secret: {CLIENT_SECRET}\n    client_secret_file: {paths['client.secret']}\n",
            "admin token too short": f"admin:\n  tokens: [{M}]\n",
            "admin token with a control character": f'admin:\n  tokens: ["{M}-\\x01-0123456789"]\n',
            "admin tokens not a list": f"admin:\n  tokens: {ADMIN}\n",
            "admin token file with a short token": f"admin:\n  token_file: {paths['tokens']}\n",
            "TLS key that is no key": f"gateway:\n  tls:\n    cert_file: {paths['bad.pem']}\n    key_file: {paths['bad.pem']}\n",
            "webhook URL with user info": f"audit:\n  checkpoints:\n    witnesses:\n      - {{type: webhook, url: 'http://{M}@127.0.0.1:9/x'}}\n",
            "archive command refused": f"audit:\n  archive:\n    command: \"aws s3 cp '%p' s3://{M}@bucket/\"\n",
            "request id from Authorization": "gateway:\n  request_id_header: Authorization\n",
        }
        base = f"admin:\n  tokens: [{ADMIN}]\n" 
        for what, yaml in cases.items():
            text = yaml if yaml.startswith("admin:") else base + yaml
            if "upstreams:" not in text:
                text += "upstreams:\n  - name: api\n    address: 127.0.0.1:9\n"
            text += f"audit:\n  data_dir: {self.root}/data\n" if "audit:" not in text else ""
            path = self.file("c.yaml", text)
            r = run_cli("config", "check", "-c", path)
            self.assertEqual(r.returncode, 2, (what, r.stdout, r.stderr))
            out = self.assertSilent(r, what)
            self.assertNotIn(ADMIN, out, what)
            self.assertNotIn(HS_KEY, out, what)
            self.assertNotIn(CLIENT_SECRET, out, what)
        # serve says the same, before it starts anything.
        r = run_cli("serve", "-c", self.file("c.yaml", base + cases["HS256 secret too short"]), timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertSilent(r, "serve")

    def test_jwt_verify_prints_no_token_or_signature(self):
        secret = self.file("hs.key", HS_KEY + "\n")
        now = int(time.time())
        claims = {"iss": "hs-iss", "aud": "api", "sub": "carol", "exp": now + 600}
        for token in (hs256(claims), hs256(dict(claims, exp=now - 6000)),
                      jws({"alg": "HS256"}, claims, b64url((M + "signature").encode() * 3)),
                      "!!" + M + ".eyJ4IjoxfQ.c2ln", "eyJhbGciOiJIUzI1NiJ9." + b64url(M.encode() * 2000) + ".c2ln"):
            r = run_cli("jwt", "verify", "--secret-file", secret, "--token-file", self.file("t", "Bearer " + token),
                        "--issuer", "hs-iss", "--audience", "api")
            self.assertIn(r.returncode, (0, 1), r.stderr)
            out = r.stdout + r.stderr
            self.assertNotIn(token, out)
            self.assertNotIn(token.rsplit(".", 1)[1], out)
            self.assertNotIn(HS_KEY, out)
            self.assertNotIn(M, out)

    def test_keys_cli_never_echoes_a_key_given_for_its_id(self):
        data = os.path.join(self.root, "data")
        key = run_cli("keys", "create", "--data", data, "--subject", "alice").stdout.strip()
        self.assertTrue(key.startswith("atk_"), key)
        for args in (("revoke", key), ("rotate", key), ("revoke", M + "-not-an-id"), ("rotate", key + "x")):
            r = run_cli("keys", *args, "--data", data)
            self.assertNotEqual(r.returncode, 0, (args, r.stderr))
            out = self.assertSilent(r, args)
            self.assertNotIn(key[13:45], out, args)
        r = run_cli("keys", "revoke", key, "--data", data)
        self.assertIn(f"its id is {key[4:12]}", r.stderr)
        listed = run_cli("keys", "list", "--data", data, "--json")
        self.assertEqual(listed.returncode, 0)
        self.assertNotIn(key[13:45], listed.stdout + listed.stderr)


if __name__ == "__main__":
    unittest.main()
