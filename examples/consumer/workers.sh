#!/bin/sh
# workers.sh — a work queue in plain sh: WORKERS processes (2 by default) read
# one consumer group's `follow`, so each job (a record) goes to exactly one of
# them, and an idle worker waits for the next job without polling.
#
#   workers.sh [-n WORKERS] TOPIC_DIR GROUP COMMAND [ARG...]
#   workers.sh /srv/topics/jobs thumbnails sh -c 'read f && convert "$f" -resize 50% "$f.small.jpg"'
#   echo /srv/photos/a.jpg >> /srv/topics/jobs/produce        # queue a job
#
# Each job goes to COMMAND on its standard input (one line, with its newline);
# $WORKER is the worker's number (1..WORKERS). The group is made if missing.
# Reading a job commits it (at most once): a worker killed in the middle of
# a job loses that job. SIGTERM or SIGINT stops all workers.
usage() {
	echo "usage: workers.sh [-n WORKERS] TOPIC_DIR GROUP COMMAND [ARG...]" >&2
	exit 2
}
n=2
[ "${1:-}" = -n ] && { n=${2:-}; shift 2 || usage; }
[ $# -ge 3 ] || usage
topic=$1 group=$2
shift 2
[ -d "$topic/consumers" ] || { echo "workers.sh: $topic is not a topicfs topic" >&2; exit 1; }
[ -d "$topic/consumers/$group" ] || mkdir "$topic/consumers/$group" || exit 1

pids=
trap 'kill $pids 2>/dev/null; exit 0' TERM INT
w=1
while [ "$w" -le "$n" ]; do
	# Each worker opens follow itself: the group shares the records among
	# its open files. `read` takes a byte at a time from a stream, so no
	# worker ever holds a line meant for another.
	WORKER=$w sh -c 'while IFS= read -r job; do
		printf "%s\n" "$job" | "$@" || echo "workers.sh: worker $WORKER: job failed: $job" >&2
	done < "$0"' "$topic/consumers/$group/follow" "$@" &
	pids="$pids $!"
	w=$((w + 1))
done
wait
