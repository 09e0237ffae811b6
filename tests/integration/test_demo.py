"""`apitrail demo` end to end: the banner, the credentials file, the built-in demo API behind
the gateway, the audit trail of what was done, and a restart that keeps credentials and events.
Real binary, 127.0.0.1 only, free ports, bounded waits, the process killed at teardown."""
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import unittest

from harness import BIN, HOST, free_ports, http_request, run_cli, wait_until


class Demo:
    """One `apitrail demo` process on free ports."""

    def __init__(self, root, data):
        self.root = root
        self.data = data
        self.gateway_port, self.admin_port, self.upstream_port = free_ports(3)
        self.proc = None
        self.runs = 0

    def start(self, attempts=5):
        for attempt in range(attempts):
            self.runs += 1
            self.out_path = os.path.join(self.root, f"demo-{self.runs}.out")
            self.err_path = os.path.join(self.root, f"demo-{self.runs}.err")
            with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
                self.proc = subprocess.Popen(
                    [BIN, "demo", "--data", self.data, "--gateway", f"{HOST}:{self.gateway_port}",
                     "--admin", f"{HOST}:{self.admin_port}", "--upstream", f"{HOST}:{self.upstream_port}"],
                    stdout=out, stderr=err)
            taken = False

            def ready():
                nonlocal taken
                if self.proc.poll() is not None:
                    # free_ports() only said the ports were free a moment ago.
                    if "Address already in use" in self.output() and attempt + 1 < attempts:
                        taken = True
                        return True
                    raise AssertionError(f"demo exited early ({self.proc.returncode}): {self.output()}")
                return "Stop with Ctrl-C." in self.stdout()
            wait_until(ready, timeout=15, what="the demo banner")
            if not taken:
                return self.stdout()
            self.gateway_port, self.admin_port, self.upstream_port = free_ports(3)
        raise AssertionError("unreachable")

    def stdout(self):
        with open(self.out_path, "rb") as f:
            return f.read().decode(errors="replace")

    def output(self):
        with open(self.err_path, "rb") as f:
            return self.stdout() + f.read().decode(errors="replace")

    def stop(self, sig=signal.SIGTERM):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        rc, self.proc = self.proc.returncode, None
        return rc

    def request(self, method, path, headers=None, body=None, port=None):
        return http_request(port or self.gateway_port, method, path, headers, body)


class DemoTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="apitrail-demo-")
        self.data = os.path.join(self.root, "demo-data")
        self.demo = Demo(self.root, self.data)

    def tearDown(self):
        self.demo.stop(signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)

    def events(self, token):
        status, _, body = self.demo.request("GET", "/api/v1/events?limit=100",
                                            {"Authorization": f"Bearer {token}"}, port=self.demo.admin_port)
        self.assertEqual(status, 200, body)
        return json.loads(body)["events"]

    def test_demo_end_to_end_and_restart(self):
        banner = self.demo.start()
        gw = f"http://{HOST}:{self.demo.gateway_port}"
        adm = f"http://{HOST}:{self.demo.admin_port}"
        api_key = re.search(r"^  API key +(\S+)$", banner, re.M).group(1)
        admin_token = re.search(r"^  admin token +(\S+)$", banner, re.M).group(1)
        self.assertRegex(api_key, r"^atk_[A-Za-z0-9]+_[A-Za-z0-9]+$")
        self.assertRegex(admin_token, r"^adm_[0-9a-f]+$")
        # The curl commands are copy-paste ready with these very values and ports.
        self.assertIn(f"curl -i {gw}/v1/orders/42\n", banner)
        self.assertIn(f"curl -i -H 'Authorization: Bearer {api_key}' {gw}/v1/orders/42\n", banner)
        self.assertIn(f"curl -s -H 'Authorization: Bearer {admin_token}' '{adm}/api/v1/events?limit=5'", banner)
        self.assertIn(f"verify --data {self.data}", banner)

        cred_path = os.path.join(self.data, "demo-credentials.json")
        self.assertEqual(stat.S_IMODE(os.stat(cred_path).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(self.data).st_mode), 0o700)
        with open(cred_path, "rb") as f:
            cred_bytes = f.read()
        creds = json.loads(cred_bytes)
        self.assertEqual(creds, {"api_key": api_key, "admin_token": admin_token})
        with open(os.path.join(self.data, "keys.json")) as f:
            self.assertNotIn(api_key, f.read(), "only the key's hash is stored")

        auth = {"Authorization": f"Bearer {api_key}"}
        status, hdrs, body = self.demo.request("GET", "/v1/orders/42")
        self.assertEqual(status, 401, body)
        self.assertIn("bearer", hdrs["www-authenticate"].lower())
        status, _, body = self.demo.request("GET", "/v1/orders/42", auth)
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["order_id"], "42")

        status, _, body = self.demo.request("GET", "/v1/echo?x=1", dict(auth, **{"X-Request-ID": "demo-echo"}))
        self.assertEqual(status, 200, body)
        echo = json.loads(body)
        seen = {k.lower(): v for k, v in echo["headers"].items()}
        self.assertEqual(seen["x-apitrail-subject"], "demo-user")
        self.assertNotIn("authorization", seen, "the credential must not reach the upstream")
        self.assertEqual(seen["x-request-id"], "demo-echo")
        self.assertEqual(echo["query"], {"x": "1"})

        status, _, body = self.demo.request("POST", "/v1/orders", dict(auth, **{"Content-Type": "application/json"}),
                                            b'{"item":"book"}')
        self.assertEqual(status, 201, body)
        self.assertEqual(json.loads(body)["status"], "created")
        status, _, body = self.demo.request("GET", "/v1/admin/export", auth)
        self.assertEqual(status, 200, body)

        # The admin API needs the token and shows everything that happened, newest first.
        status, _, _ = self.demo.request("GET", "/api/v1/events", port=self.demo.admin_port)
        self.assertEqual(status, 401)
        events = self.events(admin_token)
        got = [(e["method"], e["path"], e["status"], e.get("subject")) for e in events]
        self.assertEqual(got, [
            ("GET", "/v1/admin/export", 200, "demo-user"),
            ("POST", "/v1/orders", 201, "demo-user"),
            ("GET", "/v1/echo", 200, "demo-user"),
            ("GET", "/v1/orders/42", 200, "demo-user"),
            ("GET", "/v1/orders/42", 401, None),
        ])
        self.assertIs(events[0].get("sensitive"), True)
        for e in events[1:]:
            self.assertNotIn("sensitive", e)
        self.assertEqual(events[-1]["deny_reason"], "missing_credentials")
        self.assertEqual(events[3]["resources"], {"order_id": "42"})
        self.assertEqual(events[2]["correlation_id"], "demo-echo")
        self.assertEqual([e["seq"] for e in events], [4, 3, 2, 1, 0])

        # The query command finds the token in the demo's data dir by itself.
        env = {k: v for k, v in os.environ.items() if k != "APITRAIL_ADMIN_TOKEN"}
        r = run_cli("query", "--data", self.data, "--admin", f"{HOST}:{self.demo.admin_port}", "--json", env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(json.loads(r.stdout)["events"]), 5)

        # The tour's `verify`, on the running node, maybe before its first checkpoint: exit 0
        # either way (a young log without one is pending, not failed).
        r = run_cli("verify", "--data", self.data)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertRegex(r.stdout, r"completeness (ok|pending)")

        self.assertEqual(self.demo.stop(signal.SIGTERM), 0, self.demo.output())
        r = run_cli("verify", "--data", self.data)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn("ok: 5 records intact", r.stdout)

        # Restart: same credentials (file untouched), old events kept, new ones appended.
        banner2 = self.demo.start()
        with open(cred_path, "rb") as f:
            self.assertEqual(f.read(), cred_bytes)
        self.assertIn(f"API key     {api_key}\n", banner2)
        self.assertIn(f"admin token {admin_token}\n", banner2)
        status, _, body = self.demo.request("GET", "/v1/orders/7", auth)
        self.assertEqual(status, 200, body)
        after = self.events(admin_token)
        self.assertEqual(len(after), 6)
        self.assertEqual(after[1:], events)
        self.assertEqual((after[0]["seq"], after[0]["path"]), (5, "/v1/orders/7"))
        self.assertEqual(self.demo.stop(signal.SIGTERM), 0, self.demo.output())

    def test_revoked_demo_key_is_replaced_on_restart(self):
        self.demo.start()
        with open(os.path.join(self.data, "demo-credentials.json")) as f:
            creds = json.load(f)
        self.assertEqual(self.demo.stop(signal.SIGTERM), 0, self.demo.output())
        key_id = creds["api_key"].split("_")[1]
        r = run_cli("keys", "revoke", key_id, "--data", self.data)
        self.assertEqual(r.returncode, 0, r.stderr)
        banner = self.demo.start()
        with open(os.path.join(self.data, "demo-credentials.json")) as f:
            new = json.load(f)
        self.assertNotEqual(new["api_key"], creds["api_key"])
        self.assertIn(new["api_key"], banner)
        status, _, _ = self.demo.request("GET", "/v1/orders/1", {"Authorization": f"Bearer {creds['api_key']}"})
        self.assertEqual(status, 401)
        status, _, _ = self.demo.request("GET", "/v1/orders/1", {"Authorization": f"Bearer {new['api_key']}"})
        self.assertEqual(status, 200)

    def test_bad_address_exits_2(self):
        r = run_cli("demo", "--data", self.data, "--gateway", "nonsense", timeout=20)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("apitrail demo:", r.stderr)


if __name__ == "__main__":
    unittest.main()
