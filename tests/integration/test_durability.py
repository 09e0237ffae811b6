"""Durability of the audit store through the real binary: restarts, kill -9 under load, on-disk
tampering found by `apitrail verify`, torn-tail recovery, failing closed when the store cannot
write, and draining in-flight requests on SIGTERM. Real binary, real upstream, 127.0.0.1 only.
The on-disk layout used here is docs/FORMAT.md."""
import collections
import http.client
import json
import os
import resource
import shutil
import signal
import struct
import subprocess
import tempfile
import threading
import time
import unittest

from harness import (ADMIN_TOKEN, RECORD_PROTO, decode_record, BIN, HOST, Apitrail, RecordingUpstream, admin_metrics, all_events,
                     masked_crc32c, read_log_file, run_cli, segment_paths, wait_until)


class DurabilityCase(unittest.TestCase):
    """An upstream, one apitrail (not started) with a key for "alice", per test."""
    EXTRA_CONFIG = ""
    AUDIT_CONFIG = ""  # lines under `audit:`, indented by two spaces

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="apitrail-dur-")
        self.upstream = RecordingUpstream()
        self.gw = Apitrail(self.root, self.upstream.port, self.EXTRA_CONFIG, audit_extra=self.AUDIT_CONFIG)
        os.makedirs(self.gw.data, exist_ok=True)
        self.key = self.gw.create_key("alice", ["orders:read"])

    def tearDown(self):
        self.gw.stop(signal.SIGKILL)
        self.upstream.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def auth(self, **extra):
        return dict({"Authorization": f"Bearer {self.key}"}, **extra)

    def verify(self):
        r = run_cli("verify", "--data", self.gw.data)
        self.assertGreaterEqual(r.returncode, 0, f"verify crashed: {r.returncode} {r.stderr}")
        return r

    def assert_verify_ok(self, records):
        r = self.verify()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(f"ok: {records} records intact", r.stdout)

    def assert_gapless(self, events):
        seqs = sorted(e["seq"] for e in events)
        self.assertEqual(seqs, list(range(len(events))), "seq must be exactly 0..size-1")

    def write_events(self, n):
        """n sequential requests (allowed, denied and unrouted); returns {correlation_id: status}."""
        sent = {}
        for i in range(n):
            rid = f"req-{i:04d}"
            if i % 3 == 0:
                status, _, _ = self.gw.request("GET", f"/v1/orders/{i}", {"X-Request-ID": rid})
                self.assertEqual(status, 401)
            elif i % 7 == 0:
                status, _, _ = self.gw.request("GET", "/v1/nowhere", self.auth(**{"X-Request-ID": rid}))
                self.assertEqual(status, 404)
            else:
                status, _, _ = self.gw.request("GET", f"/v1/orders/{i}", self.auth(**{"X-Request-ID": rid}))
                self.assertEqual(status, 200)
            sent[rid] = status
        return sent


class RestartTest(DurabilityCase):
    def test_restart_keeps_every_event_and_continues_the_sequence(self):
        self.gw.start()
        n = 30
        sent = self.write_events(n)
        before = all_events(self.gw)
        self.assertEqual(len(before), n)
        self.assertEqual({e["correlation_id"]: e["status"] for e in before}, sent)
        self.assert_gapless(before)
        self.assertEqual(self.gw.stop(signal.SIGTERM), 0, self.gw.logs())

        self.gw.start()
        after = all_events(self.gw, page_size=7)  # pages through the cursor
        # Same events, same ids, same seqs, same content.
        self.assertEqual(sorted(after, key=lambda e: e["seq"]), sorted(before, key=lambda e: e["seq"]))
        self.assertEqual([e["seq"] for e in after], list(range(n - 1, -1, -1)), "newest first")
        for e in before[:3]:
            status, one = self.gw.admin("/api/v1/events/" + e["id"])
            self.assertEqual(status, 200)
            self.assertEqual(one["seq"], e["seq"])

        status, _, _ = self.gw.request("GET", "/v1/orders/1000", self.auth(**{"X-Request-ID": "after-restart"}))
        self.assertEqual(status, 200)
        new = self.gw.events(correlation_id="after-restart")
        self.assertEqual(len(new), 1)
        self.assertEqual(new[0]["seq"], n)
        self.assertEqual(admin_metrics(self.gw)["apitrail_store_records"], n + 1)
        self.assertEqual(self.gw.stop(signal.SIGTERM), 0, self.gw.logs())
        self.assert_verify_ok(n + 1)


