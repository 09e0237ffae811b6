"""Archive and retention edge cases through the real binary (an adversarial hunt; the basics
are in test_archive.py), 127.0.0.1 only.

ArchiveCommandEdgesTest drops opaque files into DATA_DIR/parts/ as the sealer does (the
archiver treats parts as immutable files) and drives archive_command into its corners: a
non-zero exit after a partial copy, a signal, a hang with a grandchild, a success that copies
nothing, huge output, `%%`, paths full of shell metacharacters (no injection), %p quoted
inside nested quotes (refused), a relative data dir (%p stays absolute), a crash between the
command's success and its marker (archived again, idempotently), retention that waits for
the archive — with the metrics and log lines each one must leave.

ArchiveVerifyEdgesTest builds one real archive (sealed parts under traffic, their checkpoint
slices and the verifier key) and damages copies of it: a part missing in the middle, a part
replaced by another valid part (of this log, or of another log of the same node name), a
truncated part, a missing slice, extra unrelated files, a huge file named like the key file,
an empty directory (and no directory: --json still answers JSON), checkpoints only.
`apitrail verify --archive` must name each problem and exit 1 (0 where the archive holds)."""
import http.client
import json
import os
import shlex
import shutil
import signal
import tempfile
import time
import unittest

from harness import HOST, Apitrail, RecordingUpstream, admin_metrics, run_cli, wait_until
from test_archive import drop_part

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "corrupt")




def archive_yaml(command, extra="", timeout_ms=None):
    command = command.replace("'", "''")  # YAML single quotes; the command's own are kept
    out = (f"  archive:\n    command: '{command}'\n    scan_interval_ms: 100\n"
           f"    retry_min_ms: 100\n    retry_max_ms: 400\n")
    if timeout_ms:
        out += f"    timeout_ms: {timeout_ms}\n"
    return out + extra


