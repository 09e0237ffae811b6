"""The command-line tools at their edges: what an operator types wrong at 3 a.m. and
what the disk does to the output. Every case checks the exit code contract (0 ok, 1 check
failed, 2 usage) and that the message names what was wrong. One small data dir (a few records
and a signed checkpoint) is written once by a real gateway and only read afterwards."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import BIN, Apitrail, RecordingUpstream, run_cli, wait_until

RECORDS = 12


DATA = {}  # "root", "data": written once by setUpModule


def setUpModule():
    """A data dir with RECORDS records, all covered by a signed checkpoint; the gateway that
    wrote it is stopped before the tests run."""
    root = tempfile.mkdtemp(prefix="apitrail-cli-edges-")
    DATA["root"] = root
    upstream = RecordingUpstream()
    gw = Apitrail(root, upstream.port)
    try:
        os.makedirs(gw.data, exist_ok=True)
        key = gw.create_key("alice", ["orders:read"])
        gw.start()
        for i in range(RECORDS):
            status = gw.request("GET", f"/v1/orders/{i}", {"Authorization": f"Bearer {key}"})[0]
            assert status == 200, status
        wait_until(lambda: run_cli("prove", "inclusion", "--data", gw.data, "--seq", str(RECORDS - 1),
                                   timeout=10).returncode == 0,
                   timeout=10, what="a checkpoint covering every record")
    finally:
        gw.stop()
        upstream.stop()
    DATA["data"] = gw.data


def tearDownModule():
    shutil.rmtree(DATA["root"], ignore_errors=True)


class DataDirCase(unittest.TestCase):
    """self.data: the module's data dir (read only); self.tmp: a fresh dir per test."""

    def setUp(self):
        self.data = DATA["data"]
        self.tmp = tempfile.mkdtemp(prefix="apitrail-cli-edges-t-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


class OutputWriteTest(DataDirCase):
    def run_to_full_disk(self, *args):
        with open("/dev/full", "w") as full:
            return subprocess.run([BIN, *args], stdout=full, stderr=subprocess.PIPE, text=True, timeout=30)

    def test_export_to_a_full_disk_fails(self):
        r = self.run_to_full_disk("export", "--leaves", "--data", self.data)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("standard output", r.stderr)

    def test_keys_create_to_a_full_disk_fails(self):
        # The key is shown once: a lost one must not look created.
        r = self.run_to_full_disk("keys", "create", "--data", self.tmp, "--subject", "bob")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("standard output", r.stderr)
        # Nor stay active: nobody holds it. It stayed in the list, active, for good.
        self.assertIn("was revoked", r.stderr)
        keys = json.loads(run_cli("keys", "list", "--json", "--data", self.tmp).stdout)
        self.assertEqual([k["state"] for k in keys["keys"]], ["revoked"], keys)

    def test_keys_create_into_a_closed_pipe_revokes_the_key(self):
        # SIGPIPE killed the process after the key was stored and before anything could undo it.
        read_end, write_end = os.pipe()
        os.close(read_end)  # closed before the process starts: its write must fail
        try:
            r = subprocess.run([BIN, "keys", "create", "--data", self.tmp, "--subject", "carol"],
                               stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=30)
        finally:
            os.close(write_end)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("was revoked", r.stderr)
        keys = json.loads(run_cli("keys", "list", "--json", "--data", self.tmp).stdout)
        self.assertEqual([k["state"] for k in keys["keys"]], ["revoked"], keys)

    def test_keys_rotate_to_a_full_disk_is_taken_back(self):
        # The new key was stored and the old one set to expire after the overlap, with the
        # new one lost: in a day the client would have had no valid key at all.
        r = run_cli("keys", "create", "--data", self.tmp, "--subject", "dave", "--expires", "30d")
        self.assertEqual(r.returncode, 0, r.stderr)
        before = json.loads(run_cli("keys", "list", "--json", "--data", self.tmp).stdout)["keys"]
        old_id = before[0]["id"]
        r = self.run_to_full_disk("keys", "rotate", old_id, "--overlap", "24h", "--data", self.tmp)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("standard output", r.stderr)
        self.assertIn("was revoked and " + old_id + " keeps its expiry", r.stderr)
        keys = json.loads(run_cli("keys", "list", "--json", "--data", self.tmp).stdout)["keys"]
        self.assertEqual([(k["id"], k["state"]) for k in keys], [(old_id, "active"), (keys[1]["id"], "revoked")])
        self.assertEqual(keys[0].get("expires"), before[0].get("expires"))
        self.assertIsNotNone(keys[0].get("expires"))

    def test_output_to_a_file_still_exits_0(self):
        r = run_cli("export", "--leaves", "--data", self.data)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(r.stdout.splitlines()), RECORDS)


