"""The checked-in broken data dirs (tests/fixtures/corrupt/, written by
tests/fixtures/make_corrupt.py from docs/FORMAT.md alone): `apitrail verify` reports each
failure mode clearly — which result failed (integrity or completeness), the file, the byte
offset and the first bad seq where one exists — with exit code 1 and never a crash, in text
and in JSON. The `good` control and an unacknowledged torn tail verify (exit 0). Starting the
server on a copy of each never deletes or changes an acknowledged byte: every file is still
a prefix of what it was (only an unacknowledged torn tail may be cut)."""
import glob
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from harness import BIN, HOST, free_ports, read_log_file, run_cli, write_config

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "corrupt")


def fixtures():
    return sorted(os.path.basename(p) for p in glob.glob(os.path.join(FIXTURES, "*")) if os.path.isdir(p))


class CorruptFixturesTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="apitrail-fixtures-")

    def tearDown(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def copy(self, name):
        dst = os.path.join(self.root, name)
        shutil.copytree(os.path.join(FIXTURES, name), dst)
        os.chmod(os.path.join(dst, "data", "node.key"), 0o600)
        with open(os.path.join(dst, "expect.json")) as f:
            return dst, json.load(f)

    def verify(self, d, expect, *extra):
        args = ["verify", "--data", os.path.join(d, "data"), "--key", expect["key"], *extra]
        saved = os.path.join(d, "saved.checkpoint")
        if os.path.exists(saved):
            args += ["--checkpoint", saved]
        return run_cli(*args)

    def test_the_fixture_set_is_complete(self):
        self.assertGreaterEqual(len(fixtures()), 14, fixtures())
        for must in ("flipped-record-byte", "bad-frame-crc", "torn-acknowledged-tail", "truncated-middle-segment",
                     "bad-checkpoint-signature", "checkpoint-root-mismatch", "garbage-in-checkpoints-log"):
            self.assertIn(must, fixtures())

    def test_verify_names_file_offset_and_seq_for_every_failure_mode(self):
        for name in fixtures():
            with self.subTest(fixture=name):
                d, expect = self.copy(name)
                r = self.verify(d, expect)
                self.assertGreaterEqual(r.returncode, 0, f"verify crashed: {r.stderr}")
                self.assertEqual(r.returncode, expect["exit"], r.stdout + r.stderr)
                self.assertEqual(r.stderr, "")
                if expect["exit"] == 0:
                    self.assertIn("integrity ok:", r.stdout)
                    self.assertIn("completeness ok:", r.stdout)
                    if expect.get("torn_tail_bytes"):
                        self.assertIn(f"torn tail: {expect['torn_tail_bytes']} unacknowledged bytes", r.stdout)
                    continue
                section = expect["section"]
                line = [l for l in r.stdout.splitlines() if l.startswith(section + " FAILED: ")]
                self.assertEqual(len(line), 1, r.stdout)
                self.assertIn(expect["problem"], line[0])
                if "file" in expect:
                    path = os.path.join(d, "data", expect["file"])
                    self.assertIn(f"  file: {path} offset {expect['offset']}\n", r.stdout)
                if "seq" in expect:
                    self.assertIn(f"  first bad seq: {expect['seq']}\n", r.stdout)
                if "checkpoint" in expect:
                    self.assertIn("  checkpoint: ", r.stdout)
                    self.assertIn(expect["checkpoint"], r.stdout)
                if section == "completeness":
                    self.assertIn("integrity ok:", r.stdout)
                else:
                    self.assertIn("completeness not checked", r.stdout)

                # The same in JSON.
                j = self.verify(d, expect, "--json")
                self.assertEqual(j.returncode, 1, j.stdout + j.stderr)
                doc = json.loads(j.stdout)
                self.assertFalse(doc["ok"])
                part = doc[section]
                self.assertFalse(part["ok"])
                self.assertIn(expect["problem"], part["problem"])
                if "file" in expect:
                    self.assertEqual((part["file"], part["offset"]),
                                     (os.path.join(d, "data", expect["file"]), expect["offset"]))
                if "seq" in expect:
                    self.assertEqual(part["first_bad_seq"], expect["seq"])

                if expect.get("needs_saved"):
                    # The data dir alone is self-consistent: only the checkpoint kept
                    # elsewhere shows what happened.
                    alone = run_cli("verify", "--data", os.path.join(d, "data"), "--key", expect["key"])
                    self.assertEqual(alone.returncode, 0, alone.stdout)

    def test_good_fixture_gives_a_consistency_proof_and_leaf_export(self):
        d, expect = self.copy("good")
        r = self.verify(d, expect, "--json")
        self.assertEqual(r.returncode, 0, r.stdout)
        doc = json.loads(r.stdout)
        self.assertTrue(doc["ok"])
        self.assertEqual(doc["completeness"]["checkpoints"], 4)
        proof = doc["completeness"]["saved_checkpoint"]["consistency_proof"]
        self.assertEqual((proof["from_size"], proof["to_size"]), (8, 12))
        self.assertEqual(len(proof["hashes"]), 1)
        # The single hash is MTH(D[8:12]), the subtree the 12-tree adds to the 8-tree.
        r = run_cli("export", "--leaves", "--data", os.path.join(d, "data"), "--from", "8", "--to", "12")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual([l.split()[0] for l in lines], ["8", "9", "10", "11"])
        import hashlib
        leaves = [bytes.fromhex(l.split()[1]) for l in lines]
        node = lambda a, b: hashlib.sha256(b"\x01" + a + b).digest()
        self.assertEqual(node(node(leaves[0], leaves[1]), node(leaves[2], leaves[3])).hex(), proof["hashes"][0])
        r = run_cli("export", "--leaves", "--data", os.path.join(d, "data"), "--json")
        rows = [json.loads(l) for l in r.stdout.splitlines()]
        self.assertEqual([x["seq"] for x in rows], list(range(12)))
        self.assertEqual(rows[9]["leaf_hash"], lines[1].split()[1])
        self.assertEqual(run_cli("export", "--leaves", "--data", os.path.join(d, "data"), "--to", "99").returncode, 2)
        self.assertEqual(run_cli("export", "--data", os.path.join(d, "data")).returncode, 2)
        # A damaged log is an error, not a short list.
        bad, _ = self.copy("flipped-record-byte")
        r = run_cli("export", "--leaves", "--data", os.path.join(bad, "data"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("crc mismatch", r.stderr)

    def test_verify_usage_errors_exit_2(self):
        d, expect = self.copy("good")
        data = os.path.join(d, "data")
        r = run_cli("verify", "--data", data, "--key", "not-a-key")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        r = run_cli("verify", "--data", data, "--checkpoint", os.path.join(d, "missing"))
        self.assertEqual(r.returncode, 2)
        junk = os.path.join(d, "junk.checkpoint")
        with open(junk, "w") as f:
            f.write("hello\n")
        r = run_cli("verify", "--data", data, "--checkpoint", junk)
        self.assertEqual(r.returncode, 2)
        self.assertIn("not a signed checkpoint note", r.stderr)

    def test_starting_the_server_never_deletes_acknowledged_bytes(self):
        for name in fixtures():
            with self.subTest(fixture=name):
                d, expect = self.copy(name)
                data = os.path.join(d, "data")
                before = {}
                for dirpath, _, files in os.walk(data):
                    for fn in files:
                        p = os.path.join(dirpath, fn)
                        with open(p, "rb") as f:
                            before[p] = f.read()
                proc = self.serve_once(d, data)
                self.assertGreaterEqual(proc.returncode, 0, f"serve crashed on {name}")
                if expect["exit"] == 0:
                    self.assertEqual(proc.returncode, 0, f"{name}: serve should run and stop cleanly")
                elif expect.get("file", "").startswith("segments/") and expect["section"] == "integrity":
                    self.assertEqual(proc.returncode, 1, f"{name}: serve must refuse a damaged log")
                for p, old in before.items():
                    if not os.path.exists(p):
                        # Only a sealed segment may go, and only once a part holds exactly
                        # its records (the server seals every segment but the active one).
                        self.assert_sealed(name, data, p)
                        continue
                    with open(p, "rb") as f:
                        new = f.read()
                    if name == "torn-unacknowledged-tail" and p.endswith(".log") and "segments" in p:
                        # Exactly the unacknowledged half frame was cut, nothing else.
                        self.assertEqual(new[:len(old) - expect["torn_tail_bytes"]], old[:-expect["torn_tail_bytes"]])
                        continue
                    self.assertEqual(new[:len(old)], old, f"{name}: {os.path.relpath(p, d)} lost or changed bytes")

    def serve_once(self, d, data):
        """Runs `serve` on the copy until it exits (a corrupt log is refused at once) or for
        1.5 s and at least until its admin port answers, then SIGTERM. Ports come from free_ports(), which another test may take before
        serve binds them: a start that fails only on that is retried on fresh ports."""
        for _ in range(5):
            ports = free_ports(3)
            config = write_config(d, *ports)
            with open(config) as f:
                text = f.read().replace(f"data_dir: {d}/data", f"data_dir: {data}")
            with open(config, "w") as f:
                f.write(text)
            log_path = os.path.join(d, "serve.log")
            with open(log_path, "wb") as log:
                started = time.monotonic()
                proc = subprocess.Popen([BIN, "serve", "-c", config], stdout=log, stderr=subprocess.STDOUT)
                # A SIGTERM before serve blocks it kills the process (-15): on a loaded host
                # the start alone took longer than 1.5 s. So first wait for the admin port
                # (or the exit), then give the 1.5 s.
                while proc.poll() is None and time.monotonic() - started < 60:
                    try:
                        socket.create_connection((HOST, ports[1]), timeout=0.5).close()
                        break
                    except OSError:
                        time.sleep(0.05)
                try:
                    proc.wait(timeout=max(0.1, 1.5 - (time.monotonic() - started)))
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGTERM)
                    proc.wait(timeout=15)
            with open(log_path, "rb") as f:
                if proc.returncode != 1 or b"Address already in use" not in f.read():
                    return proc
        return proc

    def assert_sealed(self, name, data, seg_path):
        base = os.path.basename(seg_path)
        self.assertTrue(base.startswith("seg-") and base.endswith(".log"), f"{name}: {seg_path} was deleted")
        first = base[len("seg-"):-len(".log")]
        part = os.path.join(data, "parts", f"part-{first}.part")
        self.assertTrue(os.path.exists(part), f"{name}: {base} was deleted without a part {os.path.basename(part)}")
        _, frames, _ = read_log_file(seg_path.replace(data, self.original_data(name)))
        want = ["%d %s" % (fr["seq"], hashlib.sha256(b"\x00" + fr["payload"]).hexdigest()) for fr in frames]
        self.assertTrue(want, f"{name}: {base} held no records")
        r = run_cli("export", "--data", data, "--leaves", "--from", str(frames[0]["seq"]), "--to", str(frames[-1]["seq"] + 1))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stdout.split("\n")[:len(want)], want, f"{name}: the part of {base} does not hold its records")

    def original_data(self, name):
        return os.path.join(FIXTURES, name, "data")


if __name__ == "__main__":
    unittest.main()
