"""Archive and retention through the real binary (audit.archive, audit.retention; issue #3
item 6), 127.0.0.1 only.

Most tests drop files into DATA_DIR/parts/ themselves, the way the sealer does (written under
another name, then renamed to *.part): the archiver treats parts as opaque immutable files, and
this keeps those tests independent of sealing. test_real_parts_... seals real parts under
traffic (a tiny max_segment_bytes) and verifies the archive with the part reader.

Shown here: a part, the checkpoint slice that covers it and the node's verifier key arrive in
the archive directory through `cp %p DEST/%f`; the slice is checkpoints.log byte for byte and
`apitrail verify --archive` checks its signatures offline (parts are reported as not checked
without a part reader); a failing command is counted in /metrics, logged with the file name,
exit code and the command's own message, and retried until it succeeds; a command that hangs
is killed at its timeout and does not delay shutdown; retention deletes only expired parts
that were archived; retention without an archive command is refused by `config check`."""
import http.client
import json
import os
import shutil
import signal
import tempfile
import time
import unittest

from harness import HOST, Apitrail, RecordingUpstream, admin_metrics, run_cli, wait_until


def drop_part(data, name, content, age_days=0):
    """As the sealer does: write elsewhere, rename into parts/ whole."""
    parts = os.path.join(data, "parts")
    os.makedirs(parts, exist_ok=True)
    tmp = os.path.join(parts, name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(content)
    if age_days:
        t = time.time() - age_days * 86400
        os.utime(tmp, (t, t))
    os.rename(tmp, os.path.join(parts, name))


class ArchiveTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="apitrail-it-archive-")
        self.dest = os.path.join(self.root, "cold storage")  # a space: quoting is exercised
        self.qdest = "'" + self.dest + "/'"  # the operator quotes the directory, not %f
        os.makedirs(self.dest)
        self.upstream = RecordingUpstream()
        self.gw = None

    def tearDown(self):
        if self.gw:
            self.gw.stop(signal.SIGKILL)
        self.upstream.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def start(self, archive_yaml):
        self.gw = Apitrail(self.root, self.upstream.port, audit_extra=archive_yaml)
        os.makedirs(self.gw.data, exist_ok=True)
        self.key = self.gw.create_key("alice", ["orders:read"])
        self.gw.start()
        return self.gw

    def archive_config(self, command, extra=""):
        # YAML single quotes are YAML's; the command itself does not quote %p/%f.
        command = command.replace("'", "''")
        return (f"  archive:\n    command: '{command}'\n    scan_interval_ms: 100\n"
                f"    retry_min_ms: 100\n    retry_max_ms: 400\n{extra}")

    def traffic(self, n=3):
        for i in range(n):
            status, _, _ = self.gw.request("GET", f"/v1/orders/{i}", {"Authorization": f"Bearer {self.key}"})
            self.assertEqual(status, 200)
        def signed_all():
            m = admin_metrics(self.gw)
            return m["apitrail_store_records"] >= n and m["apitrail_checkpoint_tree_size"] >= m["apitrail_store_records"]
        wait_until(signed_all, what="a checkpoint over the requests")

    def metric(self, name):
        return admin_metrics(self.gw).get(name, 0)

    def test_parts_and_their_checkpoints_arrive_and_verify_offline(self):
        gw = self.start(self.archive_config(f"cp %p {self.qdest}%f"))
        self.traffic()
        drop_part(gw.data, "p-0001.part", b"sealed part bytes \x00\x01")
        # Done means the command exited and its success was recorded (a listing alone could
        # catch a copy in progress).
        wait_until(lambda: self.metric("apitrail_archive_archived_total") == 3 and
                   self.metric("apitrail_archive_pending") == 0, what="part, slice and key archived")
        files = sorted(os.listdir(self.dest))
        self.assertEqual(len(files), 3, files)
        self.assertEqual(files[1], "p-0001.part")
        slice_name, key_name = files[0], files[2]
        self.assertRegex(slice_name, r"^checkpoints-\d{20}-\d{20}\.ckpt$")
        self.assertRegex(key_name, r"^verifier-key-[0-9a-f]{8}\.txt$")
        with open(os.path.join(self.dest, "p-0001.part"), "rb") as f:
            self.assertEqual(f.read(), b"sealed part bytes \x00\x01")
        # The slice is checkpoints.log from its start, byte for byte, up to a frame boundary.
        with open(os.path.join(self.dest, slice_name), "rb") as f:
            slice_bytes = f.read()
        with open(os.path.join(gw.data, "checkpoints.log"), "rb") as f:
            log = f.read()
        self.assertEqual(slice_bytes, log[:len(slice_bytes)])
        end = int(slice_name[len("checkpoints-") + 21:-len(".ckpt")])
        self.assertEqual(len(slice_bytes) - end, 0)  # header included: end offset = slice size

        m = admin_metrics(gw)
        self.assertEqual(m["apitrail_archive_enabled"], 1)
        self.assertEqual(m["apitrail_archive_archived_total"], 3)
        self.assertEqual(m["apitrail_archive_pending"], 0)
        self.assertEqual(m["apitrail_archive_failures_total"], 0)
        self.assertGreater(m["apitrail_archive_last_success_timestamp_seconds"], time.time() - 60)
        self.assertEqual(m["apitrail_archive_checkpoint_slices_total"], 1)
        # Archived once: the done markers persist.
        done = sorted(os.listdir(os.path.join(gw.data, "archive", "done")))
        self.assertEqual(done, sorted(n + ".done" for n in files))

        key = run_cli("key", "show", "--data", gw.data).stdout.strip()
        r = run_cli("verify", "--archive", self.dest, "--key", key, "--json")
        report = json.loads(r.stdout)
        self.assertTrue(report["checkpoints"]["ok"], r.stdout)
        self.assertGreaterEqual(report["checkpoints"]["verified"], 1)
        self.assertEqual(report["checkpoints"]["slices"], 1)
        self.assertEqual(report["parts"]["count"], 1)
        # This "part" is made up by the test: the part reader refuses it, naming the file.
        self.assertTrue(report["parts"]["checked"])
        self.assertFalse(report["parts"]["ok"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("p-0001.part", report["file"])
        # Without --key: the archived key file, marked as self-consistency only.
        r = run_cli("verify", "--archive", self.dest)
        self.assertIn("checkpoints ok", r.stdout)
        self.assertIn("parts FAILED", r.stdout)
        self.assertIn("self-consistency only", r.stdout)
        # Another node's key (a fixture's): the signatures fail.
        fixture = os.path.join(os.path.dirname(__file__), "..", "fixtures", "corrupt", "good", "data")
        other = run_cli("key", "show", "--data", fixture).stdout.strip()
        r = run_cli("verify", "--archive", self.dest, "--key", other, "--json")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertFalse(json.loads(r.stdout)["checkpoints"]["ok"], r.stdout)

        # A second part brings a second slice that continues the first.
        self.traffic(2)
        drop_part(gw.data, "p-0002.part", b"second")
        wait_until(lambda: self.metric("apitrail_archive_archived_total") == 5 and
                   self.metric("apitrail_archive_pending") == 0, what="second part and slice archived")
        self.assertEqual(len(os.listdir(self.dest)), 5)
        slices = sorted(n for n in os.listdir(self.dest) if n.endswith(".ckpt"))
        self.assertEqual(slices[1][len("checkpoints-"):len("checkpoints-") + 20],
                         slices[0][len("checkpoints-") + 21:len("checkpoints-") + 41])
        r = run_cli("verify", "--archive", self.dest, "--key", key, "--json")
        self.assertEqual(json.loads(r.stdout)["checkpoints"]["slices"], 2, r.stdout)
        self.assertTrue(json.loads(r.stdout)["checkpoints"]["ok"], r.stdout)

    def test_real_parts_are_archived_and_the_archive_verifies_offline(self):
        gw = self.start(self.archive_config(f"cp %p {self.qdest}%f") + "  max_segment_bytes: 65536\n")
        conn = http.client.HTTPConnection(HOST, gw.gateway_port, timeout=10)
        try:
            for i in range(400):
                conn.request("GET", f"/v1/orders/{i}", headers={"Authorization": f"Bearer {self.key}"})
                r = conn.getresponse()
                r.read()
                self.assertEqual(r.status, 200)
        finally:
            conn.close()
        parts_dir = os.path.join(gw.data, "parts")
        wait_until(lambda: len([n for n in os.listdir(parts_dir) if n.endswith(".part")]) >= 2,
                   timeout=30, what="sealed parts")
        parts = sorted(n for n in os.listdir(parts_dir) if n.endswith(".part"))
        wait_until(lambda: all(os.path.exists(os.path.join(self.dest, n)) for n in parts) and
                   self.metric("apitrail_archive_pending") == 0, timeout=30, what="parts archived")
        key = run_cli("key", "show", "--data", gw.data).stdout.strip()
        # The slice with the checkpoint signed where the last part ends follows the part at the
        # archiver's next scan; until then those records are not proven, and verify says so.
        deadline = time.monotonic() + 30
        while True:
            r = run_cli("verify", "--archive", self.dest, "--key", key, "--json")
            if (r.returncode == 0 and json.loads(r.stdout)["parts"]["records_uncovered"] == 0) or \
                    time.monotonic() > deadline:
                break
            if r.returncode != 0:
                self.assertIn("covered by no archived checkpoint", r.stdout)
            time.sleep(0.5)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        report = json.loads(r.stdout)
        # Every rotation is signed at its size, so the archive alone proves all it holds.
        self.assertEqual(report["parts"]["records_uncovered"], 0, r.stdout)
        self.assertTrue(report["ok"])
        self.assertTrue(report["parts"]["checked"])
        self.assertGreaterEqual(report["parts"]["count"], 2)
        self.assertEqual(report["parts"]["first_seq"], 0)
        self.assertGreaterEqual(report["parts"]["checkpoints_matched"], 1)
        # A flipped byte in an archived part is caught offline.
        victim = os.path.join(self.dest, parts[0])
        with open(victim, "r+b") as f:
            f.seek(200)
            b = f.read(1)
            f.seek(200)
            f.write(bytes([b[0] ^ 0x5A]))
        r = run_cli("verify", "--archive", self.dest, "--key", key, "--json")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertFalse(json.loads(r.stdout)["ok"])

    def test_a_kill_9_and_restart_archive_nothing_twice(self):
        calls = os.path.join(self.root, "calls")
        gw = self.start(self.archive_config(f"echo %f >> {calls} && cp %p {self.qdest}%f"))
        self.traffic()
        drop_part(gw.data, "p-0001.part", b"one")
        wait_until(lambda: self.metric("apitrail_archive_archived_total") == 3 and
                   self.metric("apitrail_archive_pending") == 0, what="archived")
        gw.kill9()
        gw.start()
        drop_part(gw.data, "p-0002.part", b"two")
        wait_until(lambda: self.metric("apitrail_archive_pending") == 0 and
                   self.metric("apitrail_archive_archived_total") >= 1, what="the new part archived")
        with open(calls) as f:
            names = f.read().split()
        self.assertEqual(len(names), len(set(names)), names)  # each file copied exactly once
        self.assertIn("p-0001.part", names)
        self.assertIn("p-0002.part", names)

    def test_failures_are_counted_logged_and_retried_until_success(self):
        target = os.path.join(self.dest, "not yet mounted")
        gw = self.start(self.archive_config(f"cp %p '{target}/'%f"))
        drop_part(gw.data, "p-0001.part", b"x")
        wait_until(lambda: self.metric("apitrail_archive_failures_total") >= 3, what="failures in /metrics")
        m = admin_metrics(gw)
        self.assertEqual(m["apitrail_archive_archived_total"], 0)
        self.assertGreaterEqual(m["apitrail_archive_pending"], 1)
        logs = gw.logs()
        self.assertIn("archive: p-0001.part not archived", logs)
        self.assertIn("exit code 1", logs)
        self.assertIn("No such file or directory", logs)  # cp's own message, the output tail
        # Backoff: 100, 200, 400, 400 ms … — not one attempt per 100 ms scan.
        before = self.metric("apitrail_archive_failures_total")
        time.sleep(1.2)
        self.assertLessEqual(self.metric("apitrail_archive_failures_total") - before, 5)
        os.makedirs(target)
        wait_until(lambda: self.metric("apitrail_archive_pending") == 0 and
                   self.metric("apitrail_archive_archived_total") >= 2, what="archived after the fix")
        self.assertTrue(os.path.exists(os.path.join(target, "p-0001.part")))

    def test_a_hanging_command_is_killed_at_its_timeout_and_does_not_delay_shutdown(self):
        gw = self.start(self.archive_config("sleep 60 # %p", "    timeout_ms: 1000\n"))
        drop_part(gw.data, "p-0001.part", b"x")
        wait_until(lambda: self.metric("apitrail_archive_timeouts_total") >= 1, timeout=15,
                   what="a timeout in /metrics")
        self.assertIn("timed out after", gw.logs())
        t0 = time.time()
        self.assertEqual(gw.stop(signal.SIGTERM), 0)
        self.assertLess(time.time() - t0, 8)
        self.gw = None

    def test_retention_deletes_only_expired_parts_that_were_archived(self):
        # Part names are seq-ordered, as the sealer's: retention removes the oldest first and
        # never leaves a hole, so the unarchived old part keeps itself (and what follows).
        a, keep, new = ("part-00000000000000000001.part", "part-00000000000000000002-keep.part",
                        "part-00000000000000000003.part")
        cmd = f"case %f in *keep*) exit 1;; esac; cp %p {self.qdest}%f"
        gw = self.start(self.archive_config(cmd, "  retention:\n    days: 1\n"))
        drop_part(gw.data, new, b"today", age_days=0)
        drop_part(gw.data, a, b"old, archivable", age_days=10)
        drop_part(gw.data, keep, b"old, archive fails", age_days=10)
        wait_until(lambda: self.metric("apitrail_retention_deleted_parts_total") == 1 and
                   self.metric("apitrail_retention_waiting_parts") == 1, what="retention")
        parts = sorted(os.listdir(os.path.join(gw.data, "parts")))
        self.assertEqual(parts, [keep, new])
        self.assertTrue(os.path.exists(os.path.join(self.dest, a)))
        # Archived in order, as PostgreSQL archives WAL: the failing part holds the newer one.
        self.assertFalse(os.path.exists(os.path.join(self.dest, new)))
        self.assertEqual(self.metric("apitrail_retention_deleted_bytes_total"), len(b"old, archivable"))
        self.assertTrue(os.path.exists(os.path.join(gw.data, "checkpoints.log")))
        # (The harness logs at warn: deletions are logged at info, the stuck part at warn.)
        self.assertIn(f"{keep} is past audit.retention.days but not archived yet", gw.logs())

    def test_archive_settings_take_effect_only_after_a_restart(self):
        gw = self.start(self.archive_config(f"cp %p {self.qdest}%f"))
        gw.edit_config("scan_interval_ms: 100", "scan_interval_ms: 200")
        gw.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "audit.archive: changed, but only takes effect after a restart" in gw.logs(),
                   what="the refused reload")
        self.assertIsNone(gw.proc.poll())

    def test_retention_without_an_archive_command_is_refused_unless_explicit(self):
        path = os.path.join(self.root, "c.yaml")
        with open(path, "w") as f:
            f.write("admin:\n  enabled: false\naudit:\n  retention:\n    days: 3\n")
        r = run_cli("config", "check", "-c", path)
        self.assertEqual(r.returncode, 2)
        self.assertIn("audit.retention.days", r.stdout + r.stderr)
        self.assertIn("require_archive: false", r.stdout + r.stderr)
        with open(path, "a") as f:
            f.write("    require_archive: false\n")
        self.assertEqual(run_cli("config", "check", "-c", path).returncode, 0)


if __name__ == "__main__":
    unittest.main()