class KillUnderLoadTest(DurabilityCase):
    THREADS = 4
    LOAD_SECONDS = 2.0
    KILL_AFTER = 1.0

    def test_sigkill_under_load_loses_no_acknowledged_event(self):
        self.gw.start()
        received = {}          # request id -> status, only for complete responses
        sent = set()
        lock = threading.Lock()
        stop_at = time.time() + self.LOAD_SECONDS

        def client(tid):
            i = 0
            while time.time() < stop_at:
                rid = f"t{tid}-{i}"
                i += 1
                headers = {"X-Request-ID": rid}
                if i % 4 != 0:
                    headers["Authorization"] = f"Bearer {self.key}"
                with lock:
                    sent.add(rid)
                conn = http.client.HTTPConnection(HOST, self.gw.gateway_port, timeout=5)
                try:
                    conn.request("GET", f"/v1/orders/{i}", headers=headers)
                    r = conn.getresponse()
                    r.read()  # raises IncompleteRead when the body was cut
                    with lock:
                        received[rid] = r.status
                except (OSError, http.client.HTTPException):
                    time.sleep(0.01)  # killed: refused or reset; keep trying until the end
                finally:
                    conn.close()

        threads = [threading.Thread(target=client, args=(t,), daemon=True) for t in range(self.THREADS)]
        for t in threads:
            t.start()
        time.sleep(self.KILL_AFTER)
        proc = self.gw.proc
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        self.assertEqual(proc.returncode, -signal.SIGKILL)
        for t in threads:
            t.join(timeout=15)
            self.assertFalse(t.is_alive(), "client thread hung")
        self.gw.stop()  # already exited: just forgets the process and closes its log

        self.assertGreater(len(received), 20, "the load produced too few answers to mean anything")
        self.assertTrue(set(received.values()) <= {200, 401}, collections.Counter(received.values()))
        self.assertGreater(len(sent), len(received), "some requests must have been cut by the kill")

        # The active segment is pre-extended with zeros (FORMAT.md §3): a killed process
        # leaves that reserve behind the last record, and it is no damage.
        header, frames, tail = read_log_file(segment_paths(self.gw.data)[-1])
        self.assertEqual(header["version"], 3)
        self.assertGreater(len(tail), 0, "the kill should leave the zero reserve behind")
        self.assertTrue(tail.endswith(b"\0"), "the reserve is zeros")
        self.assertLess(len(tail.rstrip(b"\0")), 1 << 16, "at most one torn batch before the zeros")

        # Before any recovery the log already verifies (an unacknowledged tail is not a failure).
        r = self.verify()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

        self.gw.start()
        r = self.verify()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        events = all_events(self.gw, page_size=50)  # pages through the cursor
        self.assertIn(f"ok: {len(events)} records intact", r.stdout)
        self.assert_gapless(events)
        by_rid = collections.Counter(e["correlation_id"] for e in events)
        self.assertEqual([rid for rid, c in by_rid.items() if c > 1], [], "duplicate events")
        self.assertTrue(set(by_rid) <= sent, "events for requests never sent")
        missing = [rid for rid in received if by_rid[rid] != 1]
        self.assertEqual(missing, [], "answered requests without an event")
        status_of = {e["correlation_id"]: e["status"] for e in events}
        for rid, status in received.items():
            self.assertEqual(status_of[rid], status, rid)

        # The restarted store keeps appending right after the last recovered record.
        status, _, _ = self.gw.request("GET", "/v1/orders/1", self.auth(**{"X-Request-ID": "after-kill"}))
        self.assertEqual(status, 200)
        self.assertEqual(self.gw.events(correlation_id="after-kill")[0]["seq"], len(events))


