#!/usr/bin/env bash
# bench/gateway.sh: apitrail's gateway against the same upstream reached directly and through
# nginx (proxy_pass + upstream keepalive + JSON access_log), in ONE run, interleaved rounds of
# wrk with the same settings. See bench/README.md.
#
#   bench/gateway.sh                 # 32 connections, 10 s, 3 rounds, pinned
#   QUICK=1 bench/gateway.sh         # smoke run: 1 round, 3 s
#   CONNS=64 DURATION=20 ROUNDS=5 MODE=unpinned bench/gateway.sh
#   METHODS="api_key HS256 RS256 ES256 EdDSA introspection" bench/gateway.sh   # per credential
#
# Why not proxy_bench.py --extra: the shared peer runner always sends
# `Authorization: Bearer bench-token` and has no option to add a header or a wrk script, and an
# apitrail API key is a generated `atk_...` string with a checksum (src/auth/api_key.h), so no
# key can equal "bench-token". This script therefore runs wrk itself for every target, with the
# same headers (incl. the real key) for all of them, but takes the nginx configurations (and the
# path and body) from proxy_bench.py itself, so the peers are configured exactly as there.
#
# Env: CONNS (32) DURATION (10) ROUNDS (3) QUICK (0) MODE (pinned|unpinned; pinned: proxies
# on CPU 1, wrk + upstream on CPU 0, apitrail with 1 worker) WORKERS (apitrail gateway.workers;
# default 1 pinned, 0 unpinned) DURABILITY (response; `batch` shows apitrail's CPU cost without
# responses waiting for fdatasync) APITRAIL (binary; default build/apitrail, built if missing)
# PEERS (../shared/bench/peers beside the repo) ROOT (/tmp/apitrail-bench/gw) WARMUP (2 s per target)
# KEEP_DATA (0; 1 keeps apitrail's data dir and nginx's access log after the run).
# ASYNC_COMMIT (unset: the config default; true|false sets audit.async_commit).
# SEGMENT_BYTES (unset: the default 256 MiB; e.g. 4294967296 keeps the run from rotating, to
# tell what sealing costs the rounds). SEAL_WAIT (1): after each apitrail run, wait until its
# background sealing is done, so that it does not run during (and slow) a peer's run.
# METHODS (api_key): the credentials apitrail is measured with, each its own target in the same
# run against the same nginx: api_key, a JWT algorithm (HS256, RS256 … ES512, PS256 …, EdDSA;
# tokens and keys minted by npm `jose`, tests/jose) or introspection (opaque tokens from a real
# oidc-provider over HTTPS, tests/oidc; after the first request the answer comes from the
# cache). Tokens live 600 s: keep DURATION × ROUNDS × methods well below that.
#
# Servers: nginx upstream on 127.0.0.1:9001 (proxy_bench.py's), nginx proxy on 9002 (and its
# no-log server on 9004), apitrail on two free ports. All started here, stopped by PID on exit.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
PEERS=${PEERS:-$REPO/../shared/bench/peers}
ROOT=${ROOT:-/tmp/apitrail-bench/gw}
CONNS=${CONNS:-32}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-2}
MODE=${MODE:-pinned}
DURABILITY=${DURABILITY:-response}
if [[ "${QUICK:-0}" == 1 ]]; then ROUNDS=1; DURATION=3; WARMUP=1; fi
if [[ "$MODE" == pinned ]]; then WORKERS=${WORKERS:-1}; else WORKERS=${WORKERS:-0}; fi
APITRAIL=${APITRAIL:-$REPO/build/apitrail}
METHODS=${METHODS:-api_key}
JWT_ASYM=(); JWT_HS=(); WANT_INTROSPECTION=0
for m in $METHODS; do
  case "$m" in
    api_key) ;;
    HS256) JWT_HS+=("$m") ;;
    RS256|RS384|RS512|PS256|PS384|PS512|ES256|ES384|ES512|EdDSA) JWT_ASYM+=("$m") ;;
    introspection) WANT_INTROSPECTION=1 ;;
    *) echo "METHODS: unknown method '$m' (api_key, HS256, RS*/PS*/ES*, EdDSA, introspection)" >&2; exit 2 ;;
  esac
