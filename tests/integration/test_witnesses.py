"""Checkpoint cadence and witnesses through the real binary: every signed checkpoint reaches
a file witness (one file per tree size plus `latest`, outside the data dir), an RFC 5424
syslog receiver over UDP and over TCP, and an HTTP webhook — each note byte-identical to the
one in checkpoints.log and verifying with the key `apitrail key show` prints. A dead webhook
never slows or stops requests; it shows up in /metrics and is logged once, not per retry.
`every_events` signs as soon as that many records arrived."""
import base64
import hashlib
import os
import re
import socket
import threading
import time

from harness import (Apitrail, GatewayTestCase, RecordingUpstream, admin_metrics,
                     read_log_file, run_cli, wait_until)


class UdpSyslog:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.messages = []
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while self.running:
            try:
                data, _ = self.sock.recvfrom(65536)
                self.messages.append(data)
            except socket.timeout:
                pass

    def stop(self):
        self.running = False
        self.thread.join(timeout=2)
        self.sock.close()


class TcpSyslog:
    """RFC 6587 octet-counting receiver: "LEN SP MSG"."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.messages = []
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            conn.settimeout(0.2)
            buf = b""
            while self.running:
                try:
                    chunk = conn.recv(65536)
                except socket.timeout:
                    continue
                if not chunk:
                    break
                buf += chunk
                while b" " in buf:
                    length, _, rest = buf.partition(b" ")
                    if len(rest) < int(length):
                        break
                    self.messages.append(rest[:int(length)])
                    buf = rest[int(length):]
            conn.close()

    def stop(self):
        self.running = False
        self.thread.join(timeout=2)
        self.sock.close()


SYSLOG_RE = re.compile(rb"^<(\d+)>1 (\S+) (\S+) apitrail (\d+) checkpoint - \xef\xbb\xbf(.*)$", re.S)


def note_of_syslog(msg):
    m = SYSLOG_RE.match(msg)
    assert m, msg
    assert re.fullmatch(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", m.group(2)), m.group(2)
    return int(m.group(1)), m.group(5).decode()


def note_size(note):
    return int(note.split("\n")[1])


class WitnessBase(GatewayTestCase):
    CHECKPOINTS = ""

    def setUp(self):
        self.syslog_udp = UdpSyslog()
        self.syslog_tcp = TcpSyslog()
        self.webhook = RecordingUpstream()
        # Bound, not listening: connections are refused, and the port cannot be given to
        # another socket meanwhile (a listener of a test beside this one would have answered
        # the "dead" webhook), as one free_port() closed again could; listened on later.
        self.dead_sock = socket.socket()
        self.dead_sock.bind(("127.0.0.1", 0))
        self.dead_port = self.dead_sock.getsockname()[1]
        super().setUp()

    def tearDown(self):
        super().tearDown()
        self.syslog_udp.stop()
        self.syslog_tcp.stop()
        self.webhook.stop()
        self.dead_sock.close()

    def start_gateway(self):
        """GatewayTestCase starts apitrail with the harness config; restart it with the
        checkpoint settings added under `audit:`."""
        self.gw.stop()
        self.witness_dir = os.path.join(self.root, "witness")
        block = self.CHECKPOINTS.format(witness_dir=self.witness_dir, udp=self.syslog_udp.port,
                                        tcp=self.syslog_tcp.port, webhook=self.webhook.port,
                                        dead=self.dead_port)
        with open(self.gw.config) as f:
            text = f.read()
        text = re.sub(r"(audit:\n  data_dir: [^\n]*\n)", lambda m: m.group(1) + block, text)
        text = text.replace("log_level: warn", "log_level: info")  # the recovery line is info
        with open(self.gw.config, "w") as f:
            f.write(text)
        r = run_cli("config", "check", "-c", self.gw.config)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.gw.start()

    def send(self, n, start=0):
        for i in range(start, start + n):
            status, _, _ = self.gw.request("GET", f"/v1/orders/{i}", self.auth())
            self.assertEqual(status, 200)

    def logged_notes(self):
        path = os.path.join(self.gw.data, "checkpoints.log")
        if not os.path.exists(path):
            return []
        return [f["payload"][8:].decode() for f in read_log_file(path)[1]]

    def verifier_key(self):
        r = run_cli("key", "show", "--data", self.gw.data)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.strip()

    def assert_note_verifies(self, note):
        """Same bytes as a checkpoint the node logged, its key hash is the node's, and
        `apitrail verify --checkpoint` checks its Ed25519 signature with the published key."""
        self.assertIn(note, self.logged_notes())
        key = self.verifier_key()
        name, khash, raw = key.split("+", 2)  # base64 may contain "+" too
        sig_line = note.rstrip("\n").split("\n")[-1]
        self.assertTrue(sig_line.startswith("\u2014 " + name + " "), sig_line)
        blob = base64.b64decode(sig_line.split(" ")[2])
        self.assertEqual(blob[:4].hex(), khash)
        self.assertEqual(hashlib.sha256(name.encode() + b"\n" + base64.b64decode(raw)).digest()[:4].hex(), khash)
        path = os.path.join(self.root, "saved.checkpoint")
        with open(path, "w") as f:
            f.write(note)
        r = run_cli("verify", "--data", self.gw.data, "--checkpoint", path, "--key", key)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        forged = note.replace("\n%d\n" % note_size(note), "\n%d\n" % (note_size(note) + 1), 1)
        with open(path, "w") as f:
            f.write(forged)
        r = run_cli("verify", "--data", self.gw.data, "--checkpoint", path, "--key", key)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("signature", r.stdout)


class WitnessesTest(WitnessBase):
    CHECKPOINTS = """  checkpoints:
    max_lag_ms: 200
    witnesses:
      - type: file
        dir: {witness_dir}
      - type: syslog
        address: 127.0.0.1:{udp}
      - type: syslog
        name: syslog-tcp
        address: 127.0.0.1:{tcp}
        protocol: tcp
        facility: 4
      - type: webhook
        url: http://127.0.0.1:{webhook}/witness/checkpoints?node=test-node