class StrictDurabilityTest(DurabilityCase):
    """durability: strict — an intent is durable before the upstream sees the request."""
    AUDIT_CONFIG = "  durability: strict"

    def test_forwarded_request_has_an_intent_and_its_outcome(self):
        self.gw.start()
        status, _, _ = self.gw.request("GET", "/v1/orders/5", self.auth(**{"X-Request-ID": "strict-1"}))
        self.assertEqual(status, 200)
        status, _, _ = self.gw.request("GET", "/v1/orders/6", {"X-Request-ID": "strict-denied"})
        self.assertEqual(status, 401)
        events = self.gw.events(correlation_id="strict-1")
        self.assertEqual(len(events), 2, events)
        outcome, intent = events  # newest first
        self.assertEqual((intent["phase"], intent["outcome"], intent["decision"]), ("intent", "recorded", "allow"))
        self.assertNotIn("status", intent)  # nothing was known yet
        self.assertEqual((outcome["phase"], outcome["intent_id"], outcome["status"]), ("outcome", intent["id"], 200))
        self.assertLess(intent["seq"], outcome["seq"])
        self.assertNotEqual(intent["id"], outcome["id"])
        # A request that is never forwarded needs no intent: one event, no phase.
        denied = self.gw.events(correlation_id="strict-denied")
        self.assertEqual(len(denied), 1)
        self.assertNotIn("phase", denied[0])
        self.assertEqual(self.gw.stop(signal.SIGTERM), 0)
        self.assert_verify_ok(3)

    def test_sigkill_while_the_upstream_works_leaves_intents_with_outcome_unknown(self):
        self.gw.start()
        n = 4

        def slow(i):
            try:
                self.gw.request("GET", "/slow?t=3", self.auth(**{"X-Request-ID": f"inflight-{i}"}))
            except (OSError, http.client.HTTPException):
                pass  # cut by the kill

        threads = [threading.Thread(target=slow, args=(i,), daemon=True) for i in range(n)]
        for t in threads:
            t.start()
        wait_until(lambda: len(self.upstream.requests) >= n, timeout=10)
        self.gw.proc.send_signal(signal.SIGKILL)
        self.gw.proc.wait(timeout=10)
        for t in threads:
            t.join(timeout=15)
        self.gw.stop()

        seen_upstream = {r["headers"]["x-request-id"] for r in self.upstream.requests}
        self.assertEqual(seen_upstream, {f"inflight-{i}" for i in range(n)})
        self.gw.start()
        events = all_events(self.gw, page_size=50)
        self.assert_gapless(events)
        by_rid = {e["correlation_id"]: e for e in events}
        for rid in seen_upstream:  # every request the upstream received has its intent
            self.assertIn(rid, by_rid, "the upstream acted on a request the log does not show")
            e = by_rid[rid]
            self.assertEqual((e["phase"], e["outcome"]), ("intent", "unknown"), e)
        self.assertEqual(len(events), n, "no outcome can exist: the gateway died before any answer")
        self.assertEqual(self.gw.stop(signal.SIGTERM), 0)
        self.assert_verify_ok(n)


