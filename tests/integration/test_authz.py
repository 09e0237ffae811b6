"""Authorization and identity end to end (issue #4 items 3, 5, 6): the auth-failure rate
limit per client address, routes requiring roles, roles and tenant from API keys and from
JWT claims (tokens signed here with the stdlib's hmac, not by apitrail), identity kept on
denials, revocation timing, key reloads under load, key management audit events and
last-use times. Real binary, real upstream, 127.0.0.1 only."""
import json
import os
import shutil
import signal
import tempfile
import threading
import time
import unittest

from harness import (ADMIN_TOKEN, HOST, Apitrail, RecordingUpstream, admin_metrics, hs256_token, run_cli,
                     wait_until)

HS_SECRET = "authz-test-secret-0123456789abcdef0123456789"
ISS = "https://idp.authz.test"
AUD = "orders-api"


def hs256(claims):
    return hs256_token(HS_SECRET, claims)


def config_text(root, gw_port, admin_port, up_port, failure_limit):
    with open(os.path.join(root, "hs.key"), "w") as f:
        f.write(HS_SECRET)
    return f"""
node: authz-node
log_level: info
gateway:
  listen: {HOST}:{gw_port}
  workers: 2
  trusted_proxies: [127.0.0.1]
upstreams:
  - name: api
    address: {HOST}:{up_port}
routes:
  - match: GET /v1/orders/{{order_id}}
    upstream: api
  - match: GET /v1/admin/export
    upstream: api
    scopes: [orders:read]
    roles: [admin]
auth:
  failure_limit:
{failure_limit}
  jwt:
    - issuer: {ISS}
      audiences: [{AUD}]
      algorithms: [HS256]
      secret_file: hs.key
      roles_claim: realm_access.roles
      tenant_claim: org.tenant
audit:
  data_dir: {root}/data
admin:
  listen: {HOST}:{admin_port}
  tokens: [{ADMIN_TOKEN}]
"""


class AuthzCase(unittest.TestCase):
    FAILURE_LIMIT = "    enabled: false"

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="apitrail-authz-")
        self.upstream = RecordingUpstream()
        self.gw = Apitrail(self.root, self.upstream.port)
        with open(self.gw.config, "w") as f:
            f.write(config_text(self.root, self.gw.gateway_port, self.gw.admin_port,
                                self.upstream.port, self.FAILURE_LIMIT))
        os.makedirs(self.gw.data, exist_ok=True)

    def tearDown(self):
        self.gw.stop(signal.SIGKILL)
        self.upstream.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def keys(self, *args):
        return run_cli("keys", *args, "-c", self.gw.config)

    def create(self, subject, *extra):
        r = self.keys("create", "--subject", subject, *extra)
        self.assertEqual(r.returncode, 0, r.stderr)
        key = r.stdout.strip()
        return key, key.split("_")[1]

    def get(self, path, key=None, xff=None, bearer=None):
        headers = {}
        if key:
            headers["X-API-Key"] = key
        if bearer:
            headers["Authorization"] = "Bearer " + bearer
        if xff:
            headers["X-Forwarded-For"] = xff
        return self.gw.request("GET", path, headers)


