#!/usr/bin/env bash
# The 16-endpoint load run of docs/performance.md: `mcud serve` on
# config/load16.toml (one 3x3 conference) as its own process, then
# `mcu-endpoint --count 16` (640x360, 30 fps each) against it. Prints the
# daemon's CPU over the measurement window (from /proc/<pid>/stat) and the
# generator's JSON summary; the full JSON goes to $OUT.
#
#   scripts/load16.sh                      # 60 s, 10 s warm-up, 4 analysing endpoints
#   DURATION=90 ANALYSE=16 scripts/load16.sh
#   GENERATOR_NICE=10 scripts/load16.sh    # the generator yields the CPU to the daemon
#   MCUD_NICE=-10 scripts/load16.sh        # the whole daemon at a higher priority (root or CAP_SYS_NICE)
#   TALK_TURNS=3 scripts/load16.sh         # one speaker at a time, 3 s each (default: all talk)
#   CONFIG=my-load.toml scripts/load16.sh  # another conference (e.g. one with a chair: two output groups)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-60}
WARMUP=${WARMUP:-10}
ANALYSE=${ANALYSE:-4}
OUT=${OUT:-out/load16.json}
CONFIG=${CONFIG:-config/load16.toml}
COUNT=16
JOIN_INTERVAL_MS=200
mkdir -p "$(dirname "$OUT")" out

# One package per command, as `cargo run` below builds them (building both
# at once unifies features differently and `cargo run` would rebuild).
cargo build --release -p mcud
cargo build --release -p mcu-endpoint
nice -n "${MCUD_NICE:-0}" cargo run --release -p mcud -- serve --config "$CONFIG" >out/load16-mcud.log 2>&1 &
cargo_pid=$!
trap 'kill -INT "${mcud_pid:-$cargo_pid}" 2>/dev/null || true' EXIT
for _ in $(seq 600); do
  (echo >/dev/tcp/127.0.0.1/8543) 2>/dev/null && break
  sleep 0.1
done
# `cargo run` execs the program: the daemon keeps cargo's pid.
mcud_pid=$cargo_pid
kill -0 "$mcud_pid" || { echo "mcud did not start; see out/load16-mcud.log"; exit 1; }

# utime + stime of a process, in clock ticks (fields 14 and 15; the command
# name "mcud" has no spaces).
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
# Busy and total ticks of the whole machine (first line of /proc/stat):
# what else ran during the window (another build…) shows as "others".
machine() { awk '/^cpu /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat; }

nice -n "${GENERATOR_NICE:-0}" cargo run --release -p mcu-endpoint -- --config "$CONFIG" --count "$COUNT" \
  --join-interval "$JOIN_INTERVAL_MS" --duration "$DURATION" --warmup "$WARMUP" \
  --analyse "$ANALYSE" --grid 3 ${TALK_TURNS:+--talk-turns "$TALK_TURNS"} --pretty >"$OUT" &
gen_cargo=$!

# Measure the daemon inside the generator's window (after every join and the warm-up).
sleep $(( (COUNT * JOIN_INTERVAL_MS) / 1000 + WARMUP + 2 ))
gen_pid=$gen_cargo
read -r b0 a0 <<<"$(machine)"
cpu_by_process() { for f in /proc/[0-9]*/stat; do awk '{print $1, $2, $14 + $15 + $16 + $17}' "$f" 2>/dev/null; done; }
cpu_by_process >out/load16-procs0.txt
t0=$(ticks "$mcud_pid"); w0=$(date +%s.%N)
g0=$( [ -n "$gen_pid" ] && ticks "$gen_pid" || echo 0)
sleep $(( DURATION - WARMUP - 4 ))
t1=$(ticks "$mcud_pid"); w1=$(date +%s.%N)
read -r b1 a1 <<<"$(machine)"
cpu_by_process >out/load16-procs1.txt
g1=$( [ -n "$gen_pid" ] && ticks "$gen_pid" || echo 0)
wait "$gen_cargo" || echo "mcu-endpoint: some endpoint failed (see $OUT)"

awk -v t0="$t0" -v t1="$t1" -v g0="$g0" -v g1="$g1" -v w0="$w0" -v w1="$w1" -v hz="$hz" \
    -v b0="$b0" -v b1="$b1" -v a0="$a0" -v a1="$a1" 'BEGIN {
  wall = w1 - w0
  d = (t1 - t0) / hz / wall * 100
  g = (g1 - g0) / hz / wall * 100
  printf "window %.1f s\nmcud CPU: %.1f %% of one core = %.1f %% of the two cores\n", wall, d, d / 2
  printf "mcu-endpoint (generator) CPU: %.1f %% of one core = %.1f %% of the two cores\n", g, g / 2
  busy = (b1 - b0) / (a1 - a0) * 100
  printf "machine busy: %.1f %% of the two cores; others (not mcud, not the generator): %.1f %%\n", busy, busy - d / 2 - g / 2
}'
echo "busiest processes in the window (ticks incl. waited-for children):"
awk 'NR==FNR {t[$1]=$3; next} { d = $3 - ($1 in t ? t[$1] : 0); if (d > 0) print d, $1, $2 }' \
  out/load16-procs0.txt out/load16-procs1.txt | sort -rn | head -5
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
# The daemon's own measure of what it adds (source picture in -> composite
# encoded), per 10 s window of its health log.
echo "MCU-added latency per 10 s (p50 / p95 / max ms, samples):"
sed 's/\x1b\[[0-9;]*m//g' out/load16-mcud.log | grep 'media loop health' |
  sed -n 's/.*added_latency_p50_ms=\([0-9]*\) added_latency_p95_ms=\([0-9]*\) added_latency_max_ms=\([0-9]*\) added_latency_samples=\([0-9]*\).*/  \1 \/ \2 \/ \3 ms, \4/p'
python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["summary"], indent=2))' "$OUT"
