"""Sealed daily parts through the real binary (docs/FORMAT.md §16): with a tiny
max_segment_bytes several rotated segments are sealed into parts under traffic; queries,
cursors, lookups by id and inclusion proofs span the parts and the active segment, before and
after a restart; `apitrail verify` recomputes the parts; a flipped byte in a part makes verify
exit 1 naming the part. Real binary, real upstream, 127.0.0.1 only."""
import http.client
import os
import struct
import unittest

from harness import (HOST, GatewayTestCase, admin_metrics, all_events, run_cli, wait_until)

N = 900  # ~6 parts at 64 KiB per segment


class PartsTest(GatewayTestCase):
    AUDIT_CONFIG = "  max_segment_bytes: 65536"

    def parts(self):
        d = os.path.join(self.gw.data, "parts")
        return sorted(os.path.join(d, n) for n in os.listdir(d) if n.endswith(".part"))

    def send(self, n):
        conn = http.client.HTTPConnection(HOST, self.gw.gateway_port, timeout=10)
        try:
            for i in range(n):
                conn.request("GET", f"/v1/orders/{i}", headers={
                    "Authorization": f"Bearer {self.key}", "X-Request-Id": f"part-req-{i}"})
                r = conn.getresponse()
                r.read()
                self.assertEqual(r.status, 200)
        finally:
            conn.close()

    def sealed(self):
        m = admin_metrics(self.gw)
        return m.get("apitrail_store_parts", 0) >= 3 and m.get("apitrail_store_seal_pending", 1) == 0

    def check_queries(self):
        events = all_events(self.gw, page_size=64)
        self.assertEqual(len(events), N)
        self.assertEqual([e["seq"] for e in events], list(range(N - 1, -1, -1)), "newest first, gapless")
        # An early request (in the first part) by its correlation id, and by its event id.
        early = [e for e in events if e.get("correlation_id") == "part-req-5"]
        self.assertEqual(len(early), 1, "correlation id lookup through a part's index")
        status, body = self.gw.admin("/api/v1/events?correlation_id=part-req-5")
        self.assertEqual(status, 200)
        self.assertEqual([e["seq"] for e in body["events"]], [early[0]["seq"]])
        status, one = self.gw.admin("/api/v1/events/" + early[0]["id"])
        self.assertEqual(status, 200, one)
        self.assertEqual(one["seq"], early[0]["seq"])
        # Resource filter with a cursor across parts.
        status, page = self.gw.admin("/api/v1/events?resource=order_id%3D7&limit=1")
        self.assertEqual(status, 200)
        self.assertEqual(len(page["events"]), 1)
        self.assertEqual(page["events"][0]["seq"], 7)
        # Inclusion proof of a record sealed in the first part.
        wait_until(lambda: self.gw.admin("/api/v1/proofs/inclusion?seq=3")[0] == 200, timeout=5,
                   what="a checkpoint covering seq 3")
        status, proof = self.gw.admin("/api/v1/proofs/inclusion?seq=3")
        self.assertEqual(proof["leaf_index"], 3)

    def test_parts_are_sealed_queried_restarted_and_verified(self):
        self.send(N)
        wait_until(self.sealed, timeout=20, what="sealed parts")
        parts = self.parts()
        self.assertGreaterEqual(len(parts), 3)
        segs = os.listdir(os.path.join(self.gw.data, "segments"))
        self.assertEqual(len([s for s in segs if s.endswith(".log")]), 1, segs)
        self.check_queries()

        self.assertEqual(self.gw.stop(), 0)
        self.gw.start()
        self.check_queries()
        self.assertEqual(self.gw.stop(), 0)

        r = run_cli("verify", "--data", self.gw.data)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(f"integrity ok: {N} records intact", r.stdout)
        self.assertIn(f"{len(self.parts())} sealed parts", r.stdout)
        self.assertIn("completeness ok", r.stdout)

        # A flipped byte just before the summary of the second part: in its last block
        # (version 1) or its seq map (version 2, what reads by seq use); verify reads both.
        victim = self.parts()[1]
        with open(victim, "r+b") as f:
            f.seek(-48, os.SEEK_END)
            summary_off = struct.unpack("<Q", f.read(8))[0]
            f.seek(summary_off - 10)
            b = f.read(1)
            f.seek(summary_off - 10)
            f.write(bytes([b[0] ^ 0x20]))
        r = run_cli("verify", "--data", self.gw.data)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("integrity FAILED", r.stdout)
        self.assertIn(f"file: {victim} offset ", r.stdout)
        self.assertIn("crc mismatch", r.stdout)


if __name__ == "__main__":
    unittest.main()
