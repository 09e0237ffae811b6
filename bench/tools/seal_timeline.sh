#!/usr/bin/env bash
# bench/tools/seal_timeline.sh: requests/s, sealed parts and CPU ticks per thread, once a
# second, while wrk drives a pinned apitrail long enough to rotate and seal a segment. It
# shows what a sealing costs the request path (bench/README.md "session 5"): a round of
# bench/gateway.sh only says that a round was slow, not when or which thread was busy.
#
#   bench/tools/seal_timeline.sh [SECONDS=30]
#   ASYNC_COMMIT=false bench/tools/seal_timeline.sh 30
#
# Needs what bench/gateway.sh needs (wrk, nginx, taskset); the nginx upstream is the peer
# runner's (../shared/bench/peers/proxy_bench.py), on :9001. apitrail on CPU 1, wrk and the
# upstream on CPU 0; everything on 127.0.0.1, stopped on exit.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PEERS=${PEERS:-$REPO/../shared/bench/peers}
DUR=${1:-30}
BIN=${APITRAIL:-$REPO/build/apitrail}
ROOT=${ROOT:-/tmp/apitrail-bench/seal}
rm -rf "$ROOT"; mkdir -p "$ROOT/data"; chmod 700 "$ROOT/data"
free_port() { python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"; }
GW=$(free_port); AD=$(free_port)
UP_PID=""; PID=""
cleanup() {
  [[ -n "$PID" ]] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  [[ -n "$UP_PID" ]] && kill -QUIT "$UP_PID" 2>/dev/null || true
}
trap cleanup EXIT
eval "$(PEERS="$PEERS" ROOT="$ROOT" python3 - <<'PY'
import os, sys
sys.path.insert(0, os.environ["PEERS"])
import proxy_bench as pb
pb.ROOT = os.environ["ROOT"]
open(f"{pb.ROOT}/upstream.conf", "w").write(pb.nginx_upstream_conf(1))
print(f"UP_PORT={pb.PORTS['direct']} BENCH_PATH='{pb.PATH}'")
PY
)"
if python3 -c "import socket; socket.create_connection(('127.0.0.1', $UP_PORT), 0.5)" 2>/dev/null; then
  echo "port $UP_PORT busy (another bench running?)" >&2; exit 1
fi
taskset -c 0 nginx -p "$ROOT" -e "$ROOT/upstream_err.log" -c "$ROOT/upstream.conf"
for _ in $(seq 50); do [[ -s "$ROOT/upstream.pid" ]] && break; sleep 0.1; done
UP_PID=$(cat "$ROOT/upstream.pid" 2>/dev/null || true)
python3 -c "import secrets; print(secrets.token_hex(24))" > "$ROOT/admin"; chmod 600 "$ROOT/admin"
cat > "$ROOT/a.yaml" <<Y
node: bench-1
log_level: warn
gateway: {listen: 127.0.0.1:$GW, workers: 1, unmatched: reject}
upstreams: [{name: app, address: 127.0.0.1:$UP_PORT, max_idle_connections: 64}]
routes: [{match: "GET /api/v1/projects/{project_id}/issues/{issue_id}", upstream: app}]
auth: {api_keys: {enabled: true}}
audit: {data_dir: $ROOT/data, durability: response${ASYNC_COMMIT:+, async_commit: $ASYNC_COMMIT}}
admin: {enabled: true, listen: 127.0.0.1:$AD, token_file: $ROOT/admin}
Y
KEY=$("$BIN" keys create -c "$ROOT/a.yaml" --subject bench-client 2>/dev/null)
taskset -c 1 "$BIN" serve -c "$ROOT/a.yaml" > "$ROOT/log" 2>&1 & PID=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$GW/" && break; sleep 0.1; done
TOKEN=$(cat "$ROOT/admin")
metrics() { curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$AD/metrics" |
  awk '$1=="apitrail_store_records"{r=$2} $1=="apitrail_store_parts_sealed_total"{p=$2} END{print r+0, p+0}'; }
threads() { for t in /proc/$PID/task/*; do echo -n "$(cat "$t/comm"):$(awk '{print $14+$15}' "$t/stat") "; done; }
echo "# t  requests/s  parts sealed  CPU ticks (1/100 s) so far per thread"
taskset -c 0 wrk -t1 -c32 -d"${DUR}s" -H "Authorization: Bearer $KEY" "http://127.0.0.1:$GW$BENCH_PATH" > "$ROOT/wrk.txt" &
WRK=$!
read -r prev _ < <(metrics)
for i in $(seq "$DUR"); do
  sleep 1
  read -r cur sealed < <(metrics)
  echo "t=$i $((cur - prev)) $sealed $(threads)"
  prev=$cur
done
wait "$WRK"
grep "Requests/sec" "$ROOT/wrk.txt"
