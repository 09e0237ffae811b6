"""Integration-test harness: runs the real apitrail binary against a real upstream, all on
127.0.0.1 with ports picked by the kernel, in a fresh temporary data dir per test.

Only the Python standard library is used, so the tests need nothing beyond Debian's python3.
Every wait is bounded; every process started here is killed in tearDown.
"""
import base64
import hashlib
import hmac
import http.client
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

BIN = os.environ.get("APITRAIL_BIN", os.path.join(os.path.dirname(__file__), "../../build/apitrail"))
HOST = "127.0.0.1"
ADMIN_TOKEN = "test-admin-token-0123456789abcdef"


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def free_ports(n, avoid=()):
    """n distinct ports that were free a moment ago, none in `avoid`. The sockets stay bound
    until all are picked: two free_port() calls in a row may return the same port, and a
    gateway and admin listener on one address is a config error, not a retryable bind."""
    socks, ports = [], []
    try:
        while len(ports) < n:
            s = socket.socket()
            socks.append(s)
            s.bind((HOST, 0))
            if s.getsockname()[1] not in avoid:
                ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


class RecordingUpstream:
    """A real HTTP/1.1 upstream that records every request it receives (method, path,
    headers, body) and answers JSON. `/slow` sleeps, `/big` answers a large body.
    With `ssl_context` (a server-side ssl.SSLContext) it speaks HTTPS."""

    def __init__(self, ssl_context=None):
        self.requests = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    body = self._read_chunked()
                rec = {"method": self.command, "path": self.path,
                       "headers": {k.lower(): v for k, v in self.headers.items()},
                       "header_list": list(self.headers.items()), "body": body}
                with outer.lock:
                    outer.requests.append(rec)
                if self.path.startswith("/slow"):
                    time.sleep(float(self.path.split("=")[-1]) if "=" in self.path else 2.0)
                if self.path.startswith("/chunked"):
                    self.send_response(200)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for part in (b"hello ", b"chunked ", b"world"):
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                    self.wfile.write(b"0\r\n\r\n")
                    return
                if self.path.startswith("/close"):
                    # HTTP/1.0-style: no length, the body ends when the connection closes.
                    self.send_response(200)
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(b"until-eof-body")
                    self.close_connection = True
                    return
                if self.path.startswith("/nocontent"):
                    self.send_response(204)
                    self.end_headers()
                    return
                if self.path.startswith("/big"):
                    payload = b"x" * 300000
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                out = json.dumps({"ok": True, "path": self.path, "received": len(body)}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.send_header("Connection", "keep-alive")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(out)

            def _read_chunked(self):
                data = b""
                while True:
                    line = self.rfile.readline()
                    size = int(line.split(b";")[0], 16)
                    if size == 0:
                        self.rfile.readline()
                        return data
                    data += self.rfile.read(size)
                    self.rfile.readline()

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle

        self.server = http.server.ThreadingHTTPServer((HOST, 0), Handler)
        self.server.daemon_threads = True
        if ssl_context is not None:
            # The handshake runs in accept(); a failed one is dropped by socketserver.
            self.server.socket = ssl_context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def received(self):
        with self.lock:
            return list(self.requests)


def http_request(port, method, path, headers=None, body=None, timeout=10):
    """One request on a fresh connection to 127.0.0.1:port: (status, lower-cased headers, body)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        conn.close()


def write_config(data_dir, gateway_port, admin_port, upstream_port, extra="", audit_extra=""):
    path = os.path.join(data_dir, "apitrail.yaml")
    if "auth:" not in extra:
        # Tests of other features poll with keys the gateway has not loaded yet (401s from
        # 127.0.0.1); the failure limit has its own tests (test_authz.py).
        extra += "\nauth:\n  failure_limit:\n    enabled: false\n"
    with open(path, "w") as f:
        f.write(f"""
node: test-node
log_level: warn
gateway:
  listen: {HOST}:{gateway_port}
  workers: 2
  header_timeout_ms: 2000
  idle_timeout_ms: 5000
  upstream_connect_timeout_ms: 1000
  upstream_response_timeout_ms: 1500
  drain_timeout_ms: 3000
  max_body_bytes: 1048576
upstreams:
  - name: api
    address: {HOST}:{upstream_port}
routes:
  - match: GET /v1/orders/{{order_id}}
    upstream: api
  - match: POST /v1/orders
    upstream: api
  - match: GET /v1/admin/export
    upstream: api
    sensitive: true
  - match: "* /v1/echo"
    upstream: api
  - match: GET /slow
    upstream: api
  - match: GET /big
    upstream: api
  - match: "* /chunked"
    upstream: api
  - match: GET /close
    upstream: api
  - match: GET /nocontent
    upstream: api
  - match: "* /internal/**"
    upstream: api
    strip_prefix: /internal
audit:
  data_dir: {data_dir}/data
{audit_extra}
admin:
  listen: {HOST}:{admin_port}
  tokens: [{ADMIN_TOKEN}]
{extra}
""")
    return path


class Apitrail:
    """One `apitrail serve` process with its own config and data dir."""

    def __init__(self, root, upstream_port, extra="", preexec=None, audit_extra=""):
        self.root = root
        self.gateway_port, self.admin_port = free_ports(2)
        self.upstream_port = upstream_port
        self.config = write_config(root, self.gateway_port, self.admin_port, upstream_port, extra, audit_extra)
        self.data = os.path.join(root, "data")
        self.preexec = preexec
        self.env = None  # the process's environment (None: this one's)
        self.cwd = None  # the process's working directory (None: this one's); a relative config is taken from it
        self.proc = None

    def start(self, attempts=5):
        """Starts `apitrail serve` and waits until both ports answer. free_port() only says a
        port was free a moment ago: when apitrail finds one taken meanwhile (by a test running
        beside this one), it exits with "Address already in use" and we retry on fresh ports."""
        path = os.path.join(self.root, "apitrail.log")
        for attempt in range(attempts):
            offset = os.path.getsize(path) if os.path.exists(path) else 0
            self._close_log()
            self.log = open(path, "ab")
            self.proc = subprocess.Popen([BIN, "serve", "-c", self.config], stdout=self.log,
                                         stderr=subprocess.STDOUT, preexec_fn=self.preexec, env=self.env,
                                         cwd=self.cwd)
            deadline = time.time() + 15
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    with open(path, "rb") as f:
                        f.seek(offset)
                        said = f.read().decode(errors="replace")
                    if "Address already in use" in said and attempt + 1 < attempts:
                        self._move_to_fresh_ports()
                        break
                    raise AssertionError("apitrail exited early: " + said[-4000:])
                try:
                    with socket.create_connection((HOST, self.gateway_port), timeout=0.2):
                        pass
                    with socket.create_connection((HOST, self.admin_port), timeout=0.2):
                        pass
                    if self.proc.poll() is None:
                        return self
                except OSError:
                    time.sleep(0.05)
            else:
                raise AssertionError("apitrail did not start listening: " + self.logs())
        raise AssertionError("apitrail found its ports taken on every attempt: " + self.logs())

    def _move_to_fresh_ports(self):
        old_gateway, old_admin = self.gateway_port, self.admin_port
        self.gateway_port, self.admin_port = free_ports(2, avoid=(old_gateway, old_admin))
        self.edit_config(f"listen: {HOST}:{old_gateway}\n", f"listen: {HOST}:{self.gateway_port}\n")
        self.edit_config(f"listen: {HOST}:{old_admin}\n", f"listen: {HOST}:{self.admin_port}\n")

    def edit_config(self, old, new):
        """Replaces every `old` in the config file by `new`; `old` must be there."""
        path = os.path.join(self.cwd or "", self.config)
        with open(path) as f:
            text = f.read()
        assert old in text, f"{old!r} is not in {path}"
        with open(path, "w") as f:
            f.write(text.replace(old, new))

    def _close_log(self):
        log = getattr(self, "log", None)
        if log is not None and not log.closed:
            log.close()

    def logs(self):
        try:
            with open(os.path.join(self.root, "apitrail.log"), "rb") as f:
                return f.read().decode(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        rc = self.proc.returncode if self.proc else None
        self.proc = None
        self._close_log()
        return rc

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def cli(self, *args, check=True, timeout=30):
        r = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"apitrail {' '.join(args)} failed ({r.returncode}): {r.stdout}{r.stderr}")
        return r

    def create_key(self, subject, scopes=None):
        args = ["keys", "create", "--data", self.data, "--subject", subject]
        if scopes:
            args += ["--scopes", ",".join(scopes)]
        return self.cli(*args).stdout.strip()

    def wait_key_active(self, key, path="/v1/orders/1", timeout=5):
        """Keys created while the gateway runs are picked up by its reload (about 1 s)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.request("GET", path, {"Authorization": f"Bearer {key}"})[0] != 401:
                return
            time.sleep(0.1)
        raise AssertionError("key never became active")

    def request(self, method, path, headers=None, body=None, port=None, timeout=10):
        return http_request(port or self.gateway_port, method, path, headers, body, timeout)

    def admin(self, path, token=ADMIN_TOKEN):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        status, hdrs, body = self.request("GET", path, headers, port=self.admin_port)
        return status, json.loads(body) if body else None

    def events(self, **filters):
        from urllib.parse import urlencode
        status, body = self.admin("/api/v1/events?" + urlencode(filters))
        assert status == 200, (status, body)
        return body["events"]


def raw_request(port, data, timeout=5):
    """Sends raw bytes and returns everything the server answers until it closes or times out."""
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        except socket.timeout:
            pass
        return out


class GatewayTestCase(unittest.TestCase):
    """Starts an upstream and one apitrail per test; subclasses may set EXTRA_CONFIG (top-level
    YAML) and AUDIT_CONFIG (lines under `audit:`, indented by two spaces)."""
    EXTRA_CONFIG = ""
    AUDIT_CONFIG = ""
    # Connections a test makes end on an exception on purpose (a failpoint).
    expected_session_errors = 0

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="apitrail-it-")
        self.upstream = RecordingUpstream()
        self.gw = Apitrail(self.root, self.upstream.port, self.EXTRA_CONFIG, audit_extra=self.AUDIT_CONFIG)
        os.makedirs(self.gw.data, exist_ok=True)
        self.key = self.gw.create_key("alice", ["orders:read"])
        self.gw.start()

    def tearDown(self):
        # Whatever the test sent, no connection may have ended on an exception in the
        # gateway's own code (such a request could go unrecorded). Checked while the gateway
        # still runs; a test that stopped it has checked what it needed.
        metrics = None
        if self.gw.proc is not None and self.gw.proc.poll() is None:
            try:
                metrics = admin_metrics(self.gw)
            except (OSError, AssertionError):
                pass  # admin API not reachable (a test changed it): nothing to read
        self.gw.stop(signal.SIGKILL)
        self.upstream.stop()
        shutil.rmtree(self.root, ignore_errors=True)
        if metrics is not None:
            self.assertIn("apitrail_session_errors_total", metrics)
            self.assertEqual(metrics["apitrail_session_errors_total"], self.expected_session_errors,
                             "connection(s) ended on an internal error (see the gateway log)")

    def auth(self, key=None):
        return {"Authorization": f"Bearer {key or self.key}"}


