"""Rollups end to end: requests through the real gateway, then GET /api/v1/stats/top and
/series answer the same counts as the events themselves; bad parameters are 400s naming the
parameter; no token is a 401; restarts (clean and kill -9) count nothing twice; the
`apitrail stats` CLI prints the same. Real binary, real upstream, 127.0.0.1 only."""
import collections
import json
import os
import signal
import unittest
from urllib.parse import urlencode

from harness import GatewayTestCase, all_events, run_cli, ADMIN_TOKEN


class StatsTest(GatewayTestCase):
    def traffic(self):
        bob = self.gw.create_key("bob", ["orders:write"])
        self.gw.wait_key_active(bob)
        for i in range(5):
            self.assertEqual(self.gw.request("GET", "/v1/orders/1", self.auth())[0], 200)
        for i in range(3):
            self.assertEqual(self.gw.request("GET", "/v1/orders/2", self.auth())[0], 200)
        for i in range(2):
            self.assertEqual(self.gw.request("POST", "/v1/orders", {"Authorization": f"Bearer {bob}"}, b"{}")[0], 200)
        for i in range(3):
            self.assertEqual(self.gw.request("GET", "/v1/orders/7")[0], 401)
        for i in range(2):  # slower than upstream_response_timeout_ms (1500): 504
            self.assertEqual(self.gw.request("GET", "/slow?d=2.5", self.auth())[0], 504)

    def top(self, **params):
        status, body = self.gw.admin("/api/v1/stats/top?" + urlencode(params))
        self.assertEqual(status, 200, body)
        return body

    def series(self, **params):
        status, body = self.gw.admin("/api/v1/stats/series?" + urlencode(params))
        self.assertEqual(status, 200, body)
        return body

    def traffic_events(self):
        """What rollups count: HTTP requests (not admin events such as KEYS create, and not
        the intent half of a durability: strict pair)."""
        return [e for e in all_events(self.gw) if e.get("kind") == "http" and e.get("phase") != "intent"]

    def expected(self, field, pred=lambda e: True):
        events = self.traffic_events()
        return collections.Counter(e.get(field, "") for e in events if pred(e)), events

    def route_counts(self, route):
        events = [e for e in self.traffic_events() if e.get("route") == route]
        return {"key": route, "requests": len(events),
                "errors": sum(1 for e in events if e.get("status", 0) >= 500),
                "client_errors": sum(1 for e in events if 400 <= e.get("status", 0) < 500),
                "denied": sum(1 for e in events if e.get("decision") == "deny")}

    def check_counts(self):
        for dim in ("route", "subject", "client_ip"):
            want, events = self.expected(dim)
            body = self.top(dim=dim, k=100, since="1h")
            got = {item["key"]: item["requests"] for item in body["items"]}
            self.assertEqual(got, dict(want), dim)
            self.assertEqual(body["total"], len(events))
            self.assertEqual(body["other"]["requests"], 0)
        errors, _ = self.expected("route", lambda e: e.get("status", 0) >= 500)
        body = self.top(dim="route", metric="errors", since="1h")
        self.assertEqual({i["key"]: i["errors"] for i in body["items"]}, dict(errors))
        self.assertEqual(sum(errors.values()), 2)
        denied, _ = self.expected("subject", lambda e: e.get("decision") == "deny")
        body = self.top(dim="subject", metric="denied", since="1h")
        self.assertEqual({i["key"]: i["denied"] for i in body["items"]}, dict(denied))
        self.assertGreaterEqual(sum(denied.values()), 3)  # 3 here, more while bob's key loaded
        # Per minute: every point sums to the totals, each minute within the range.
        _, events = self.expected("route")
        for metric, want in (("requests", len(events)), ("errors", 2),
                             ("denied", sum(1 for e in events if e.get("decision") == "deny")),
                             ("client_errors", sum(1 for e in events if 400 <= e.get("status", 0) < 500))):
            body = self.series(metric=metric, step="1m", since="1h")
            self.assertEqual(body["total"], want, metric)
            self.assertEqual(sum(p["value"] for p in body["points"]), want)
            self.assertEqual(body["step_seconds"], 60)
            self.assertIn(len(body["points"]), (60, 61))

    def test_top_and_series_match_the_events_and_survive_restarts(self):
        self.traffic()
        # The writer counts after the group commit: the answer is there once the events are.
        ranked = self.top(dim="route", k=1, since="1h")
        self.assertEqual(ranked["items"][0], self.route_counts("GET /v1/orders/{order_id}"))
        self.check_counts()
        # A clean restart persists and reloads; a kill -9 rebuilds from the log.
        self.assertEqual(self.gw.stop(signal.SIGTERM), 0)
        self.gw.start()
        self.check_counts()
        # Newer records than the files (persist_interval_ms is 60 s), then kill -9: the restart
        # counts exactly those from the log, on top of the files.
        for i in range(4):
            self.assertEqual(self.gw.request("GET", "/v1/orders/3", self.auth())[0], 200)
        self.check_counts()
        self.gw.kill9()
        self.gw.start()
        self.check_counts()
        self.assertEqual(self.top(dim="route", k=1, since="1h")["items"][0],
                         self.route_counts("GET /v1/orders/{order_id}"))

    def test_damaged_rollup_files_are_reported_and_rebuilt_from_the_log(self):
        self.traffic()
        self.check_counts()
        self.assertEqual(self.gw.stop(signal.SIGTERM), 0)
        rollups = os.path.join(self.gw.data, "rollups")
        files = sorted(f for f in os.listdir(rollups) if f.endswith(".rollup"))
        self.assertTrue(files)
        for name in files:
            path = os.path.join(rollups, name)
            with open(path, "r+b") as f:
                f.seek(40)
                b = f.read(1)
                f.seek(40)
                f.write(bytes([b[0] ^ 0x5A]))
        self.gw.start()
        self.check_counts()
        logs = self.gw.logs()
        for name in files:
            self.assertIn(name, logs)
            self.assertTrue(os.path.exists(os.path.join(rollups, name + ".corrupt")))
        self.assertIn("rebuilt from the log", logs)

    def test_cli_prints_the_same_counts(self):
        self.traffic()
        common = ["--admin", f"127.0.0.1:{self.gw.admin_port}", "--token", ADMIN_TOKEN, "--since", "1h"]
        r = run_cli("stats", "top", "--dim", "route", *common)
        self.assertEqual(r.returncode, 0, r.stderr)
        line = [l for l in r.stdout.splitlines() if l.endswith("GET /v1/orders/{order_id}")]
        self.assertEqual(len(line), 1, r.stdout)
        want = self.route_counts("GET /v1/orders/{order_id}")
        self.assertEqual(line[0].split()[:4], [str(want[k]) for k in ("requests", "errors", "client_errors", "denied")])
        self.assertGreaterEqual(want["requests"], 11)
        r = run_cli("stats", "series", "--metric", "errors", "--json", *common)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["total"], 2)
        r = run_cli("stats", "top", "--dim", "nope", *common)
        self.assertEqual(r.returncode, 2)
        self.assertIn('"parameter":"dim"', r.stderr)

    def test_bad_parameters_are_400_naming_the_parameter(self):
        cases = [
            ("top", {}, "dim"),
            ("top", {"dim": "path"}, "dim"),
            ("top", {"dim": "route", "k": "0"}, "k"),
            ("top", {"dim": "route", "k": "1001"}, "k"),
            ("top", {"dim": "route", "k": "ten"}, "k"),
            ("top", {"dim": "route", "metric": "latency"}, "metric"),
            ("top", {"dim": "route", "since": "yesterday"}, "since"),
            ("top", {"dim": "route", "until": "2026-13-01T00:00:00Z"}, "until"),
            ("top", {"dim": "route", "until": "3000-01-01T00:00:00Z"}, "until"),
            ("top", {"dim": "route", "since": "2026-02-30T00:00:00Z"}, "since"),
            ("series", {"metric": "requests", "since": "0001-01-01T00:00:00Z"}, "since"),
            ("top", {"dim": "route", "since": "40d"}, "since"),
            # until - since beyond int64 ns: must not wrap past the 31-day limit.
            ("top", {"dim": "route", "since": "1678-01-01T00:00:00Z", "until": "2261-12-31T00:00:00Z"}, "since"),
            ("series", {"metric": "requests", "step": "1d", "since": "1678-01-01T00:00:00Z",
                        "until": "2261-12-31T00:00:00Z"}, "since"),
            ("top", {"dim": "route", "since": "1h", "until": "2h"}, "since"),
            ("top", {"dim": "route", "limit": "5"}, "limit"),
            ("series", {}, "metric"),
            ("series", {"metric": "requests", "step": "7m"}, "step"),
            ("series", {"metric": "requests", "step": "1m", "since": "30d"}, "step"),
            ("series", {"metric": "bogus"}, "metric"),
        ]
        for endpoint, params, name in cases:
            status, body = self.gw.admin(f"/api/v1/stats/{endpoint}?" + urlencode(params))
            self.assertEqual(status, 400, (endpoint, params, body))
            self.assertEqual(body["error"], "bad_request")
            self.assertEqual(body["parameter"], name, (endpoint, params, body))
            self.assertIn(name, body["message"])
        # 30 days of hours is fine.
        status, body = self.gw.admin("/api/v1/stats/series?metric=errors&step=1h&since=30d")
        self.assertEqual(status, 200, body)
        self.assertIn(len(body["points"]), (720, 721))

    def test_the_bearer_scheme_is_case_insensitive(self):
        for scheme in ("BEARER", "bearer", "bEaReR"):
            status, _, _ = self.gw.request("GET", "/api/v1/stats/top?dim=route",
                                           {"Authorization": f"{scheme} {ADMIN_TOKEN}"}, port=self.gw.admin_port)
            self.assertEqual(status, 200, scheme)

    def test_admin_token_is_required(self):
        for path in ("/api/v1/stats/top?dim=route", "/api/v1/stats/series?metric=requests"):
            status, body = self.gw.admin(path, token=None)
            self.assertEqual(status, 401)
            status, body = self.gw.admin(path, token="wrong-token-0123456789abcdef")
            self.assertEqual(status, 401)