class TamperingTest(DurabilityCase):
    """20 events are written and the server stopped cleanly; then the segment is damaged."""
    N = 20

    def setUp(self):
        super().setUp()
        self.gw.start()
        self.sent = self.write_events(self.N)
        self.assertEqual(self.gw.stop(signal.SIGTERM), 0, self.gw.logs())
        segs = segment_paths(self.gw.data)
        self.assertEqual(len(segs), 1, segs)
        self.seg = segs[0]
        with open(self.seg, "rb") as f:
            self.original = f.read()
        header, self.frames, tail = read_log_file(self.seg)
        self.assertEqual(header["magic"], b"APTLOG01")
        self.assertEqual(header["version"], 3)
        self.assertEqual(header["first_seq"], 0)
        self.assertEqual(header["node"], "test-node")
        self.assertEqual(tail, b"")
        self.assertEqual([f["seq"] for f in self.frames], list(range(self.N)))
        for fr in self.frames:  # the CRC is exactly what FORMAT.md §3-§4 says
            self.assertEqual(fr["crc"], masked_crc32c(struct.pack("<Q", fr["seq"]) + fr["payload"]))
        records = [decode_record(fr["payload"]) for fr in self.frames]
        self.assertEqual(sorted(r["correlation_id"] for r in records), sorted(self.sent))
        for r in records:
            status = self.sent[r["correlation_id"]]
            self.assertEqual((r["kind"], r["status"], r["node"]), ("http", status, "test-node"))
            self.assertEqual(r["decision"], "allow" if status == 200 else "deny")
            self.assertGreater(r["time_ns"], 1700000000 * 10**9)
        # An independent protobuf implementation reads the same bytes with docs/record.proto.
        decoded = subprocess.run(["protoc", "--decode=apitrail.record.v2.Record", "--proto_path", os.path.dirname(RECORD_PROTO),
                                  "record.proto"], input=self.frames[3]["payload"], capture_output=True, check=True).stdout.decode()
        self.assertIn('correlation_id: "%s"' % records[3]["correlation_id"], decoded)
        self.assertIn('time_ns: %d' % records[3]["time_ns"], decoded)
        self.assert_verify_ok(self.N)

    def write_segment(self, data):
        with open(self.seg, "wb") as f:
            f.write(data)

    def assert_verify_fails(self, bad_seq):
        r = self.verify()
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("FAILED", r.stdout)
        self.assertIn(f"first bad seq: {bad_seq}\n", r.stdout)
        return r

    def assert_serve_refuses_and_touches_nothing(self):
        with open(self.seg, "rb") as f:
            damaged = f.read()
        with open(os.path.join(self.root, "refused.log"), "wb") as log:
            r = subprocess.run([BIN, "serve", "-c", self.gw.config], stdout=log, stderr=subprocess.STDOUT,
                               timeout=20)
        self.assertEqual(r.returncode, 1, "serve must refuse a corrupt log")
        with open(self.seg, "rb") as f:
            self.assertEqual(f.read(), damaged, "recovery must not touch a corrupt log")

    def test_flipped_payload_byte_names_the_seq(self):
        fr = self.frames[7]
        pos = fr["payload_offset"] + fr["len"] // 2
        data = bytearray(self.original)
        data[pos] ^= 0x20
        self.write_segment(bytes(data))
        r = self.assert_verify_fails(7)
        self.assertIn("intact records before it: 7", r.stdout)
        self.assert_serve_refuses_and_touches_nothing()

    def test_rewritten_record_with_recomputed_crc_caught_by_the_tree_heads(self):
        fr = self.frames[7]
        payload = fr["payload"].replace(b'req-0007', b'req-0008')
        self.assertNotEqual(payload, fr["payload"])
        crc = masked_crc32c(struct.pack("<Q", 7) + payload)
        data = (self.original[:fr["offset"]] + struct.pack("<IIQ", len(payload), crc, 7) + payload +
                self.original[fr["payload_offset"] + fr["len"]:])
        self.assertEqual(len(data), len(self.original))
        self.write_segment(data)
        # FORMAT.md §9: the exact record cannot be known; first_bad_seq is the size of the
        # last head that still matches.
        _, heads, _ = read_log_file(os.path.join(self.gw.data, "tree_heads.log"))
        p = max(h["seq"] for h in heads if h["seq"] <= 7)
        self.assert_verify_fails(p)
        self.assert_serve_refuses_and_touches_nothing()

    def test_truncated_whole_frames_detected_via_tree_heads(self):
        self.write_segment(self.original[:self.frames[15]["offset"]])
        r = self.assert_verify_fails(15)
        self.assertIn("intact records before it: 15", r.stdout)
        self.assert_serve_refuses_and_touches_nothing()

    def test_frame_spliced_out_of_the_middle_detected(self):
        fr = self.frames[10]
        end = fr["payload_offset"] + fr["len"]
        self.write_segment(self.original[:fr["offset"]] + self.original[end:])
        self.assert_verify_fails(10)
        self.assert_serve_refuses_and_touches_nothing()