class ArchiveCommandEdgesTest(unittest.TestCase):
    ROOT_PREFIX = "apitrail-it-archive-edges-"

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix=self.ROOT_PREFIX)
        self.dest = os.path.join(self.root, "cold")
        os.makedirs(self.dest)
        self.upstream = RecordingUpstream()
        self.gw = None

    def tearDown(self):
        if self.gw:
            self.gw.stop(signal.SIGKILL)
        self.upstream.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def start(self, yaml, parts=(), preexec=None):
        """Starts the server with `parts` ((name, bytes, age_days)) already in parts/: the
        archive queue is parts by name, then the outbox (the verifier key written at start)."""
        self.gw = Apitrail(self.root, self.upstream.port, audit_extra=yaml, preexec=preexec)
        os.makedirs(self.gw.data, exist_ok=True)
        for name, content, age_days in parts:
            drop_part(self.gw.data, name, content, age_days)
        self.gw.start()
        return self.gw

    def cp(self, dest=None):
        """`cp %p DEST/%f`, DEST quoted for the shell (not %f: apitrail quotes it)."""
        return f"cp %p {shlex.quote((dest or self.dest) + '/')}%f"

    def metric(self, name):
        return admin_metrics(self.gw).get(name, 0)

    def done_markers(self):
        d = os.path.join(self.gw.data, "archive", "done")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def test_a_partial_copy_then_exit_1_is_a_counted_logged_failure_and_retried_in_full(self):
        fixed = os.path.join(self.root, "fixed")
        cmd = (f"test -e {shlex.quote(fixed)} || {{ head -c 4 %p > {shlex.quote(self.dest + '/')}%f; "
               f"echo 'quota exceeded' >&2; exit 1; }}; {self.cp()}")
        gw = self.start(archive_yaml(cmd), parts=[("p-0001.part", b"0123456789", 10)])
        wait_until(lambda: self.metric("apitrail_archive_failures_total") >= 3, what="failures")
        m = admin_metrics(gw)
        self.assertEqual(m["apitrail_archive_archived_total"], 0)
        self.assertEqual(m["apitrail_archive_timeouts_total"], 0)
        self.assertEqual(m["apitrail_archive_pending"], 2)  # the part and the key: in order
        # The part's mtime is 10 days back: the oldest pending file says so.
        self.assertGreaterEqual(m["apitrail_archive_oldest_pending_age_seconds"], 10 * 86400 - 60)
        self.assertEqual(self.done_markers(), [])
        with open(os.path.join(self.dest, "p-0001.part"), "rb") as f:
            self.assertEqual(f.read(), b"0123")  # what the failed run left
        logs = gw.logs()
        self.assertIn("archive: p-0001.part not archived (attempt 1): exit code 1; output: quota exceeded", logs)
        self.assertNotIn("head -c", logs)  # never the command line
        open(fixed, "w").close()
        wait_until(lambda: self.metric("apitrail_archive_pending") == 0, what="archived after the fix")
        with open(os.path.join(self.dest, "p-0001.part"), "rb") as f:
            self.assertEqual(f.read(), b"0123456789")
        self.assertIn("p-0001.part.done", self.done_markers())
        self.assertEqual(self.metric("apitrail_archive_oldest_pending_age_seconds"), 0)

    def test_a_command_killed_by_a_signal_is_a_failure_with_the_signal_logged(self):
        gw = self.start(archive_yaml("echo about to die >&2; kill -KILL $$; cp %p /nowhere/%f"),
                        parts=[("p-0001.part", b"x", 0)])
        wait_until(lambda: self.metric("apitrail_archive_failures_total") >= 2, what="failures")
        self.assertEqual(self.metric("apitrail_archive_timeouts_total"), 0)
        self.assertEqual(self.metric("apitrail_archive_archived_total"), 0)
        self.assertIn("p-0001.part not archived (attempt 1): killed by signal 9; output: about to die",
                      gw.logs())
        self.assertEqual(self.done_markers(), [])

    def test_a_hang_is_killed_at_the_timeout_with_its_whole_process_group(self):
        pidfile = os.path.join(self.root, "grandchild.pid")
        t0 = time.monotonic()  # before the start: the command may begin while it runs
        gw = self.start(archive_yaml(f"sleep 60 & echo $! > {shlex.quote(pidfile)}; wait; {self.cp()}",
                                     timeout_ms=1000), parts=[("p-0001.part", b"x", 0)])
        wait_until(lambda: self.metric("apitrail_archive_timeouts_total") >= 1, timeout=30,
                   what="a timeout")
        self.assertGreaterEqual(time.monotonic() - t0, 0.9)
        m = admin_metrics(gw)
        self.assertEqual(m["apitrail_archive_failures_total"], m["apitrail_archive_timeouts_total"])
        self.assertIn("timed out after", gw.logs())
        with open(pidfile) as f:
            pid = int(f.read())

        def gone():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    return ") Z" in f.read()
            except OSError:
                return True
        wait_until(gone, timeout=15, what="the background sleep killed with the group")
        self.assertEqual(self.done_markers(), [])

    def test_a_success_that_copies_nothing_is_trusted_so_verify_is_the_check(self):
        # exit 0 means archived (docs/CONFIG.md): an expired part then leaves, copied or not.
        gw = self.start(archive_yaml("true %p", "  retention:\n    days: 1\n"),
                        parts=[("p-0001.part", b"old", 10)])
        wait_until(lambda: self.metric("apitrail_retention_deleted_parts_total") == 1,
                   what="retention")
        self.assertEqual(os.listdir(self.dest), [])
        self.assertNotIn("p-0001.part.done", self.done_markers())  # the marker goes with the part
        r = run_cli("verify", "--archive", self.dest)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("no verifier key: pass --key", r.stdout)

    def test_huge_output_is_kept_bounded_in_the_log(self):
        gw = self.start(archive_yaml(
            "head -c 20000000 /dev/zero | tr '\\0' x; echo; echo LAST-LINE; exit 3 # %p"),
                            parts=[("p-0001.part", b"x", 0)])
        wait_until(lambda: self.metric("apitrail_archive_failures_total") >= 2, timeout=15,
                   what="failures")
        with open(os.path.join(self.root, "apitrail.log"), "rb") as f:
            log = f.read().decode(errors="replace")
        lines = [line for line in log.splitlines() if "p-0001.part not archived" in line]
        self.assertGreaterEqual(len(lines), 2)
        for line in lines:
            self.assertIn("exit code 3", line)
            self.assertIn("x | LAST-LINE; retrying in", line)
            self.assertLess(len(line), 1000)
        self.assertLess(len(log), 64 * 1024)
        self.assertEqual(gw.request("GET", "/healthz", port=gw.admin_port)[0], 200)

    def test_percent_percent_is_a_literal_percent(self):
        calls = os.path.join(self.root, "calls")
        gw = self.start(archive_yaml(f"echo 100%%-%f >> {shlex.quote(calls)} && {self.cp()}"),
                        parts=[("p-0001.part", b"x", 0)])
        wait_until(lambda: self.metric("apitrail_archive_pending") == 0 and
                   self.metric("apitrail_archive_archived_total") == 2, what="archived")
        with open(calls) as f:
            self.assertEqual(f.readline().strip(), "100%-p-0001.part")

    def test_shell_metacharacters_in_the_data_dir_and_archive_dir_inject_nothing(self):
        shutil.rmtree(self.root)
        odd = "apitrail it's \"odd\" $(touch INJECTED) `touch INJECTED2`;&|*"
        self.root = tempfile.mkdtemp(prefix=odd)
        self.dest = os.path.join(self.root, "cold $(touch INJECTED3) 'x'")
        os.makedirs(self.dest)
        cwd = os.path.join(self.root, "cwd")
        os.makedirs(cwd)
        # The server (and so the command) runs in `cwd`: an injected `touch` would land there.
        gw = self.start(archive_yaml(self.cp()), preexec=lambda: os.chdir(cwd),
                        parts=[("p-0001.part", b"odd bytes", 0)])
        wait_until(lambda: self.metric("apitrail_archive_pending") == 0 and
                   self.metric("apitrail_archive_archived_total") == 2, what="archived",
                   describe=gw.logs)
        with open(os.path.join(self.dest, "p-0001.part"), "rb") as f:
            self.assertEqual(f.read(), b"odd bytes")
        self.assertEqual(os.listdir(cwd), [])
        self.assertEqual(self.metric("apitrail_archive_failures_total"), 0)

    def test_a_command_quoting_percent_p_inside_nested_quotes_is_refused(self):
        path = os.path.join(self.root, "c.yaml")
        with open(path, "w") as f:
            f.write("admin:\n  enabled: false\naudit:\n  archive:\n"
                    "    command: 'cp \"$(echo \"%p\")\" /mnt/cold/'\n")
        r = run_cli("config", "check", "-c", path)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("do not quote %p", r.stdout + r.stderr)

    def test_a_relative_data_dir_still_gives_an_absolute_percent_p(self):
        seen = os.path.join(self.root, "seen")
        gw = Apitrail(self.root, self.upstream.port,
                      audit_extra=archive_yaml(f"echo %p >> {shlex.quote(seen)}; cd / && {self.cp()}"))
        gw.edit_config(f"data_dir: {self.root}/data\n", "data_dir: data\n")
        # Relative, as `cd /etc/apitrail && apitrail serve -c apitrail.yaml`. The harness knows
        # the directory (a chdir in preexec hid it): start() edits the file when it retries on
        # fresh ports, and looked for apitrail.yaml in the test's own directory.
        gw.cwd = self.root
        gw.config = "apitrail.yaml"
        self.gw = gw
        os.makedirs(gw.data)
        drop_part(gw.data, "p-0001.part", b"rel")
        gw.start()
        wait_until(lambda: self.metric("apitrail_archive_archived_total") == 2, what="archived",
                   describe=gw.logs)
        with open(seen) as f:
            self.assertEqual(f.readline().strip(), os.path.join(self.root, "data", "parts", "p-0001.part"))
        self.assertEqual(self.metric("apitrail_archive_failures_total"), 0)

    def test_a_crash_between_success_and_marker_archives_that_file_again(self):
        calls, flag = os.path.join(self.root, "calls"), os.path.join(self.root, "crashed")
        # The first part's success kills the server (the shell's parent) before it writes the
        # marker. (The part comes after the start, so the server is up when that happens.)
        cmd = (f"{self.cp()} && echo %f >> {shlex.quote(calls)} && case %f in *.part) "
               f"if [ ! -e {shlex.quote(flag)} ]; then touch {shlex.quote(flag)}; "
               f"kill -KILL $PPID; fi;; esac")
        gw = self.start(archive_yaml(cmd))
        # The key written at start is archived first when the archiver's first scan comes
        # before the part; on a loaded host that scan came after the part was dropped, the
        # part went first (parts by name, then the outbox) and the kill left the key for after
        # the restart, where it stood in for the new part in the count waited on below.
        wait_until(lambda: self.metric("apitrail_archive_archived_total") == 1 and
                   self.metric("apitrail_archive_pending") == 0, what="the verifier key archived")
        drop_part(gw.data, "p-0001.part", b"one")
        wait_until(lambda: gw.proc.poll() is not None, what="the server killed by the command")
        self.assertEqual(gw.proc.returncode, -signal.SIGKILL)
        self.assertNotIn("p-0001.part.done", self.done_markers())  # copied, but not recorded
        self.assertTrue(os.path.exists(os.path.join(self.dest, "p-0001.part")))
        gw.start()
        drop_part(gw.data, "p-0002.part", b"two")
        wait_until(lambda: self.metric("apitrail_archive_pending") == 0 and
                   self.metric("apitrail_archive_archived_total") == 2, what="archived after restart")
        with open(calls) as f:
            names = f.read().split()
        self.assertEqual(names.count("p-0001.part"), 2, names)  # once more: the marker was lost
        self.assertEqual(names.count("p-0002.part"), 1, names)
        self.assertEqual(len([n for n in names if n.startswith("verifier-key-")]), 1, names)
        # The key before the crash; after the restart the unrecorded part first, then the new one.
        self.assertEqual(names[1:], ["p-0001.part", "p-0001.part", "p-0002.part"], names)
        with open(os.path.join(self.dest, "p-0001.part"), "rb") as f:
            self.assertEqual(f.read(), b"one")
        self.assertEqual(self.metric("apitrail_archive_failures_total"), 0)

    def test_retention_never_deletes_an_unarchived_part_and_deletes_it_once_archived(self):
        fixed = os.path.join(self.root, "fixed")
        gw = self.start(archive_yaml(f"test -e {shlex.quote(fixed)} && {self.cp()}",
                                     "  retention:\n    days: 1\n"))
        # Traffic and a checkpoint over it, so checkpoints.log has something to slice.
        key = gw.create_key("alice", ["orders:read"])
        gw.wait_key_active(key)
        wait_until(lambda: self.metric("apitrail_checkpoint_tree_size") >= 1, what="a checkpoint")
        old, new = "p-0001-old.part", "p-0002-new.part"  # name order is seq order
        drop_part(gw.data, old, b"old", age_days=30)
        drop_part(gw.data, new, b"new")
        wait_until(lambda: self.metric("apitrail_retention_waiting_parts") == 1, what="waiting")
        before = self.metric("apitrail_archive_failures_total")
        wait_until(lambda: self.metric("apitrail_archive_failures_total") >= before + 3,
                   what="more failed runs")
        m = admin_metrics(gw)
        self.assertEqual(m["apitrail_retention_waiting_parts"], 1)
        self.assertEqual(m["apitrail_retention_deleted_parts_total"], 0)
        self.assertTrue(os.path.exists(os.path.join(gw.data, "parts", old)))
        self.assertIn(f"retention: {old} is past audit.retention.days but not archived yet", gw.logs())
        open(fixed, "w").close()
        wait_until(lambda: self.metric("apitrail_retention_deleted_parts_total") == 1 and
                   self.metric("apitrail_archive_pending") == 0, what="archived, then deleted")
        m = admin_metrics(gw)
        self.assertEqual(m["apitrail_retention_waiting_parts"], 0)
        self.assertEqual(m["apitrail_retention_deleted_bytes_total"], 3)
        self.assertEqual(sorted(os.listdir(os.path.join(gw.data, "parts"))), [new])
        archived = sorted(os.listdir(self.dest))
        self.assertIn(old, archived)
        self.assertIn(new, archived)
        # Checkpoints were archived too, and nothing of them is deleted locally.
        slices = [n for n in archived if n.startswith("checkpoints-")]
        self.assertEqual(len(slices), 1, archived)
        self.assertTrue(os.path.exists(os.path.join(gw.data, "archive", "outbox", slices[0])))
        self.assertTrue(os.path.exists(os.path.join(gw.data, "checkpoints.log")))
        self.assertNotIn(old + ".done", self.done_markers())
        self.assertIn(new + ".done", self.done_markers())


