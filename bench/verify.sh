#!/usr/bin/env bash
# bench/verify.sh: `apitrail verify` against `sha256sum` over the same segment bytes, in one
# run, interleaved rounds, warm page cache (all read the same files; a first round warms it
# and is not counted). Hashing the bytes once is the limit: verify must also hash every inner
# node of the Merkle tree (one more SHA-256 per record), check every CRC, tree head and
# checkpoint signature. Two peers: coreutils `sha256sum` (what an auditor would run) and
# `openssl dgst -sha256` (the same SHA-256 code apitrail uses, so the true hashing limit).
#
#   bench/verify.sh                  # 1M events (~390 MB of segments), 3 rounds
#   EVENTS=200000 ROUNDS=2 bench/verify.sh
#
# Env: EVENTS (1000000) ROUNDS (3) ROOT (/tmp/apitrail-bench/verify) BUILD (build)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
BUILD=${BUILD:-$REPO/build}
EVENTS=${EVENTS:-1000000}
ROUNDS=${ROUNDS:-3}
ROOT=${ROOT:-/tmp/apitrail-bench/verify}
command -v sha256sum >/dev/null || { echo "sha256sum (coreutils) missing" >&2; exit 1; }
command -v openssl >/dev/null || { echo "openssl missing (apt-get install openssl)" >&2; exit 1; }
cmake --build "$BUILD" -j2 --target apitrail store_append_bench >/dev/null
rm -rf "$ROOT"; mkdir -p "$ROOT"
DATA="$ROOT/data"
echo "# filling $DATA with $EVENTS events (bench/store_append_bench --fill)"
"$BUILD/bench/store_append_bench" --fill "$DATA" "$EVENTS"
BYTES=$(cat "$DATA"/segments/*.log | wc -c)
echo "# segments: $(ls "$DATA"/segments | wc -l) files, $BYTES bytes"

"$BUILD/apitrail" verify --data "$DATA" >/dev/null   # must pass before it is timed
python3 - "$EVENTS" "$BYTES" "$ROUNDS" "$BUILD/apitrail" "$DATA" <<'PY'
import glob, statistics as st, subprocess, sys, time
events, size, rounds, binary, data = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
segs = sorted(glob.glob(data + "/segments/*.log"))
cmds = {"apitrail verify": [binary, "verify", "--data", data],
        "sha256sum": ["sha256sum"] + segs,
        "openssl dgst -sha256": ["openssl", "dgst", "-sha256"] + segs}
times = {k: [] for k in cmds}
for r in range(rounds + 1):           # round 0 warms the page cache and is not counted
    for name, cmd in cmds.items():
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        if r: times[name].append(time.perf_counter() - t0)
print(f"{'':22}{'seconds':>10}{'MB/s':>10}{'records/s':>14}")
med = {k: st.median(v) for k, v in times.items()}
for k, m in med.items():
    print(f"{k:22}{m:10.3f}{size/m/1e6:10.1f}{events/m:14.0f}")
for peer in ("sha256sum", "openssl dgst -sha256"):
    per = " ".join(f"{b/a:.3f}" for a, b in zip(times["apitrail verify"], times[peer]))
    print(f"verify / {peer} throughput: {med[peer]/med['apitrail verify']:.3f}  (per round: {per})")
PY
rm -rf "$ROOT"