# ---------------------------------------------------------------------------------------------
# Helpers for the durability, CLI and demo tests (added after the gateway tests' helpers).

def run_cli(*args, timeout=30, env=None, cwd=None):
    """Runs `apitrail ARGS...` to completion (bounded) and returns the CompletedProcess."""
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)


def npm_install(directory):
    """Runs DIR/install.sh (npm ci of a test-only package, once), failing the test clearly."""
    name = os.path.basename(os.path.normpath(directory))
    try:
        r = subprocess.run([os.path.join(directory, "install.sh")], capture_output=True, text=True, timeout=240)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"tests/{name}/install.sh did not finish within 240 s (npm registry unreachable?)")
    if r.returncode != 0:
        raise AssertionError(f"tests/{name}/install.sh failed: " + r.stdout + r.stderr)


def b64url(data):
    """RFC 4648 §5 base64url without padding (JWS segments, x5t#S256 thumbprints)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_token(secret, claims):
    """A JWT signed HS256 with the stdlib's hmac: an implementation independent of apitrail's."""
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64url(json.dumps(claims).encode())
    sig = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(sig)}"


def wait_until(predicate, timeout=10.0, interval=0.05, what="condition", describe=None):
    """Polls predicate() until it returns something truthy; raises after `timeout` seconds.
    On a timeout the message carries describe() (what was seen instead), so a failure in CI,
    where only the log excerpt survives, can be understood."""
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.time() >= deadline:
            seen = ""
            if describe is not None:
                try:
                    seen = "; seen instead: " + repr(describe())[:2000]
                except Exception as e:  # the description must not hide the timeout
                    seen = f"; describing what was seen failed: {e!r}"
            raise AssertionError(f"timed out after {timeout} s waiting for {what}{seen}")
        time.sleep(interval)


def all_events(gw, page_size=1000, max_pages=1000, **filters):
    """Every event matching `filters`, paging through the admin API with its cursor (the API
    answers newest first). Returns the list in API order."""
    from urllib.parse import urlencode
    out = []
    cursor = None
    for _ in range(max_pages):
        params = dict(filters, limit=page_size)
        if cursor:
            params["cursor"] = cursor
        status, body = gw.admin("/api/v1/events?" + urlencode(params))
        assert status == 200, (status, body)
        out.extend(body["events"])
        cursor = body.get("next_cursor")
        if not cursor:
            return out
    raise AssertionError("too many pages")


def parse_metrics(text):
    """Prometheus text format → {"name" or "name{labels}": float}."""
    values = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        values[name] = float(value)
    return values


def admin_metrics(gw):
    status, _, body = gw.request("GET", "/metrics", {"Authorization": f"Bearer {ADMIN_TOKEN}"}, port=gw.admin_port)
    assert status == 200, (status, body)
    return parse_metrics(body.decode())


SEGMENT_MAGIC = b"APTLOG01"
TREE_HEAD_MAGIC = b"APTHEAD1"


def read_log_file(path):
    """Decodes a segment or tree_heads.log per docs/FORMAT.md §2-§3 without checking CRCs.
    Returns (header, frames, tail) where header = {"magic", "version", "first_seq", "node",
    "length"}, frames = [{"offset", "len", "crc", "seq", "payload_offset", "payload"}] for every
    whole frame, and tail = the bytes after the last whole frame."""
    import struct
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:8]
    version, first_seq, node_len = struct.unpack_from("<IQH", data, 8)
    node = data[22:22 + node_len].decode()
    pos = 22 + node_len + 4
    header = {"magic": magic, "version": version, "first_seq": first_seq, "node": node, "length": pos}
    frames = []
    while pos + 16 <= len(data):
        length, crc, seq = struct.unpack_from("<IIQ", data, pos)
        if length == 0 or length > (1 << 20) or pos + 16 + length > len(data):
            break
        frames.append({"offset": pos, "len": length, "crc": crc, "seq": seq, "payload_offset": pos + 16,
                       "payload": data[pos + 16:pos + 16 + length]})
        pos += 16 + length
    return header, frames, data[pos:]


RECORD_PROTO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "record.proto")


def record_schema():
    """{field number: (name, type, repeated)} of message Record, read from docs/record.proto,
    so the tests decode records with the schema the documentation gives."""
    import re
    with open(RECORD_PROTO) as f:
        text = f.read()
    body = text[text.index("message Record {"):]
    body = body[:body.index("}")]
    fields = {}
    for m in re.finditer(r"^\s*(repeated |optional )?(\w+) (\w+) = (\d+);", body, re.M):
        fields[int(m.group(4))] = (m.group(3), m.group(2), m.group(1) == "repeated ")
    return fields


def _varint(b, pos):
    shift = result = 0
    while True:
        byte = b[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def decode_record(payload):
    """Decodes record bytes (FORMAT.md §5, protobuf wire format) into a dict of the API's
    field names, independently of apitrail's C++ decoder. KeyValue lists become dicts."""
    schema = record_schema()
    out = {}
    pos = 0
    while pos < len(payload):
        key, pos = _varint(payload, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(payload, pos)
        elif wire == 2:
            n, pos = _varint(payload, pos)
            value, pos = payload[pos:pos + n], pos + n
        else:
            raise ValueError("unexpected wire type %d" % wire)
        if number not in schema:
            continue
        name, typ, repeated = schema[number]
        if typ == "KeyValue":
            kv, p2 = {}, 0
            k = v = ""
            while p2 < len(value):
                t, p2 = _varint(value, p2)
                n, p2 = _varint(value, p2)
                s = value[p2:p2 + n].decode()
                p2 += n
                if t >> 3 == 1:
                    k = s
                else:
                    v = s
            out.setdefault(name, {})[k] = v
        elif typ == "string":
            s = value.decode()
            if repeated:
                out.setdefault(name, []).append(s)
            else:
                out[name] = s
        elif typ == "bool":
            out[name] = bool(value)
        else:
            out[name] = value
    return out


def segment_paths(data_dir):
    seg_dir = os.path.join(data_dir, "segments")
    return [os.path.join(seg_dir, n) for n in sorted(os.listdir(seg_dir))
            if n.startswith("seg-") and n.endswith(".log")]


def crc32c(data, crc=0):
    """CRC32C (Castagnoli), as in docs/FORMAT.md §4 (check value 0xE3069283 for b"123456789")."""
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data):
    crc = crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


