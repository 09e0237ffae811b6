"""Adversarial edges of the admin API through the real binary: every malformed parameter of
/api/v1/events, /api/v1/events/{id}, /api/v1/proofs/inclusion and /api/v1/stats/* is a 400
JSON error naming the parameter (docs/OPERATIONS.md "Admin API errors"), never a 500, a crash
or a hang; methods, HEAD, tokens, bodies on GET, oversized heads and pipelining on the admin
listener. One server for the whole class (the cases only read); after every test the server
must still answer /healthz, and at the end its log must hold no handler failure.
Real binary, real upstream, 127.0.0.1 only."""
import json
import os
import shutil
import signal
import socket
import tempfile
import unittest
from urllib.parse import urlencode

from harness import (ADMIN_TOKEN, HOST, Apitrail, RecordingUpstream, http_request, wait_until)
from test_http_edges import _Prefixed, read_response

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


class AdminEdgesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="apitrail-admin-edges-")
        cls.upstream = RecordingUpstream()
        cls.gw = Apitrail(cls.root, cls.upstream.port)
        try:
            os.makedirs(cls.gw.data, exist_ok=True)
            key = cls.gw.create_key("alice", ["orders:read"])
            cls.gw.start()
            cls.gw.wait_key_active(key)
            auth = {"Authorization": f"Bearer {key}"}
            for i in range(5):
                assert cls.gw.request("GET", f"/v1/orders/{i}", auth)[0] == 200
            for _ in range(3):
                assert cls.gw.request("GET", "/v1/orders/9")[0] == 401
            assert cls.gw.request("GET", "/no/such/route", auth)[0] == 404
            # Admin queries are not recorded: these events stay the whole log for every test.
            cls.all = cls.gw.events(limit=1000)
            cls.size = len(cls.all)
            # A signed checkpoint covering everything so far (max_lag_ms defaults to 1 s).
            wait_until(lambda: cls.get(f"/api/v1/proofs/inclusion?seq={cls.size - 1}")[0] == 200,
                       timeout=10, what="a checkpoint covering the traffic")
        except BaseException:
            cls.gw.stop(signal.SIGKILL)
            cls.upstream.stop()
            shutil.rmtree(cls.root, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        alive = cls.gw.proc is not None and cls.gw.proc.poll() is None
        logs = cls.gw.logs()
        cls.gw.stop(signal.SIGKILL)
        cls.upstream.stop()
        shutil.rmtree(cls.root, ignore_errors=True)
        assert alive, "apitrail died during the admin edge cases: " + logs
        assert "the handler failed" not in logs, logs

    def tearDown(self):
        status, _, body = http_request(self.gw.admin_port, "GET", "/healthz", timeout=5)
        self.assertEqual((status, body), (200, b'{"status":"ok"}'), "the admin listener must still answer")

    # --- helpers ---------------------------------------------------------------------------

    @classmethod
    def get(cls, target, headers=None, method="GET", body=None):
        status, hdrs, data = http_request(cls.gw.admin_port, method, target,
                                          AUTH if headers is None else headers, body, timeout=10)
        return status, hdrs, data

    def json_get(self, target):
        status, hdrs, data = self.get(target)
        self.assertNotEqual(status, 500, (target, data))
        self.assertEqual(hdrs.get("content-type"), "application/json", target)
        return status, json.loads(data)

    def assert_bad(self, target, name):
        status, body = self.json_get(target)
        self.assertEqual(status, 400, (target, body))
        self.assertEqual(body["error"], "bad_request", (target, body))
        self.assertEqual(body.get("parameter"), name, (target, body))
        self.assertTrue(body["message"].startswith(name + ": "), (target, body))
        return body

    def assert_ok(self, target):
        status, body = self.json_get(target)
        self.assertEqual(status, 200, (target, body))
        return body

    def connect(self):
        s = socket.create_connection((HOST, self.gw.admin_port), timeout=5)
        return s

    @staticmethod
    def req(method, target, extra=b"", body=b"", token=ADMIN_TOKEN):
        head = f"{method} {target} HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {token}\r\n".encode()
        return head + extra + b"\r\n" + body

    # --- GET /api/v1/events ----------------------------------------------------------------

    def test_limit_out_of_range_or_not_a_plain_integer_is_400(self):
        for value in ("0", "-1", "1001", "1e3", "10.0", "0x10", "+5", " 5", "5 ", "", "ten",
                      "9" * 40, "18446744073709551617"):
            with self.subTest(limit=value):
                self.assert_bad("/api/v1/events?" + urlencode({"limit": value}), "limit")
        self.assert_bad("/api/v1/events?limit", "limit")  # no '=': an empty value
        self.assertEqual(len(self.assert_ok("/api/v1/events?limit=1")["events"]), 1)
        self.assertEqual(len(self.assert_ok("/api/v1/events?limit=1000")["events"]), self.size)
        self.assertEqual(len(self.assert_ok("/api/v1/events?limit=0003")["events"]), 3)

    def test_status_is_a_code_100_to_599_or_a_class_1xx_to_5xx(self):
        for value in ("600", "99", "099", "6xx", "0xx", "5x", "5xxx", "x5x", "50x", "-404", "4O4",
                      "", "5xx ", "404.0"):
            with self.subTest(status=value):
                self.assert_bad("/api/v1/events?" + urlencode({"status": value}), "status")
        # docs: "status (404 | 5xx)"; the class letter is case-insensitive.
        by_status = {}
        for e in self.all:
            by_status.setdefault(e.get("status"), []).append(e["seq"])
        for value, want in (("401", by_status.get(401, [])), ("4xx", sorted(
                by_status.get(401, []) + by_status.get(404, []), reverse=True)),
                ("4XX", sorted(by_status.get(401, []) + by_status.get(404, []), reverse=True)),
                ("5xx", []), ("599", []), ("100", [])):
            got = [e["seq"] for e in self.assert_ok("/api/v1/events?status=" + value)["events"]]
            self.assertEqual(got, want, value)
        self.assertEqual(len(by_status.get(401, [])), 3)

    def test_since_and_until_must_be_rfc3339_or_a_duration_ago(self):
        for name in ("since", "until"):
            for value in ("yesterday", "2026-01-01", "2026-01-01T00:00:00", "2026-13-01T00:00:00Z",
                          "2026-02-29T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T12:00:60Z",
                          "2026-01-01T00:00:00+24:00", "2026-01-01T00:00:00.Z", "3000-01-01T00:00:00Z",
                          "1600-01-01T00:00:00Z", "-5h", "999999999h", "1e3h", "5", "h", "5 h", "",
                          "24H", "1w", "+5h", "1.5h", "9223372036854775808s"):
                with self.subTest(**{name: value}):
                    self.assert_bad("/api/v1/events?" + urlencode({name: value}), name)
        # until before since names since; equal is an empty range, not an error.
        self.assert_bad("/api/v1/events?since=1h&until=2h", "since")
        self.assert_bad("/api/v1/events?since=2026-01-02T00:00:00Z&until=2026-01-01T23:59:59Z", "since")
        self.assertEqual(self.assert_ok("/api/v1/events?since=2026-01-01T00:00:00Z&until=2026-01-01T00:00:00Z")
                         ["events"], [])
        # Accepted forms: durations, offsets, a leap second, lower-case t/z, 9+ fraction digits.
        self.assertEqual(len(self.assert_ok("/api/v1/events?since=24h&limit=1000")["events"]), self.size)
        self.assertEqual(self.assert_ok("/api/v1/events?since=0h")["events"], [])  # from now on
        self.assertEqual(len(self.assert_ok("/api/v1/events?until=0s&limit=1000")["events"]), self.size)
        for value in ("2016-12-31T23:59:60Z", "2017-01-01T01:29:60+01:30", "2026-01-01t00:00:00z",
                      "2026-01-01T00:00:00.1234567891234Z", "2026-01-01T00:00:00-00:00", "106751d",
                      "1677-09-21T00:12:44Z", "2262-04-11T23:47:16Z"):
            with self.subTest(ok=value):
                self.assert_ok("/api/v1/events?" + urlencode({"since": value}))
        # A '+' in a query is a space (form encoding): an unencoded offset is refused, naming since.
        body = self.assert_bad("/api/v1/events?since=2026-01-01T00:00:00+02:00", "since")
        self.assertIn("2026-01-01T00:00:00 02:00", body["message"])
        self.assert_ok("/api/v1/events?since=2026-01-01T00:00:00%2B02:00")

    def test_resource_is_name_equals_value(self):
        for value in ("order_id", "=42", "", "%"):
            with self.subTest(resource=value):
                self.assert_bad("/api/v1/events?" + urlencode({"resource": value}), "resource")
        # The first '=' splits: "a=b=c" is the resource a with the value "b=c" (none here).
        self.assertEqual(self.assert_ok("/api/v1/events?resource=order_id%3D4%3D4")["events"], [])
        # Percent-encoded in any part (name, '=', value) is the same resource.
        for target in ("/api/v1/events?resource=order_id%3D4", "/api/v1/events?resource=%6Frder%5Fid=%34",
                       "/api/v1/events?%72esource=order_id=4"):
            got = self.assert_ok(target)["events"]
            self.assertEqual([e["resources"] for e in got], [{"order_id": "4"}], target)
        # Values are capped at 1024 bytes (a 1024-byte one is a lookup, a 1025-byte one a 400).
        self.assertEqual(self.assert_ok("/api/v1/events?resource=order_id=" + "4" * 1015)["events"], [])
        body = self.assert_bad("/api/v1/events?resource=order_id=" + "4" * 1016, "resource")
        self.assertIn("too long", body["message"])

    def test_an_empty_text_filter_is_refused_not_silently_empty(self):
        # No index keeps postings for an empty field, so "subject=" matched nothing, silently,
        # though the anonymous events (the 401s here) have exactly that subject: a 400 instead.
        for name in ("subject", "route", "method", "client_ip", "correlation_id", "trace_id",
                     "decision", "cursor"):
            with self.subTest(name=name):
                body = self.assert_bad(f"/api/v1/events?{name}=", name)
                self.assertNotIn("unknown", body["message"])
                self.assert_bad(f"/api/v1/events?{name}", name)

    def test_repeated_and_unknown_parameters_are_refused(self):
        for target, name in [("/api/v1/events?subject=a&subject=b", "subject"),
                             ("/api/v1/events?subject=a&subject=a", "subject"),
                             ("/api/v1/events?limit=1&lim%69t=2", "limit"),  # same name once decoded
                             ("/api/v1/events?cursor=5&cursor=6", "cursor"),
                             ("/api/v1/events?since=1h&since=1h", "since")]:
            body = self.assert_bad(target, name)
            self.assertEqual(body["message"], name + ": given more than once")
        for target, name in [("/api/v1/events?colour=red", "colour"), ("/api/v1/events?Subject=alice", "Subject"),
                             ("/api/v1/events?subject%20=alice", "subject "), ("/api/v1/events?=alice", ""),
                             ("/api/v1/events?offset=10", "offset"), ("/api/v1/events?page=2", "page")]:
            body = self.assert_bad(target, name)
            self.assertIn("unknown parameter", body["message"])
        # Empty pairs ("&&", a trailing "&" or "?") are not parameters.
        self.assertEqual(len(self.assert_ok("/api/v1/events?&&limit=2&")["events"]), 2)
        self.assert_ok("/api/v1/events?")
        # At most 64 parameters.
        status, body = self.json_get("/api/v1/events?" + "&".join(f"p{i}=1" for i in range(65)))
        self.assertEqual((status, body["error"]), (400, "bad_request"))

    def test_a_cursor_is_a_seq_returned_by_the_api(self):
        for value in ("abc", "-1", "eyJzZXEiOjF9", "eyJzZXEiOjF9==", "1x", "0x10", "1.0", " 1",
                      "99999999999999999999", "9223372036854775808", "%"):
            with self.subTest(cursor=value):
                self.assert_bad("/api/v1/events?" + urlencode({"cursor": value}), "cursor")
        # Paging with limit=2 visits every event once, newest first.
        seen, cursor = [], None
        for _ in range(50):
            body = self.assert_ok("/api/v1/events?limit=2" + (f"&cursor={cursor}" if cursor else ""))
            seen += [e["seq"] for e in body["events"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        self.assertEqual(seen, list(range(self.size - 1, -1, -1)))
        # A cursor from another filter set still means "older than this seq" for the new one.
        first = self.assert_ok("/api/v1/events?limit=3")
        body = self.assert_ok(f"/api/v1/events?status=401&cursor={first['next_cursor']}")
        self.assertTrue(all(e["seq"] < int(first["next_cursor"]) and e["status"] == 401 for e in body["events"]))
        # Forged but well-formed cursors: 0 is an empty page, beyond the log is the whole log.
        self.assertEqual(self.assert_ok("/api/v1/events?cursor=0"), {"events": [], "next_cursor": None})
        for value in (str(self.size), "9223372036854775807"):
            self.assertEqual(len(self.assert_ok(f"/api/v1/events?limit=1000&cursor={value}")["events"]), self.size)

    def test_nul_bytes_and_invalid_utf8_are_values_like_any_other(self):
        for target in ("/api/v1/events?subject=%00", "/api/v1/events?subject=alice%00",
                       "/api/v1/events?subject=%FF%FE", "/api/v1/events?route=%C0%AF",
                       "/api/v1/events?resource=%00=%00", "/api/v1/events?correlation_id=%ED%A0%80",
                       "/api/v1/events?client_ip=127.0.0.1%00"):
            self.assertEqual(self.assert_ok(target)["events"], [], target)
        # As a name they are echoed as valid JSON (U+FFFD for bytes that are not UTF-8).
        self.assertEqual(self.assert_bad("/api/v1/events?%FF=1", "\ufffd")["error"], "bad_request")
        self.assert_bad("/api/v1/events?a%00b=1", "a\x00b")
        # A name of 100 continuation bytes, cut at 64: still a (replacement-character) name,
        # not an empty one.
        body = self.assert_bad("/api/v1/events?" + "%80" * 100 + "=1", "\ufffd" * 64)
        self.assertLess(len(body["message"]), 400)
        # Raw (unencoded) non-ASCII and control bytes in the target are a malformed target.
        with self.connect() as s:
            s.sendall(b"GET /api/v1/events?subject=\xff\xfe HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer "
                      + ADMIN_TOKEN.encode() + b"\r\n\r\n")
            status, headers, data, _ = read_response(s)
        self.assertEqual(status, 400, data)
        self.assertEqual(json.loads(data)["error"], "bad_request")

    def test_a_malformed_percent_encoding_names_the_parameter(self):
        for target, name in [("/api/v1/events?subject=%zz", "subject"), ("/api/v1/events?subject=al%", "subject"),
                             ("/api/v1/events?limit=1&route=%4", "route"),
                             ("/api/v1/stats/top?dim=route&k=%G1", "k"),
                             ("/api/v1/proofs/inclusion?seq=%%30", "seq")]:
            body = self.assert_bad(target, name)
            self.assertIn("percent", body["message"])
        # A malformed name cannot be decoded: it is echoed as sent.
        body = self.assert_bad("/api/v1/events?su%zzbject=a", "su%zzbject")
        self.assertIn("percent", body["message"])

    def test_an_overlong_target_or_header_is_refused_and_the_listener_goes_on(self):
        # The admin listener reads at most 16 KiB of head (request line + headers): 431.
        for target, extra in (("/api/v1/events?subject=" + "a" * 20000, b""),
                              ("/api/v1/events", b"X-Filler: " + b"f" * 20000 + b"\r\n"),
                              ("/api/v1/events", b"".join(b"X-H%d: v\r\n" % i for i in range(3000)))):
            with self.connect() as s:
                s.sendall(self.req("GET", target, extra))
                status, headers, data, _ = read_response(s)
            self.assertEqual(status, 431, data[:200])
            self.assertEqual(json.loads(data)["error"], "bad_request")
            self.assertEqual(headers.get("connection"), "close")
        # Just under the limit is an answer (a value over 1024 bytes: the usual 400).
        self.assert_bad("/api/v1/events?subject=" + "a" * 15000, "subject")

    # --- GET /api/v1/events/{id} -----------------------------------------------------------

    def test_event_by_id_malformed_absent_and_traversal(self):
        real = self.all[0]["id"]
        self.assertEqual(self.assert_ok("/api/v1/events/" + real)["id"], real)
        # RFC 9562 §4: a UUID's hex digits are case-insensitive on input.
        self.assertEqual(self.assert_ok("/api/v1/events/" + real.upper())["id"], real)
        absent = "01890000-0000-7000-8000-000000000000"
        for segment in (absent, "not-an-id", "x" * 65, "x" * 5000, real + "0", real[:-1], "%00",
                        real.replace("-", ""), "..", "%2E%2E", "%2F..%2F..%2Fetc%2Fpasswd",
                        "..%2F" + real, real + "%2F", "%20" + real, real + "%00", "%C0%AF", "%FF"):
            with self.subTest(id=segment[:80]):
                status, body = self.json_get("/api/v1/events/" + segment)
                self.assertEqual(status, 404, body)
                self.assertEqual(body["error"], "not_found")
        for segment in ("%zz", "%", "ab%4", real + "%G0"):
            with self.subTest(id=segment):
                status, body = self.json_get("/api/v1/events/" + segment)
                self.assertEqual((status, body["error"]), (400, "bad_request"), body)
        # Real dot segments and slashes: another path, not this endpoint's id.
        for target in ("/api/v1/events/../../etc/passwd", "/api/v1/events/" + real + "/proof",
                       "/api/v1/events/", "/api/v1/events//" + real):
            status, body = self.json_get(target)
            self.assertEqual((status, body["error"]), (404, "not_found"), target)
        # The id takes no parameters.
        self.assert_bad(f"/api/v1/events/{real}?limit=1", "limit")

    # --- /api/v1/proofs/inclusion ----------------------------------------------------------

    def test_inclusion_proof_parameters(self):
        for value in ("abc", "-1", "1.0", "1e2", "", "+1", " 1", "0x1", "18446744073709551616", "9" * 30):
            with self.subTest(seq=value):
                self.assert_bad("/api/v1/proofs/inclusion?" + urlencode({"seq": value}), "seq")
                self.assert_bad("/api/v1/proofs/inclusion?" + urlencode({"seq": "0", "size": value}), "size")
        self.assert_bad("/api/v1/proofs/inclusion", "seq")
        self.assert_bad("/api/v1/proofs/inclusion?size=5", "seq")
        self.assert_bad("/api/v1/proofs/inclusion?seq=5&size=5", "seq")  # seq must be below size
        self.assert_bad("/api/v1/proofs/inclusion?seq=5&size=3", "seq")
        self.assert_bad("/api/v1/proofs/inclusion?seq=0&size=0", "seq")
        self.assert_bad("/api/v1/proofs/inclusion?seq=0&seq=0", "seq")
        self.assert_bad("/api/v1/proofs/inclusion?seq=0&limit=1", "limit")
        # Beyond the tree, or a size no checkpoint has: 404 no_checkpoint.
        for target in (f"/api/v1/proofs/inclusion?seq={self.size + 1000}", "/api/v1/proofs/inclusion?seq=18446744073709551615",
                       "/api/v1/proofs/inclusion?seq=9223372036854775807",
                       "/api/v1/proofs/inclusion?seq=0&size=18446744073709551615",
                       f"/api/v1/proofs/inclusion?seq=0&size={self.size + 1000}"):
            status, body = self.json_get(target)
            self.assertEqual((status, body["error"]), (404, "no_checkpoint"), (target, body))
        body = self.assert_ok(f"/api/v1/proofs/inclusion?seq={self.size - 1}")
        self.assertEqual(body["leaf_index"], self.size - 1)
        self.assertEqual(self.assert_ok(f"/api/v1/proofs/inclusion?seq=0&size={body['tree_size']}")["leaf_index"], 0)

    # --- /api/v1/stats ---------------------------------------------------------------------

    def test_stats_bad_dim_metric_step_and_k(self):
        for params, name in [({}, "dim"), ({"dim": ""}, "dim"), ({"dim": "ROUTE"}, "dim"), ({"dim": "route "}, "dim"),
                             ({"dim": "route", "k": "0"}, "k"), ({"dim": "route", "k": "-1"}, "k"),
                             ({"dim": "route", "k": "1e1"}, "k"), ({"dim": "route", "k": ""}, "k"),
                             ({"dim": "route", "k": "4294967297"}, "k"), ({"dim": "route", "k": "+3"}, "k"),
                             ({"dim": "route", "metric": ""}, "metric"), ({"dim": "route", "metric": "Errors"}, "metric"),
                             ({"dim": "route", "step": "1m"}, "step"), ({"dim": "route", "since": "0h"}, "since"),
                             ({"dim": "route", "since": "32d"}, "since"), ({"dim": "route", "until": "x"}, "until")]:
            with self.subTest(top=params):
                self.assert_bad("/api/v1/stats/top?" + urlencode(params), name)
        for params, name in [({}, "metric"), ({"metric": "requests", "step": "60s"}, "step"),
                             ({"metric": "requests", "step": "1M"}, "step"), ({"metric": "requests", "step": ""}, "step"),
                             ({"metric": "requests", "step": "0m"}, "step"), ({"metric": "requests", "step": "2d"}, "step"),
                             ({"metric": "requests", "k": "5"}, "k"), ({"metric": "requests", "dim": "route"}, "dim"),
                             ({"metric": "requests", "step": "1m", "since": "8d"}, "step")]:
            with self.subTest(series=params):
                self.assert_bad("/api/v1/stats/series?" + urlencode(params), name)
        top = self.assert_ok("/api/v1/stats/top?dim=subject&k=1000&since=1h")
        self.assertEqual(top["items"][0]["key"], "alice")
        self.assertEqual(self.assert_ok("/api/v1/stats/series?metric=requests&step=1d&since=31d")["step_seconds"], 86400)
        for path in ("/api/v1/stats/", "/api/v1/stats/top/", "/api/v1/stats/TOP", "/api/v1/stats/topx"):
            status, body = self.json_get(path + "?dim=route")
            self.assertEqual((status, body["error"]), (404, "not_found"), path)

    def test_stats_range_near_the_limits_of_time_names_the_parameter(self):
        # Valid times, but so close to what int64 nanoseconds hold that widening the range
        # to whole minutes (or days) would overflow: the rollups refuse them, and the answer
        # must still say which parameter.
        for endpoint, params, name in [
                ("top", {"dim": "route", "since": "2262-04-10T00:00:00Z", "until": "2262-04-11T00:00:00Z"}, "until"),
                ("series", {"metric": "errors", "step": "1h", "since": "2262-04-10T00:00:00Z",
                            "until": "2262-04-11T23:47:16Z"}, "until"),
                ("top", {"dim": "route", "since": "1677-09-21T00:12:44Z", "until": "1677-09-22T00:00:00Z"}, "since"),
                ("series", {"metric": "errors", "step": "1d", "since": "1677-09-22T00:00:00Z",
                            "until": "1677-09-23T00:00:00Z"}, "since")]:
            with self.subTest(endpoint=endpoint, params=params):
                self.assert_bad(f"/api/v1/stats/{endpoint}?" + urlencode(params), name)
        # Well inside the limits: an answer, even if empty.
        body = self.assert_ok("/api/v1/stats/top?dim=route&since=2262-03-01T00:00:00Z&until=2262-03-02T00:00:00Z")
        self.assertEqual(body["items"], [])

    # --- methods, HEAD, tokens ---------------------------------------------------------------

    def test_methods_other_than_get_and_head_are_405_with_allow(self):
        for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT_X"):
            for path in ("/api/v1/events", "/api/v1/events/" + self.all[0]["id"], "/metrics",
                         "/api/v1/proofs/inclusion?seq=0", "/api/v1/stats/top?dim=route", "/healthz"):
                with self.subTest(method=method, path=path):
                    status, hdrs, data = self.get(path, method=method, body=b"{}" if method == "POST" else None)
                    self.assertEqual(status, 405, data)
                    self.assertEqual(hdrs.get("allow"), "GET, HEAD")
                    self.assertEqual(json.loads(data)["error"], "method_not_allowed")
        # Without a token the answer is 401 whatever the method (no probing of what exists).
        status, _, _ = self.get("/api/v1/events", headers={}, method="DELETE")
        self.assertEqual(status, 401)

    def test_head_answers_the_get_head_without_a_body(self):
        # Before the fix the body followed the head, and the next response on the connection
        # began with it.
        for target in ("/api/v1/events?limit=3", "/api/v1/events?limit=0", "/metrics", "/healthz",
                       "/api/v1/nothing"):
            with self.subTest(target=target), self.connect() as s:
                get_status, get_headers, _, _ = self._one(s, "GET", target)
                s.sendall(self.req("HEAD", target))
                status, headers, _, rest = read_response(s, head_request=True)
                self.assertEqual(status, get_status, target)
                if target != "/metrics":  # its counters move between two requests
                    self.assertEqual(headers.get("content-length"), get_headers.get("content-length"), target)
                self.assertGreater(int(headers.get("content-length")), 0, target)
                # Nothing may follow the head: the next answer on this connection starts clean.
                s.sendall(self.req("GET", "/healthz"))
                after = read_response(_Prefixed(s, rest))
                self.assertEqual((after[0], after[2]), (200, b'{"status":"ok"}'), after)

    def _one(self, s, method, target):
        s.sendall(self.req(method, target))
        return read_response(s)

    def test_admin_token_checks(self):
        for headers in ({}, {"Authorization": ""}, {"Authorization": "Bearer"}, {"Authorization": "Bearer "},
                        {"Authorization": ADMIN_TOKEN}, {"Authorization": "Basic " + ADMIN_TOKEN},
                        {"Authorization": "Bearer " + ADMIN_TOKEN[:-1]}, {"Authorization": "Bearer " + ADMIN_TOKEN + "x"},
                        {"Authorization": "Bearer " + ADMIN_TOKEN.upper()}, {"Authorization": "Bearer\t" + ADMIN_TOKEN},
                        {"Authorization": "Bearer " + ADMIN_TOKEN + " " + ADMIN_TOKEN},
                        {"Authorization": "Token " + ADMIN_TOKEN}, {"X-Admin-Token": ADMIN_TOKEN},
                        {"Cookie": "token=" + ADMIN_TOKEN}):
            with self.subTest(headers=headers):
                status, hdrs, data = self.get("/api/v1/events?limit=1", headers=headers)
                self.assertEqual(status, 401, data)
                self.assertEqual(json.loads(data)["error"], "unauthorized")
                self.assertEqual(hdrs.get("www-authenticate"), 'Bearer realm="apitrail-admin"')
        # A token in the query string is not a credential (and is an unknown parameter once in).
        status, _, _ = self.get(f"/api/v1/events?access_token={ADMIN_TOKEN}", headers={})
        self.assertEqual(status, 401)
        for scheme in ("bearer", "BEARER", "bEaReR", "Bearer  "):
            with self.subTest(scheme=scheme):
                self.assertEqual(self.get("/api/v1/events?limit=1", {"Authorization": f"{scheme} {ADMIN_TOKEN}"})[0], 200)
        # 401 comes before 404 and before parameter checks.
        self.assertEqual(self.get("/api/v1/nothing", headers={})[0], 401)
        self.assertEqual(self.get("/api/v1/events?limit=0", headers={})[0], 401)

    # --- bodies, pipelining -----------------------------------------------------------------

    def test_a_body_on_get_is_read_and_ignored_up_to_the_limit(self):
        with self.connect() as s:
            s.sendall(self.req("GET", "/api/v1/events?limit=1", b"Content-Length: 11\r\n", b"hello world"))
            status, _, data, rest = read_response(s)
            self.assertEqual(status, 200, data)
            s.sendall(self.req("GET", "/api/v1/events?limit=2", b"Transfer-Encoding: chunked\r\n",
                               b"5\r\nhello\r\n0\r\n\r\n"))
            status, _, data, rest = read_response(_Prefixed(s, rest))
            self.assertEqual((status, len(json.loads(data)["events"])), (200, 2))
            # The connection is still in step: neither body was taken for a request.
            self.assertEqual(rest, b"")
            self.assertEqual(self._one(s, "GET", "/healthz")[:3:2], (200, b'{"status":"ok"}'))
        # Over the admin listener's 1 MiB body limit (by its Content-Length): 413, then closed.
        with self.connect() as s:
            s.sendall(self.req("GET", "/api/v1/events", b"Content-Length: 2000000\r\n"))
            status, headers, data, _ = read_response(s)
            self.assertEqual(status, 413, data)
            self.assertEqual(headers.get("connection"), "close")
        # With a wrong token the body is read all the same, then the answer is a 401.
        with self.connect() as s:
            s.sendall(self.req("POST", "/api/v1/events", b"Content-Length: 5\r\n", b"hello", token="nope" * 5))
            self.assertEqual(read_response(s)[0], 401)

    def test_pipelined_requests_are_answered_in_order(self):
        real = self.all[0]["id"]
        batch = (self.req("GET", "/api/v1/events?limit=1") + self.req("GET", "/api/v1/events?limit=0")
                 + self.req("HEAD", "/api/v1/events?limit=2") + self.req("DELETE", "/api/v1/events")
                 + self.req("GET", "/api/v1/events/" + real) + self.req("GET", "/healthz", token="wrong-token-000000")
                 + self.req("GET", "/api/v1/events?limit=1", token="wrong-token-000000")
                 + self.req("GET", "/api/v1/proofs/inclusion?seq=x"))
        with self.connect() as s:
            s.sendall(batch)
            rest = b""
            statuses = []
            for i in range(8):
                status, headers, data, rest = read_response(_Prefixed(s, rest), head_request=(i == 2))
                statuses.append(status)
                if i == 4:
                    self.assertEqual(json.loads(data)["id"], real)
            self.assertEqual(statuses, [200, 400, 200, 405, 200, 200, 401, 400])
            self.assertEqual(rest, b"")
        # 200 pipelined requests in one write, then the connection is still usable.
        with self.connect() as s:
            s.sendall(self.req("GET", "/api/v1/events?limit=1") * 200)
            rest = b""
            for _ in range(200):
                status, _, _, rest = read_response(_Prefixed(s, rest))
                self.assertEqual(status, 200)
            self.assertEqual(self._one(s, "GET", "/healthz")[0], 200)

    def test_malformed_heads_and_targets_are_json_400s(self):
        for raw in (b"GET /api/v1/events HTTP/1.1\r\nHost: a\r\nAuthorization Bearer x\r\n\r\n",
                    b"GET * HTTP/1.1\r\nHost: a\r\n\r\n",
                    b"GET /api/v1/events?a=%zz HTTP/1.1\r\nHost: a\r\n\r\n",
                    b"GET /api/v1/events HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx",
                    b"GET /api/v1/events HTTP/9.9\r\nHost: a\r\n\r\n"):
            with self.subTest(raw=raw[:60]), self.connect() as s:
                s.sendall(raw)
                status, _, data, _ = read_response(s)
                self.assertEqual(status, 400, data)
                self.assertEqual(json.loads(data)["error"], "bad_request")


if __name__ == "__main__":
    unittest.main()
