#!/bin/sh
# Installs the Debian packages topicfs needs to build and test, when one is missing.
set -e
need=""
for p in build-essential pkg-config libfuse3-dev fuse3 liblmdb-dev librdkafka-dev kcat \
	python3-pytest python3-pytest-timeout attr \
	clang lmdb-utils strace \
	man-db groff-base nginx rsyslog curl util-linux bsdutils systemd; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need="$need $p"
done
[ -z "$need" ] && exit 0
echo "installing:$need"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q $need
