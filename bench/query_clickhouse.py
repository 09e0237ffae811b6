#!/usr/bin/env python3
"""ClickHouse side of bench/query.sh: the query_bench queries against ClickHouse on the same events.

Starts its own server the way /work/shared/bench/peers/clickhouse_bench.py does (Debian's
clickhouse-server 18.16: /etc/clickhouse-server/config.xml with data, tmp and log paths moved
under --root, the ::1 listener dropped, and here also <timezone>UTC</timezone> so the TSV's
DateTime text means UTC; stock users.xml; run as user clickhouse via setpriv; 127.0.0.1:8123,
:9000, :9009; stopped by PID). Loads the TSV that query_bench wrote (APITRAIL_BENCH_CH_TSV) into
a MergeTree ordered like the peer runner's (user_id, event_time, ts_ms), partitioned by day,
OPTIMIZE FINAL, then times each query over one keep-alive HTTP connection (client-observed time,
FORMAT TSV) and appends one JSON line per query to --results, in query_bench's format.

  query_clickhouse.py --tsv FILE --results FILE [--root DIR] [--reps 20] [--max-seconds 10]

The query parameters are the last {"params": ...} line of --results (written by query_bench).
Stdlib only.
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

SCHEMA = """CREATE TABLE events (event_time DateTime, ts_ms UInt16, seq UInt64, request_id UUID,
  user_id String, org String, auth String, method String, route String, path String,
  status UInt16, latency_ms Float32, req_bytes UInt32, resp_bytes UInt32, client_ip String,
  ua String, resources Array(String))
ENGINE = MergeTree() PARTITION BY toYYYYMMDD(event_time) ORDER BY (user_id, event_time, ts_ms)"""


def queries(p):
    """Same questions as query_bench; the peer runner's SQL where it has one (q1, q2, q3)."""
    subj = ("SELECT * FROM events WHERE user_id='%s' AND event_time>=toDateTime(%d) AND "
            "event_time<toDateTime(%d) ORDER BY event_time DESC, ts_ms DESC LIMIT 100")
    return {
        "subject_day": subj % (p["subject"], p["day_since_s"], p["day_until_s"]),
        "subject_day_hot": subj % (p["hot_subject"], p["day_since_s"], p["day_until_s"]),
        # no secondary index in 18.16: a scan of the resources column
        "resource": "SELECT * FROM events WHERE has(resources, '%s') ORDER BY event_time DESC, ts_ms DESC LIMIT 100"
                    % p["resource"],
        "correlation_id": "SELECT * FROM events WHERE request_id=toUUID('%s') LIMIT 100" % p["correlation_id"],
        "top10_routes": "SELECT method, route, count() AS c FROM events GROUP BY method, route ORDER BY c DESC LIMIT 10",
        "errors_per_min": "SELECT toStartOfMinute(event_time) AS minute, count() FROM events WHERE "
                          "event_time>=toDateTime(%d) AND event_time<toDateTime(%d) AND status>=500 "
                          "GROUP BY minute ORDER BY minute" % (p["err_since_s"], p["err_until_s"]),
    }


class Client:
    def __init__(self):
        self.conn = http.client.HTTPConnection("127.0.0.1", 8123, timeout=900)

    def q(self, sql, body=None):
        if body is None:
            self.conn.request("POST", "/", body=sql.encode())
        else:  # sql in the URL, data streamed as the body
            from urllib.parse import quote
            self.conn.request("POST", "/?query=" + quote(sql), body=body,
                              headers={"Content-Length": str(os.fstat(body.fileno()).st_size)})
        r = self.conn.getresponse()
        data = r.read().decode(errors="replace")
        if r.status != 200:
            raise RuntimeError(f"HTTP {r.status}: {data[:1500]}")
        return data


def port_open(p):
    try:
        socket.create_connection(("127.0.0.1", p), 0.3).close()
        return True
    except OSError:
        return False


