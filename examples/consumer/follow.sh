#!/bin/sh
# follow.sh — a consumer in plain sh: follows one partition and keeps the next
# offset it wants in a file, so after a stop, a crash or a reboot it resumes
# where it was. A record whose command ran but whose offset was not saved yet
# is handed over again (at least once).
#
#   follow.sh [-1] PARTITION_DIR OFFSET_FILE [COMMAND [ARG...]]
#
# Each record goes to COMMAND on its standard input; without COMMAND it is
# printed, one per line. With -1 it stops once caught up instead of waiting.
#   follow.sh /srv/topics/nginx/partition-0 /var/lib/nginx-5xx.offset \
#       sh -c 'grep -q "\" 5[0-9][0-9] " && echo server error'
usage() {
	echo "usage: follow.sh [-1] PARTITION_DIR OFFSET_FILE [COMMAND [ARG...]]" >&2
	exit 2
}
once=0
[ "${1:-}" = -1 ] && { once=1; shift; }
[ $# -ge 2 ] || usage
dir=$1 state=$2
shift 2
[ -r "$dir/start" ] || { echo "follow.sh: $dir is not a topicfs partition" >&2; exit 1; }

next=0
[ -s "$state" ] && next=$(cat "$state")
while :; do
	start=$(cat "$dir/start") end=$(cat "$dir/end") || exit 1
	if [ "$next" -lt "$start" ]; then
		echo "follow.sh: offsets $next to $((start - 1)) were deleted by retention unread" >&2
		next=$start
	fi
	while [ "$next" -lt "$end" ]; do
		rec=$dir/offset-$next
		if [ $# -gt 0 ]; then
			"$@" <"$rec"
		else
			cat "$rec" && echo
		fi || {
			# Retention may delete the record as we reach it: look at start again.
			[ -e "$rec" ] || continue 2
			echo "follow.sh: offset $next failed; stopping there" >&2
			exit 1
		}
		next=$((next + 1))
		echo "$next" >"$state.tmp" && mv "$state.tmp" "$state" || exit 1
	done
	[ $once = 1 ] && exit 0
	sleep 1
done