class AdminParameterRulesTest(GatewayTestCase):
    """The parameter rules every admin endpoint shares (docs/OPERATIONS.md "Admin API
    errors"): a bad parameter is a 400 {"error":"bad_request","parameter":NAME,"message":"NAME: …"}."""

    def assert_bad(self, target, name):
        status, body = self.gw.admin(target)
        self.assertEqual(status, 400, (target, body))
        self.assertEqual(body["error"], "bad_request", (target, body))
        self.assertEqual(body["parameter"], name, (target, body))
        self.assertTrue(body["message"].startswith(name + ": "), (target, body))

    def test_every_endpoint_names_the_bad_parameter_the_same_way(self):
        for target, name in [
            ("/api/v1/events?limit=5000", "limit"),
            ("/api/v1/events?colour=red", "colour"),
            ("/api/v1/events?until=3000-01-01T00:00:00Z", "until"),
            ("/api/v1/events?since=2026-02-30T00:00:00Z", "since"),
            ("/api/v1/proofs/inclusion?seq=x", "seq"),
            ("/api/v1/proofs/inclusion", "seq"),
            ("/api/v1/stats/top?dim=nope", "dim"),
        ]:
            self.assert_bad(target, name)

    def test_unknown_parameters_are_refused_on_every_endpoint(self):
        self.assertEqual(self.gw.request("GET", "/v1/orders/1", self.auth())[0], 200)
        event_id = self.gw.events(limit=1)[0]["id"]
        self.assertEqual(self.gw.admin(f"/api/v1/events/{event_id}")[0], 200)
        for target, name in [
            ("/api/v1/events?colour=red", "colour"),
            (f"/api/v1/events/{event_id}?fields=all", "fields"),
            ("/api/v1/proofs/inclusion?seq=0&szie=5", "szie"),
            ("/api/v1/stats/top?dim=route&limit=5", "limit"),
        ]:
            self.assert_bad(target, name)

    def test_an_event_id_is_percent_decoded(self):
        self.assertEqual(self.gw.request("GET", "/v1/orders/1", self.auth())[0], 200)
        event_id = self.gw.events(limit=1)[0]["id"]
        status, body = self.gw.admin("/api/v1/events/" + event_id.replace("-", "%2D"))
        self.assertEqual((status, body["id"]), (200, event_id))
        status, body = self.gw.admin("/api/v1/events/" + event_id[:-2] + "%zz")
        self.assertEqual(status, 400, body)

    def test_a_long_parameter_name_is_echoed_cut_to_64_bytes(self):
        name = "n" * 5000
        for target in (f"/api/v1/events?{name}={'v' * 2000}", f"/api/v1/stats/top?dim=route&{name}=1",
                       f"/api/v1/proofs/inclusion?seq=0&{name}=1"):
            status, body = self.gw.admin(target)
            self.assertEqual(status, 400, target[:80])
            self.assertEqual(body["parameter"], "n" * 64)
            self.assertLess(len(body["message"]), 200)

    def test_a_repeated_parameter_is_refused_not_last_one_wins(self):
        for target, name in [
            ("/api/v1/events?limit=1&limit=1000", "limit"),
            ("/api/v1/events?subject=a&subject=b", "subject"),
            ("/api/v1/proofs/inclusion?seq=0&seq=1", "seq"),
            ("/api/v1/stats/top?dim=route&k=1&k=5", "k"),
            ("/api/v1/stats/series?metric=errors&since=1h&since=2h", "since"),
        ]:
            self.assert_bad(target, name)
            status, body = self.gw.admin(target)
            self.assertIn("given more than once", body["message"])


if __name__ == "__main__":
    unittest.main()
