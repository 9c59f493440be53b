"""One log: the daemon's lines and the store's go to stderr with -f, to syslog once
detached, escaped and limited per user."""
import errno
import os
import re
import subprocess
import time

import pytest

from conftest import TOPICFS, Mount, as_user, wait_for, write_file
from sysmount import daemon_pid, process_gone, syslog, system_lock, unmount  # noqa: F401
from test_full_disk import small_disk  # noqa: F401

TFS_LOG_BURST, TFS_LOG_RATE = 50, 5  # fs/logging.h


def test_store_messages_reach_syslog_when_detached(tmp_path, small_disk, syslog):
    data, mnt = str(small_disk / "data"), str(tmp_path / "mnt")
    os.makedirs(mnt)
    r = subprocess.run([TOPICFS, data, mnt, "-o", "map.size=1048576"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    pid = daemon_pid(data)
    try:
        os.mkdir(os.path.join(mnt, "t"))
        with pytest.raises(OSError) as e:
            for _ in range(1000):  # fills the 8 MiB disk
                write_file(os.path.join(mnt, "t", "produce"), b"f" * 65535 + b"\n")
        assert e.value.errno == errno.ENOSPC
    finally:
        unmount(mnt, data)
        wait_for(lambda: process_gone(pid), what="the daemon to exit")
    wait_for(lambda: "store: " in syslog.text(), what="the store's message in syslog")
    text = syslog.text()
    assert f"topicfs[{pid}]" in text
    assert "store: " in text and "disk is full" in text, text


def test_the_suite_fails_on_error_lines_a_test_did_not_declare(tmp_path):
    m = Mount(tmp_path, "")
    with open(m.log_path, "w") as f:
        f.write("topicfs: info: topic 't' created\n"
                "topicfs: error: store: append: the data directory's disk is full\n")
    assert m.unexpected_errors() == [
        "topicfs: error: store: append: the data directory's disk is full"]
    with pytest.raises(AssertionError):
        m.check_log()
    m.expect_errors("disk is full")
    assert m.unexpected_errors() == []
    m.check_log()


def test_names_in_log_lines_are_escaped(mnt):
    forged = "x\ntopicfs: error: forged\x1b[2J"
    with pytest.raises(OSError) as e:
        os.mkdir(mnt.p(forged))
    assert e.value.errno == errno.EINVAL
    log = mnt.log()
    assert "x\\x0atopicfs: error: forged\\x1b[2J" in log
    assert not any(line.startswith("topicfs: error: forged") for line in log.splitlines())
    assert "\x1b" not in log


REFUSE_MANY = """
import os, sys
for i in range(int(sys.argv[2])):
    try:
        os.mkdir(os.path.join(sys.argv[1], "bad!name-%d" % i))
    except OSError:
        pass
"""


def test_refusals_are_logged_at_a_bounded_rate_per_user(shared_factory, second_user):
    m = shared_factory("allow_other,default_permissions")
    began = time.monotonic()
    r = as_user(second_user, "/usr/bin/python3", "-c", REFUSE_MANY, m.path, "2000")
    took = time.monotonic() - began
    assert r.returncode == 0, r.stderr
    logged = [line for line in m.log().splitlines() if "'bad!name-" in line]
    # the burst, then TFS_LOG_RATE a second while the flood went on
    assert TFS_LOG_BURST <= len(logged) <= TFS_LOG_BURST + TFS_LOG_RATE * took + 1, \
        (len(logged), took)
    # another user's refusal is still logged
    with pytest.raises(OSError):
        os.mkdir(m.p("root!refused"))
    assert "'root!refused'" in m.log()
    # and the flooding user's next line says how many were dropped
    time.sleep(0.5)
    r = as_user(second_user, "/usr/bin/python3", "-c", REFUSE_MANY, m.path, "1")
    dropped = re.findall(rf"(\d+) more lines caused by uid {second_user.pw_uid} were not logged",
                         m.log())
    # (a line logged while the flood went on, on a slow machine, already said
    # how many were dropped before it: they add up)
    assert dropped and sum(int(d) for d in dropped) >= 2000 - len(logged) - 10