class ArchiveVerifyEdgesTest(unittest.TestCase):
    """One real archive of >= 3 sealed parts, built once; each test damages a copy."""

    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="apitrail-it-verify-archive-")
        cls.pristine = os.path.join(cls.root, "cold")
        os.makedirs(cls.pristine)
        upstream = RecordingUpstream()
        gw = Apitrail(cls.root, upstream.port,
                      audit_extra=archive_yaml(f"cp %p {shlex.quote(cls.pristine + '/')}%f") +
                      "  max_segment_bytes: 65536\n")
        try:
            os.makedirs(gw.data)
            key = gw.create_key("alice", ["orders:read"])
            gw.start()
            parts_dir = os.path.join(gw.data, "parts")

            def count_parts():
                if not os.path.isdir(parts_dir):
                    return 0
                return len([n for n in os.listdir(parts_dir) if n.endswith(".part")])
            conn = http.client.HTTPConnection(HOST, gw.gateway_port, timeout=10)
            try:
                i = 0
                while count_parts() < 3 and i < 4000:
                    for _ in range(100):
                        conn.request("GET", f"/v1/orders/{i}", headers={"Authorization": f"Bearer {key}"})
                        r = conn.getresponse()
                        r.read()
                        assert r.status == 200, r.status
                        i += 1
                    time.sleep(0.05)
            finally:
                conn.close()
            wait_until(lambda: count_parts() >= 3, timeout=30, what="three sealed parts")
            cls.key = run_cli("key", "show", "--data", gw.data).stdout.strip()
            parts = sorted(n for n in os.listdir(parts_dir) if n.endswith(".part"))

            def archived_and_proven():
                if not all(os.path.exists(os.path.join(cls.pristine, n)) for n in parts):
                    return False
                r = run_cli("verify", "--archive", cls.pristine, "--key", cls.key, "--json")
                return r.returncode == 0 and json.loads(r.stdout)["parts"]["records_uncovered"] == 0
            wait_until(archived_and_proven, timeout=30, interval=0.3, what="the archive proven")
            assert gw.stop() == 0
        finally:
            gw.stop(signal.SIGKILL)
            upstream.stop()
        cls.parts = sorted(n for n in os.listdir(cls.pristine) if n.endswith(".part"))
        cls.slices = sorted(n for n in os.listdir(cls.pristine) if n.endswith(".ckpt"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root, ignore_errors=True)

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="apitrail-it-verify-copy-")
        self.arch = os.path.join(self.dir, "a")
        shutil.copytree(self.pristine, self.arch)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def verify(self, *extra, key=True, json_out=True):
        args = ["verify", "--archive", self.arch] + (["--key", self.key] if key else []) + list(extra)
        if json_out:
            args.append("--json")
        r = run_cli(*args)
        return r, (json.loads(r.stdout) if json_out and r.stdout.startswith("{") else None)

    def path(self, name):
        return os.path.join(self.arch, name)

    def test_the_intact_archive_verifies(self):
        self.assertGreaterEqual(len(self.parts), 3)
        r, rep = self.verify()
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertTrue(rep["ok"])
        self.assertEqual(rep["parts"]["count"], len(self.parts))
        self.assertEqual(rep["parts"]["first_seq"], 0)
        self.assertGreaterEqual(rep["parts"]["checkpoints_matched"], len(self.parts))

    def test_a_missing_part_in_the_middle_is_a_named_gap(self):
        os.remove(self.path(self.parts[1]))
        r, rep = self.verify()
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertRegex(rep["problem"], r"^records \d+…\d+ are in no archived part$")
        self.assertEqual(rep["file"], self.path(self.parts[2]))
        first = int(self.parts[1][len("part-"):-len(".part")])
        self.assertEqual(rep["first_bad_seq"], first)

    def test_a_part_replaced_by_another_part_of_this_log_is_named(self):
        shutil.copyfile(self.path(self.parts[0]), self.path(self.parts[1]))
        r, rep = self.verify()
        self.assertEqual(r.returncode, 1, r.stdout)
        first = int(self.parts[1][len("part-"):-len(".part")])
        self.assertEqual(rep["problem"], f"{self.path(self.parts[1])}: header says first seq 0, "
                                         f"the file name {first} at offset 12")
        self.assertEqual(rep["file"], self.path(self.parts[1]))

    def test_a_part_replaced_by_one_of_another_log_of_the_same_node_name_fails(self):
        other = os.path.join(FIXTURES, "part-good", "data", "parts", "part-00000000000000000000.part")
        shutil.copyfile(other, self.path(self.parts[0]))
        r, rep = self.verify()
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertFalse(rep["parts"]["ok"])
        # Its records are not this log's: the first signed root over them differs, or (when
        # this log signed no size within the few records the stranger holds) they end where
        # this log's next part does not start.
        if "differs from the checkpoint signed" in rep["problem"]:
            self.assertEqual(rep["file"], self.path(self.parts[0]))
            self.assertEqual(rep["first_bad_seq"], 0)
        else:
            next_first = int(self.parts[1][len("part-"):-len(".part")])
            self.assertRegex(rep["problem"], rf"^records {rep['first_bad_seq']}…{next_first - 1} "
                                             r"are in no archived part$")
            self.assertEqual(rep["file"], self.path(self.parts[1]))

    def test_a_truncated_part_is_named(self):
        p = self.path(self.parts[1])
        with open(p, "r+b") as f:
            f.truncate(os.path.getsize(p) // 2)
        r, rep = self.verify()
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertEqual(rep["file"], p)
        self.assertTrue(rep["problem"], rep)

    def test_a_missing_slice_names_the_byte_range(self):
        self.assertGreaterEqual(len(self.slices), 2, self.slices)
        os.remove(self.path(self.slices[0]))
        r, rep = self.verify()
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertFalse(rep["checkpoints"]["ok"])
        start = int(self.slices[1][len("checkpoints-"):len("checkpoints-") + 20])
        self.assertRegex(rep["problem"], rf"^a checkpoint slice is missing: bytes \d+…{start} of "
                                         r"checkpoints.log are in no slice$")

    def test_unrelated_files_are_ignored_but_an_unreadable_part_name_is_not(self):
        for name, content in (("README.txt", b"cold storage of edge-1\n"),
                              (self.parts[0] + ".tmp", b"a copy in progress"),
                              (".part-00000000000000000001.part", b"rsync temp"),
                              ("checkpoints-1-2.ckpt", b"not a slice name")):
            with open(self.path(name), "wb") as f:
                f.write(content)
        os.makedirs(self.path("subdir"))
        r, rep = self.verify()
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertEqual(rep["parts"]["count"], len(self.parts))
        with open(self.path("notes.part"), "wb") as f:
            f.write(b"not a part at all")
        r, rep = self.verify()
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertEqual(rep["file"], self.path("notes.part"))

    def test_an_empty_directory_fails_with_what_is_missing(self):
        empty = os.path.join(self.dir, "empty")
        os.makedirs(empty)
        r = run_cli("verify", "--archive", empty)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("checkpoints FAILED: no verifier key: pass --key", r.stdout)
        r = run_cli("verify", "--archive", empty, "--key", self.key)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("checkpoints FAILED: no checkpoint slices (checkpoints-*.ckpt) in the archive", r.stdout)
        r = run_cli("verify", "--archive", os.path.join(self.dir, "nope"), "--key", self.key)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("FAILED: no archive directory at", r.stdout)
        # --json keeps its promise for this failure too (it printed plain text before).
        nope = os.path.join(self.dir, "nope")
        r = run_cli("verify", "--archive", nope, "--json")
        self.assertEqual(r.returncode, 1, r.stdout)
        rep = json.loads(r.stdout)
        self.assertFalse(rep["ok"])
        self.assertEqual(rep["problem"], "no archive directory at " + nope)
        r = run_cli("verify", "--data", nope, "--json")
        self.assertEqual(r.returncode, 1, r.stdout)
        rep = json.loads(r.stdout)
        self.assertFalse(rep["ok"])
        self.assertEqual(rep["integrity"]["problem"], "no data directory at " + nope)
        r = run_cli("verify", "--archive", empty, "--key", "not a key")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)

    def test_a_huge_file_under_the_key_files_name_is_not_read_into_memory(self):
        keys = [n for n in os.listdir(self.arch) if n.startswith("verifier-key-")]
        self.assertEqual(len(keys), 1)
        with open(self.path(keys[0]), "r+b") as f:
            f.truncate(64 << 20)  # sparse: the key line, then 64 MiB of zeros
        r, rep = self.verify(key=False)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertEqual(rep["problem"], f"not a verifier key: {64 << 20} bytes (a key file holds one line)")
        self.assertEqual(rep["file"], self.path(keys[0]))
        r, rep = self.verify()  # with --key the archive's own key file is not read
        self.assertEqual(r.returncode, 0, r.stdout)

    def test_checkpoints_only_verify_as_beyond_unless_a_saved_checkpoint_is_given(self):
        for p in self.parts:
            os.remove(self.path(p))
        r, rep = self.verify()
        # Documented (FORMAT.md §17): checkpoints over records the archive does not hold are
        # counted, not failed — an archive cut at its end looks older; --checkpoint catches it.
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertEqual(rep["parts"]["count"], 0)
        self.assertEqual(rep["parts"]["records"], 0)
        self.assertEqual(rep["parts"]["checkpoints_beyond"], rep["checkpoints"]["verified"])
        r = run_cli("verify", "--archive", self.arch, "--key", self.key)
        self.assertIn("parts ok: 0 parts hold records 0..0", r.stdout)
        # The newest signed checkpoint, saved as a witness would have it.
        saved = os.path.join(self.dir, "saved.note")
        with open(saved, "w") as f:
            f.write(self.newest_note())
        r, rep = self.verify("--checkpoint", saved)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertRegex(rep["problem"], r"are missing from the archive$")

    def newest_note(self):
        """The newest checkpoint note of the archive's last slice (docs/FORMAT.md §12)."""
        import struct
        with open(self.path(self.slices[-1]), "rb") as f:
            data = f.read()
        node_len = struct.unpack_from("<H", data, 20)[0]
        pos = 22 + node_len + 4
        note = None
        while pos + 16 <= len(data):  # frames: len u32, crc u32, seq u64, payload (§3)
            length = struct.unpack_from("<I", data, pos)[0]
            payload = data[pos + 16:pos + 16 + length]
            note = payload[8:].decode()  # time_ns (i64), then the note text
            pos += 16 + length
        return note


if __name__ == "__main__":
    unittest.main()