class FailureLimitTest(AuthzCase):
    FAILURE_LIMIT = "    max_failures: 3\n    window_s: 60\n    block_s: 2"

    def test_repeated_failures_from_one_address_get_429_without_verification(self):
        good, _ = self.create("alice", "--scopes", "orders:read")
        self.gw.start()
        bad = good[:-8] + ("A" * 8 if not good.endswith("A" * 8) else "B" * 8)  # wrong secret
        attacker, bystander = "203.0.113.5", "203.0.113.6"
        # Requests without any credential are not guessing: they never count.
        for _ in range(5):
            self.assertEqual(self.get("/v1/orders/1", xff=attacker)[0], 401)
        for _ in range(3):
            self.assertEqual(self.get("/v1/orders/1", key=bad, xff=attacker)[0], 401)
        # Blocked now, even with a valid key: the credential is not even looked at.
        status, headers, body = self.get("/v1/orders/1", key=good, xff=attacker)
        self.assertEqual(status, 429, body)
        self.assertIn(headers["retry-after"], ("1", "2"))
        self.assertEqual(headers["content-type"], "application/json")
        self.assertEqual(json.loads(body)["error"], "rate_limited")
        # Another client address is unaffected.
        self.assertEqual(self.get("/v1/orders/2", key=good, xff=bystander)[0], 200)
        paths = [r["path"] for r in self.upstream.received()]
        self.assertEqual(paths, ["/v1/orders/2"], "nothing from the blocked address was forwarded")
        limited = [e for e in self.gw.events(decision="deny", limit=1000)
                   if e.get("deny_reason") == "rate_limited"]
        self.assertEqual(len(limited), 1)
        e = limited[0]
        self.assertEqual(e["status"], 429)
        self.assertEqual(e["client_ip"], attacker)
        self.assertNotIn("subject", e)
        self.assertNotIn("credential_id", e, "the key was not even parsed")
        metrics = admin_metrics(self.gw)
        self.assertEqual(metrics["apitrail_auth_rate_limited_total"], 1)
        self.assertEqual(metrics["apitrail_auth_blocks_total"], 1)
        # After block_s the address may try again.
        wait_until(lambda: self.get("/v1/orders/3", key=good, xff=attacker)[0] == 200, timeout=4,
                   interval=0.25, what="the block to end")


class IdentityTest(AuthzCase):
    def test_route_roles_and_tenant_from_api_keys(self):
        admin, admin_id = self.create("root", "--scopes", "orders:read", "--roles", "admin,ops",
                                      "--tenant", "acme")
        plain, plain_id = self.create("bob", "--scopes", "orders:read", "--tenant", "acme")
        self.gw.start()
        status, _, body = self.get("/v1/admin/export", key=admin)
        self.assertEqual(status, 200, body)
        up = self.upstream.received()[0]["headers"]
        self.assertEqual(up["x-apitrail-roles"], "admin ops")
        self.assertEqual(up["x-apitrail-tenant"], "acme")
        # Client-sent copies never reach the upstream.
        status, _, _ = self.gw.request("GET", "/v1/orders/1", {"X-API-Key": plain,
                                                               "X-Apitrail-Tenant": "evil",
                                                               "X-Apitrail-Roles": "admin"})
        self.assertEqual(status, 200)
        up = self.upstream.received()[1]["headers"]
        self.assertEqual(up["x-apitrail-tenant"], "acme")
        self.assertNotIn("x-apitrail-roles", up)
        status, headers, body = self.get("/v1/admin/export", key=plain)
        self.assertEqual(status, 403)
        self.assertEqual(json.loads(body)["error"], "insufficient_scope")
        self.assertIn("role", json.loads(body)["message"])
        self.assertIn("insufficient_scope", headers["www-authenticate"])
        events = {e["credential_id"] + e.get("deny_reason", ""): e
                  for e in self.gw.events(limit=1000) if e.get("method") == "GET"}
        allowed = events[admin_id]
        self.assertEqual(allowed["scopes"], ["orders:read", "role:admin", "role:ops"])
        self.assertEqual(allowed["tenant"], "acme")
        denied = events[plain_id + "insufficient_scope"]
        self.assertEqual(denied["status"], 403)
        self.assertEqual(denied["subject"], "bob")
        self.assertEqual(denied["tenant"], "acme")

    def test_jwt_roles_and_tenant_claims_and_identity_on_denials(self):
        self.gw.start()
        now = int(time.time())
        claims = {"iss": ISS, "aud": AUD, "sub": "carol", "jti": "tok-1", "exp": now + 300,
                  "scope": "orders:read", "realm_access": {"roles": ["admin"]},
                  "org": {"tenant": "globex"}}
        status, _, body = self.get("/v1/admin/export", bearer=hs256(claims))
        self.assertEqual(status, 200, body)
        up = self.upstream.received()[0]["headers"]
        self.assertEqual(up["x-apitrail-tenant"], "globex")
        self.assertEqual(up["x-apitrail-roles"], "admin")
        # No admin role: 403, identity recorded.
        no_role = dict(claims, jti="tok-2", realm_access={"roles": ["viewer"]})
        self.assertEqual(self.get("/v1/admin/export", bearer=hs256(no_role))[0], 403)
        # Expired: 401, but sub, jti and tenant are still recorded.
        expired = dict(claims, jti="tok-3", exp=now - 3600)
        self.assertEqual(self.get("/v1/orders/1", bearer=hs256(expired))[0], 401)
        # The configured tenant claim is required.
        no_tenant = {k: v for k, v in claims.items() if k != "org"}
        no_tenant["jti"] = "tok-4"
        self.assertEqual(self.get("/v1/orders/1", bearer=hs256(no_tenant))[0], 401)
        # A scope spelled like a recorded role is dropped: not a role, not recorded as one.
        role_scope = dict(claims, jti="tok-5", scope="orders:read role:admin",
                          realm_access={"roles": ["viewer"]})
        self.assertEqual(self.get("/v1/admin/export", bearer=hs256(role_scope))[0], 403)
        status, _, body = self.get("/v1/orders/1", bearer=hs256(dict(role_scope, jti="tok-6")))
        self.assertEqual(status, 200, body)
        self.assertEqual(self.upstream.received()[-1]["headers"]["x-apitrail-scopes"], "orders:read")
        by_jti = {e["credential_id"]: e for e in self.gw.events(limit=1000)}
        self.assertEqual(by_jti["tok-1"]["scopes"], ["orders:read", "role:admin"])
        self.assertEqual(by_jti["tok-1"]["tenant"], "globex")
        self.assertEqual(by_jti["tok-2"]["deny_reason"], "insufficient_scope")
        self.assertEqual(by_jti["tok-2"]["subject"], "carol")
        self.assertEqual(by_jti["tok-3"]["deny_reason"], "expired_token")
        self.assertEqual(by_jti["tok-3"]["subject"], "carol")
        self.assertEqual(by_jti["tok-3"]["tenant"], "globex")
        self.assertEqual(by_jti["tok-4"]["deny_reason"], "invalid_claims")
        self.assertEqual(by_jti["tok-4"]["subject"], "carol")
        self.assertEqual(by_jti["tok-5"]["deny_reason"], "insufficient_scope")
        self.assertEqual(by_jti["tok-5"]["scopes"], ["orders:read", "role:viewer"])
        self.assertEqual(by_jti["tok-6"]["scopes"], ["orders:read", "role:viewer"])


