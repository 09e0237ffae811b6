#!/usr/bin/env bash
# Query latency (issue #3): apitrail against SQLite (query_bench, one process) and, where
# installed, ClickHouse (query_clickhouse.py) on the same generated events; prints one table
# with p50/p99 per query and the ratios peer p50 / apitrail p50. See bench/README.md.
#
#   bench/query.sh                         # 2 M events (~2-3 min, ~2 GB under /tmp)
#   EVENTS=200000 bench/query.sh           # smoke run
#   EVENTS=50000000 bench/query.sh         # the issue's size: see README for time and disk
#   INSTALL_CLICKHOUSE=1 bench/query.sh    # apt-get install clickhouse-server/-client first
#
# Env: EVENTS (default 2000000), APITRAIL_BENCH_SEGMENT_BYTES (segment size, so a small run
# seals parts; see README), BUILD (build dir, default build), MIN_TIME (Google Benchmark
# --benchmark_min_time per query, default 0.5), APITRAIL_BENCH_DIR (default
# /tmp/apitrail-bench/query), APITRAIL_BENCH_KEEP=1 keeps the data, FILTER (a
# --benchmark_filter regex), CH_REPS / CH_MAX_SECONDS (ClickHouse runs per query).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
EVENTS=${EVENTS:-2000000}
BUILD=${BUILD:-$ROOT/build}
MIN_TIME=${MIN_TIME:-0.5}
DIR=${APITRAIL_BENCH_DIR:-/tmp/apitrail-bench/query}
CH_DIR="$DIR-ch"
RESULTS="$DIR-results.jsonl"

if [ ! -x "$BUILD/bench/query_bench" ]; then
  cmake --build "$BUILD" -j2 --target query_bench
fi

have_clickhouse() {
  [ -x /usr/sbin/clickhouse-server ] || command -v clickhouse-server >/dev/null 2>&1 || return 1
  [ -f /etc/clickhouse-server/config.xml ] || return 1
}
if ! have_clickhouse && [ "${INSTALL_CLICKHOUSE:-0}" = 1 ]; then
  echo "INSTALL_CLICKHOUSE=1: apt-get install -y clickhouse-server clickhouse-client" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y clickhouse-server clickhouse-client >&2
fi
CH=0
if have_clickhouse; then CH=1; fi

cleanup() {
  if [ "${APITRAIL_BENCH_KEEP:-0}" != 1 ]; then rm -rf "$CH_DIR"; fi
}
trap cleanup EXIT
rm -f "$RESULTS"
rm -rf "$CH_DIR"
TSV=""
if [ "$CH" = 1 ]; then
  mkdir -p "$CH_DIR"
  TSV="$CH_DIR/events.tsv"
fi

echo "query.sh: $EVENTS events; data in $DIR; ClickHouse: $([ "$CH" = 1 ] && echo yes || echo 'not installed')" >&2
APITRAIL_BENCH_EVENTS=$EVENTS APITRAIL_BENCH_DIR=$DIR APITRAIL_BENCH_RESULTS=$RESULTS APITRAIL_BENCH_CH_TSV=$TSV \
  "$BUILD/bench/query_bench" --benchmark_min_time="$MIN_TIME" ${FILTER:+--benchmark_filter="$FILTER"}

if [ "$CH" = 1 ]; then
  python3 "$HERE/query_clickhouse.py" --tsv "$TSV" --results "$RESULTS" --root "$CH_DIR/server" \
    --reps "${CH_REPS:-20}" --max-seconds "${CH_MAX_SECONDS:-10}"
  rm -f "$TSV"
else
  echo "ClickHouse not installed: skipped (INSTALL_CLICKHOUSE=1 installs Debian's clickhouse-server)"
fi

python3 - "$RESULTS" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
params = next((r["params"] for r in rows if "params" in r), {})
res = {(r["system"], r["query"]): r for r in rows if "system" in r}
systems = [s for s in ("apitrail", "sqlite", "clickhouse") if any(k[0] == s for k in res)]
queries = ["subject_day", "subject_day_hot", "resource", "correlation_id", "top10_routes", "errors_per_min"]
print(f"\nquery latency, {params.get('events', '?')} events: p50 / p99 ms (peer/apitrail = peer p50 / apitrail p50, > 1: apitrail faster)")
head = f"{'query':<16}" + "".join(f"{s + ' p50/p99':>24}" for s in systems) + "".join(f"{s + '/apitrail':>22}" for s in systems[1:])
print(head)
target_ok = True
for q in queries:
    a = res.get(("apitrail", q))
    cells, ratios = [], []
    for s in systems:
        r = res.get((s, q))
        cells.append(f"{r['p50_ms']:.3f}/{r['p99_ms']:.3f}" if r else "-")
    for s in systems[1:]:
        r = res.get((s, q))
        ratios.append(f"{r['p50_ms'] / a['p50_ms']:.1f}x" if r and a and a["p50_ms"] > 0 else "-")
        if r and a and r["p50_ms"] <= a["p50_ms"]:
            target_ok = False
        if r and a and r["check"] != a["check"]:
            ratios[-1] += " MISMATCH"
    if not a or a["p50_ms"] > 5:
        target_ok = False
    print(f"{q:<16}" + "".join(f"{c:>24}" for c in cells) + "".join(f"{r:>22}" for r in ratios))
if ("clickhouse", "select_1") in res:
    print(f"(ClickHouse SELECT 1 over the same keep-alive HTTP connection: {res[('clickhouse', 'select_1')]['p50_ms']:.3f} ms)")
print(f"issue #3 target (p50 <= 5 ms and ahead of every peer on every query): {'met' if target_ok else 'NOT met'} in this run")
print("Numbers on a shared machine are noisy: compare ratios within one run.")
EOF