"""

    def setUp(self):
        super().setUp()
        self.start_gateway()

    def test_every_witness_receives_verifiable_checkpoints(self):
        self.send(3)
        wait_until(lambda: any(note_size(n) >= 3 for n in self.logged_notes()), timeout=10,
                   what="a checkpoint of 3 records")

        # File witness: <size>.checkpoint and latest, exactly the note text.
        def latest():
            p = os.path.join(self.witness_dir, "latest")
            if not os.path.exists(p):
                return ""
            with open(p) as f:
                return f.read()
        wait_until(lambda: note_size(latest() or "x\n0\n") >= 3, timeout=10, what="file witness latest")
        note = latest()
        size = note_size(note)
        with open(os.path.join(self.witness_dir, "%020d.checkpoint" % size)) as f:
            self.assertEqual(f.read(), note)
        self.assertFalse([n for n in os.listdir(self.witness_dir) if n.endswith(".tmp")])
        self.assert_note_verifies(note)

        # Syslog over UDP (local0 = 16 → PRI 134) and TCP (facility 4 → PRI 38).
        wait_until(lambda: self.syslog_udp.messages, timeout=10, what="a syslog datagram")
        pri, udp_note = note_of_syslog(self.syslog_udp.messages[-1])
        self.assertEqual(pri, 16 * 8 + 6)
        self.assert_note_verifies(udp_note)
        wait_until(lambda: self.syslog_tcp.messages, timeout=10, what="a syslog TCP message")
        pri, tcp_note = note_of_syslog(self.syslog_tcp.messages[-1])
        self.assertEqual(pri, 4 * 8 + 6)
        self.assert_note_verifies(tcp_note)

        # Webhook: POST of the note text.
        wait_until(lambda: self.webhook.received(), timeout=10, what="a webhook POST")
        req = self.webhook.received()[-1]
        self.assertEqual(req["method"], "POST")
        self.assertEqual(req["path"], "/witness/checkpoints?node=test-node")
        self.assertTrue(req["headers"]["content-type"].startswith("text/plain"))
        self.assertEqual(int(req["headers"]["apitrail-checkpoint-size"]), note_size(req["body"].decode()))
        self.assert_note_verifies(req["body"].decode())

        # More traffic → newer checkpoints everywhere; the final one at shutdown too.
        self.send(4, start=10)
        self.gw.stop()
        final = self.logged_notes()[-1]
        self.assertEqual(note_size(final), 7)
        self.assertEqual(latest(), final)
        # Sent before the gateway exited, but the receivers' threads append what they read
        # when they get to run: on a loaded host, after stop() has returned here.
        for receiver in (self.syslog_udp, self.syslog_tcp):
            wait_until(lambda: final in [note_of_syslog(m)[1] for m in list(receiver.messages)], timeout=10,
                       what="the final checkpoint at the syslog receiver",
                       describe=lambda: [note_size(note_of_syslog(m)[1]) for m in list(receiver.messages)])
        self.assertIn(final.encode(), [r["body"] for r in self.webhook.received()])

    def test_metrics_count_checkpoints_and_publications(self):
        self.send(2)
        names = ("file-0", "syslog-1", "syslog-tcp", "webhook-3")

        def published():
            m = admin_metrics(self.gw)
            return (m.get('apitrail_witness_published_tree_size{witness="webhook-3"}', 0) >= 2 and
                    all(m.get('apitrail_witness_published_total{witness="%s"}' % n, 0) >= 1 for n in names))

        # Every witness publishes on its own: waiting for the webhook alone left the file
        # witness at 0 on a loaded host.
        wait_until(published, timeout=10, what="every witness's metrics")
        m = admin_metrics(self.gw)
        self.assertGreaterEqual(m["apitrail_checkpoints_total"], 1)
        self.assertEqual(m["apitrail_checkpoint_tree_size"], 2)
        for name in names:
            self.assertGreaterEqual(m['apitrail_witness_published_total{witness="%s"}' % name], 1, name)
            self.assertEqual(m['apitrail_witness_up{witness="%s"}' % name], 1, name)
            self.assertEqual(m['apitrail_witness_failures_total{witness="%s"}' % name], 0, name)


class DeadWebhookTest(WitnessBase):
    CHECKPOINTS = """  checkpoints:
    max_lag_ms: 100
    witness_retry_max_ms: 200
    witnesses:
      - type: webhook
        name: dead-hook
        url: http://127.0.0.1:{dead}/checkpoints
        timeout_ms: 500
      - type: file
        dir: {witness_dir}