class KeyLifecycleTest(AuthzCase):
    def test_revocation_reaches_every_worker_within_a_second_and_a_half(self):
        key, key_id = self.create("alice")
        self.gw.start()
        self.assertEqual(self.get("/v1/orders/1", key=key)[0], 200)
        r = self.keys("revoke", key_id)
        self.assertEqual(r.returncode, 0, r.stderr)
        revoked_at = time.monotonic()
        # Fresh connections are spread over both workers by SO_REUSEPORT.
        wait_until(lambda: self.get("/v1/orders/1", key=key)[0] == 401, timeout=3, interval=0.02,
                   what="the revoked key to be refused")
        took = time.monotonic() - revoked_at
        self.assertLess(took, 1.5, f"revocation took {took:.2f} s")
        for i in range(20):
            status, _, body = self.get(f"/v1/orders/{i}", key=key)
            self.assertEqual(status, 401, body)
            self.assertEqual(json.loads(body)["error"], "revoked_key")
        denied = [e for e in self.gw.events(decision="deny", limit=1000)
                  if e.get("deny_reason") == "revoked_key"]
        self.assertGreaterEqual(len(denied), 20)
        self.assertTrue(all(e["credential_id"] == key_id and e["subject"] == "alice" for e in denied))

    def test_reloads_under_load_drop_no_request_and_key_actions_are_audited(self):
        key, key_id = self.create("steady", "--scopes", "orders:read")
        self.gw.start()
        failures, done = [], threading.Event()
        count = [0]

        def client():
            while not done.is_set():
                try:
                    status, _, body = self.get(f"/v1/orders/{count[0]}", key=key)
                    if status != 200:
                        failures.append((status, body))
                except Exception as e:  # noqa: BLE001 - any dropped connection is a failure
                    failures.append(repr(e))
                count[0] += 1

        threads = [threading.Thread(target=client) for _ in range(2)]
        for t in threads:
            t.start()
        try:
            other, other_id = self.create("temp", "--roles", "admin", "--tenant", "acme")
            for _ in range(4):
                self.gw.proc.send_signal(signal.SIGHUP)
                time.sleep(0.15)
            r = self.keys("rotate", other_id, "--overlap", "2s")
            self.assertEqual(r.returncode, 0, r.stderr)
            new_id = r.stdout.strip().split("_")[1]
            self.assertIn("expires at", r.stderr)
            for _ in range(4):
                self.gw.proc.send_signal(signal.SIGHUP)
                time.sleep(0.15)
            self.assertEqual(self.keys("revoke", new_id).returncode, 0)
            time.sleep(1.2)
        finally:
            done.set()
            for t in threads:
                t.join(timeout=10)
        self.assertEqual(failures, [])
        self.assertGreater(count[0], 20)

        def key_events():
            return {(e["route"], e["credential_id"]): e for e in self.gw.events(method="KEYS", limit=100)}
        # The old key expires at the end of its 2 s overlap: recorded by the running server.
        wait_until(lambda: ("KEYS expire", other_id) in key_events(), timeout=5,
                   what="the KEYS expire event")
        ev = key_events()
        self.assertEqual(set(ev), {("KEYS create", other_id), ("KEYS rotate", new_id),
                                   ("KEYS revoke", new_id), ("KEYS expire", other_id)})
        create = ev[("KEYS create", other_id)]
        self.assertEqual(create["kind"], "admin")
        self.assertEqual(create["subject"], "temp")
        self.assertEqual(create["tenant"], "acme")
        self.assertEqual(create["scopes"], ["role:admin"])
        self.assertEqual(create["resources"], {"key_id": other_id})
        self.assertNotIn("decision", create)
        self.assertIn(other_id, ev[("KEYS rotate", new_id)]["message"])
        for e in ev.values():
            self.assertNotIn("hash", json.dumps(e))
        # The old key is refused once expired.
        self.assertEqual(self.get("/v1/orders/1", key=other)[0], 401)

        # Last use: SIGHUP writes it to the side file; keys list shows it; keys.json is untouched.
        with open(os.path.join(self.gw.data, "keys.json")) as f:
            before = f.read()
        self.gw.proc.send_signal(signal.SIGHUP)
        side = os.path.join(self.gw.data, "keys.json.last_used")
        wait_until(lambda: os.path.exists(side), timeout=3, what="the last-used side file")
        r = self.keys("list", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        listed = {k["id"]: k for k in json.loads(r.stdout)["keys"]}
        self.assertIn("last_used", listed[key_id])
        self.assertNotIn("last_used", listed[new_id], "a key never used has no last use")
        self.assertEqual(listed[new_id]["rotated_from"], other_id)
        with open(os.path.join(self.gw.data, "keys.json")) as f:
            self.assertEqual(f.read(), before)

    def test_changes_while_stopped_are_recorded_at_the_next_start(self):
        key, key_id = self.create("alice")
        self.gw.start()  # first start: existing keys are the baseline
        self.assertEqual(self.gw.events(method="KEYS"), [])
        self.assertEqual(self.gw.stop(), 0)
        later, later_id = self.create("late")
        self.assertEqual(self.keys("revoke", key_id).returncode, 0)
        self.gw.start()
        wait_until(lambda: len(self.gw.events(method="KEYS")) == 2, timeout=3, what="catch-up events")
        got = sorted((e["route"], e["credential_id"]) for e in self.gw.events(method="KEYS"))
        self.assertEqual(got, [("KEYS create", later_id), ("KEYS revoke", key_id)])
        # And not again after another restart.
        self.assertEqual(self.gw.stop(), 0)
        self.gw.start()
        time.sleep(1.2)
        self.assertEqual(len(self.gw.events(method="KEYS")), 2)


if __name__ == "__main__":
    unittest.main()
