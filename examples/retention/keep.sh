#!/bin/sh
# keep.sh — how much of a topic to keep. This replaces logrotate for logs that
# are written into topics: the retention task deletes the oldest records by
# itself, with nothing to rotate, compress, signal or reopen, and readers that
# follow the log (tail -F) never see it truncated.
#
#   keep.sh TOPIC_DIR AGE [SIZE]      e.g.  keep.sh /srv/topics/nginx 14d 1G
#
# AGE: a number with ms, s, m, h or d (or "forever"); SIZE: bytes per partition,
# with K, M or G (or "unlimited", the default). They are the topic's
# config/retention.ms and config/retention.bytes; `-o retention.ms=...` at
# mount time sets them for new topics.
set -eu
[ $# -ge 2 ] || { echo "usage: keep.sh TOPIC_DIR AGE [SIZE]" >&2; exit 2; }
topic=$1 age=$2 size=${3:-unlimited}

bad() {
	echo "keep.sh: $1" >&2
	exit 2
}
# A number and its unit: "14d" -> 14 and d.
num() {
	n=${1%%[!0-9]*}
	unit=${1#"$n"}
	[ -n "$n" ] || bad "'$1' is not a number with a unit"
}
if [ "$age" = forever ]; then
	ms=-1
else
	num "$age"
	case "$unit" in
	ms) ms=$n ;;
	s) ms=$((n * 1000)) ;;
	m) ms=$((n * 60000)) ;;
	h) ms=$((n * 3600000)) ;;
	d) ms=$((n * 86400000)) ;;
	*) bad "AGE '$age' needs a unit: ms, s, m, h or d" ;;
	esac
fi
if [ "$size" = unlimited ]; then
	bytes=-1
else
	num "$size"
	case "$unit" in
	'') bytes=$n ;;
	K) bytes=$((n * 1024)) ;;
	M) bytes=$((n * 1048576)) ;;
	G) bytes=$((n * 1073741824)) ;;
	*) bad "SIZE '$size' takes K, M or G" ;;
	esac
fi

# Each config file takes its whole value in one write; a bad one is refused (EINVAL).
echo "$ms" >"$topic/config/retention.ms"
echo "$bytes" >"$topic/config/retention.bytes"
echo "$topic: keeps records for retention.ms=$(cat "$topic/config/retention.ms")," \
	"at most retention.bytes=$(cat "$topic/config/retention.bytes") per partition"