"""

    def setUp(self):
        super().setUp()
        self.start_gateway()

    def test_dead_webhook_does_not_stop_requests_and_shows_in_metrics(self):
        start = time.time()
        for i in range(6):
            self.send(1, start=i)
            time.sleep(0.15)  # several checkpoints, several failed attempts
        self.assertLess(time.time() - start, 5)
        m = wait_until(lambda: (lambda m: m if m.get('apitrail_witness_failures_total{witness="dead-hook"}', 0) >= 3 else None)(admin_metrics(self.gw)),
                       timeout=5, what="failures counted")
        self.assertEqual(m['apitrail_witness_up{witness="dead-hook"}'], 0)
        self.assertEqual(m['apitrail_witness_published_total{witness="dead-hook"}'], 0)
        self.assertGreaterEqual(m['apitrail_witness_queue_length{witness="dead-hook"}'], 1)
        # The file witness is not held up by the dead one.
        self.assertGreaterEqual(m['apitrail_witness_published_total{witness="file-1"}'], 1)
        self.assertEqual(m['apitrail_witness_up{witness="file-1"}'], 1)
        self.assertEqual(m["apitrail_requests_total"], 6)
        # Logged once for the state change, not once per failed attempt.
        self.assertEqual(self.gw.logs().count("witness dead-hook: cannot publish"), 1, self.gw.logs())

        # The receiver comes up: the queued checkpoints get through, and that is logged once.
        import http.server
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.posted.append(body)
                self.send_response(204)
                self.end_headers()
        self.posted = []
        server = http.server.ThreadingHTTPServer(("127.0.0.1", self.dead_port), Handler, bind_and_activate=False)
        server.socket.close()
        server.socket = self.dead_sock  # bound to dead_port since setUp
        server.server_activate()
        t = threading.Thread(target=server.serve_forever, daemon=True)
        t.start()
        try:
            wait_until(lambda: self.posted, timeout=10, what="the webhook to recover")
            wait_until(lambda: admin_metrics(self.gw)['apitrail_witness_up{witness="dead-hook"}'] == 1, timeout=10,
                       what="up again")
            self.assertIn("witness dead-hook: publishing again", self.gw.logs())
            self.assertIn(self.posted[-1].decode(), self.logged_notes())
        finally:
            server.shutdown()
            server.server_close()


class EveryEventsTest(WitnessBase):
    CHECKPOINTS = """  checkpoints:
    every_events: 5
    max_lag_ms: 60000
    heartbeat_ms: 60000
"""

    def setUp(self):
        super().setUp()
        self.start_gateway()

    def test_signs_after_n_events_not_before(self):
        # The first record after start is signed at once (nothing is covered yet).
        self.send(1)
        wait_until(lambda: self.logged_notes(), timeout=10, what="the first checkpoint")
        first = max(note_size(n) for n in self.logged_notes())
        self.send(4, start=1)
        time.sleep(0.8)
        self.assertEqual(max(note_size(n) for n in self.logged_notes()), first,
                         "signed before every_events (or max_lag_ms) was reached")
        self.send(1, start=5)
        wait_until(lambda: any(note_size(n) == first + 5 for n in self.logged_notes()), timeout=10,
                   what="a checkpoint right after the 5th new event")
