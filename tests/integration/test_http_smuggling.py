"""Request smuggling and response desync through the gateway: ambiguous or malformed framing
from a client is refused (400) and never forwarded, the body of a refused request is never
read as a request, pipelined requests after a refusal are answered in order, and a
malformed upstream answer becomes a 502 that leaves nothing behind for the next request.
Also what HTTP/1.0 changes: Transfer-Encoding in a 1.0 message ends its connection, a 1.0
client gets no 1xx, and its request goes upstream with a Host."""
import socket
import time
import unittest

from harness import GatewayTestCase, HOST, raw_request
from test_http_edges import ScriptedUpstreamCase, _Prefixed, ok, read_response


def read_until_close(sock, timeout=2.0):
    """Everything until the peer closes; raises if it is still open after `timeout` s."""
    sock.settimeout(timeout)
    out = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            raise AssertionError("connection still open after %.1f s; got %r" % (timeout, out[:300]))
        if not chunk:
            return out
        out += chunk


class ClientFramingTest(GatewayTestCase):
    """A real upstream (RecordingUpstream); the client speaks raw bytes."""

    def connect(self):
        return socket.create_connection((HOST, self.gw.gateway_port), timeout=3)

    def auth_line(self):
        return b"Authorization: Bearer " + self.key.encode() + b"\r\n"

    def assert_refused_400(self, cases, body_check=None):
        for raw in cases:
            out = raw_request(self.gw.gateway_port, raw, timeout=3)
            self.assertTrue(out.startswith(b"HTTP/1.1 400 "), (raw, out[:200]))
            self.assertIn(b"Content-Type: application/json", out)
            self.assertIn(b'"error":"bad_request"', out, raw)
        self.assertEqual(self.upstream.received(), [])
        events = self.gw.events(limit=100)
        self.assertEqual(len(events), len(cases))
        self.assertEqual({e["status"] for e in events}, {400})

    def test_transfer_encoding_and_content_length_variants_refused(self):
        post = b"POST /v1/echo HTTP/1.1\r\nHost: x\r\n" + self.auth_line()
        chunked = b"5\r\nhello\r\n0\r\n\r\n"
        self.assert_refused_400([
            post + b"Transfer-Encoding: chunked, identity\r\n\r\n" + chunked,
            post + b"Transfer-Encoding: xchunked\r\n\r\n" + chunked,
            post + b"Transfer-Encoding: identity\r\n\r\nhello",
            post + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked,
            post + b"Transfer-Encoding : chunked\r\n\r\n" + chunked,
            post + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n" + chunked,
            post + b"Content-Length: +5\r\n\r\nhello",
            post + b"Content-Length: -1\r\n\r\nhello",
            post + b"Content-Length: 1 0\r\n\r\nhello",
            post + b"Content-Length: 5, 5\r\n\r\nhello",
            post + b"Content-Length: 99999999999999999999999\r\n\r\nhello",
        ])

    def test_malformed_chunked_request_bodies_refused(self):
        post = (b"POST /v1/echo HTTP/1.1\r\nHost: x\r\n" + self.auth_line() +
                b"Transfer-Encoding: chunked\r\n\r\n")
        self.assert_refused_400([post + body for body in (
            b"ffffffffffffffff1\r\nhello\r\n0\r\n\r\n",       # size overflows 64 bits
            b"-5\r\nhello\r\n0\r\n\r\n",
            b"0x5\r\nhello\r\n0\r\n\r\n",
            b"5\nhello\r\n0\r\n\r\n",                          # size line ended by a bare LF
            b"5;a\nb\r\nhello\r\n0\r\n\r\n",                   # bare LF inside an extension
            b"5\r\nhelloXX\r\n0\r\n\r\n",                      # data longer than its size
            b"5\r\nhello\r\n0\r\nContent-Length: 50\r\n\r\n",  # framing field as a trailer
            b"5\r\nhello\r\n0\r\nX: a\nGET /v1/echo HTTP/1.1\r\n\r\n",  # bare LF in trailers
        )])

    def test_control_bytes_bad_names_and_non_origin_targets_refused(self):
        key = self.auth_line()
        self.assert_refused_400([
            b"GET /v1/echo HTTP/1.1\r\nHost: x\r\n" + key + b"X-A: a\x00b\r\n\r\n",
            b"GET /v1/echo HTTP/1.1\r\nHost: x\r\n" + key + b"X-A: a\rb\r\n\r\n",
            b"GET /v1/echo HTTP/1.1\r\nHost: x\r\n" + key + b"X-A: a\x01b\r\n\r\n",
            b"GET /v1/echo HTTP/1.1\r\nHost: x\r\n" + key + b"X-A: a\x7fb\r\n\r\n",
            b"GET /v1/echo HTTP/1.1\r\nHost: x\r\n" + key + b": empty-name\r\n\r\n",
            b"GET /v1/echo HTTP/1.1\r\nHost: x\r\n" + key + b"X-\xc3\xa9: b\r\n\r\n",
            b"GET http://x/v1/echo HTTP/1.1\r\nHost: x\r\n" + key + b"\r\n",
            b"CONNECT x:80 HTTP/1.1\r\nHost: x\r\n" + key + b"\r\n",
            b"OPTIONS * HTTP/1.1\r\nHost: x\r\n" + key + b"\r\n",
            b"GET  /v1/echo HTTP/1.1\r\nHost: x\r\n" + key + b"\r\n",
        ])

    def test_pipelined_requests_after_refusals_answered_in_order(self):
        key = self.auth_line()
        with self.connect() as s:
            s.sendall(b"GET /v1/echo?n=1 HTTP/1.1\r\nHost: x\r\n\r\n"            # no credentials
                      b"GET /v1/nothing HTTP/1.1\r\nHost: x\r\n" + key + b"\r\n"  # no route
                      b"GET /v1/echo?n=3 HTTP/1.1\r\nHost: x\r\n" + key + b"\r\n")
            rest, answers = b"", []
            for _ in range(3):
                status, headers, body, rest = read_response(_Prefixed(s, rest))
                answers.append((status, body))
            self.assertEqual(rest, b"")
        self.assertEqual([a[0] for a in answers], [401, 404, 200])
        self.assertIn(b"missing_credentials", answers[0][1])
        self.assertIn(b"no_route", answers[1][1])
        self.assertIn(b"n=3", answers[2][1])
        self.assertEqual([r["path"] for r in self.upstream.received()], ["/v1/echo?n=3"])
        events = self.gw.events()
        self.assertEqual(sorted(e["status"] for e in events), [200, 401, 404])

    def test_body_of_a_refused_request_is_never_read_as_a_request(self):
        # The bodies hold a whole request; answered from the body, it would be smuggled.
        smuggled = b"GET /v1/echo?smuggled HTTP/1.1\r\nHost: x\r\n" + self.auth_line() + b"\r\n"
        cases = [
            (401, b"POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(smuggled) + smuggled),
            (404, b"POST /v1/nothing HTTP/1.1\r\nHost: x\r\n" + self.auth_line() +
             b"Transfer-Encoding: chunked\r\n\r\n%x\r\n" % len(smuggled) + smuggled + b"\r\n0\r\n\r\n"),
        ]
        for status, raw in cases:
            with self.connect() as s:
                s.sendall(raw + smuggled)  # and once more behind it, pipelined
                out = read_until_close(s)
            self.assertTrue(out.startswith(b"HTTP/1.1 %d " % status), out[:200])
            self.assertIn(b"Connection: close\r\n", out)
            self.assertEqual(out.count(b"HTTP/1.1 "), 1, out)
        self.assertEqual(self.upstream.received(), [])
        self.assertEqual(sorted(e["status"] for e in self.gw.events()), [401, 404])

    def test_expect_100_continue_without_credentials_gets_no_100(self):
        with self.connect() as s:
            s.sendall(b"POST /v1/echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
            out = read_until_close(s)
        self.assertTrue(out.startswith(b"HTTP/1.1 401 "), out[:200])
        self.assertNotIn(b"100 Continue", out)
        self.assertEqual(self.upstream.received(), [])
        self.assertEqual([e["status"] for e in self.gw.events()], [401])

    # RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing, and the
    # connection closes after it: an HTTP/1.0 hop in front, which knows no chunked, may have
    # framed those body bytes as the next request.
    def test_http10_chunked_request_ends_the_connection(self):
        key = self.auth_line()
        with self.connect() as s:
            s.sendall(b"POST /v1/echo HTTP/1.0\r\n" + key + b"Connection: keep-alive\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
                      b"GET /v1/echo?second HTTP/1.0\r\n" + key + b"Connection: keep-alive\r\n\r\n")
            out = read_until_close(s)
        self.assertEqual(out.count(b"HTTP/1.1 "), 1, out)
        self.assertNotIn("/v1/echo?second", [r["path"] for r in self.upstream.received()])
        self.assertEqual(len(self.gw.events()), 1)

    # RFC 9110 §10.1.1 and §15.2: an HTTP/1.0 request's 100-continue expectation is ignored
    # and no 1xx goes to a 1.0 client, which would take it for the final answer.
    def test_no_100_continue_to_an_http10_client(self):
        with self.connect() as s:
            s.sendall(b"POST /v1/echo HTTP/1.0\r\n" + self.auth_line() +
                      b"Expect: 100-continue\r\nContent-Length: 5\r\n\r\nhello")
            out = read_until_close(s)
        self.assertTrue(out.startswith(b"HTTP/1.1 200 "), out[:200])
        self.assertEqual(self.upstream.received()[0]["body"], b"hello")

    # RFC 9112 §3.2: a Host that is not uri-host [":" port] (a list of two hosts, a path,
    # userinfo, a port with letters) is a 400, as two Host lines are: the record, the
    # upstream and X-Forwarded-Host could each name another host.
    def test_invalid_host_value_refused(self):
        key = self.auth_line()
        for host in (b"a.example, b.example", b"evil.example/x", b"user@a.example", b"a.example:8o"):
            out = raw_request(self.gw.gateway_port, b"GET /v1/echo HTTP/1.1\r\nHost: " + host + b"\r\n" + key +
                              b"Connection: close\r\n\r\n", timeout=3)
            self.assertTrue(out.startswith(b"HTTP/1.1 400 "), (host, out[:200]))
        self.assertEqual(self.upstream.received(), [])

    # An HTTP/1.0 request may come without Host; it goes upstream as HTTP/1.1, which needs
    # one (RFC 9112 §3.2: empty when there is no authority), or Go and Node answer 400.
    def test_http10_request_without_host_gets_a_host_upstream(self):
        out = raw_request(self.gw.gateway_port, b"GET /v1/echo HTTP/1.0\r\n" + self.auth_line() + b"\r\n", timeout=3)
        self.assertTrue(out.startswith(b"HTTP/1.1 200 "), out[:200])
        self.assertIn("host", self.upstream.received()[0]["headers"])


class UpstreamFramingTest(ScriptedUpstreamCase):
    """The upstream is a ScriptedUpstream; each test sets self.answer(conn_no, req_no, head)."""

    def test_conflicting_or_invalid_response_framing_is_502_and_not_reused(self):
        chunked = b"Transfer-Encoding: chunked\r\n\r\n"
        bad = [
            b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
            b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
            b"Content-Length: 2\r\nContent-Length: 2\r\n\r\nhi",
            b"Content-Length: 2\r\nContent-Length: 5\r\n\r\nhihih",
            b"Content-Length: 2, 2\r\n\r\nhi",
            b"Content-Length: -1\r\n\r\nhi",
            b"Content-Length: 99999999999999999999999\r\n\r\nhi",
            b"Transfer-Encoding: gzip, chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
            b"Transfer-Encoding: identity\r\n\r\nhi",
            chunked + b"zz\r\nhi\r\n0\r\n\r\n",
            chunked + b"ffffffffffffffff1\r\nhi\r\n0\r\n\r\n",
            chunked + b"5\r\nhi\r\n0\r\n\r\n",
            chunked + b"2\r\nhi\r\n0\r\nContent-Length: 9\r\n\r\n",
            b"X-A: a\x00b\r\nContent-Length: 2\r\n\r\nhi",
        ]
        # Each connection's first answer is the bad one; anything after it on that connection
        # would be a forged answer to the next request, were the connection reused.
        for tail in bad:
            self.answer = lambda conn_no, req_no, head, tail=tail: (
                [b"HTTP/1.1 200 OK\r\n" + tail] if req_no == 0 else [ok(b"forged")])
            with self.connect() as s:
                s.sendall(self.req())
                status, headers, body, _ = read_response(s)
                self.assertEqual(status, 502, (tail, body))
                self.assertEqual(headers["content-type"], "application/json")
                self.assertIn(b'"error":"upstream_unavailable"', body)
                self.assertEqual(headers.get("connection"), "close")
        self.answer = lambda *_: [ok(b"fresh")]
        with self.connect() as s:
            s.sendall(self.req())
            self.assertEqual(read_response(s)[:3:2], (200, b"fresh"))
        self.assertEqual(self.upstream.connections, len(bad) + 1)
        events = self.gw.events(limit=100)
        self.assertEqual(len(events), len(bad) + 1)
        self.assertEqual([e["status"] for e in events], [200] + [502] * len(bad))

    def test_head_answer_with_transfer_encoding_does_not_wait_for_a_body(self):
        def answer(conn_no, req_no, head):
            if head.startswith(b"HEAD"):
                return [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"]
            return [ok(b"real")]
        self.answer = answer
        with self.connect() as s:
            t0 = time.time()
            s.sendall(self.req("HEAD"))
            status, headers, body, rest = read_response(s, head_request=True)
            self.assertEqual((status, rest), (200, b""))
            self.assertLess(time.time() - t0, 1.0)  # not the 1.5 s response timeout
            self.assertNotIn("transfer-encoding", headers)
            s.sendall(self.req())
            self.assertEqual(read_response(s)[:3:2], (200, b"real"))
        self.assertEqual([e["status"] for e in self.gw.events()], [200, 200])

    def test_response_head_split_byte_by_byte(self):
        def answer(conn_no, req_no, head):
            acts = []
            for b in ok(b"bytewise"):
                acts += [bytes([b]), 0.002]
            return acts
        self.answer = answer
        with self.connect() as s:
            s.sendall(self.req(extra=b"Connection: close\r\n"))
            self.assertEqual(read_response(s)[:3:2], (200, b"bytewise"))

    # RFC 9112 §6.1: an HTTP/1.0 response with Transfer-Encoding has faulty framing; its
    # connection is not reused, or what that upstream sends next could answer another request.
    def test_http10_chunked_response_connection_not_reused(self):
        self.answer = lambda conn_no, req_no, head: [
            b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"2\r\nc%d\r\n0\r\n\r\n" % conn_no]
        with self.connect() as s:
            for _ in range(2):
                s.sendall(self.req())
                self.assertEqual(read_response(s)[0], 200)
                time.sleep(0.1)
        self.assertEqual([(c, r) for c, r, _ in self.upstream.received()], [(0, 0), (1, 0)])

    # RFC 9110 §15: valid status codes are 100 to 599; Beast's parser takes any three digits
    # (it relayed "HTTP/1.1 99 Weird"). Anything else is a malformed answer: 502, audited so.
    def test_upstream_status_outside_100_to_599_is_502(self):
        for code in (b"099", b"000", b"600", b"999"):
            self.answer = lambda *_, code=code: [b"HTTP/1.1 " + code + b" Weird\r\nContent-Length: 2\r\n\r\nhi"]
            with self.connect() as s:
                s.sendall(self.req(extra=b"Connection: close\r\n"))
                out = read_until_close(s)
            self.assertTrue(out.startswith(b"HTTP/1.1 502 "), out[:200])
            self.assertEqual(self.gw.events()[0].get("status"), 502)


if __name__ == "__main__":
    unittest.main()