done
case "$MODE" in pinned|unpinned) ;; *) echo "MODE must be pinned or unpinned" >&2; exit 2;; esac

log() { echo "# $*"; }

# ---------------------------------------------------------------- packages
need_pkg() {  # need_pkg COMMAND DEBIAN_PACKAGE
  command -v "$1" >/dev/null 2>&1 && return 0
  log "$1 missing: apt-get install -y $2"
  if [[ $(id -u) == 0 ]]; then apt-get install -y "$2" >/dev/null || { apt-get update >/dev/null && apt-get install -y "$2" >/dev/null; }
  else sudo apt-get install -y "$2" >/dev/null; fi
  command -v "$1" >/dev/null 2>&1 || { echo "cannot install $2" >&2; exit 1; }
}
need_pkg wrk wrk
need_pkg nginx nginx
need_pkg python3 python3
need_pkg taskset util-linux
need_pkg curl curl
[[ -f "$PEERS/proxy_bench.py" ]] || { echo "no $PEERS/proxy_bench.py" >&2; exit 1; }
if [[ ! -x "$APITRAIL" ]]; then
  log "building $APITRAIL"
  cmake --build "$REPO/build" -j2 --target apitrail >/dev/null
fi

# ---------------------------------------------------------------- cleanup (by PID)
PIDS_NGINX=()   # nginx masters (not our children): SIGQUIT, then wait
APITRAIL_PID=""
AS_PID=""       # oidc-provider (METHODS=introspection)
cleanup() {
  local rc=$?
  set +e
  [[ -n "$AS_PID" ]] && kill "$AS_PID" 2>/dev/null
  if [[ -n "$APITRAIL_PID" ]] && kill -0 "$APITRAIL_PID" 2>/dev/null; then
    kill -TERM "$APITRAIL_PID"
    for _ in $(seq 150); do kill -0 "$APITRAIL_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$APITRAIL_PID" 2>/dev/null && { log "apitrail pid $APITRAIL_PID did not stop; SIGKILL"; kill -KILL "$APITRAIL_PID"; }
  fi
  for p in "${PIDS_NGINX[@]}"; do
    kill -QUIT "$p" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$p" 2>/dev/null && kill -KILL "$p"
  done
  [[ ${#PIDS_NGINX[@]} -gt 0 ]] && log "stopped: nginx masters ${PIDS_NGINX[*]}"
  if [[ "${KEEP_DATA:-0}" != 1 ]]; then  # hundreds of MB after a full run
    rm -rf "${DATA:-/nonexistent}" "$ROOT/nginx_access.log"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- helpers
port_free() { python3 -c "
import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try: s.bind(('127.0.0.1', $1)); s.listen(1)
except OSError: sys.exit(1)"; }
free_port() { python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"; }
wait_port() {
  for _ in $(seq 200); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $1), 0.5).close()" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "port $1 did not open" >&2; return 1
}
children() { local p; for p in $(pgrep -P "$1" 2>/dev/null); do echo "$p"; done; }
cpu_ticks() {  # utime+stime (clock ticks) summed over the given PIDs (all threads included)
  local t=0 p f
  for p in "$@"; do
    [[ -r /proc/$p/stat ]] || continue
    f=$(sed 's/^.*) //' "/proc/$p/stat") || continue
    set -- $f
    t=$((t + ${12} + ${13}))
  done
  echo "$t"
}
read_pid() { for _ in $(seq 100); do [[ -s "$1" ]] && { cat "$1"; return; }; sleep 0.05; done; echo "no pid in $1" >&2; return 1; }

CPU0=(); CPU1=()
[[ "$MODE" == pinned ]] && { CPU0=(taskset -c 0); CPU1=(taskset -c 1); }

# ---------------------------------------------------------------- peer configs (from proxy_bench.py)
mkdir -p "$ROOT"
PEERW=1; [[ "$MODE" == unpinned ]] && PEERW=auto
eval "$(PEERS="$PEERS" ROOT="$ROOT" PEERW="$PEERW" python3 - <<'EOF'
import os, sys, shlex
sys.path.insert(0, os.environ["PEERS"])
import proxy_bench as pb
pb.ROOT = os.environ["ROOT"]          # same configs, our own directory
w = os.environ["PEERW"]
w = int(w) if w.isdigit() else w
open(f"{pb.ROOT}/upstream.conf", "w").write(pb.nginx_upstream_conf(w))
open(f"{pb.ROOT}/nginx_proxy.conf", "w").write(pb.nginx_proxy_conf(w))
print(f"BENCH_PATH={shlex.quote(pb.PATH)}")
print(f"UP_PORT={pb.PORTS['direct']} NGINX_PORT={pb.PORTS['nginx']} NGINX_NOLOG_PORT={pb.PORTS['nginx_nolog']}")
EOF
)"
for p in "$UP_PORT" "$NGINX_PORT" "$NGINX_NOLOG_PORT"; do
  port_free "$p" || { echo "port $p busy (another peer bench running?); refusing to start" >&2; exit 1; }
done
GW_PORT=$(free_port); ADMIN_PORT=$(free_port)
while [[ "$ADMIN_PORT" == "$GW_PORT" ]]; do ADMIN_PORT=$(free_port); done

# ---------------------------------------------------------------- start nginx upstream + proxy
rm -f "$ROOT/upstream.pid" "$ROOT/nginx_proxy.pid"
: > "$ROOT/nginx_access.log"
"${CPU0[@]}" nginx -p "$ROOT" -e "$ROOT/upstream_error.log" -c "$ROOT/upstream.conf"
UP_MASTER=$(read_pid "$ROOT/upstream.pid"); PIDS_NGINX+=("$UP_MASTER")
"${CPU1[@]}" nginx -p "$ROOT" -e "$ROOT/nginx_proxy_error.log" -c "$ROOT/nginx_proxy.conf"
NGINX_MASTER=$(read_pid "$ROOT/nginx_proxy.pid"); PIDS_NGINX+=("$NGINX_MASTER")
wait_port "$UP_PORT"; wait_port "$NGINX_PORT"

# ---------------------------------------------------------------- credentials for METHODS
AUTH_YAML=""
if (( ${#JWT_ASYM[@]} + ${#JWT_HS[@]} > 0 )); then
  need_pkg node nodejs
  bash "$REPO/tests/jose/install.sh" >/dev/null
  rm -rf "$ROOT/jose"; node "$REPO/tests/jose/mint.mjs" "$ROOT/jose" >/dev/null
  JWT_ISS=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['iss'])" "$ROOT/jose/manifest.json")
  JWT_AUD=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['aud'])" "$ROOT/jose/manifest.json")
  AUTH_YAML+=$'\n  jwt:'
  if (( ${#JWT_ASYM[@]} > 0 )); then
    AUTH_YAML+=$'\n    - issuer: '"$JWT_ISS"$'\n      audiences: ['"$JWT_AUD"$']\n      algorithms: ['"$(IFS=,; echo "${JWT_ASYM[*]}")"$']\n      jwks_file: '"$ROOT/jose/jwks.json"
  fi
  if (( ${#JWT_HS[@]} > 0 )); then
    # One jwt entry per key type and per issuer: the HMAC token gets its own issuer, minted
    # with jose like the others (same claims otherwise).
    ( cd "$REPO/tests/jose" && SECRET="$ROOT/jose/secret/HS256.txt" OUT="$ROOT/jose/tokens/valid_HS256.jwt" AUD="$JWT_AUD" \
      node --input-type=module -e "
        import * as jose from 'jose'; import fs from 'node:fs';
        const key = new TextEncoder().encode(fs.readFileSync(process.env.SECRET, 'utf8').trim());
        const now = Math.floor(Date.now() / 1000);
        const t = await new jose.SignJWT({ sub: 'user-hs', scope: 'orders:read', iat: now, exp: now + 600 })
          .setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuer('https://hs.idp.test').setAudience(process.env.AUD).sign(key);
        fs.writeFileSync(process.env.OUT, t + '\\n');" )
    AUTH_YAML+=$'\n    - issuer: https://hs.idp.test\n      audiences: ['"$JWT_AUD"$']\n      algorithms: [HS256]\n      secret_file: '"$ROOT/jose/secret/HS256.txt"
  fi
fi
if (( WANT_INTROSPECTION )); then
  need_pkg node nodejs
  need_pkg openssl openssl
  bash "$REPO/tests/oidc/install.sh" >/dev/null
  PKI="$ROOT/pki"; rm -rf "$PKI"; mkdir -p "$PKI"
  ( cd "$PKI"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=apitrail bench CA" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr -subj "/CN=127.0.0.1" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > ext.cnf
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile ext.cnf 2>/dev/null )
  AS_PORT=$(free_port)
  "${CPU0[@]}" node "$REPO/tests/oidc/server.mjs" --port "$AS_PORT" --cert "$PKI/server.pem" --key "$PKI/server.key" \
      --keys "$PKI/keys.json" > "$ROOT/oidc.log" 2>&1 &
  AS_PID=$!
  for _ in $(seq 400); do grep -q '^READY' "$ROOT/oidc.log" && break; sleep 0.1; done
  grep -q '^READY' "$ROOT/oidc.log" || { echo "oidc-provider did not start" >&2; cat "$ROOT/oidc.log" >&2; exit 1; }
  OPAQUE=$(curl -s --cacert "$PKI/ca.pem" -u app:app-secret-0123456789 -d grant_type=client_credentials \
      -d scope=orders:read "https://127.0.0.1:$AS_PORT/token" | python3 -c "import json,sys; print(json.load(sys.stdin)['access_token'])")
  AUTH_YAML+=$'\n  introspection:\n    endpoint: https://127.0.0.1:'"$AS_PORT"$'/token/introspection\n    client_id: gateway\n    client_secret: gateway-secret-0123456789\n    ca_file: '"$PKI/ca.pem"
fi
credential_for() {  # credential_for METHOD -> the bearer value apitrail gets for that method
  case "$1" in
    api_key) echo "$KEY" ;;
    introspection) echo "$OPAQUE" ;;
    *) tr -d '\n' < "$ROOT/jose/tokens/valid_$1.jwt" ;;
  esac
}

# ---------------------------------------------------------------- start apitrail
DATA="$ROOT/data"
rm -rf "$DATA"; mkdir -p "$DATA"; chmod 700 "$DATA"
ADMIN_TOKEN=$(python3 -c "import secrets; print(secrets.token_hex(24))")
printf '%s\n' "$ADMIN_TOKEN" > "$ROOT/admin-tokens"; chmod 600 "$ROOT/admin-tokens"
cat > "$ROOT/apitrail.yaml" <<EOF
# generated by bench/gateway.sh
node: bench-1
log_level: warn
gateway:
  listen: 127.0.0.1:$GW_PORT
  workers: $WORKERS
  unmatched: reject
upstreams:
  - name: app
    address: 127.0.0.1:$UP_PORT
    max_idle_connections: 64
routes:
  - match: GET /api/v1/projects/{project_id}/issues/{issue_id}
    upstream: app
auth:
  api_keys:
    enabled: true$AUTH_YAML
audit:
  data_dir: $DATA
  durability: $DURABILITY${ASYNC_COMMIT:+
  async_commit: $ASYNC_COMMIT}${SEGMENT_BYTES:+
  max_segment_bytes: $SEGMENT_BYTES}
admin:
  enabled: true
  listen: 127.0.0.1:$ADMIN_PORT
  token_file: $ROOT/admin-tokens
EOF
"$APITRAIL" config check -c "$ROOT/apitrail.yaml" >/dev/null
KEY=$("$APITRAIL" keys create -c "$ROOT/apitrail.yaml" --subject bench-client 2>/dev/null)
[[ "$KEY" == atk_* ]] || { echo "keys create did not print a key" >&2; exit 1; }
"${CPU1[@]}" "$APITRAIL" serve -c "$ROOT/apitrail.yaml" > "$ROOT/apitrail.log" 2>&1 &
APITRAIL_PID=$!
wait_port "$GW_PORT" || { cat "$ROOT/apitrail.log" >&2; exit 1; }
log "started: upstream nginx master $UP_MASTER, proxy nginx master $NGINX_MASTER, apitrail pid $APITRAIL_PID" \
    "(gateway :$GW_PORT, admin :$ADMIN_PORT, workers $WORKERS, durability $DURABILITY, data $DATA)"

# sanity: every method's credential is accepted, a wrong key is refused (all are audited)
SANITY=0
for m in $METHODS; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(credential_for "$m")" "http://127.0.0.1:$GW_PORT$BENCH_PATH"); SANITY=$((SANITY+1))
  [[ "$code" == 200 ]] || { echo "apitrail answered $code with the $m credential (want 200)" >&2; cat "$ROOT/apitrail.log" >&2; exit 1; }
done
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer nope" "http://127.0.0.1:$GW_PORT$BENCH_PATH"); SANITY=$((SANITY+1))
[[ "$code" == 401 ]] || log "NOTE: apitrail answered $code to a bad key (want 401)"

# the disk's fdatasync latency bounds `durability: response` (a response waits for its commit)
python3 - "$ROOT" <<'PYEOF'
import os, sys, time
p = os.path.join(sys.argv[1], "fsync_probe")
fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
ts = []
for _ in range(200):
    os.write(fd, b"x" * 400)
    t = time.perf_counter(); os.fdatasync(fd); ts.append(time.perf_counter() - t)
os.close(fd); os.remove(p)
ts.sort()
print(f"# fdatasync of a 400-byte append in {sys.argv[1]}: p50 {ts[100]*1e6:.0f} us, p90 {ts[180]*1e6:.0f} us, p99 {ts[198]*1e6:.0f} us")
PYEOF

# Targets: direct, nginx, and apitrail once per method ("apitrail" = api_key, else
# "apitrail:METHOD"). direct and nginx get the API key header: the same bytes as before.
declare -A URL CRED
URL[direct]="http://127.0.0.1:$UP_PORT$BENCH_PATH"; CRED[direct]=$KEY
URL[nginx]="http://127.0.0.1:$NGINX_PORT$BENCH_PATH"; CRED[nginx]=$KEY
TARGETS=(direct nginx)
for m in $METHODS; do
  t=apitrail; [[ "$m" == api_key ]] || t="apitrail:$m"
  URL[$t]="http://127.0.0.1:$GW_PORT$BENCH_PATH"; CRED[$t]=$(credential_for "$m")
  TARGETS+=("$t")
done
proxy_pids() {
  case "$1" in
    direct) echo "";;                     # no proxy
    nginx) children "$NGINX_MASTER";;     # workers
    apitrail*) echo "$APITRAIL_PID";;     # all threads (gateway workers + store writer)
  esac
}

log "$(nginx -v 2>&1); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2); $("$APITRAIL" version 2>/dev/null | head -1)"
log "mode $MODE, wrk -t1 -c$CONNS -d${DURATION}s --latency, $ROUNDS round(s), same headers for every target" \
    "(User-Agent + Authorization: Bearer <apitrail key>)"

# The disk's flush latency bounds requests/s under durability response (connections per
# commit latency), and it varies with what else the host writes: print it before and after.
log "disk before: $(python3 "$HERE/tools/sync_write_latency.py" "$DATA")"

RESULTS="$ROOT/results.tsv"
: > "$RESULTS"
APITRAIL_REQS=0
APITRAIL_RUNS=0
run_wrk() {  # run_wrk TARGET DURATION -> prints "rps requests p50ms p99ms non2xx sockerr proxy_ticks up_ticks"
  local t=$1 d=$2 out pids up c0 u0 c1 u1
  pids=$(proxy_pids "$t"); up=$(children "$UP_MASTER")
  c0=$(cpu_ticks $pids); u0=$(cpu_ticks $up)
  out=$("${CPU0[@]}" timeout $((d + 60)) wrk -t1 -c"$CONNS" -d"${d}s" --latency \
        -H "User-Agent: apitrail-bench/1.0 (wrk)" -H "Authorization: Bearer ${CRED[$t]}" "${URL[$t]}")
  c1=$(cpu_ticks $pids); u1=$(cpu_ticks $up)
  echo "$out" > "$ROOT/wrk_last_$t.txt"
  awk -v pt=$((c1 - c0)) -v ut=$((u1 - u0)) '
    function ms(s) { if (s ~ /us$/) return s/1000; if (s ~ /ms$/) return s+0; if (s ~ /s$/) return s*1000; return s }
    /requests in/ { req=$1 }
    /Requests\/sec:/ { rps=$2 }
    /^ +50%/ { p50=ms($2) } /^ +99%/ { p99=ms($2) }
    /Non-2xx or 3xx responses:/ { non=$NF }
    /Socket errors:/ { sub(/^.*Socket errors: /, ""); gsub(/ /, ""); se=$0 }
    END { printf "%s %s %.3f %.3f %d %s %d %d\n", rps, req, p50, p99, non+0, (se==""?"-":se), pt, ut }' <<<"$out"
}

# apitrail seals a rotated segment in the background (at idle priority, on the same pinned
# core). Sealing left over from an apitrail run would run during the next target's run and
# slow the peer; so after each apitrail run wait until nothing is left to seal (SEAL_WAIT=0
# turns this off). What sealing happens inside apitrail's own runs is charged to them.
seal_pending() {
  curl -s -H "Authorization: Bearer $ADMIN_TOKEN" "http://127.0.0.1:$ADMIN_PORT/metrics" 2>/dev/null |
    awk '$1=="apitrail_store_seal_pending"{print $2+0; found=1} END{if(!found) print 0}'
}
wait_sealed() {  # wait_sealed LABEL
  [[ "${SEAL_WAIT:-1}" == 1 ]] || return 0
  local waited=0
  while [[ "$(seal_pending)" != 0 ]]; do
    sleep 0.5; waited=$((waited + 1))
    if ((waited >= 240)); then log "$1: apitrail still sealing after 120 s; going on"; return 0; fi
  done
  ((waited > 0)) && log "$1: waited $((waited / 2)).$((waited % 2 * 5)) s for apitrail to finish sealing before the next target"
  return 0
}

for t in "${TARGETS[@]}"; do  # warm-up, not recorded (apitrail requests are still counted)
  r=$(run_wrk "$t" "$WARMUP")
  if [[ "$t" == apitrail* ]]; then set -- $r; APITRAIL_REQS=$((APITRAIL_REQS + $2)); APITRAIL_RUNS=$((APITRAIL_RUNS+1)); wait_sealed "warm-up"; fi
done

for ((rnd = 0; rnd < ROUNDS; rnd++)); do
  n=${#TARGETS[@]}; k=$((rnd % n))
  order=("${TARGETS[@]:k}" "${TARGETS[@]:0:k}")
  for t in "${order[@]}"; do
    r=$(run_wrk "$t" "$DURATION")
    set -- $r
    echo -e "$((rnd + 1))\t$t\t$1\t$2\t$3\t$4\t$5\t$6\t$7\t$8" >> "$RESULTS"
    if [[ "$t" == apitrail* ]]; then APITRAIL_REQS=$((APITRAIL_REQS + $2)); APITRAIL_RUNS=$((APITRAIL_RUNS+1)); fi
    printf 'round %d %-20s %9.0f req/s  p50 %7.3f ms  p99 %7.3f ms  non2xx %s  sockerr %s\n' \
      $((rnd + 1)) "$t" "$1" "$3" "$4" "$5" "$6"
    if [[ "$t" == apitrail* ]]; then wait_sealed "round $((rnd + 1))"; fi
  done
done

# apitrail's own view before stopping it: admin /metrics (best effort, for the report)
curl -s -H "Authorization: Bearer $ADMIN_TOKEN" "http://127.0.0.1:$ADMIN_PORT/metrics" > "$ROOT/apitrail_metrics.txt" 2>/dev/null || true
if [[ -s "$ROOT/apitrail_metrics.txt" ]]; then
  awk '/^apitrail_(requests_total|requests_denied_total|responses_total|upstream_errors_total|upstream_timeouts_total|audit_unavailable_total|store_records|store_syncs_total|store_rejected_queue_full_total|store_write_errors_total|connections_rejected_total) / {
         printf "%s=%s ", $1, $2; if ($1=="apitrail_store_records") r=$2; if ($1=="apitrail_store_syncs_total") y=$2 }
       END { if (y>0) printf "events_per_sync=%.1f", r/y; print "" }' "$ROOT/apitrail_metrics.txt" | sed 's/^/# apitrail metrics: /'
  # Where a response's time goes inside apitrail, from its latency histograms (every request
  # of the run, warm-ups included; p99 interpolated within its bucket).
  python3 - "$ROOT/apitrail_metrics.txt" <<'EOF'
import re, sys
m = {}
for line in open(sys.argv[1]):
    if line.startswith("#") or " " not in line:
        continue
    k, v = line.rsplit(" ", 1)
    m[k] = float(v)
out = []
for name, label in (("request_duration", "request"), ("audit_wait", "audit wait"), ("store_commit", "group commit")):
    fam = f"apitrail_{name}_seconds"
    n = m.get(fam + "_count", 0)
    if n == 0:
        continue
    buckets = sorted((float("inf") if "+Inf" in k else float(re.search(r'le="([^"]+)"', k).group(1)), v)
                     for k, v in m.items() if k.startswith(fam + "_bucket"))
    lo, below, p99 = 0.0, 0.0, float("nan")
    for le, c in buckets:
        if c >= 0.99 * n:
            p99 = le if le == float("inf") or c == below else lo + (le - lo) * (0.99 * n - below) / (c - below)
            break
        lo, below = le, c
    out.append(f"{label} mean {1e6 * m[fam + '_sum'] / n:.0f} us p99 {1e6 * p99:.0f} us")
if out:
    print("# apitrail latency (all requests of the run): " + ", ".join(out))
EOF
fi

CLK=$(getconf CLK_TCK)
python3 - "$RESULTS" "$CLK" "$CONNS" "$DURATION" "$ROUNDS" "$MODE" "${TARGETS[@]}" <<'EOF'
import sys, statistics as st
path, clk, conns, dur, rounds, mode = sys.argv[1], int(sys.argv[2]), *sys.argv[3:7]
targets = sys.argv[7:]
rows = {}
for line in open(path):
    rnd, t, rps, req, p50, p99, non, se, pt, ut = line.rstrip("\n").split("\t")
    rows.setdefault(t, []).append(dict(round=int(rnd), rps=float(rps), req=int(req), p50=float(p50),
        p99=float(p99), non=int(non), se=se, cpu_us=int(pt) / clk * 1e6 / int(req),
        up_us=int(ut) / clk * 1e6 / int(req)))
med = st.median
print(f"\n## gateway bench ({mode}): medians over {rounds} round(s), wrk -t1 -c{conns} -d{dur}s; "
      f"proxy CPU = utime+stime of the proxy process(es) / requests (clock tick {1e6/clk:.0f} us)")
print(f"{'target':<22}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'proxy us/req':>14}{'upstr us/req':>14}{'non2xx':>8}  sockerr   raw req/s")
for t in targets:
    v = rows[t]
    print(f"{t:<22}{med(x['rps'] for x in v):>10.0f}{med(x['p50'] for x in v):>9.3f}{med(x['p99'] for x in v):>9.3f}"
          f"{(med(x['cpu_us'] for x in v) if t != 'direct' else 0):>14.2f}{med(x['up_us'] for x in v):>14.2f}"
          f"{sum(x['non'] for x in v):>8}  {','.join(sorted(set(x['se'] for x in v))):<8}  "
          + " ".join(f"{x['rps']:.0f}" for x in v))
by = lambda v: {x["round"]: x for x in v}
N = by(rows["nginx"])
for t in targets:
    if not t.startswith("apitrail"):
        continue
    A = by(rows[t])
    pr = [A[r]["rps"] / N[r]["rps"] for r in A if r in N]
    pd = [A[r]["p99"] - N[r]["p99"] for r in A if r in N]
    cr = [A[r]["cpu_us"] / N[r]["cpu_us"] for r in A if r in N and N[r]["cpu_us"] > 0]
    method = t.split(":", 1)[1] if ":" in t else "api_key"
    print(f"\n{t} / nginx ({method}; median of per-round ratios):")
    print(f"  req/s ratio        {med(pr):.3f}   (per round: {' '.join(f'{x:.3f}' for x in pr)})")
    print(f"  p99 difference     {med(pd):+.3f} ms (apitrail - nginx; per round: {' '.join(f'{x:+.3f}' for x in pd)})")
    if cr:
        print(f"  CPU us/req ratio   {med(cr):.3f}   (per round: {' '.join(f'{x:.3f}' for x in cr)}; < 1 means apitrail is cheaper)")
    else:
        print("  CPU us/req ratio   n/a (no nginx CPU measured)")
EOF

# ---------------------------------------------------------------- events in the store vs requests
log "disk after:  $(python3 "$HERE/tools/sync_write_latency.py" "$DATA")"
log "stopping apitrail (pid $APITRAIL_PID) to verify its store"
kill -TERM "$APITRAIL_PID"
for _ in $(seq 150); do kill -0 "$APITRAIL_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$APITRAIL_PID" 2>/dev/null; then log "apitrail did not exit within 15 s; SIGKILL"; kill -KILL "$APITRAIL_PID"; fi
wait "$APITRAIL_PID" 2>/dev/null && ART_RC=0 || ART_RC=$?
APITRAIL_PID=""
[[ "$ART_RC" == 0 ]] || log "apitrail exit status $ART_RC"
VER=$("$APITRAIL" verify --data "$DATA" 2>&1) || true
echo "$VER" | sed 's/^/# verify: /'
RECORDS=$(sed -n 's/^\(integrity \)\{0,1\}ok: \([0-9]*\) records.*/\2/p' <<<"$VER")
EXPECTED=$((APITRAIL_REQS + SANITY))
SLACK=$((APITRAIL_RUNS * CONNS))
echo
echo "events in store: ${RECORDS:-?}   requests: $EXPECTED (wrk-reported $APITRAIL_REQS over $APITRAIL_RUNS runs incl. warm-up + $SANITY curl)"
if [[ -z "$RECORDS" ]]; then
  echo "event count: UNKNOWN (verify failed)"
else
  DIFF=$((RECORDS - EXPECTED))
  # wrk stops mid-flight: requests sent but not counted by wrk are still audited (<= conns per run)
  if (( DIFF >= 0 && DIFF <= SLACK )); then
    echo "event count: OK (store - requests = $DIFF, within 0..$SLACK: requests in flight when wrk stopped)"
  else
    echo "event count: MISMATCH (store - requests = $DIFF, expected 0..$SLACK)"
  fi
fi
grep -Ei "error|warn|fail" "$ROOT/apitrail.log" | head -20 | sed 's/^/# apitrail log: /' || true
