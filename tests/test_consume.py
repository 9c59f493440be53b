"""Consuming: offset files, log, ls, stat, xattrs, and the shell tools on them."""
import errno
import os
import re
import subprocess
import threading
import time

import pytest

from conftest import read_file, sh, wait_for, write_file


def test_offset_file_has_record_bytes_stat_and_xattrs(mnt):
    mnt.topic("t")
    before = time.time()
    write_file(mnt.p("t", "keys", "user-1"), "payload\n", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    after = time.time()
    path = mnt.p("t", "partition-0", "offset-0")
    assert read_file(path) == "payload"
    st = os.stat(path)
    assert st.st_size == len("payload")
    assert before - 1 <= st.st_mtime <= after + 1
    ts = int(os.getxattr(path, "user.topicfs.timestamp"))
    assert abs(ts / 1000 - st.st_mtime) < 0.002
    assert before * 1000 - 1000 <= ts <= after * 1000 + 1000
    assert os.getxattr(path, "user.topicfs.key") == b"user-1"
    assert os.getxattr(path, "user.topicfs.offset") == b"0"
    assert set(os.listxattr(path)) == {
        "user.topicfs.key", "user.topicfs.timestamp", "user.topicfs.offset"}
    r = sh(f"getfattr -n user.topicfs.key --only-values {path}")
    assert r.returncode == 0 and r.stdout == "user-1"


def test_offset_files_are_whole_whether_or_not_others_are_open(mnt):
    # The daemon pushes a record into the page cache at open while no other
    # offset file is open (at most 64 KiB of it); else the read fetches it.
    mnt.topic("t")
    values = ["a" * 10, "b" * 70000, "c" * 5000, "d" * 4096, "e" * 65536, "f" * 65537]
    write_file(mnt.p("t", "produce"), "".join(v + "\n" for v in values))
    path = lambda n: mnt.p("t", "partition-0", f"offset-{n}")
    for n, v in enumerate(values):  # nothing else open: each open pushes
        assert read_file(path(n)) == v
        assert sh(f"cat {path(n)}").stdout == v
    holder = os.open(path(0), os.O_RDONLY)  # now no open pushes
    try:
        for n, v in reversed(list(enumerate(values))):
            assert read_file(path(n)) == v
        assert os.read(holder, 100) == b"a" * 10
    finally:
        os.close(holder)
    assert read_file(path(1)) == values[1]  # pushes again


def test_offset_read_is_served_by_the_push_unless_another_is_open(mount_factory):
    # The daemon's request log (debug) shows whether a read of offset-<n> had to
    # come to the daemon: not when the open pushed the record, also after refused
    # opens (they must not leave the daemon counting an open file); yes while
    # another offset file is open.
    m = mount_factory("debug")
    m.topic("t")
    write_file(m.p("t", "produce"), "".join(f"record-{i}\n" for i in range(6)))
    path = lambda n: m.p("t", "partition-0", f"offset-{n}")

    def requests(opcode, n):  # libfuse's debug lines name each request's inode
        pattern = r"opcode: %s \(\d+\), nodeid: %d," % (opcode, os.stat(path(n)).st_ino)
        return len(re.findall(pattern, m.log()))

    reads_of = lambda n: requests("READ", n)

    for flags in (os.O_WRONLY, os.O_RDWR, os.O_WRONLY | os.O_APPEND):
        with pytest.raises(PermissionError):
            os.open(path(0), flags)
    assert read_file(path(1)) == "record-1"
    assert reads_of(1) == 0, "the read of offset-1 came to the daemon"
    holder = os.open(path(2), os.O_RDONLY)
    try:
        assert read_file(path(3)) == "record-3"
        assert reads_of(3) == 1, "with offset-2 open, offset-3 is read as usual"
    finally:
        os.close(holder)
    wait_for(lambda: requests("RELEASE", 2) == 1, what="offset-2's release")
    assert read_file(path(4)) == "record-4"
    assert reads_of(4) == 0, "pushes resume once no offset file is open"


def test_offset_reads_of_other_topics_and_partitions_in_between_do_not_mix(mnt):
    # The open pushes the record the lookup before it read (one per worker):
    # same offsets in other partitions and topics must never stand in.
    mnt.topic("a")
    mnt.topic("b", partitions=2)
    write_file(mnt.p("a", "produce"), "a0\na1\n")
    write_file(mnt.p("b", "produce"), "b0\nb1\nb2\nb3\n")  # round robin: p0 b0 b2, p1 b1 b3
    files = {("a", 0, 0): "a0", ("a", 0, 1): "a1", ("b", 0, 0): "b0", ("b", 0, 1): "b2",
             ("b", 1, 0): "b1", ("b", 1, 1): "b3"}
    path = lambda t, p, o: mnt.p(t, f"partition-{p}", f"offset-{o}")
    for _ in range(3):
        for (t, p, o), want in files.items():
            for (t2, p2, o2) in files:  # another record looked up just before
                os.stat(path(t2, p2, o2))
                fd = os.open(path(t, p, o), os.O_RDONLY)
                try:
                    assert os.read(fd, 100).decode() == want, (t, p, o, t2, p2, o2)
                finally:
                    os.close(fd)


def test_start_end_and_config_are_never_read_torn(mnt):
    # A read at offset 0 takes the value; reads further on continue that same
    # text (as sysfs does), so `cat end` racing an append cannot print "9\n0\n".
    mnt.topic("t")
    write_file(mnt.p("t", "produce"), "".join(f"r{i}\n" for i in range(9)))
    end = os.open(mnt.p("t", "partition-0", "end"), os.O_RDONLY)
    cfg = os.open(mnt.p("t", "config", "retention.ms"), os.O_RDONLY)
    try:
        assert os.pread(end, 1, 0) == b"9"
        write_file(mnt.p("t", "produce"), "r9\n")  # end is now 10
        assert os.pread(end, 10, 1) == b"\n", "the rest of the text read at 0"
        assert os.pread(end, 10, 0) == b"10\n", "a read at 0 takes the new value"
        assert os.pread(end, 10, 2) == b"\n"

        assert os.pread(cfg, 3, 0) == b"604"
        write_file(mnt.p("t", "config", "retention.ms"), "1000\n", os.O_WRONLY)
        assert os.pread(cfg, 64, 3) == b"800000\n"
        assert os.pread(cfg, 64, 0) == b"1000\n"
    finally:
        os.close(end)
        os.close(cfg)
    assert read_file(mnt.p("t", "partition-0", "end")) == "10\n"


def test_offsets_not_written_or_malformed_are_enoent(mnt):
    mnt.topic("t")
    write_file(mnt.p("t", "produce"), "a\n")
    base = mnt.p("t", "partition-0")
    for name in ("offset-1", "offset-99999999999", "offset-01", "offset--1", "offset-x",
                 "offset-", "offset-18446744073709551616"):
        with pytest.raises(FileNotFoundError):
            os.stat(os.path.join(base, name))
    with pytest.raises(FileNotFoundError):
        os.stat(mnt.p("t", "partition-1"))
    write_file(mnt.p("t", "produce"), "b\n")  # appears once written
    assert read_file(os.path.join(base, "offset-1")) == "b"


def test_ls_lists_retained_offsets_in_order(mnt):
    mnt.topic("t")
    write_file(mnt.p("t", "produce"), "".join(f"r{i}\n" for i in range(1500)))
    r = sh(f"ls -v {mnt.p('t', 'partition-0')}")
    names = r.stdout.split()
    assert names == ["end", "log"] + [f"offset-{i}" for i in range(1500)] + ["produce", "start"]
    # the unsorted listing streams offsets in offset order
    raw = [n for n in sh(f"ls -U {mnt.p('t', 'partition-0')}").stdout.split()
           if n.startswith("offset-")]
    assert raw == [f"offset-{i}" for i in range(1500)]


def test_ls_streams_a_large_partition(mnt):
    mnt.topic("t")
    n = 200_000
    chunk = "".join(f"{i}\n" for i in range(n))
    write_file(mnt.p("t", "produce"), chunk)
    r = sh(f"ls -U {mnt.p('t', 'partition-0')} | wc -l")
    assert int(r.stdout) == n + 4  # log, start, end, produce


def test_start_and_end_follow_appends(mnt):
    mnt.topic("t")
    write_file(mnt.p("t", "produce"), "a\nb\nc\n")
    assert read_file(mnt.p("t", "partition-0", "start")) == "0\n"
    assert read_file(mnt.p("t", "partition-0", "end")) == "3\n"


def test_cat_grep_wc_on_log(mnt):
    mnt.topic("t")
    write_file(mnt.p("t", "produce"), "".join(f"line {i} {'even' if i % 2 == 0 else 'odd'}\n"
                                              for i in range(1000)))
    log = mnt.p("t", "partition-0", "log")
    assert sh(f"wc -l < {log}").stdout.strip() == "1000"
    assert sh(f"grep -c even {log}").stdout.strip() == "500"
    assert sh(f"cat {log} | head -n 2").stdout == "line 0 even\nline 1 odd\n"
    assert os.stat(log).st_size == sum(len(f"line {i} {'even' if i % 2 == 0 else 'odd'}\n")
                                       for i in range(1000))


def test_tail_n_gives_last_records(mnt):
    mnt.topic("t")
    write_file(mnt.p("t", "produce"), "".join(f"rec-{i}-{'p' * 40}\n" for i in range(5000)))
    r = sh(f"tail -n 3 {mnt.p('t', 'partition-0', 'log')}")
    assert r.stdout.splitlines() == [f"rec-{i}-{'p' * 40}" for i in (4997, 4998, 4999)]


def test_dd_and_python_seek_read_at_positions(mnt):
    mnt.topic("t")
    write_file(mnt.p("t", "produce"), "aaaa\nbbbb\ncccc\n")
    log = mnt.p("t", "partition-0", "log")
    assert sh(f"dd if={log} bs=1 skip=5 count=4 status=none").stdout == "bbbb"
    with open(log, "rb") as f:
        f.seek(10)
        assert f.read() == b"cccc\n"


def test_cp_copies_the_log(mnt, tmp_path):
    mnt.topic("t")
    write_file(mnt.p("t", "produce"), "x\ny\n")
    dst = tmp_path / "copy"
    assert sh(f"cp {mnt.p('t', 'partition-0', 'log')} {dst}").returncode == 0
    assert dst.read_text() == "x\ny\n"


def test_tail_f_follows_new_records(mnt):
    mnt.topic("t")
    write_file(mnt.p("t", "produce"), "old\n")
    tail = subprocess.Popen(["tail", "-f", "-s", "0.1", mnt.p("t", "partition-0", "log")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert tail.stdout.readline() == "old\n"
        for i in range(3):
            write_file(mnt.p("t", "produce"), f"new-{i}\n")
            assert tail.stdout.readline() == f"new-{i}\n"
    finally:
        tail.kill()
        tail.wait()


def test_reading_a_deleted_topic_fails_cleanly(mnt):
    mnt.topic("t")
    write_file(mnt.p("t", "produce"), "a\n")
    fd = os.open(mnt.p("t", "partition-0", "log"), os.O_RDONLY)
    os.rmdir(mnt.p("t"))
    with pytest.raises(OSError) as e:
        os.read(fd, 100)
    assert e.value.errno == errno.ENOENT
    os.close(fd)


def _status_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s in /proc/%d/status" % (field, pid))


def test_reading_a_big_log_does_not_grow_the_daemon(mnt, tmp_path):
    # A log of big batches (one `cat` into produce) is spliced from the store's
    # file to the reader, never mapped into the daemon: reading 100 MB three times
    # may map LMDB's B-tree pages and little else. Through the map, the pages read
    # would stay mapped (RssFile) until the store unmaps them every 32 MiB.
    # (RssFile, not VmRSS: the ASan build's shadow memory is not ours to bound.)
    mnt.topic("t")
    src = tmp_path / "lines"
    line = b"x" * 99 + b"\n"
    with open(src, "wb") as f:
        for _ in range(10):
            f.write(line * 100_000)
    sh("cat %s >> %s" % (src, mnt.p("t", "produce")))
    assert read_file(mnt.p("t", "partition-0", "end")) == "1000000\n"
    before = _status_kib(mnt.proc.pid, "RssFile")
    peak = 0
    for _ in range(3):
        out = sh("cat %s | wc -c" % mnt.p("t", "partition-0", "log")).stdout
        assert int(out) == 1_000_000 * 100
        peak = max(peak, _status_kib(mnt.proc.pid, "RssFile"))
    assert peak < 64 * 1024, "daemon maps %d KiB of the store after reading 300 MB" % peak
    assert peak - before < 16 * 1024, \
        "reading 300 MB of log mapped %d KiB more of the store" % (peak - before)


def test_records_appended_one_at_a_time_are_read_many_per_read(mnt):
    # Each write() is a batch of its own; a read must not stop after a few dozen
    # of them (it did at 64, then at 1,000: `cat` of such a log took a round trip
    # per 64 records). Now a read returns what was asked, whatever the batches.
    mnt.topic("t")
    recs = [b"r%04d\n" % i for i in range(3000)]
    fd = os.open(mnt.p("t", "produce"), os.O_WRONLY)
    try:
        for r in recs:
            os.write(fd, r)
    finally:
        os.close(fd)
    want = b"".join(recs)
    with open(mnt.p("t", "partition-0", "log"), "rb", buffering=0) as f:
        first = f.read(1 << 20)
        assert first == want, "one read returned %d of %d bytes" % (len(first), len(want))
        assert f.read() == b""
        f.seek(6 * 5)  # from a record in the middle, all the rest at once
        assert f.read(1 << 20) == want[6 * 5:]


def test_poll_on_log_waits_for_new_records(mnt):
    import select
    mnt.topic("t")
    write_file(mnt.p("t", "produce"), b"a\n")
    fd = os.open(mnt.p("t", "partition-0", "log"), os.O_RDONLY)
    try:
        p = select.poll()
        p.register(fd, select.POLLIN)
        assert p.poll(2000), "unread records: readable at once"
        assert os.read(fd, 4096) == b"a\n"
        assert os.read(fd, 4096) == b""
        t0 = time.monotonic()
        assert p.poll(300) == [], "nothing new: poll must wait, not report readable"
        assert time.monotonic() - t0 >= 0.25
        # A writer in another thread: poll wakes on its append.
        threading.Timer(0.2, write_file, (mnt.p("t", "produce"), b"b\n")).start()
        t0 = time.monotonic()
        ev = p.poll(5000)
        assert ev and ev[0][1] & select.POLLIN
        assert 0.1 < time.monotonic() - t0 < 4
        assert os.read(fd, 4096) == b"b\n"
        # A partial line makes no record: no wakeup until the writer closes.
        wfd = os.open(mnt.p("t", "produce"), os.O_WRONLY)
        os.write(wfd, b"c")
        assert p.poll(200) == []
        os.close(wfd)
        assert p.poll(2000)
        assert os.read(fd, 4096) == b"c\n"
    finally:
        os.close(fd)


def test_poll_wakes_a_follower_when_its_topic_is_removed(mnt):
    import select
    mnt.topic("t")
    fd = os.open(mnt.p("t", "partition-0", "log"), os.O_RDONLY)
    try:
        p = select.poll()
        p.register(fd, select.POLLIN)
        assert p.poll(100) == []
        threading.Timer(0.2, os.rmdir, (mnt.p("t"),)).start()
        assert p.poll(5000), "rmdir must wake the follower"
        with pytest.raises(OSError):
            os.read(fd, 4096)
    finally:
        os.close(fd)