class TornTailTest(DurabilityCase):
    N = 10

    def write_and_stop(self):
        self.gw.start()
        sent = self.write_events(self.N)
        self.before = {e["id"]: e for e in all_events(self.gw)}
        self.assertEqual(len(self.before), self.N)
        self.assertEqual(self.gw.stop(signal.SIGTERM), 0, self.gw.logs())
        self.seg = segment_paths(self.gw.data)[-1]
        self.clean_size = os.path.getsize(self.seg)
        return sent

    def check_recovers(self, junk):
        with open(self.seg, "ab") as f:
            f.write(junk)
        # Not acknowledged (no tree head covers it): verify reports no failure.
        r = self.verify()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.gw.start()
        # Recovery cut exactly the tear.
        self.assertEqual(os.path.getsize(self.seg), self.clean_size)
        after = {e["id"]: e for e in all_events(self.gw)}
        self.assertEqual(after, self.before)
        status, _, _ = self.gw.request("GET", "/v1/orders/5", self.auth(**{"X-Request-ID": "after-tear"}))
        self.assertEqual(status, 200)
        self.assertEqual(self.gw.events(correlation_id="after-tear")[0]["seq"], self.N)
        self.assertEqual(self.gw.stop(signal.SIGTERM), 0, self.gw.logs())
        self.assert_verify_ok(self.N + 1)
        _, frames, tail = read_log_file(self.seg)
        self.assertEqual([f["seq"] for f in frames], list(range(self.N + 1)))
        self.assertEqual(tail, b"")

    def test_half_frame_at_the_tail_is_cut_on_restart(self):
        self.write_and_stop()
        # A frame header announcing 400 bytes for the next seq, then only 50 of them.
        self.check_recovers(struct.pack("<IIQ", 400, 0x12345678, self.N) + b'{"id":"' + b"x" * 43)

    def test_garbage_bytes_at_the_tail_are_cut_on_restart(self):
        self.write_and_stop()
        self.check_recovers(b"\xde\xad\xbe\xef\x00\x01garbage")


