#!/bin/bash
# bench/profile.sh DATA_DIR NAME CMD...
# Profiles the topicfs daemon serving DATA_DIR while CMD runs (perf record -g, DWARF unwinding),
# then prints the top functions by self time and by inclusive time. Leaves NAME.perf.data.
# Example:
#   build/topicfs /var/tmp/d /var/tmp/m && mkdir /var/tmp/m/t
#   bench/profile.sh /var/tmp/d produce 'cat lines >> /var/tmp/m/t/produce'
set -eu
[ $# -ge 3 ] || { echo "usage: $0 DATA_DIR NAME CMD..." >&2; exit 2; }
data=$1 name=$2; shift 2
command -v perf >/dev/null || { echo "perf missing: apt-get install linux-perf" >&2; exit 1; }
pid=$(pgrep -f -- "topicfs $data " | head -n1)
[ -n "$pid" ] || { echo "no topicfs daemon for $data" >&2; exit 1; }
perf record -q -F 2000 --call-graph dwarf,16384 -o "$name.perf.data" -p "$pid" 2>"$name.perf.log" &
perf_pid=$!
trap 'kill -INT $perf_pid 2>/dev/null || true' EXIT
sleep 0.7
start=$(date +%s.%N)
bash -c "$*"
end=$(date +%s.%N)
sleep 0.2
kill -INT $perf_pid; wait $perf_pid || true
trap - EXIT
echo "$name: the command took $(echo "$end - $start" | bc) s"
echo "--- self time"
perf report -i "$name.perf.data" --no-children --stdio --sort sym -g none --percent-limit 1 2>/dev/null | grep '%' | head -25
echo "--- inclusive time"
perf report -i "$name.perf.data" --children --stdio --sort sym -g none --percent-limit 3 2>/dev/null |
	grep '%' | grep -v '0x0000\|clone3\|start_thread' | head -40
