"""Configuration files at their edges, through the real binary: `config check` and `serve`
refuse what is wrong with exit 2 and the key named (never echoing a secret, never reading
without end), and a SIGHUP with such a file, or with a change only a restart can apply, is
refused while the running configuration keeps serving unchanged."""
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from harness import ADMIN_TOKEN, BIN, HOST, Apitrail, RecordingUpstream, run_cli, wait_until

SECRET = "TOPSECRET-0123456789abcdef-never-printed"

BASE = """
upstreams:
  - name: api
    address: 127.0.0.1:8090
routes:
  - match: GET /v1/orders/{order_id}
    upstream: api
admin:
  tokens: ["0123456789abcdef0123"]
"""


class ConfigCheckTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="apitrail-config-edges-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write(self, text, name="apitrail.yaml"):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def check(self, text_or_path, timeout=10):
        path = text_or_path if text_or_path.startswith("/") else self.write(text_or_path)
        return run_cli("config", "check", "-c", path, timeout=timeout)

    def assert_refused(self, text, *fragments):
        r = self.check(text)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertEqual(r.stdout, "")
        for fragment in fragments:
            self.assertIn(fragment, r.stderr)
        return r

    def test_valid_file_exit_0(self):
        r = self.check(BASE)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.endswith(": ok (1 routes, 1 upstreams)\n"), r.stdout)

    def test_second_document_is_refused(self):
        self.assert_refused(BASE + "---\nroutes: []\n", "2 YAML documents")

    def test_unreadable_inputs(self):
        start = time.monotonic()
        r = self.check("/dev/zero", timeout=20)
        self.assertLess(time.monotonic() - start, 10)
        self.assertEqual(r.returncode, 2)
        self.assertIn("cannot read '/dev/zero': larger than 1048576 bytes", r.stderr)
        r = self.check(self.tmp)
        self.assertEqual(r.returncode, 2)
        self.assertIn("is a directory", r.stderr)
        r = self.check(os.path.join(self.tmp, "missing.yaml"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("No such file or directory", r.stderr)

    def test_alias_bomb_is_refused_quickly(self):
        text = BASE + 'x0: &l0 "lol"\n'
        for i in range(1, 12):
            text += f"x{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]\n"
        start = time.monotonic()
        self.assert_refused(text, "aliases (*name) expand to more than")
        self.assertLess(time.monotonic() - start, 10)

    def test_numeric_host_names_are_refused(self):
        self.assert_refused(BASE.replace("127.0.0.1:8090", "010.0.0.1:8090"),
                            "upstreams[0].address: '010.0.0.1' is not a dotted-decimal IPv4 address "
                            "(a resolver reads it as 8.0.0.1)")

    def test_gateway_tls_without_certificate(self):
        self.assert_refused(BASE + "gateway:\n  tls:\n    min_version: '1.3'\n",
                            "gateway.tls.cert_file: required when gateway.tls is set")

    def test_identity_header_that_frames_the_request(self):
        self.assert_refused(BASE + "auth:\n  identity_headers:\n    subject: Content-Length\n",
                            "auth.identity_headers.subject: 'Content-Length' is a header the gateway")

    def test_secrets_are_not_echoed(self):
        for text in [
            BASE.replace('"0123456789abcdef0123"', f'"{SECRET} x"'),
            BASE + f"auth:\n  jwt:\n    - {{algorithms: [HS512], allow_any_audience: true, secret: {SECRET}}}\n",
            BASE + f"auth:\n  introspection: {{endpoint: 'http://as', client_id: c, client_secret: {SECRET}}}\n",
            BASE + f"audit:\n  archive:\n    command: \"cp '%p' /mnt/{SECRET}\"\n",
        ]:
            r = self.check(text)
            self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
            self.assertNotIn("TOPSECRET", r.stdout + r.stderr)

    def test_admin_token_file_without_tokens(self):
        # serve started with an admin API no token could open (and read /dev/zero without end).
        empty = self.write("# no tokens yet\n", "tokens")
        for token_file, fragment in [(self.tmp, "is a directory"), (empty, "holds no token"),
                                     ("/dev/zero", "is larger than 1048576 bytes")]:
            admin = f'listen: "{HOST}:0"\n  token_file: {token_file}'
            path = self.write(BASE.replace('tokens: ["0123456789abcdef0123"]', admin) +
                              f'gateway:\n  listen: "{HOST}:0"\n'
                              f'audit:\n  data_dir: {os.path.join(self.tmp, "data")}\n')
            r = subprocess.run([BIN, "serve", "-c", path], capture_output=True, text=True, timeout=20)
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn(f"admin.token_file: '{token_file}' {fragment}", r.stdout + r.stderr)
            # config check refuses what serve refuses (it passed such a file as valid).
            r = self.check(path, timeout=20)
            self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
            self.assertIn(f"admin.token_file: '{token_file}' {fragment}", r.stderr)

    def test_check_reads_the_files_serve_reads(self):
        # Each file serve reads at start: a config check that passed them sent the operator to
        # a serve (or a SIGHUP) that refused. Every problem is listed, and nothing is created.
        data = os.path.join(self.tmp, "data")
        missing = os.path.join(self.tmp, "missing")
        path = self.write(BASE.replace('tokens: ["0123456789abcdef0123"]', f"token_file: {missing}.tokens") +
                          f"audit:\n  data_dir: {data}\n"
                          "auth:\n  jwt:\n"
                          f"    - {{issuer: a, allow_any_audience: true, algorithms: [RS256], key_file: {missing}.pem}}\n")
        r = self.check(path)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn(f"admin.token_file: cannot read '{missing}.tokens'", r.stderr)
        self.assertIn(f"auth.jwt[0].key_file: {missing}.pem: cannot open", r.stderr)
        self.assertIn(": 2 problem(s):", r.stderr)
        self.assertFalse(os.path.exists(data))
        # serve refuses the same files before it creates the data dir (it created one, with a
        # node key and an empty log, and then refused).
        r = subprocess.run([BIN, "serve", "-c", path], capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(f"auth.jwt[0].key_file: {missing}.pem: cannot open", r.stdout + r.stderr)
        self.assertIn(f"admin.token_file: cannot read '{missing}.tokens'", r.stdout + r.stderr)
        self.assertFalse(os.path.exists(data))
        # The introspection client secret file, and an API key file serve cannot parse.
        r = self.check(BASE + f"audit:\n  data_dir: {data}\n"
                       "auth:\n  introspection: {endpoint: 'https://127.0.0.1:1/introspect', client_id: c, "
                       f"client_secret_file: {missing}.secret}}\n")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn(f"auth.introspection.client_secret_file: ", r.stderr)
        self.assertIn(f"{missing}.secret", r.stderr)
        os.makedirs(data)
        with open(os.path.join(data, "keys.json"), "w") as f:
            f.write("{not json")
        r = self.check(BASE + f"audit:\n  data_dir: {data}\n")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("auth.api_keys.file: ", r.stderr)
        self.assertIn("not valid JSON", r.stderr)
        self.assertEqual(os.listdir(data), ["keys.json"])

    def test_serve_refuses_a_bad_file_and_creates_nothing(self):
        data = os.path.join(self.tmp, "data")
        path = self.write(BASE + f"audit:\n  data_dir: {data}\n---\nnode: x\n")
        r = subprocess.run([BIN, "serve", "-c", path], capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("2 YAML documents", r.stderr)
        self.assertFalse(os.path.exists(data))


class ReloadEdgesTest(unittest.TestCase):
    """One gateway for the class: most cases are a refused reload, after which the gateway
    must still answer as before; the others restore the original file when done."""

    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="apitrail-config-edges-reload-")
        cls.upstream = RecordingUpstream()
        cls.gw = Apitrail(cls.root, cls.upstream.port)
        os.makedirs(cls.gw.data, exist_ok=True)
        cls.key = cls.gw.create_key("alice")
        cls.gw.start()
        # Read once started: start() moves the gateway to fresh ports in the file when a test
        # beside this one took them meanwhile, and a text from before would undo that move.
        with open(cls.gw.config) as f:
            cls.original = f.read()

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop(signal.SIGKILL)
        cls.upstream.stop()
        shutil.rmtree(cls.root, ignore_errors=True)

    def full_log(self):
        with open(os.path.join(self.root, "apitrail.log"), "rb") as f:
            return f.read().decode(errors="replace")

    def replace_config(self, text):
        """The config file holds `text`, replaced whole (a reload never reads half of it)."""
        with open(self.gw.config + ".tmp", "w") as f:
            f.write(text)
        os.replace(self.gw.config + ".tmp", self.gw.config)

    def reload_refused(self, text, fragment):
        """Writes `text`, sends SIGHUP, waits for the refusal naming `fragment`, restores the
        original file and checks the old configuration still serves."""
        before = self.full_log().count("configuration not reloaded")
        self.replace_config(text)
        self.gw.proc.send_signal(signal.SIGHUP)
        try:
            wait_until(lambda: self.full_log().count("configuration not reloaded") > before,
                       timeout=10, what="the refusal")
        finally:
            with open(self.gw.config, "w") as f:
                f.write(self.original)
        log = self.full_log()
        self.assertIn(fragment, log)
        self.assertNotIn("TOPSECRET", log)
        self.assertIsNone(self.gw.proc.poll())
        status = self.gw.request("GET", "/v1/orders/1", {"Authorization": f"Bearer {self.key}"})[0]
        self.assertEqual(status, 200)

    def test_log_level_is_applied(self):
        # serve set the level once at start: a reload reported the new level loaded and kept
        # the old one (here warn, which hides the reload's own info line).
        text = self.original.replace("log_level: warn\n", "log_level: info\n", 1)
        self.assertNotEqual(text, self.original)
        self.replace_config(text)
        try:
            self.gw.proc.send_signal(signal.SIGHUP)
            wait_until(lambda: "SIGHUP: configuration reloaded" in self.full_log(), timeout=10,
                       what="the reload's info line")
        finally:
            with open(self.gw.config, "w") as f:
                f.write(self.original)

    def test_second_document(self):
        self.reload_refused(self.original + "---\nroutes: []\n", "2 YAML documents")

    def test_alias_bomb(self):
        text = self.original + 'x0: &l0 "lol"\n'
        for i in range(1, 12):
            text += f"x{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]\n"
        self.reload_refused(text, "aliases (*name) expand to more than")

    def test_identity_header_content_length(self):
        text = self.original.replace("\nauth:\n", "\nauth:\n  identity_headers:\n    subject: Content-Length\n", 1)
        self.assertNotEqual(text, self.original)
        self.reload_refused(text, "auth.identity_headers.subject")

    def test_admin_token_change_applies_on_reload(self):
        # Rotating an admin token needs no restart: the new one opens the admin API and the
        # one taken out no longer does (it was refused as restart-only, and before that
        # reported reloaded while the old token kept working).
        text = self.original.replace(ADMIN_TOKEN, SECRET)
        self.assertNotEqual(text, self.original)
        self.replace_config(text)
        try:
            self.gw.proc.send_signal(signal.SIGHUP)
            wait_until(lambda: self.gw.admin("/api/v1/events?limit=1", token=SECRET)[0] == 200,
                       timeout=10, what="the new admin token")
            self.assertEqual(self.gw.admin("/api/v1/events?limit=1")[0], 401)
            self.assertNotIn("TOPSECRET", self.full_log())
        finally:
            with open(self.gw.config, "w") as f:
                f.write(self.original)
            self.gw.proc.send_signal(signal.SIGHUP)
            wait_until(lambda: self.gw.admin("/api/v1/events?limit=1")[0] == 200, timeout=10,
                       what="the original admin token again")

    def test_store_option_change_needs_a_restart(self):
        text = self.original.replace("  data_dir:", "  direct_io: false\n  data_dir:", 1)
        self.assertNotEqual(text, self.original)
        self.reload_refused(text, "audit.direct_io: changed, but only takes effect after a restart")


class TokenFileReloadTest(unittest.TestCase):
    """admin.token_file is read again on SIGHUP: a token taken out of it stops opening the
    admin API; a file that no longer holds a token is refused and the running tokens stay."""

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="apitrail-config-edges-tokens-")
        self.upstream = RecordingUpstream()
        self.gw = Apitrail(self.root, self.upstream.port)
        self.tokens = os.path.join(self.root, "admin-tokens")
        with open(self.tokens, "w") as f:
            f.write(ADMIN_TOKEN + "\n")
        self.gw.edit_config(f"  tokens: [{ADMIN_TOKEN}]\n", f"  token_file: {self.tokens}\n")
        os.makedirs(self.gw.data, exist_ok=True)
        self.key = self.gw.create_key("alice")
        self.gw.start()

    def tearDown(self):
        self.gw.stop(signal.SIGKILL)
        self.upstream.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def test_changed_token_file_applies_on_reload(self):
        self.assertEqual(self.gw.admin("/api/v1/events?limit=1")[0], 200)
        with open(self.tokens, "w") as f:
            f.write(SECRET + "\n")
        self.gw.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: self.gw.admin("/api/v1/events?limit=1", token=SECRET)[0] == 200,
                   timeout=10, what="the token from the file")
        self.assertEqual(self.gw.admin("/api/v1/events?limit=1")[0], 401)
        self.assertNotIn("TOPSECRET", self.gw.logs())
        # A file with no token left is refused whole: the running tokens stay.
        with open(self.tokens, "w") as f:
            f.write("# rotating\n")
        self.gw.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "holds no token" in self.gw.logs(), timeout=10, what="the refusal")
        self.assertEqual(self.gw.admin("/api/v1/events?limit=1", token=SECRET)[0], 200)


if __name__ == "__main__":
    unittest.main()