class FailClosedTest(DurabilityCase):
    LIMIT = 4096  # bytes per file: the segment header and a few records fit, then EFBIG

    def start_and_fill(self):
        """Starts apitrail under RLIMIT_FSIZE and sends requests until the store fails.
        Returns [(rid, status, body, headers)]; the last one is the first 503."""
        limit = self.LIMIT
        self.gw.preexec = lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        self.gw.start()
        answers = []
        for i in range(60):
            rid = f"fc-{i}"
            headers = {"X-Request-ID": rid}
            if i % 5 != 4:
                headers["Authorization"] = f"Bearer {self.key}"
            status, hdrs, body = self.gw.request("GET", f"/v1/orders/{i}", headers)
            answers.append((rid, status, body, hdrs))
            if status == 503:
                break
        statuses = [a[1] for a in answers]
        self.assertEqual(statuses[-1], 503, f"the store never failed under a {limit}-byte file limit: {statuses}")
        self.assertIn(200, statuses, "some requests must have succeeded before the file was full")
        self.assertTrue(set(statuses[:-1]) <= {200, 401}, statuses)
        return answers

    def test_store_write_failure_fails_closed_with_503(self):
        answers = self.start_and_fill()
        # Sticky: every later request, allowed or denied, is refused too.
        for i in range(6):
            rid = f"fc-late-{i}"
            headers = {"X-Request-ID": rid}
            if i % 2 == 0:
                headers["Authorization"] = f"Bearer {self.key}"
            status, hdrs, body = self.gw.request("GET", f"/v1/orders/{i}", headers)
            answers.append((rid, status, body, hdrs))
            self.assertEqual(status, 503, body)
        refused = [a for a in answers if a[1] == 503]
        for rid, status, body, hdrs in refused:
            self.assertEqual(hdrs.get("content-type"), "application/json")
            self.assertEqual(json.loads(body)["error"], "audit_unavailable", body)
            self.assertEqual(hdrs.get("x-request-id"), rid)

        m = admin_metrics(self.gw)
        self.assertEqual(m["apitrail_store_failed"], 1)
        self.assertGreaterEqual(m["apitrail_audit_unavailable_total"], len(refused))
        self.assertGreaterEqual(m["apitrail_store_write_errors_total"], 1)
        status, _, body = self.gw.request("GET", "/healthz", port=self.gw.admin_port)
        self.assertEqual(status, 503, body)
        self.assertIn(b"failing", body)

        # Under `response` durability the upstream answers before the event is written, so the
        # request whose write failed did reach the upstream; the client still got a 503, never
        # a 2xx without a record.
        ok = {a[0] for a in answers if a[1] == 200}
        upstream_ids = [r["headers"].get("x-request-id") for r in self.upstream.received()]
        self.assertTrue(ok <= set(upstream_ids))
        first_refused = answers[len(answers) - 7][0]
        if int(first_refused.split("-")[1]) % 5 != 4:  # it carried a key, so it was forwarded
            self.assertIn(first_refused, upstream_ids)
        # The final flush cannot succeed on a failed store: exit 1, not a crash, not a hang.
        rc = self.gw.stop(signal.SIGTERM)
        self.assertEqual(rc, 1, self.gw.logs())
        self.assertIn("final flush failed", self.gw.logs())

        # Restart without the limit: every answer the client got (2xx and 401) is recorded,
        # nothing refused with 503 is, and the partial frame was cut.
        self.gw.preexec = None
        self.gw.start()
        events = all_events(self.gw)
        self.assert_gapless(events)
        recorded = {e["correlation_id"]: e["status"] for e in events}
        answered = {a[0]: a[1] for a in answers if a[1] != 503}
        self.assertEqual(recorded, answered)
        status, _, _ = self.gw.request("GET", "/healthz", port=self.gw.admin_port)
        self.assertEqual(status, 200)
        status, _, _ = self.gw.request("GET", "/v1/orders/1", self.auth(**{"X-Request-ID": "healed"}))
        self.assertEqual(status, 200)
        self.assertEqual(self.gw.stop(signal.SIGTERM), 0, self.gw.logs())
        self.assert_verify_ok(len(answered) + 1)

    def test_nothing_is_forwarded_once_the_store_has_failed(self):
        self.start_and_fill()
        for i in range(3):
            status, _, _ = self.gw.request("GET", f"/v1/orders/{i}", self.auth(**{"X-Request-ID": f"late-{i}"}))
            self.assertEqual(status, 503)
        upstream_ids = {r["headers"].get("x-request-id") for r in self.upstream.received()}
        self.assertEqual(upstream_ids & {"late-0", "late-1", "late-2"}, set())

    def test_status_metrics_count_what_the_client_received(self):
        answers = self.start_and_fill()
        m = admin_metrics(self.gw)
        self.assertEqual(m['apitrail_responses_total{class="2xx"}'], sum(1 for a in answers if a[1] == 200))
        self.assertEqual(m['apitrail_responses_total{class="5xx"}'], 1)

    def test_store_failure_is_in_the_operational_log(self):
        self.start_and_fill()
        wait_until(lambda: " error " in self.gw.logs() or " critical " in self.gw.logs(), timeout=2,
                   what="an error line about the failed store in the operational log")


class DrainTest(DurabilityCase):
    def test_sigterm_drains_an_in_flight_request(self):
        self.gw.start()
        result = {}

        def slow():
            try:
                result["answer"] = self.gw.request("GET", "/slow?s=1", self.auth(**{"X-Request-ID": "slow-1"}),
                                                   timeout=10)
            except Exception as e:  # recorded for the assertion below
                result["error"] = repr(e)

        t = threading.Thread(target=slow, daemon=True)
        t.start()
        wait_until(lambda: any(r["path"].startswith("/slow") for r in self.upstream.received()),
                   timeout=5, what="the slow request to reach the upstream")
        proc = self.gw.proc
        sent_at = time.time()
        proc.send_signal(signal.SIGTERM)
        t.join(timeout=10)
        self.assertFalse(t.is_alive())
        self.assertNotIn("error", result, result)
        status, _, body = result["answer"]
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["path"], "/slow?s=1")
        proc.wait(timeout=10)
        self.assertEqual(proc.returncode, 0, self.gw.logs())
        self.assertLess(time.time() - sent_at, 5)
        self.gw.stop()  # already exited: just forgets the process and closes its log

        self.gw.start()
        events = self.gw.events(correlation_id="slow-1")
        self.assertEqual(len(events), 1)
        self.assertEqual((events[0]["status"], events[0]["path"], events[0]["decision"]), (200, "/slow", "allow"))
        self.assertGreaterEqual(events[0]["duration_us"], 900000)


if __name__ == "__main__":
    unittest.main()
