"""topicfs-stat: a table of topics, partitions, offsets, records, bytes and oldest age."""
import os
import subprocess
import time

from conftest import read_file, wait_for, write_file
from sysmount import REPO

STAT = os.path.join(REPO, "tools", "topicfs-stat")


def stat(*args):
    r = subprocess.run(["/usr/bin/python3", STAT, *args], capture_output=True, text=True,
                       timeout=60)
    rows = [line.split() for line in r.stdout.splitlines()]
    return r, rows


def test_stat_counts_records_and_bytes_per_partition(mnt):
    mnt.topic("clicks", partitions=2)
    mnt.topic("empty")
    write_file(mnt.p("clicks", "produce"), "a\nbb\nccc\ndddd\neeeee\n")  # round robin 0,1,0,1,0
    time.sleep(1.1)
    r, rows = stat(mnt.path)
    assert r.returncode == 0, r.stderr
    assert rows[0] == ["TOPIC", "PARTITION", "START", "END", "RECORDS", "BYTES", "OLDEST"]
    by = {(row[0], row[1]): row[2:] for row in rows[1:]}
    assert set(by) == {("clicks", "0"), ("clicks", "1"), ("empty", "0")}
    # bytes: values plus one newline each: a ccc eeeee -> 2+4+6, bb dddd -> 3+5
    assert by[("clicks", "0")][:4] == ["0", "3", "3", "12"]
    assert by[("clicks", "1")][:4] == ["0", "2", "2", "8"]
    assert by[("empty", "0")] == ["0", "0", "0", "0", "-"]
    assert by[("clicks", "0")][4] in ("1s", "2s", "3s")  # written over a second ago
    # Only the topics asked for; a missing one is an error.
    r, rows = stat(mnt.path, "empty", "nope")
    assert r.returncode == 1 and "nope: no such topic" in r.stderr
    assert [row[0] for row in rows[1:]] == ["empty"]


def test_stat_after_retention_says_bytes_are_unknown_unless_exact(mnt):
    mnt.topic("logs")
    write_file(mnt.p("logs", "produce"), "old1\nold2\n")
    write_file(mnt.p("logs", "config", "retention.ms"), "1\n", flags=os.O_WRONLY)
    part = mnt.p("logs", "partition-0")
    wait_for(lambda: read_file(os.path.join(part, "start")) == "2\n", what="retention")
    write_file(mnt.p("logs", "config", "retention.ms"), "-1\n", flags=os.O_WRONLY)
    time.sleep(0.3)  # let a retention run that began with retention.ms=1 end
    write_file(mnt.p("logs", "produce"), "kept\nkept-too\n")
    r, rows = stat(mnt.path)
    assert r.returncode == 0, r.stderr
    assert rows[1][:6] == ["logs", "0", "2", "4", "2", "-"]
    assert "--exact" in r.stdout
    r, rows = stat("--exact", mnt.path)
    assert rows[1][:6] == ["logs", "0", "2", "4", "2", str(len("kept\nkept-too\n"))]
    assert rows[1][6] == "0s"


def test_stat_of_something_else_fails(tmp_path):
    r, _ = stat(str(tmp_path / "nothing"))
    assert r.returncode != 0 and "not a directory" in r.stderr


def test_stat_shows_each_groups_committed_offset_and_lag(mnt):
    mnt.topic("clicks", partitions=2)
    write_file(mnt.p("clicks", "produce"), "a\nb\nc\n")  # 0: a c, 1: b
    os.mkdir(mnt.p("clicks", "consumers", "billing"))
    os.mkdir(mnt.p("clicks", "consumers", "audit"))
    write_file(mnt.p("clicks", "consumers", "billing", "partition-0"), "1\n", flags=os.O_WRONLY)
    r, rows = stat(mnt.path)
    assert r.returncode == 0, r.stderr
    at = rows.index(["TOPIC", "GROUP", "PARTITION", "COMMITTED", "END", "LAG"])
    assert rows[at + 1:] == [["clicks", "audit", "0", "0", "2", "2"],
                             ["clicks", "audit", "1", "0", "1", "1"],
                             ["clicks", "billing", "0", "1", "2", "1"],
                             ["clicks", "billing", "1", "0", "1", "1"]]