class NumberFlagTest(DataDirCase):
    """Seqs and sizes are decimal: CLI11 alone read "-1" as 2^64-1 and "010" as octal 8."""

    def assertUsage(self, r, flag, value):
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn(flag, r.stderr)
        self.assertIn(f"'{value}'", r.stderr)
        self.assertEqual(r.stdout, "")

    def test_negative_seq_is_a_usage_error(self):
        self.assertUsage(run_cli("export", "--leaves", "--data", self.data, "--from", "-1"), "--from", "-1")
        self.assertUsage(run_cli("prove", "inclusion", "--data", self.data, "--seq", "-1"), "--seq", "-1")
        self.assertUsage(run_cli("prove", "consistency", "--data", self.data, "--from", "-2"), "--from", "-2")

    def test_hex_and_overflow_are_usage_errors(self):
        self.assertUsage(run_cli("export", "--leaves", "--data", self.data, "--from", "0x2"), "--from", "0x2")
        self.assertUsage(run_cli("export", "--leaves", "--data", self.data, "--to", "18446744073709551616"),
                         "--to", "18446744073709551616")
        self.assertUsage(run_cli("prove", "inclusion", "--data", self.data, "--seq", "1", "--size", ""), "--size", "")

    def test_leading_zeros_are_decimal(self):
        r = run_cli("export", "--leaves", "--data", self.data, "--from", "010", "--to", "0011")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split()[0], "10")  # not octal 8
        r = run_cli("prove", "inclusion", "--data", self.data, "--seq", "010")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["leaf_index"], 10)


class ExportRangeTest(DataDirCase):
    def test_from_beyond_the_log_is_a_usage_error(self):
        r = run_cli("export", "--leaves", "--data", self.data, "--from", str(RECORDS + 5))
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn(f"--from {RECORDS + 5} is beyond the end of the log", r.stderr)
        r = run_cli("export", "--leaves", "--data", self.data, "--from", str(RECORDS + 2), "--to", str(RECORDS + 8))
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertNotIn(f"({RECORDS + 2} records)", r.stderr)  # the log has RECORDS, not --from

    def test_from_at_the_end_is_an_empty_export(self):
        # An incremental export that is up to date: nothing new, and that is fine.
        r = run_cli("export", "--leaves", "--data", self.data, "--from", str(RECORDS))
        self.assertEqual((r.returncode, r.stdout), (0, ""), r.stderr)


class KeysDurationTest(DataDirCase):
    def keys(self, *args):
        return run_cli("keys", *args, "--data", self.tmp)

    def listed(self):
        r = self.keys("list", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        return {k["id"]: k for k in json.loads(r.stdout)["keys"]}

    def test_list_names_a_missing_key_file(self):
        missing = os.path.join(self.tmp, "typo")
        r = run_cli("keys", "list", "--json", "--data", missing)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), {"keys": []})
        self.assertIn(f"no key file at {missing}/keys.json", r.stderr)
        self.assertEqual(self.keys("create", "--subject", "svc").returncode, 0)
        self.assertEqual(self.keys("list").stderr, "")

    def test_huge_overlap_does_not_expire_the_old_key(self):
        self.assertEqual(self.keys("create", "--subject", "svc").returncode, 0)
        (old_id,) = self.listed()
        r = self.keys("rotate", old_id, "--overlap", "100000d")  # past 2262: wrapped to 1716
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("--overlap", r.stderr)
        keys = self.listed()
        self.assertEqual(list(keys), [old_id])
        self.assertEqual(keys[old_id]["state"], "active")
        self.assertNotIn("expires", keys[old_id])

    def test_huge_expiry_is_refused_by_name(self):
        r = self.keys("create", "--subject", "svc", "--expires", "100000d")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("--expires: reaches beyond 2262", r.stderr)
        self.assertEqual(self.listed(), {})

    def test_date_without_a_time_is_told_what_a_time_needs(self):
        r = self.keys("create", "--subject", "svc", "--expires", "2030-01-01")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("--expires: not an RFC 3339 time", r.stderr)

    def test_expiry_with_an_offset(self):
        r = self.keys("create", "--subject", "svc", "--expires", "2030-01-01T00:00:00.5+02:00")
        self.assertEqual(r.returncode, 0, r.stderr)
        (key,) = self.listed().values()
        self.assertEqual(key["expires"], "2029-12-31T22:00:00.500000000Z")


