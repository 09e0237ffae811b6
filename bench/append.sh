#!/usr/bin/env bash
# bench/append.sh: issue #3's append comparison on the peer runners' own events, in one run.
# The peer runners' generator writes EVENTS events as TSV (gen_events.py, seed 42); each
# round then loads them with
#   - the peer runner's SQLite (`../shared/bench/peers/sqlite_bench.py`, unmodified: Python's
#     sqlite3, WAL, synchronous=NORMAL, 10,000-row transactions): the measurement behind the
#     issue's "SQLite ~55k rows/s" and the peer README's ~60k;
#   - store_append_bench with APITRAIL_BENCH_EVENTS_TSV pointing at the same file: apitrail's
#     Store::Append from 4 producers with durability `response` (every event durable before
#     its callback), the in-process SQLite (C API, synchronous=FULL, 512-row transactions:
#     durable at every commit, the stricter peer), and SHA-256 of the same records on one core.
# It prints per-round figures, medians and the ratios of the medians (and per round).
#
#   bench/append.sh                       # 2M events, 3 rounds (~4 min)
#   EVENTS=500000 ROUNDS=1 bench/append.sh
#
# Env: EVENTS (2000000) ROUNDS (3) ROOT (/tmp/apitrail-bench/append) BUILD (build-bench,
# configured Release with benchmarks when missing) PEERS (../shared/bench/peers)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
PEERS=${PEERS:-$REPO/../shared/bench/peers}
BUILD=${BUILD:-$REPO/build-bench}
EVENTS=${EVENTS:-2000000}
ROUNDS=${ROUNDS:-3}
ROOT=${ROOT:-/tmp/apitrail-bench/append}
[[ -f "$PEERS/sqlite_bench.py" && -f "$PEERS/gen_events.py" ]] || { echo "peer runners not found in $PEERS" >&2; exit 1; }
# The in-process SQLite peer is compiled in only when CMake finds libsqlite3-dev.
if ! dpkg -s libsqlite3-dev >/dev/null 2>&1; then
  echo "# libsqlite3-dev missing: apt-get install -y libsqlite3-dev" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y libsqlite3-dev >/dev/null ||
    { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y libsqlite3-dev >/dev/null; }
  [[ -f "$BUILD/CMakeCache.txt" ]] && cmake "$BUILD" >/dev/null  # find it now
fi
if [[ ! -f "$BUILD/CMakeCache.txt" ]]; then
  cmake -S "$REPO" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAPITRAIL_BUILD_TESTS=OFF \
    -DAPITRAIL_BUILD_BENCH=ON >/dev/null
fi
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "ROUNDS must be a positive integer" >&2; exit 1; }
cmake --build "$BUILD" -j2 --target store_append_bench
trap 'rm -rf "$ROOT"' EXIT
rm -rf "$ROOT"; mkdir -p "$ROOT"
TSV="$ROOT/events.tsv"
python3 "$PEERS/gen_events.py" --n "$EVENTS" --seed 42 --format tsv --out "$TSV"

python3 - "$ROUNDS" "$PEERS/sqlite_bench.py" "$TSV" "$ROOT" "$BUILD/bench/store_append_bench" <<'PY'
import json, os, statistics as st, subprocess, sys
rounds, peer, tsv, root, bench = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
FILTER = "StoreAppend/producers:4/shape:0/|SqliteWal/sync:2|Sha256Record/shape:0"
cols = ["apitrail events/s", "peer SQLite rows/s", "peer SQLite insert-only", "C SQLite FULL rows/s",
        "SHA-256 records/s"]
runs = {c: [] for c in cols}
for r in range(1, rounds + 1):
    out = subprocess.run([sys.executable, peer, "--tsv", tsv, "--db", root + "/sqlite/events.db", "--reps", "1"],
                         check=True, capture_output=True, text=True).stdout
    s = json.loads(out.strip().splitlines()[-1])
    env = dict(os.environ, APITRAIL_BENCH_EVENTS_TSV=tsv, APITRAIL_BENCH_DIR=root + "/store")
    js = json.loads(subprocess.run([bench, "--benchmark_filter=" + FILTER, "--benchmark_format=json"],
                                   check=True, capture_output=True, text=True, env=env).stdout)
    b = {x["name"].split("/")[0]: x for x in js["benchmarks"]}
    if "BM_SqliteWal" not in b:
        sys.exit("store_append_bench was built without libsqlite3-dev (scripts/install-deps.sh installs it): "
                 "no in-process SQLite to compare with")
    if b["BM_StoreAppend"].get("error_occurred"):
        sys.exit("store_append_bench: " + b["BM_StoreAppend"].get("error_message", "error"))
    fig = {"apitrail events/s": b["BM_StoreAppend"]["items_per_second"],
           "peer SQLite rows/s": s["rows_per_s"], "peer SQLite insert-only": s["rows_per_s_insert_only"],
           "C SQLite FULL rows/s": b["BM_SqliteWal"]["items_per_second"],
           "SHA-256 records/s": b["BM_Sha256Record"]["items_per_second"]}
    for c in cols:
        runs[c].append(fig[c])
    print(f"round {r}: " + "  ".join(f"{c} {fig[c]:,.0f}" for c in cols)
          + f"  (apitrail: {b['BM_StoreAppend']['events_per_sync']:.0f} events/sync, "
          f"{b['BM_StoreAppend']['cpu_us_per_event']:.2f} CPU us/event, record {b['BM_StoreAppend']['record_bytes']:.0f} B)",
          flush=True)
print(f"\n## append, {s['rows']:,} gen_events.py events, medians over {rounds} round(s)")
med = {c: st.median(v) for c, v in runs.items()}
for c in cols:
    print(f"{c:26}{med[c]:>14,.0f}")
a = runs["apitrail events/s"]
print("\napitrail / peer (ratio of medians; per round):")
for c, target in [("peer SQLite rows/s", "issue #3: >= 8"), ("peer SQLite insert-only", ""),
                  ("C SQLite FULL rows/s", ""), ("SHA-256 records/s", "issue #3: >= 0.6")]:
    per = " ".join(f"{x / y:.2f}" for x, y in zip(a, runs[c]))
    print(f"  vs {c:24}{med['apitrail events/s'] / med[c]:8.2f}   ({per})  {target}")
PY
