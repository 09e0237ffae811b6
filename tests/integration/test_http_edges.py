"""HTTP/1.1 edge cases through the gateway: HEAD, 204, chunked and close-delimited upstream
responses, pipelining, HTTP/1.0 clients, slow or oversized heads. Each answer must be
well-framed, and each request audited once."""
import os
import shutil
import socket
import tempfile
import threading
import time
import unittest

from harness import Apitrail, GatewayTestCase, HOST, admin_metrics, raw_request, wait_until


def read_response(sock, head_request=False):
    """Reads one response from sock; returns (status, headers dict, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError("connection closed before a response head: %r" % data)
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, v = line.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    if head_request or status in (204, 304):
        return status, headers, b"", rest
    if "content-length" in headers:
        n = int(headers["content-length"])
        while len(rest) < n:
            rest += sock.recv(65536)
        return status, headers, rest[:n], rest[n:]
    if headers.get("transfer-encoding") == "chunked":
        body = b""
        while True:
            while b"\r\n" not in rest:
                rest += sock.recv(65536)
            size_line, rest = rest.split(b"\r\n", 1)
            size = int(size_line, 16)
            while len(rest) < size + 2:
                rest += sock.recv(65536)
            if size == 0:
                return status, headers, body, rest[2:]
            body += rest[:size]
            rest = rest[size + 2:]
    while True:  # close-delimited
        chunk = sock.recv(65536)
        if not chunk:
            return status, headers, rest, b""
        rest += chunk


class HttpEdgeTest(GatewayTestCase):
    def connect(self):
        return socket.create_connection((HOST, self.gw.gateway_port), timeout=5)

    def req(self, method, path, extra=b"", version=b"HTTP/1.1"):
        return (method.encode() + b" " + path.encode() + b" " + version + b"\r\nHost: t\r\n"
                b"Authorization: Bearer " + self.key.encode() + b"\r\n" + extra + b"\r\n")

    def test_head_then_get_on_one_connection(self):
        with self.connect() as s:
            s.sendall(self.req("HEAD", "/v1/echo"))
            status, headers, body, rest = read_response(s, head_request=True)
            self.assertEqual(status, 200)
            self.assertIn("content-length", headers)  # the length of the GET answer, kept
            self.assertEqual(rest, b"")
            s.sendall(self.req("GET", "/v1/echo"))
            status, headers, body, _ = read_response(s)
            self.assertEqual(status, 200)
            self.assertIn(b'"ok": true', body)
        self.assertEqual([e["method"] for e in self.gw.events()], ["GET", "HEAD"])

    def test_chunked_upstream_response_is_rechunked(self):
        with self.connect() as s:
            s.sendall(self.req("GET", "/chunked"))
            status, headers, body, _ = read_response(s)
        self.assertEqual(status, 200)
        self.assertEqual(headers.get("transfer-encoding"), "chunked")
        self.assertEqual(body, b"hello chunked world")
        self.assertEqual(self.gw.events()[0]["bytes_out"], len(body))

    def test_close_delimited_upstream_response_keeps_client_connection(self):
        with self.connect() as s:
            s.sendall(self.req("GET", "/close"))
            status, headers, body, _ = read_response(s)
            self.assertEqual((status, body), (200, b"until-eof-body"))
            self.assertEqual(headers.get("transfer-encoding"), "chunked")
            s.sendall(self.req("GET", "/v1/echo"))  # the client connection is still usable
            self.assertEqual(read_response(s)[0], 200)
        self.assertEqual(len(self.gw.events()), 2)

    def test_chunked_request_body_split_across_packets(self):
        with self.connect() as s:
            s.sendall(self.req("POST", "/chunked", b"Transfer-Encoding: chunked\r\n"))
            for piece in (b"5\r\nhel", b"lo\r", b"\n6\r\n wor", b"ld\r\n", b"0\r\n", b"\r\n"):
                time.sleep(0.05)
                s.sendall(piece)
            status, headers, body, _ = read_response(s)
        self.assertEqual(status, 200)
        self.assertEqual(self.upstream.received()[0]["body"], b"hello world")
        self.assertEqual(self.gw.events()[0]["bytes_in"], 11)

    def test_huge_chunk_extension_or_trailer_from_client_refused_400(self):
        # Over gateway.max_header_bytes (16 KiB here), which caps what waits for a line end.
        cases = {"extension": b"5;a=" + b"b" * 20000 + b"\r\nhello\r\n0\r\n\r\n",
                 "trailer": b"5\r\nhello\r\n0\r\nX-T: " + b"t" * 20000 + b"\r\n\r\n"}
        for name, body in cases.items():
            with self.subTest(name), self.connect() as s:
                s.sendall(self.req("POST", "/chunked", b"Transfer-Encoding: chunked\r\n") + body)
                status, headers, answer, _ = read_response(s)
                self.assertEqual(status, 400, answer)
                self.assertIn(b'"error":"bad_request"', answer)
        events = self.gw.events()
        self.assertEqual([e["status"] for e in events], [400, 400])
        for e in events:
            self.assertIn("chunk extensions or trailers", e["message"])

    def test_endless_chunk_extension_from_client_refused_without_waiting(self):
        # The line never ends: what waits for its end is capped, not buffered until a timeout.
        with self.connect() as s:
            s.sendall(self.req("POST", "/chunked", b"Transfer-Encoding: chunked\r\n") + b"5;a=" + b"b" * 20000)
            t0 = time.time()
            status, headers, answer, _ = read_response(s)
        self.assertEqual(status, 400, answer)
        self.assertLess(time.time() - t0, 2)
        self.assertIn("chunk extensions or trailers", self.gw.events()[0]["message"])

    def test_client_gone_before_100_continue_is_audited(self):
        import struct
        s = self.connect()
        s.sendall(self.req("POST", "/v1/echo", b"Expect: 100-continue\r\nContent-Length: 5\r\n"))
        # Reset, not FIN: the gateway still reads the head, but its 100 Continue cannot be written.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        e = self.gw.events()[0] if self.gw.events() else None
        deadline = time.time() + 3
        while e is None and time.time() < deadline:
            time.sleep(0.05)
            e = self.gw.events()[0] if self.gw.events() else None
        self.assertIsNotNone(e, "no audit record")
        self.assertEqual((e["method"], e["status"], e["deny_reason"]), ("POST", 400, "bad_request"))
        self.assertEqual(e.get("message"), "client connection lost before the request body", e)

    def test_no_content(self):
        with self.connect() as s:
            s.sendall(self.req("GET", "/nocontent"))
            status, headers, body, rest = read_response(s)
            self.assertEqual((status, body, rest), (204, b"", b""))
            self.assertNotIn("transfer-encoding", headers)
        self.assertEqual(self.gw.events()[0]["status"], 204)

    def test_pipelined_requests_answered_in_order(self):
        with self.connect() as s:
            s.sendall(self.req("GET", "/v1/echo?n=1") + self.req("GET", "/v1/echo?n=2") +
                      self.req("GET", "/v1/nothing"))
            rest = b""
            statuses, paths = [], []
            for _ in range(3):
                status, headers, body, rest = read_response(_Prefixed(s, rest))
                statuses.append(status)
                paths.append(body)
        self.assertEqual(statuses, [200, 200, 404])
        self.assertIn(b"n=1", paths[0])
        self.assertIn(b"n=2", paths[1])
        self.assertEqual(len(self.gw.events()), 3)

    def test_http10_client_gets_answer_and_close(self):
        out = raw_request(self.gw.gateway_port, self.req("GET", "/v1/echo", version=b"HTTP/1.0"))
        self.assertTrue(out.startswith(b"HTTP/1.1 200"), out[:100])
        self.assertIn(b'"ok": true', out)

    def test_slow_head_gets_408_and_is_audited(self):
        with self.connect() as s:
            s.settimeout(6)
            s.sendall(b"GET /v1/echo HTTP/1.1\r\nHost: t\r\n")  # never finished
            t0 = time.time()
            out = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
            elapsed = time.time() - t0
        self.assertTrue(out.startswith(b"HTTP/1.1 408"), out[:100])
        self.assertGreater(elapsed, 1.5)  # header_timeout_ms is 2000 in the test config
        self.assertLess(elapsed, 5)
        e = self.gw.events()[0]
        self.assertEqual((e["status"], e["deny_reason"]), (408, "request_timeout"))
        self.assertEqual(self.upstream.received(), [])

    def test_bare_lf_head_gets_400_without_waiting_for_the_header_timeout(self):
        # Its blank line is "\n\n", never CRLF CRLF: refused at once, not with 408 after 2 s.
        with self.connect() as s:
            s.sendall(b"GET /v1/echo HTTP/1.1\nHost: t\nAuthorization: Bearer " + self.key.encode() + b"\n\n")
            t0 = time.time()
            status, _, body, _ = read_response(s)
        self.assertEqual(status, 400, body)
        self.assertLess(time.time() - t0, 1.5)
        self.assertEqual(self.upstream.received(), [])
        self.assertEqual(self.gw.events()[0]["status"], 400)

    def test_oversized_head_gets_431(self):
        out = raw_request(self.gw.gateway_port, self.req("GET", "/v1/echo", b"X-Big: " + b"a" * 20000 + b"\r\n"))
        self.assertTrue(out.startswith(b"HTTP/1.1 431"), out[:100])
        self.assertEqual(self.upstream.received(), [])
        self.assertEqual(self.gw.events()[0]["status"], 431)

    def test_idle_keepalive_connection_is_closed(self):
        self.gw.stop()
        # Restart with a short idle timeout.
        import harness
        self.gw.edit_config("idle_timeout_ms: 5000", "idle_timeout_ms: 300")
        self.gw.start()
        with self.connect() as s:
            s.sendall(self.req("GET", "/v1/echo"))
            self.assertEqual(read_response(s)[0], 200)
            s.settimeout(3)
            t0 = time.time()
            self.assertEqual(s.recv(10), b"")  # closed by the gateway
            self.assertLess(time.time() - t0, 2)


class DrainTimeoutTest(GatewayTestCase):
    def test_sigterm_with_a_stuck_connection_exits_cleanly_after_the_drain_timeout(self):
        import signal
        s = socket.create_connection((HOST, self.gw.gateway_port), timeout=5)
        try:
            # Headers, then 10 of 100 body bytes: the session waits for the rest (body timeout
            # 60 s), longer than the 3 s drain timeout of the test config.
            s.sendall(b"POST /v1/orders HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " +
                      self.key.encode() + b"\r\nContent-Length: 100\r\n\r\n0123456789")
            time.sleep(0.3)
            t0 = time.time()
            rc = self.gw.stop(signal.SIGTERM, timeout=15)
            elapsed = time.time() - t0
        finally:
            s.close()
        self.assertEqual(rc, 0, self.gw.logs())
        self.assertGreater(elapsed, 2.5)
        self.assertLess(elapsed, 8)
        self.assertIn("still open after the drain timeout", self.gw.logs())


class ScriptedUpstream:
    """A raw-socket upstream that answers what a test scripts, for upstreams that misbehave.
    For each request head, answer(conn_no, req_no, head) returns a list of actions: bytes are
    sent, a float sleeps that long, CLOSE closes the connection; None closes it unanswered.
    Request bodies are read by Content-Length only."""
    CLOSE = object()

    def __init__(self, answer):
        self.answer = answer
        self.heads = []  # (conn_no, req_no, head) in arrival order
        self.scripts_done = 0  # answers whose every action was done (all bytes sent)
        self.lock = threading.Lock()
        self.sock = socket.create_server((HOST, 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # stopped
            with self.lock:
                conn_no = self.connections
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn, conn_no), daemon=True).start()

    def _serve(self, conn, conn_no):
        buf, req_no = b"", 0
        with conn:
            while True:
                while b"\r\n\r\n" not in buf:
                    try:
                        chunk = conn.recv(65536)
                    except OSError:
                        return
                    if not chunk:
                        return
                    buf += chunk
                head, buf = buf.split(b"\r\n\r\n", 1)
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        n = int(value)
                        while len(buf) < n:
                            buf += conn.recv(65536)
                        buf = buf[n:]
                with self.lock:
                    self.heads.append((conn_no, req_no, head))
                actions = self.answer(conn_no, req_no, head)
                req_no += 1
                if actions is None:
                    return
                close = False
                for a in actions:
                    if a is ScriptedUpstream.CLOSE:
                        close = True
                        break
                    if isinstance(a, float):
                        time.sleep(a)
                    else:
                        try:
                            conn.sendall(a)
                        except OSError:
                            return
                with self.lock:
                    self.scripts_done += 1
                if close:
                    return

    def received(self):
        with self.lock:
            return list(self.heads)

    def done(self):
        with self.lock:
            return self.scripts_done

    def stop(self):
        self.sock.close()


def ok(body=b"fine"):
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


class ScriptedUpstreamCase(GatewayTestCase):
    """A gateway in front of a ScriptedUpstream; each test sets self.answer (see there)."""

    def setUp(self):
        self.answer = lambda conn_no, req_no, head: [ok()]
        self.root = tempfile.mkdtemp(prefix="apitrail-it-")
        self.upstream = ScriptedUpstream(lambda *args: self.answer(*args))
        self.gw = Apitrail(self.root, self.upstream.port)
        os.makedirs(self.gw.data, exist_ok=True)
        self.key = self.gw.create_key("alice", ["orders:read"])
        self.gw.start()

    def connect(self):
        return socket.create_connection((HOST, self.gw.gateway_port), timeout=5)

    def req(self, method="GET", path="/v1/echo", extra=b""):
        return (method.encode() + b" " + path.encode() + b" HTTP/1.1\r\nHost: t\r\n"
                b"Authorization: Bearer " + self.key.encode() + b"\r\n" + extra + b"\r\n")


class MisbehavingUpstreamTest(ScriptedUpstreamCase):
    def get(self, path="/v1/echo"):
        with self.connect() as s:
            s.sendall(self.req("GET", path, b"Connection: close\r\n"))
            return read_response(s)

    def assert_502(self, answer, message_part):
        status, headers, body, _ = answer
        self.assertEqual(status, 502, body)
        self.assertEqual(headers["content-type"], "application/json")
        self.assertIn(b'"error":"upstream_unavailable"', body)
        e = self.gw.events()[0]
        self.assertEqual(e["status"], 502)
        self.assertIn(message_part, e.get("message", ""))

    def test_obs_fold_in_upstream_response_is_refused_502(self):
        self.answer = lambda *_: [b"HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 2\r\n\r\nhi"]
        answer = self.get()
        self.assertNotIn("x-folded", answer[1])
        self.assert_502(answer, "obs-fold")

    def test_bare_lf_upstream_head_is_refused_502_without_waiting(self):
        # Lines end in LF alone, then the upstream keeps the connection open: 502 at once,
        # not 504 at the 1.5 s response timeout.
        self.answer = lambda *_: [b"HTTP/1.1 200 OK\nContent-Length: 2\n\nhi", 3.0]
        t0 = time.time()
        answer = self.get()
        self.assertLess(time.time() - t0, 1.2)
        self.assert_502(answer, "bare CR or LF")

    def test_upstream_head_split_across_reads(self):
        self.answer = lambda *_: [b"HTTP/1.1 200 OK\r\n", 0.1, b"Content-Length: 2\r\n", 0.1, b"\r\nhi"]
        status, _, body, _ = self.get()
        self.assertEqual((status, body), (200, b"hi"))

    def test_huge_chunk_extension_or_trailer_from_upstream_refused_502(self):
        head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        cases = {"extension": head + b"2;a=" + b"b" * 100000 + b"\r\nhi\r\n0\r\n\r\n",
                 "trailer": head + b"2\r\nhi\r\n0\r\nX-T: " + b"t" * 100000 + b"\r\n\r\n"}
        for name, raw in cases.items():
            with self.subTest(name):
                self.answer = lambda *_: [raw]
                status, _, body, _ = self.get()
                self.assertEqual(status, 502, body)
                self.assertIn(b'"error":"upstream_unavailable"', body)
        events = self.gw.events()
        self.assertEqual([e["status"] for e in events], [502, 502])
        for e in events:
            self.assertIn("chunk extensions or trailers exceed", e["message"])

    def test_endless_chunk_extension_from_upstream_refused_without_waiting(self):
        # Over 64 KiB without a line end, then silence: refused at once, not at the 1.5 s timeout.
        self.answer = lambda *_: [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;a=" + b"b" * 150000, 3.0]
        t0 = time.time()
        status, _, body, _ = self.get()
        self.assertEqual(status, 502, body)
        self.assertLess(time.time() - t0, 1.2)
        self.assertIn("chunk extensions or trailers exceed", self.gw.events()[0]["message"])


    def test_content_length_of_a_204_is_dropped_that_of_a_304_kept(self):
        # RFC 9110 §8.6: no Content-Length in a 204 (a client may wait for that body); a 304's
        # (like a HEAD answer's) describes the representation and is relayed.
        def answer(conn_no, req_no, head):
            if b"/nocontent" in head:
                return [b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"]
            return [b"HTTP/1.1 304 Not Modified\r\nContent-Length: 42\r\nETag: \"v1\"\r\n\r\n"]
        self.answer = answer
        with self.connect() as s:
            s.sendall(self.req("GET", "/nocontent"))
            status, headers, _, rest = read_response(s)
            self.assertEqual((status, rest), (204, b""))
            self.assertNotIn("content-length", headers)
            s.sendall(self.req("GET", "/v1/echo"))
            status, headers, _, rest = read_response(s)
            self.assertEqual((status, headers.get("content-length"), rest), (304, "42", b""))
        self.assertEqual(sorted(e["status"] for e in self.gw.events()), [204, 304])
    def test_late_bytes_after_bodiless_answer_never_reach_the_next_request(self):
        # The upstream sends bytes after a HEAD answer and after a 204, a little later; shaped
        # as a response, they would be taken as the answer to the next request on the pooled
        # connection.
        stray = ok(b"SMUGGLED")

        def answer(conn_no, req_no, head):
            if head.startswith(b"HEAD"):
                return [b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n", 0.1, stray]
            if b"/nocontent" in head:
                return [b"HTTP/1.1 204 No Content\r\n\r\n", 0.1, stray]
            return [ok(b"real")]
        self.answer = answer
        with self.connect() as s:
            for first in (self.req("HEAD", "/v1/echo"), self.req("GET", "/nocontent")):
                done = self.upstream.done()
                s.sendall(first)
                status, _, _, rest = read_response(s, head_request=True)
                self.assertIn(status, (200, 204))
                self.assertEqual(rest, b"")
                # The stray bytes arrive at the idle pooled connection (sent on loopback: there).
                # A 0.4 s sleep stood in for this; the upstream's thread can run later than that.
                wait_until(lambda: self.upstream.done() > done, what="the stray bytes sent")
                s.sendall(self.req("GET", "/v1/echo"))
                status, _, body, _ = read_response(s)
                self.assertEqual((status, body), (200, b"real"))

    def test_upstream_closing_an_idle_connection_is_not_a_502(self):
        # The upstream closes each keep-alive connection shortly after answering.
        self.answer = lambda *_: [ok(), 0.05, ScriptedUpstream.CLOSE]
        with self.connect() as s:
            for _ in range(3):
                s.sendall(self.req("GET", "/v1/echo"))
                self.assertEqual(read_response(s)[:3:2], (200, b"fine"))
                time.sleep(0.3)
        self.assertEqual([e["status"] for e in self.gw.events()], [200, 200, 200])

    def test_idempotent_request_resent_once_when_reused_connection_closes_unanswered(self):
        # Each connection answers its first request and closes on the second, unanswered: the
        # upstream's idle close racing the gateway's reuse.
        self.answer = lambda conn_no, req_no, head: [ok(b"conn%d" % conn_no)] if req_no == 0 else None
        with self.connect() as s:
            s.sendall(self.req("GET", "/v1/echo"))
            self.assertEqual(read_response(s)[:3:2], (200, b"conn0"))
            s.sendall(self.req("GET", "/v1/echo"))
            self.assertEqual(read_response(s)[:3:2], (200, b"conn1"))
        self.assertEqual([(c, r) for c, r, _ in self.upstream.received()], [(0, 0), (0, 1), (1, 0)])
        self.assertEqual([e["status"] for e in self.gw.events()], [200, 200])
        self.assertEqual(admin_metrics(self.gw)["apitrail_upstream_retries_total"], 1)

    def check_not_reused_after(self, first):
        # The upstream's first connection answers its first request with `first`, then
        # nothing: a gateway that reused it would relay the forged bytes as the next answer.
        self.answer = lambda conn_no, req_no, head: (
            first if (conn_no, req_no) == (0, 0) else [] if conn_no == 0 else [ok(b"conn%d" % conn_no)])
        with self.connect() as s:
            s.sendall(self.req("GET", "/v1/echo"))
            self.assertEqual(read_response(s)[:3:2], (200, b"conn0"))
            # Whatever the first answer's script sends later is in the pooled socket once sent
            # (loopback); a 0.4 s sleep stood in for this.
            wait_until(lambda: self.upstream.done() >= 1, what="the first answer's script done")
            for _ in range(2):
                s.sendall(self.req("GET", "/v1/echo"))
                self.assertEqual(read_response(s)[:3:2], (200, b"conn1"))
        self.assertEqual([(c, r) for c, r, _ in self.upstream.received()], [(0, 0), (1, 0), (1, 1)])

    def test_bytes_behind_a_response_in_its_segment_are_not_the_next_answer(self):
        self.check_not_reused_after([ok(b"conn0") + ok(b"forged")])  # in the gateway's read buffer

    def test_bytes_behind_a_response_sent_later_are_not_the_next_answer(self):
        self.check_not_reused_after([ok(b"conn0"), 0.2, ok(b"forged")])  # in the pooled socket

    def test_request_with_body_not_resent(self):
        self.answer = lambda conn_no, req_no, head: [ok()] if req_no == 0 else None
        with self.connect() as s:
            s.sendall(self.req("GET", "/v1/echo"))
            self.assertEqual(read_response(s)[0], 200)
            s.sendall(self.req("PUT", "/v1/echo", b"Content-Length: 3\r\n") + b"abc")
            self.assert_502(read_response(s), "")
        self.assertEqual(len([h for _, _, h in self.upstream.received() if h.startswith(b"PUT")]), 1)

    def test_interim_responses_are_dropped_but_bounded(self):
        interim = b"HTTP/1.1 100 Continue\r\n\r\n"
        self.answer = lambda *_: [interim * 3 + b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + ok()]
        status, _, body, _ = self.get()
        self.assertEqual((status, body), (200, b"fine"))
        self.answer = lambda *_: [interim * 11 + ok()]
        status, _, body, _ = self.get()
        self.assertEqual(status, 502, body)
        self.assertIn("interim (1xx) responses", self.gw.events()[0]["message"])


class _Prefixed:
    """A socket whose first reads return already-received bytes."""

    def __init__(self, sock, prefix):
        self.sock, self.prefix = sock, prefix

    def recv(self, n):
        if self.prefix:
            out, self.prefix = self.prefix, b""
            return out
        return self.sock.recv(n)


if __name__ == "__main__":
    unittest.main()
