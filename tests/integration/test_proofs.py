"""Signed checkpoints and proofs through the real binary: the running gateway signs a
checkpoint within ~1 s of new events, `key show` prints the verifier key, `prove inclusion` /
`prove consistency` read the live data dir, `proof check` verifies offline and rejects any
tampering. An independent RFC 9162 check in plain Python (hashlib) recomputes the root from
the record bytes in the segment and the inclusion path, and compares it with the signed
checkpoint's root."""
import base64
import hashlib
import json
import os
import re
import struct
import time

from harness import GatewayTestCase, read_log_file, run_cli, segment_paths, wait_until


def leaf_hash(record):
    return hashlib.sha256(b"\x00" + record).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion(leaf, index, size, path):
    """RFC 9162 §2.1.3.2, written from the RFC text."""
    if index >= size:
        raise ValueError("index outside the tree")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise ValueError("proof too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("proof too short")
    return r


def roots_from_consistency(first, second, first_hash, path):
    """RFC 9162 §2.1.4.2: returns (old root, new root) the proof leads to."""
    if first & (first - 1) == 0:
        path = [first_hash] + path
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ValueError("proof too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("proof too short")
    return fr, sr


def parse_note(note):
    """C2SP checkpoint note → (origin, size, root bytes, [(name, key hash, signature)])."""
    body, _, sigs = note.rpartition("\n\n")
    origin, size, root = body.split("\n")[:3]
    signatures = []
    for line in sigs.strip("\n").split("\n"):
        assert line.startswith("\u2014 "), line
        name, blob = line[2:].split(" ")
        raw = base64.b64decode(blob)
        signatures.append((name, raw[:4], raw[4:]))
    return origin, int(size), base64.b64decode(root), signatures


class ProofsTest(GatewayTestCase):
    def checkpoints(self):
        """(size, time_ns, note) for every checkpoint in checkpoints.log (docs/FORMAT.md §12)."""
        path = os.path.join(self.gw.data, "checkpoints.log")
        if not os.path.exists(path) or os.path.getsize(path) < 30:
            return []
        header, frames, _ = read_log_file(path)
        self.assertEqual(header["magic"], b"APTCKPT1")
        out = []
        for f in frames:
            (t,) = struct.unpack_from("<q", f["payload"], 0)
            out.append((f["seq"], t, f["payload"][8:].decode()))
        return out

    def send(self, n):
        for i in range(n):
            status, _, _ = self.gw.request("GET", f"/v1/orders/{i}", self.auth())
            self.assertEqual(status, 200)

    def wait_checkpoint(self, size, timeout=2.0):
        return wait_until(lambda: any(c[0] >= size for c in self.checkpoints()), timeout=timeout,
                          interval=0.02, what=f"a checkpoint of at least {size} records")

    def records(self):
        out = []
        for path in segment_paths(self.gw.data):
            out.extend(f["payload"] for f in read_log_file(path)[1])
        return out

    def save(self, name, obj):
        path = os.path.join(self.root, name)
        with open(path, "w") as f:
            json.dump(obj, f) if not isinstance(obj, str) else f.write(obj)
        return path

    def key_text(self):
        r = run_cli("key", "show", "--data", self.gw.data)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.strip()

    def test_inclusion_proof_verifies_offline_and_tampering_fails(self):
        self.send(5)
        sent = time.time()
        self.wait_checkpoint(5)
        self.assertLess(time.time() - sent, 2.0)

        key = self.key_text()
        m = re.fullmatch(r"apitrail/test-node\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)", key)
        self.assertIsNotNone(m, key)
        raw_key = base64.b64decode(m.group(2))
        self.assertEqual(len(raw_key), 33)
        self.assertEqual(raw_key[0], 1)
        key_hash = hashlib.sha256(b"apitrail/test-node\n\x01" + raw_key[1:]).digest()[:4]
        self.assertEqual(key_hash.hex(), m.group(1))

        r = run_cli("prove", "inclusion", "--data", self.gw.data, "--seq", "2")
        self.assertEqual(r.returncode, 0, r.stderr)
        proof = json.loads(r.stdout)
        self.assertEqual(proof["leaf_index"], 2)
        self.assertGreaterEqual(proof["tree_size"], 5)
        self.assertEqual(set(proof), {"leaf_index", "tree_size", "leaf_hash", "hashes", "checkpoint"})

        # Independent check: leaf hash from the record bytes, root from the path (RFC 9162),
        # compared with the root in the signed note, whose key hash is the node's.
        records = self.records()
        self.assertEqual(proof["leaf_hash"], leaf_hash(records[2]).hex())
        origin, size, root, sigs = parse_note(proof["checkpoint"])
        self.assertEqual((origin, size), ("apitrail/test-node", proof["tree_size"]))
        self.assertEqual(sigs[0][0], "apitrail/test-node")
        self.assertEqual(sigs[0][1], key_hash)
        self.assertEqual(len(sigs[0][2]), 64)
        computed = root_from_inclusion(bytes.fromhex(proof["leaf_hash"]), 2, proof["tree_size"],
                                       [bytes.fromhex(h) for h in proof["hashes"]])
        self.assertEqual(computed, root)

        path = self.save("inclusion.json", proof)
        r = run_cli("proof", "check", "--proof", path, "--key", key)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(r.stdout.startswith("valid: inclusion of leaf 2"), r.stdout)
        key_file = self.save("node.pub", key + "\n")
        self.assertEqual(run_cli("proof", "check", "--proof", path, "--key", key_file).returncode, 0)

        # One hex character of one path hash flipped → invalid, exit 1.
        bad = json.loads(json.dumps(proof))
        h = bad["hashes"][0]
        bad["hashes"][0] = ("0" if h[0] != "0" else "1") + h[1:]
        r = run_cli("proof", "check", "--proof", self.save("bad.json", bad), "--key", key)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertTrue(r.stdout.startswith("invalid:"), r.stdout)
        # Another leaf, a rewritten size in the note, and another node's key all fail too.
        bad = dict(proof, leaf_hash=leaf_hash(records[3]).hex())
        self.assertEqual(run_cli("proof", "check", "--proof", self.save("b2.json", bad), "--key", key).returncode, 1)
        note = proof["checkpoint"].replace(f"\n{size}\n", f"\n{size + 1}\n", 1)
        bad = dict(proof, checkpoint=note, tree_size=size + 1)
        r = run_cli("proof", "check", "--proof", self.save("b3.json", bad), "--key", key)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("signature", r.stdout)
        other = "apitrail/test-node+00000000+" + base64.b64encode(b"\x01" + b"\x07" * 32).decode()
        self.assertEqual(run_cli("proof", "check", "--proof", path, "--key", other).returncode, 2)
        pub = b"\x07" * 32
        wrong = "apitrail/test-node+%s+%s" % (hashlib.sha256(b"apitrail/test-node\n\x01" + pub).digest()[:4].hex(),
                                              base64.b64encode(b"\x01" + pub).decode())
        r = run_cli("proof", "check", "--proof", path, "--key", wrong)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("no signature by", r.stdout)
        r = run_cli("proof", "check", "--proof", self.save("b4.json", "{not json"), "--key", key)
        self.assertEqual(r.returncode, 1)

        # Against an explicit size; a size with no checkpoint is an error.
        r = run_cli("prove", "inclusion", "--data", self.gw.data, "--seq", "0", "--size", str(size))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["tree_size"], size)
        r = run_cli("prove", "inclusion", "--data", self.gw.data, "--seq", "0", "--size", "1000")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no checkpoint of tree size 1000", r.stderr)
        r = run_cli("prove", "inclusion", "--data", self.gw.data, "--seq", "1000")
        self.assertEqual(r.returncode, 1)
        # The largest seq (seq + 1 wraps to 0, which any checkpoint covers) is no record either.
        r = run_cli("prove", "inclusion", "--data", self.gw.data, "--seq", "18446744073709551615")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("no record with seq 18446744073709551615", r.stderr)

    def test_consistency_between_two_checkpoints(self):
        self.send(3)
        self.wait_checkpoint(3)
        first = self.checkpoints()[-1]
        self.send(6)
        self.wait_checkpoint(first[0] + 6)
        last = self.checkpoints()[-1]
        self.assertGreater(last[0], first[0])

        key = self.key_text()
        r = run_cli("prove", "consistency", "--data", self.gw.data, "--from", str(first[0]),
                    "--to", str(last[0]))
        self.assertEqual(r.returncode, 0, r.stderr)
        proof = json.loads(r.stdout)
        self.assertEqual((proof["from_size"], proof["to_size"]), (first[0], last[0]))
        # The old root the proof starts from is the one the node signed back then.
        _, _, old_root, _ = parse_note(first[2])
        _, _, new_root, _ = parse_note(last[2])
        self.assertEqual(proof["from_root"], old_root.hex())
        self.assertEqual(proof["to_root"], new_root.hex())
        self.assertEqual(proof["checkpoint"], last[2])
        fr, sr = roots_from_consistency(first[0], last[0], old_root, [bytes.fromhex(h) for h in proof["hashes"]])
        self.assertEqual((fr, sr), (old_root, new_root))

        path = self.save("consistency.json", proof)
        r = run_cli("proof", "check", "--proof", path, "--key", key)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(r.stdout.startswith("valid: consistency"), r.stdout)
        bad = dict(proof, from_root=("f" if proof["from_root"][0] != "f" else "e") + proof["from_root"][1:])
        self.assertEqual(run_cli("proof", "check", "--proof", self.save("bad.json", bad), "--key", key).returncode, 1)

        # Default --to: the newest checkpoint.
        r = run_cli("prove", "consistency", "--data", self.gw.data, "--from", "1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertGreaterEqual(json.loads(r.stdout)["to_size"], last[0])

    def test_checkpoints_survive_restart_and_verify_still_passes(self):
        self.send(4)
        self.gw.stop()
        cps = self.checkpoints()
        self.assertEqual(cps[-1][0], 4, "shutdown signs the final tree")
        self.assertEqual(oct(os.stat(os.path.join(self.gw.data, "node.key")).st_mode & 0o777), "0o600")
        key = self.key_text()
        self.gw.start()
        self.assertEqual(self.key_text(), key, "the node key is kept across restarts")
        self.send(2)
        self.wait_checkpoint(6)
        r = run_cli("verify", "--data", self.gw.data)
        self.assertEqual(r.returncode, 0, r.stdout)


class ProofApiTest(GatewayTestCase):
    """GET /api/v1/proofs/inclusion on the admin listener answers the same JSON as
    `apitrail prove inclusion`, so a client can check that its request was logged."""

    def test_inclusion_proof_over_the_admin_api(self):
        for i in range(4):
            self.assertEqual(self.gw.request("GET", f"/v1/orders/{i}", self.auth())[0], 200)
        wait_until(lambda: self.gw.admin("/api/v1/proofs/inclusion?seq=3")[0] == 200, timeout=3,
                   what="a checkpoint covering seq 3")
        status, proof = self.gw.admin("/api/v1/proofs/inclusion?seq=1")
        self.assertEqual(status, 200, proof)
        r = run_cli("prove", "inclusion", "--data", self.gw.data, "--seq", "1", "--size", str(proof["tree_size"]))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(proof, json.loads(r.stdout))
        status, same = self.gw.admin(f"/api/v1/proofs/inclusion?seq=1&size={proof['tree_size']}")
        self.assertEqual((status, same), (200, proof))
        path = os.path.join(self.root, "api-proof.json")
        with open(path, "w") as f:
            json.dump(proof, f)
        key = run_cli("key", "show", "--data", self.gw.data).stdout.strip()
        r = run_cli("proof", "check", "--proof", path, "--key", key)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

        self.assertEqual(self.gw.admin("/api/v1/proofs/inclusion?seq=999")[0], 404)
        self.assertEqual(self.gw.admin("/api/v1/proofs/inclusion?seq=1&size=2000")[0], 404)
        self.assertEqual(self.gw.admin("/api/v1/proofs/inclusion?seq=x")[0], 400)
        self.assertEqual(self.gw.admin("/api/v1/proofs/inclusion")[0], 400)
        self.assertEqual(self.gw.admin("/api/v1/proofs/inclusion?seq=3&size=3")[0], 400)
        self.assertEqual(self.gw.admin("/api/v1/proofs/inclusion?seq=1", token=None)[0], 401)


class ReceiptTest(GatewayTestCase):
    """audit.receipts: a held response carries Apitrail-Receipt (node, seq, leaf hash), and
    the inclusion proof the admin API gives for that seq proves exactly that leaf."""
    AUDIT_CONFIG = "  receipts: true"

    def receipt(self, headers):
        value = headers.get("apitrail-receipt")
        self.assertIsNotNone(value, headers)
        fields = dict(part.strip().split("=", 1) for part in value.split(","))
        return fields["node"].strip('"'), int(fields["seq"]), fields["leaf"].strip('"')

    def test_receipt_names_the_record_and_its_proof_verifies(self):
        status, headers, _ = self.gw.request("GET", "/v1/orders/7", self.auth() | {"X-Request-ID": "rcpt-ok"})
        self.assertEqual(status, 200)
        node, seq, leaf = self.receipt(headers)
        self.assertEqual(node, "test-node")
        status, headers, _ = self.gw.request("GET", "/v1/orders/8", {"X-Request-ID": "rcpt-denied"})
        self.assertEqual(status, 401)
        _, denied_seq, denied_leaf = self.receipt(headers)  # refusals are recorded, so receipted
        self.assertEqual(denied_seq, seq + 1)

        self.assertEqual(self.gw.events(correlation_id="rcpt-ok")[0]["seq"], seq)
        self.assertEqual(self.gw.events(correlation_id="rcpt-denied")[0]["seq"], denied_seq)
        wait_until(lambda: self.gw.admin(f"/api/v1/proofs/inclusion?seq={denied_seq}")[0] == 200, timeout=3,
                   what="a checkpoint covering the receipts")
        for s, l in ((seq, leaf), (denied_seq, denied_leaf)):
            status, proof = self.gw.admin(f"/api/v1/proofs/inclusion?seq={s}")
            self.assertEqual(status, 200, proof)
            self.assertEqual(proof["leaf_index"], s)
            self.assertEqual(proof["leaf_hash"], l)
            # Independently of apitrail: the path leads from that leaf to the signed root.
            root = root_from_inclusion(bytes.fromhex(l), s, proof["tree_size"], [bytes.fromhex(h) for h in proof["hashes"]])
            _, size, signed_root = parse_note(proof["checkpoint"])[:3]
            self.assertEqual((size, root), (proof["tree_size"], signed_root))

    def test_streamed_responses_carry_no_receipt(self):
        # Over 64 KiB the head goes out before the record exists (docs/OPERATIONS.md).
        status, headers, body = self.gw.request("GET", "/big", self.auth())
        self.assertEqual((status, len(body)), (200, 300000))
        self.assertNotIn("apitrail-receipt", headers)
