"""SIGHUP reloads the configuration (routes, upstreams, auth) of a running `apitrail serve`
without dropping connections: requests in flight finish under the configuration they
started with, open keep-alive connections carry on under the new one, and a bad or
restart-only change is refused with the key named while the old configuration keeps serving."""
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
import unittest

from harness import HOST, Apitrail, RecordingUpstream, wait_until


def keep_alive_get(sock, path, key):
    """One HTTP/1.1 request on an open socket; returns the status (the body is read whole)."""
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {key}\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError("connection closed by the gateway")
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        rest += sock.recv(65536)
    return int(head.split(b" ")[1])


class ReloadTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="apitrail-reload-")
        self.upstream = RecordingUpstream()
        self.gw = Apitrail(self.root, self.upstream.port)
        os.makedirs(self.gw.data, exist_ok=True)
        self.key = self.gw.create_key("alice")
        self.gw.start()
        # Read once started: start() moves the gateway to fresh ports in the file when a test
        # beside this one took them meanwhile, and a text from before would undo that move.
        with open(self.gw.config) as f:
            self.original = f.read()

    def tearDown(self):
        self.gw.stop(signal.SIGKILL)
        self.upstream.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def get(self, path, headers=None):
        h = {"Authorization": f"Bearer {self.key}"} if headers is None else headers
        return self.gw.request("GET", path, h)[0]

    def rewrite(self, text):
        with open(self.gw.config + ".tmp", "w") as f:
            f.write(text)
        os.replace(self.gw.config + ".tmp", self.gw.config)
        self.gw.proc.send_signal(signal.SIGHUP)

    def wait_log(self, fragment):
        wait_until(lambda: fragment in self.gw.logs(), timeout=10, what=fragment)

    def test_routes_change_for_new_requests_and_open_connections_survive(self):
        conn = socket.create_connection((HOST, self.gw.gateway_port), timeout=10)
        self.assertEqual(keep_alive_get(conn, "/v1/orders/1", self.key), 200)
        self.assertEqual(self.get("/v2/items/3"), 404)

        new = self.original.replace("  - match: GET /v1/orders/{order_id}\n",
                                    "  - match: GET /v2/items/{item_id}\n")
        self.assertNotEqual(new, self.original)
        self.rewrite(new)
        wait_until(lambda: self.get("/v2/items/3") == 200, timeout=10, what="the new route")
        self.assertEqual(self.get("/v1/orders/1"), 404)  # gone: unmatched requests are refused
        # The connection opened before the reload was not dropped; its next request follows
        # the new routes.
        self.assertEqual(keep_alive_get(conn, "/v2/items/4", self.key), 200)
        self.assertEqual(keep_alive_get(conn, "/v1/orders/2", self.key), 404)
        conn.close()
        ev = self.gw.events(resource="item_id=3")
        self.assertEqual(ev[0]["route"], "GET /v2/items/{item_id}")

    def test_a_request_in_flight_finishes_under_its_configuration(self):
        result = {}

        def slow():
            result["status"] = self.get("/slow?t=1.0")

        t = threading.Thread(target=slow)
        t.start()
        wait_until(lambda: any(r["path"].startswith("/slow") for r in self.upstream.received()), timeout=5)
        self.rewrite(self.original.replace("  - match: GET /slow\n", "  - match: GET /v3/ping\n"))
        wait_until(lambda: self.get("/v3/ping") == 200, timeout=10, what="the new route")
        t.join(timeout=10)
        self.assertEqual(result.get("status"), 200)
        self.assertEqual(self.get("/slow?t=0"), 404)

    def test_auth_settings_are_reloaded(self):
        self.assertEqual(self.get("/v1/orders/1", {"X-Custom-Key": self.key}), 401)
        self.assertIn("\nauth:\n", self.original)
        self.rewrite(self.original.replace("\nauth:\n", "\nauth:\n  api_keys:\n    headers: [X-Custom-Key]\n", 1))
        wait_until(lambda: self.get("/v1/orders/1", {"X-Custom-Key": self.key}) == 200, timeout=10,
                   what="the new key header")
        self.assertEqual(self.get("/v1/orders/1", {"Authorization": f"Bearer {self.key}"}), 401)

    def test_invalid_configuration_is_refused_and_the_old_one_keeps_serving(self):
        self.rewrite(self.original.replace("    upstream: api\n", "    upstream: nowhere\n", 1))
        self.wait_log("configuration not reloaded")
        self.assertIn("routes[0].upstream", self.gw.logs())
        self.assertEqual(self.get("/v1/orders/1"), 200)
        self.assertIsNone(self.gw.proc.poll())

    def test_restart_only_settings_are_refused_by_name(self):
        other = self.gw.gateway_port + 1 if self.gw.gateway_port < 65000 else self.gw.gateway_port - 1
        self.rewrite(self.original.replace(f"listen: {HOST}:{self.gw.gateway_port}", f"listen: {HOST}:{other}"))
        self.wait_log("gateway.listen: changed, but only takes effect after a restart")
        self.assertEqual(self.get("/v1/orders/1"), 200)
        # A later valid reload still works.
        self.rewrite(self.original.replace("  - match: GET /slow\n", "  - match: GET /v3/ping\n"))
        wait_until(lambda: self.get("/slow") == 404, timeout=10)


if __name__ == "__main__":
    unittest.main()