class EmptyFlagTest(DataDirCase):
    """An unset shell variable passes "": it must not quietly mean "not given"."""

    def assertRefused(self, flag, *args):
        r = run_cli(*args)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn(f"{flag}: must not be empty", r.stderr)
        self.assertEqual(r.stdout, "")

    def test_verify_does_not_fall_back_to_the_nodes_own_key(self):
        self.assertRefused("--key", "verify", "--data", self.data, "--key", "")
        self.assertRefused("--checkpoint", "verify", "--data", self.data, "--checkpoint", "")
        self.assertRefused("--archive", "verify", "--data", self.data, "--archive", "")

    def test_empty_data_dir_is_not_the_root_directory(self):
        self.assertRefused("--data", "keys", "list", "--data", "")
        self.assertRefused("--data", "verify", "--data", "")
        self.assertRefused("--data", "export", "--leaves", "--data", "")
        self.assertRefused("--data", "key", "show", "--data", "")
        self.assertRefused("--data", "prove", "inclusion", "--seq", "0", "--data", "")


class FileArgumentTest(DataDirCase):
    def key(self):
        r = run_cli("key", "show", "--data", self.data)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.strip()

    def test_proof_check_of_a_directory_is_a_usage_error(self):
        r = run_cli("proof", "check", "--proof", self.tmp, "--key", self.key())
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)  # not "invalid" (1): nothing was checked
        self.assertIn(f"--proof: cannot read {self.tmp}: is a directory", r.stderr)
        self.assertEqual(r.stdout, "")

    def test_checkpoint_that_is_a_directory_is_named(self):
        r = run_cli("verify", "--data", self.data, "--checkpoint", self.tmp)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("is a directory", r.stderr)

    def test_json_verify_answers_a_bad_key_or_checkpoint_in_json(self):
        # A script parsing the promised JSON got nothing on stdout (only stderr) for exit 2.
        for flag, value in (("--checkpoint", self.tmp), ("--key", "/dev/zero"), ("--key", "nonsense")):
            for where in (["--data", self.data], ["--archive", self.tmp]):
                r = run_cli("verify", *where, flag, value, "--json")
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                out = json.loads(r.stdout)
                self.assertFalse(out["ok"])
                self.assertIn(flag, out["usage_error"])
                self.assertIn(out["usage_error"], r.stderr)

    def test_missing_data_dir_is_named(self):
        # Not "no signed checkpoint yet": that sends the operator off to wait.
        missing = os.path.join(self.tmp, "no-such-dir")
        for args in (["prove", "inclusion", "--seq", "0"], ["prove", "consistency", "--from", "0"],
                     ["export", "--leaves"]):
            r = run_cli(*args, "--data", missing)
            self.assertEqual(r.returncode, 1, args)
            self.assertIn(f"no data directory at {missing}", r.stderr)

    def test_key_from_a_pipe(self):
        # `--key <(curl …)` or /dev/stdin: a pipe, not a regular file.
        r = subprocess.run([BIN, "verify", "--data", self.data, "--key", "/dev/stdin"], input=self.key() + "\n",
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("key: --key apitrail/", r.stdout)

    def test_endless_file_is_refused_not_read_forever(self):
        for args, flag in ((["verify", "--data", self.data, "--checkpoint", "/dev/zero"], "--checkpoint"),
                           (["proof", "check", "--proof", "/dev/zero", "--key", self.key()], "--proof"),
                           (["verify", "--data", self.data, "--key", "/dev/zero"], "--key")):
            r = run_cli(*args, timeout=10)
            self.assertEqual(r.returncode, 2, args)
            self.assertIn(f"{flag}: /dev/zero is larger than 1048576 bytes", r.stderr)

    def test_endless_stdin_is_refused_not_read_forever(self):
        # '-' read stdin without a limit where a named file was cut off at 1 MiB.
        secret = os.path.join(self.tmp, "secret")
        with open(secret, "w") as f:
            f.write("s" * 32)
        for args in (["proof", "check", "--proof", "-", "--key", self.key()],
                     ["jwt", "verify", "--secret-file", secret, "--token-file", "-"]):
            with open("/dev/zero", "rb") as zero:
                r = subprocess.run([BIN, *args], stdin=zero, capture_output=True, text=True, timeout=10)
            self.assertEqual(r.returncode, 2, args)
            self.assertIn("larger than 1048576 bytes", r.stderr, args)

    def test_a_record_the_log_does_not_have_is_not_told_to_wait(self):
        # "wait for the next checkpoint" for a seq past the end sent an operator off to wait.
        r = run_cli("prove", "inclusion", "--data", self.data, "--seq", str(RECORDS + 100))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(f"the log has no record {RECORDS + 100}", r.stderr)
        self.assertNotIn("wait", r.stderr)
        r = run_cli("prove", "consistency", "--data", self.data, "--from", str(RECORDS + 3))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(f"the log has no record {RECORDS + 2}", r.stderr)

    def test_saved_proof_still_checks(self):
        r = run_cli("prove", "inclusion", "--data", self.data, "--seq", "2")
        self.assertEqual(r.returncode, 0, r.stderr)
        path = os.path.join(self.tmp, "incl.json")
        with open(path, "w") as f:
            f.write(r.stdout)
        r = run_cli("proof", "check", "--proof", path, "--key", self.key())
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(r.stdout.startswith("valid: inclusion of leaf 2 "), r.stdout)


class NotAdminApiTest(unittest.TestCase):
    """--admin pointing at another HTTP service on 127.0.0.1 that answers 200 with HTML."""

    def setUp(self):
        import http.server
        import threading

        class Html(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                body = b"<html><body>welcome</body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Html)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.admin = f"127.0.0.1:{self.server.server_address[1]}"

    def tearDown(self):
        self.server.shutdown()
        self.server.server_close()

    def test_json_output_is_json_or_a_failure(self):
        for args in (["query", "--json"], ["stats", "top", "--dim", "route", "--json"],
                     ["stats", "series", "--metric", "requests", "--json"]):
            r = run_cli(*args, "--admin", self.admin, "--token", "t0ken-for-the-test", timeout=15)
            self.assertEqual(r.returncode, 1, args)
            self.assertEqual(r.stdout, "", args)
            self.assertIn("unexpected answer", r.stderr)
            self.assertNotIn("t0ken-for-the-test", r.stderr)


class InterruptTest(unittest.TestCase):
    """Only serve and demo hold SIGINT/SIGTERM for an orderly drain; a tool waiting on a
    stalled admin API (here: a listener that never answers) stops at once."""

    def test_ctrl_c_and_kill_stop_a_waiting_query(self):
        import signal
        import socket
        import time
        with socket.socket() as stalled:
            stalled.bind(("127.0.0.1", 0))
            stalled.listen(4)
            admin = f"127.0.0.1:{stalled.getsockname()[1]}"
            for sig in (signal.SIGINT, signal.SIGTERM):
                p = subprocess.Popen([BIN, "query", "--admin", admin, "--token", "t0ken-for-the-test"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(0.5)
                p.send_signal(sig)
                try:
                    rc = p.wait(timeout=3)  # the query's own timeout is 10 s
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
                    self.fail(f"{signal.Signals(sig).name} did not stop `apitrail query`")
                self.assertEqual(rc, -sig)


if __name__ == "__main__":
    unittest.main()