def percentile(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p * (len(v) - 1) + 0.5))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tsv", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--root", default="/tmp/apitrail-bench/query-ch/server")
    ap.add_argument("--reps", type=int, default=20, help="timed runs per query (after one untimed)")
    ap.add_argument("--max-seconds", type=float, default=10.0, help="stop a query's runs after this long (>= 3 runs)")
    a = ap.parse_args()
    params = None
    for line in open(a.results):
        if line.startswith('{"params"'):
            params = json.loads(line)["params"]
    if params is None:
        sys.exit(f"query_clickhouse: no params line in {a.results}")
    for p in (8123, 9000, 9009):
        if port_open(p):
            sys.exit(f"query_clickhouse: port {p} already in use; refusing")
    root = a.root
    shutil.rmtree(root, ignore_errors=True)
    for d in ("etc", "data", "log"):
        os.makedirs(f"{root}/{d}")
    shutil.copy("/etc/clickhouse-server/users.xml", f"{root}/etc/users.xml")
    cfg = open("/etc/clickhouse-server/config.xml").read()
    cfg = (cfg.replace("/var/log/clickhouse-server/", f"{root}/log/")
              .replace("/var/lib/clickhouse/", f"{root}/data/")
              .replace("<listen_host>::1</listen_host>", ""))
    top = "</yandex>" if "</yandex>" in cfg else "</clickhouse>"
    cfg = cfg.replace(top, "<timezone>UTC</timezone>\n" + top)
    open(f"{root}/etc/config.xml", "w").write(cfg)
    subprocess.run(["chown", "-R", "clickhouse:clickhouse", root], check=True)
    out = open(f"{root}/log/stdout.txt", "w")
    srv = subprocess.Popen(["setpriv", "--reuid=clickhouse", "--regid=clickhouse", "--init-groups",
                            "/usr/sbin/clickhouse-server", f"--config-file={root}/etc/config.xml"],
                           stdout=out, stderr=subprocess.STDOUT, cwd=root)
    info = {}
    try:
        t0 = time.time()
        c = None
        while time.time() - t0 < 60 and srv.poll() is None:
            try:
                c = Client()
                info["version"] = c.q("SELECT version()").strip()
                break
            except OSError:
                time.sleep(0.2)
        if "version" not in info:
            raise RuntimeError(f"server did not start (exit {srv.poll()}); see {root}/log")
        c.q(SCHEMA)
        t = time.perf_counter()
        with open(a.tsv, "rb") as f:
            c.q("INSERT INTO events FORMAT TabSeparated", body=f)
        info["load_s"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        c.q("OPTIMIZE TABLE events FINAL")
        info["optimize_s"] = round(time.perf_counter() - t, 2)
        info["rows"] = int(c.q("SELECT count() FROM events"))
        info["bytes"] = int(c.q("SELECT sum(bytes_on_disk) FROM system.parts WHERE table='events' AND active") or 0)
        print(f"query_clickhouse: ClickHouse {info['version']}: {info['rows']} rows loaded in {info['load_s']} s "
              f"(OPTIMIZE FINAL {info['optimize_s']} s), {info['bytes'] / 1e6:.1f} MB", file=sys.stderr)
        if info["rows"] != params["events"]:
            raise RuntimeError(f"loaded {info['rows']} rows, expected {params['events']}")
        res = open(a.results, "a")
        for name, sql in [("select_1", "SELECT 1")] + list(queries(params).items()):
            times, first, data = [], None, ""
            start = time.perf_counter()
            for i in range(a.reps + 1):
                t = time.perf_counter()
                data = c.q(sql + " FORMAT TSV")
                ms = (time.perf_counter() - t) * 1000
                if first is None:
                    first = ms
                else:
                    times.append(ms)
                if len(times) >= 3 and time.perf_counter() - start > a.max_seconds:
                    break
            lines = [l for l in data.splitlines() if l]
            last = [int(l.split("\t")[-1]) for l in lines] if name in ("top10_routes", "errors_per_min") else []
            check = (last[0] if last else 0) if name == "top10_routes" else sum(last) if name == "errors_per_min" \
                else len(lines)
            rec = {"system": "clickhouse", "query": name, "p50_ms": round(percentile(times, 0.5), 4),
                   "p99_ms": round(percentile(times, 0.99), 4), "first_ms": round(first, 4), "runs": len(times),
                   "rows": len(lines), "check": check}
            res.write(json.dumps(rec) + "\n")
            print(f"  {name:<16} p50 {rec['p50_ms']:.3f} ms  p99 {rec['p99_ms']:.3f} ms  rows {len(lines)}",
                  file=sys.stderr)
        res.write(json.dumps({"clickhouse": info}) + "\n")
        res.close()
    finally:
        if srv.poll() is None:
            os.kill(srv.pid, signal.SIGTERM)
            try:
                srv.wait(60)
            except subprocess.TimeoutExpired:
                os.kill(srv.pid, signal.SIGKILL)
                srv.wait()
        if os.environ.get("APITRAIL_BENCH_KEEP") != "1":
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
