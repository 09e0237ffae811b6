"""The command line of the real binary: `config check`, `serve` refusing a bad config, `keys`
(create/list/revoke/rotate, the key file on disk, a running gateway picking changes up),
`query` against a running admin API, `verify` on a new data dir, `version`."""
import json
import os
import re
import shlex
import shutil
import signal
import socket
import stat
import tempfile
import unittest

from harness import (ADMIN_TOKEN, HOST, Apitrail, RecordingUpstream, free_port, free_ports, run_cli, wait_until,
                     write_config)

BAD_CONFIG = """
node: n
bogus_key: 1
gateway:
  listen: "127.0.0.1:notaport"
  nonsense: true
upstreams:
  - name: api
    address: 127.0.0.1:9000
routes:
  - match: GET /v1/x
    upstream: api
  - match: GET v1/y
    upstream: api
  - match: GET /v1/z
    upstream: nope
audit:
  data_dir: {data}
admin:
  listen: 127.0.0.1:{admin}
  tokens: [abcdefghijklmnopqrstuvwxyz]
"""


class TempDirCase(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="apitrail-cli-")

    def tearDown(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def path(self, *parts):
        return os.path.join(self.root, *parts)


class ConfigCheckTest(TempDirCase):
    def test_valid_config_exits_0(self):
        cfg = write_config(self.root, *free_ports(3))
        r = run_cli("config", "check", "-c", cfg)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"{cfg}: ok (10 routes, 1 upstreams)", r.stdout)
        self.assertEqual(r.stderr, "")

    def write_bad(self):
        cfg = self.path("bad.yaml")
        self.admin_port = free_port()
        with open(cfg, "w") as f:
            f.write(BAD_CONFIG.format(data=self.path("data"), admin=self.admin_port))
        return cfg

    def test_invalid_config_names_every_key_path(self):
        cfg = self.write_bad()
        r = run_cli("config", "check", "-c", cfg)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertIn(f"{cfg}: 5 problem(s):", r.stderr)
        lines = [l.strip() for l in r.stderr.splitlines()[1:]]
        expected = [
            ("bogus_key: unknown key", "(line 3)"),
            ("gateway.nonsense: unknown key", "(line 6)"),
            ("gateway.listen: ", "notaport"),
            ("routes[1].match: ", "'/'"),
            ("routes[2].upstream: unknown upstream 'nope'", "(known: api)"),
        ]
        self.assertEqual(len(lines), len(expected), r.stderr)
        for prefix, detail in expected:
            match = [l for l in lines if l.startswith(prefix)]
            self.assertEqual(len(match), 1, f"{prefix!r} not reported once:\n{r.stderr}")
            self.assertIn(detail, match[0])

    def test_serve_refuses_a_bad_config(self):
        cfg = self.write_bad()
        r = run_cli("serve", "-c", cfg, timeout=20)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("is not valid", r.stderr)
        self.assertIn("routes[2].upstream", r.stderr)
        self.assertFalse(os.path.exists(self.path("data")), "nothing may be created for a refused config")
        with self.assertRaises(OSError):
            socket.create_connection((HOST, self.admin_port), timeout=0.5).close()

    def test_missing_file_and_missing_option(self):
        r = run_cli("config", "check", "-c", self.path("nope.yaml"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("cannot read", r.stderr)
        self.assertIn("nope.yaml", r.stderr)
        r = run_cli("config", "check")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--config is required", r.stderr)


class KeysTest(TempDirCase):
    KEY_RE = re.compile(r"^atk_([A-Za-z0-9]+)_[A-Za-z0-9]+$")

    def keys(self, *args, data=None):
        return run_cli("keys", *args, "--data", data or self.path("data"))

    def list_rows(self, data=None):
        r = self.keys("list", data=data)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["ID", "SUBJECT", "STATE", "CREATED", "LAST_USED", "EXPIRES", "SCOPES"])
        return {l.split()[0]: l.split() for l in lines[1:]}

    def create(self, subject, *extra):
        r = self.keys("create", "--subject", subject, *extra)
        self.assertEqual(r.returncode, 0, r.stderr)
        key = r.stdout.strip()
        m = self.KEY_RE.match(key)
        self.assertIsNotNone(m, r.stdout)
        self.assertEqual(r.stdout, key + "\n", "only the key on stdout")
        self.assertIn(f"created key {m.group(1)} for {subject}", r.stderr)
        self.assertNotIn(key, r.stderr)
        return key, m.group(1)

    def test_create_stores_only_the_hash_with_mode_0600(self):
        os.makedirs(self.path("data"))
        key, key_id = self.create("bob", "--scopes", "orders:read,orders:write", "--description", "ci bot")
        path = self.path("data", "keys.json")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        with open(path) as f:
            text = f.read()
        self.assertNotIn(key, text)
        self.assertNotIn(key.split("_", 2)[2], text, "the secret part must not be stored")
        doc = json.loads(text)
        (rec,) = doc["keys"]
        self.assertEqual(rec["id"], key_id)
        self.assertEqual(rec["subject"], "bob")
        self.assertEqual(rec["scopes"], ["orders:read", "orders:write"])
        self.assertRegex(rec["hash"], r"^[0-9a-f]{64}$")
        rows = self.list_rows()
        self.assertEqual(rows[key_id][1:3], ["bob", "active"])
        self.assertEqual(rows[key_id][-1], "orders:read,orders:write")
        # A second key gets its own id; keys are never printed again.
        key2, id2 = self.create("carol")
        self.assertNotEqual(id2, key_id)
        r = self.keys("list")
        self.assertNotIn(key, r.stdout)
        self.assertNotIn(key2, r.stdout)
        self.assertEqual(set(self.list_rows()), {key_id, id2})

    def test_revoke_and_rotate(self):
        os.makedirs(self.path("data"))
        key, key_id = self.create("bob", "--scopes", "a")
        r = self.keys("rotate", key_id)
        self.assertEqual(r.returncode, 0, r.stderr)
        new_key = r.stdout.strip()
        m = self.KEY_RE.match(new_key)
        self.assertIsNotNone(m, r.stdout)
        new_id = m.group(1)
        self.assertNotEqual(new_id, key_id)
        self.assertIn(f"replaces {key_id}", r.stderr)
        rows = self.list_rows()
        self.assertEqual(rows[key_id][1:3], ["bob", "active"], "the old key stays valid until revoked")
        self.assertEqual(rows[new_id][1:3], ["bob", "active"])
        self.assertEqual(rows[new_id][-1], "a")

        r = self.keys("revoke", key_id)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"revoked key {key_id}", r.stderr)
        rows = self.list_rows()
        self.assertEqual(rows[key_id][2], "revoked")
        self.assertEqual(rows[new_id][2], "active")

        for sub in ("revoke", "rotate"):
            r = self.keys(sub, "NoSuchId")
            self.assertNotEqual(r.returncode, 0)
            self.assertEqual(r.stdout, "")
            self.assertIn("no key with id 'NoSuchId'", r.stderr)
        self.assertEqual(set(self.list_rows()), {key_id, new_id}, "a failed command changes nothing")

    def test_bad_arguments_exit_2(self):
        os.makedirs(self.path("data"))
        r = self.keys("create")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--subject is required", r.stderr)
        r = self.keys("create", "--subject", "x", "--expires", "bogus")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--expires", r.stderr)
        r = self.keys("create", "--subject", "x", "--expires", "2000-01-01T00:00:00Z")
        self.assertEqual(r.returncode, 2)
        self.assertIn("future", r.stderr)
        self.assertEqual(self.list_rows(), {}, "nothing created")

    def test_keys_with_config_reach_a_running_gateway(self):
        upstream = RecordingUpstream()
        gw = Apitrail(self.root, upstream.port)
        try:
            os.makedirs(gw.data)
            r = run_cli("keys", "create", "-c", gw.config, "--subject", "dave")
            self.assertEqual(r.returncode, 0, r.stderr)
            old = r.stdout.strip()
            old_id = self.KEY_RE.match(old).group(1)
            self.assertTrue(os.path.exists(os.path.join(gw.data, "keys.json")))
            gw.start()
            auth = lambda k: {"Authorization": f"Bearer {k}"}
            self.assertEqual(gw.request("GET", "/v1/orders/1", auth(old))[0], 200)
            r = run_cli("keys", "rotate", old_id, "-c", gw.config)
            self.assertEqual(r.returncode, 0, r.stderr)
            new = r.stdout.strip()
            gw.wait_key_active(new)
            self.assertEqual(gw.request("GET", "/v1/orders/1", auth(old))[0], 200)
            r = run_cli("keys", "revoke", old_id, "-c", gw.config)
            self.assertEqual(r.returncode, 0, r.stderr)
            wait_until(lambda: gw.request("GET", "/v1/orders/1", auth(old))[0] == 401, timeout=5,
                       what="the revoked key to be refused")
            status, _, body = gw.request("GET", "/v1/orders/2", auth(new))
            self.assertEqual(status, 200, body)
            subjects = {e["subject"] for e in gw.events(decision="allow")}
            self.assertEqual(subjects, {"dave"})
            self.assertIn("revoked_key", {e.get("deny_reason") for e in gw.events(decision="deny")})
        finally:
            gw.stop(signal.SIGKILL)
            upstream.stop()

    def test_list_json(self):
        os.makedirs(self.path("data"))
        _, key_id = self.create("bob")
        r = self.keys("list", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertIn(key_id, json.dumps(doc))


class QueryCliTest(TempDirCase):
    def setUp(self):
        super().setUp()
        self.upstream = RecordingUpstream()
        self.gw = Apitrail(self.root, self.upstream.port)
        os.makedirs(self.gw.data)
        self.key = self.gw.create_key("alice", ["orders:read"])
        self.gw.start()
        auth = {"Authorization": f"Bearer {self.key}", "X-Request-ID": "q-allowed"}
        self.assertEqual(self.gw.request("GET", "/v1/orders/42", auth)[0], 200)
        self.assertEqual(self.gw.request("GET", "/v1/orders/43", {"X-Request-ID": "q-denied"})[0], 401)
        self.admin = f"{HOST}:{self.gw.admin_port}"
        self.env = {k: v for k, v in os.environ.items() if k != "APITRAIL_ADMIN_TOKEN"}

    def tearDown(self):
        self.gw.stop(signal.SIGKILL)
        self.upstream.stop()
        super().tearDown()

    def query(self, *args, token=ADMIN_TOKEN, env=None):
        extra = ["--token", token] if token else []
        return run_cli("query", "--admin", self.admin, "--data", self.root, *extra, *args, env=env or self.env)

    def test_table(self):
        r = self.query()
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0].split()[:3], ["TIME", "SUBJECT", "METHOD"])
        self.assertEqual(len(lines), 3, r.stdout)
        newest, oldest = lines[1].split(), lines[2].split()
        self.assertEqual(newest[1:], ["GET", "/v1/orders/43", "401", "deny", "missing_credentials", "q-denied"])
        self.assertEqual(oldest[1:], ["alice", "GET", "/v1/orders/42", "200", "allow", "q-allowed"])
        r = self.query("--subject", "alice")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("q-allowed", r.stdout)
        self.assertNotIn("q-denied", r.stdout)
        r = self.query("--limit", "1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("q-denied", r.stdout)
        self.assertNotIn("q-allowed", r.stdout)
        more = r.stdout.splitlines()[-1]
        self.assertRegex(more, r"^\(more: --cursor \S+\)$")
        # The hint is meant to be pasted into a shell (it prints the cursor JSON-quoted).
        cursor = shlex.split(more[len("(more: --cursor "):-1])[0]
        self.assertRegex(cursor, r"^\d+$")
        r = self.query("--limit", "1", "--cursor", cursor)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("q-allowed", r.stdout)
        self.assertNotIn("(more:", r.stdout)

    def test_json_and_id(self):
        r = self.query("--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual([e["correlation_id"] for e in doc["events"]], ["q-denied", "q-allowed"])
        self.assertIsNone(doc["next_cursor"])
        event_id = doc["events"][1]["id"]
        r = self.query("--id", event_id)
        self.assertEqual(r.returncode, 0, r.stderr)
        one = json.loads(r.stdout)
        self.assertEqual((one["id"], one["subject"], one["path"]), (event_id, "alice", "/v1/orders/42"))
        r = self.query("--id", "01234567-0000-7000-8000-000000000000")
        self.assertEqual(r.returncode, 1)
        self.assertIn("HTTP 404", r.stderr)

    def test_token_from_environment(self):
        env = dict(self.env, APITRAIL_ADMIN_TOKEN=ADMIN_TOKEN)
        r = self.query("--json", token=None, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(json.loads(r.stdout)["events"]), 2)

    def test_bad_filter_exits_2_with_the_server_message(self):
        r = self.query("--status", "abc")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertIn("HTTP 400", r.stderr)
        self.assertIn("status: expected a code like 404 or a class like 5xx", r.stderr)

    def test_missing_wrong_token_and_bad_address(self):
        r = self.query(token=None)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("no admin token", r.stderr)
        r = self.query(token="wrong-token-0123456789abcdef")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("HTTP 401", r.stderr)
        r = run_cli("query", "--admin", "not-an-address", "--token", ADMIN_TOKEN, env=self.env)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--admin", r.stderr)
        r = run_cli("query", "--admin", f"{HOST}:{free_port()}", "--token", ADMIN_TOKEN, env=self.env)
        self.assertEqual(r.returncode, 1)
        self.assertIn("apitrail query:", r.stderr)


class VerifyAndVersionTest(TempDirCase):
    def test_verify_on_a_new_data_dir(self):
        upstream = RecordingUpstream()
        gw = Apitrail(self.root, upstream.port)
        try:
            gw.start()  # a data dir the server created, with no record yet
            self.assertEqual(gw.stop(signal.SIGTERM), 0, gw.logs())
        finally:
            gw.stop(signal.SIGKILL)
            upstream.stop()
        r = run_cli("verify", "--data", gw.data)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0], "integrity ok: 0 records intact, root "
                         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855, "
                         "0 tree heads, 0 signed checkpoints")
        self.assertTrue(lines[1].startswith("  key: node.key in the data dir (apitrail/test-node+"), lines[1])
        self.assertEqual(lines[2:], ["completeness ok: the log extends all 0 known checkpoints"])

    def test_verify_on_a_missing_or_empty_dir_fails_cleanly(self):
        os.makedirs(self.path("empty"))
        for d, why in ((self.path("missing"), "no data directory at"),
                       (self.path("empty"), "segments: No such file or directory")):
            r = run_cli("verify", "--data", d)
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)  # not a crash (negative rc)
            self.assertTrue(r.stdout.startswith(("FAILED: ", "integrity FAILED: ")), r.stdout)
            self.assertIn(why, r.stdout)
            self.assertNotIn("first bad seq", r.stdout)
        self.assertFalse(os.path.exists(self.path("missing")), "verify must not create anything")
        self.assertEqual(os.listdir(self.path("empty")), [])

    def test_version_and_usage(self):
        r = run_cli("version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^apitrail \S+\n$")
        r = run_cli()
        self.assertEqual(r.returncode, 2)
        r = run_cli("no-such-command")
        self.assertEqual(r.returncode, 2)
        r = run_cli("--help")
        self.assertEqual(r.returncode, 0)
        for sub in ("serve", "demo", "keys", "query", "verify", "config", "version"):
            self.assertIn(sub, r.stdout)


if __name__ == "__main__":
    unittest.main()
