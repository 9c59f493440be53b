"""Consumer groups: consumers/<group>/ with partition-<N>, consume, follow and lag."""
import ctypes
import datetime
import errno
import os
import select
import signal
import subprocess
import threading
import time

import pytest

from conftest import read_file, sh, wait_for, write_file


def group(mnt, topic="t", name="g", partitions=None):
    if not os.path.isdir(mnt.p(topic)):
        mnt.topic(topic, partitions)
    os.mkdir(mnt.p(topic, "consumers", name))
    return mnt.p(topic, "consumers", name)


def produce(mnt, lines, topic="t"):
    write_file(mnt.p(topic, "produce"), "".join(f"{l}\n" for l in lines))


def committed(g, n=0):
    return int(read_file(os.path.join(g, f"partition-{n}")))


def commit(g, text, n=0):
    write_file(os.path.join(g, f"partition-{n}"), text, os.O_WRONLY | os.O_TRUNC)


def read_all(path, chunk=65536):
    fd = os.open(path, os.O_RDONLY)
    try:
        out = b""
        while True:
            b = os.read(fd, chunk)
            if not b:
                return out
            out += b
    finally:
        os.close(fd)


# --- making, listing, removing ---


def test_mkdir_in_consumers_makes_a_group_ls_lists_it_rmdir_removes_it(mnt):
    mnt.topic("t", 2)
    assert "consumers" in os.listdir(mnt.p("t"))
    assert os.listdir(mnt.p("t", "consumers")) == []
    os.mkdir(mnt.p("t", "consumers", "billing"))
    os.mkdir(mnt.p("t", "consumers", "audit.v2"))
    assert sorted(os.listdir(mnt.p("t", "consumers"))) == ["audit.v2", "billing"]
    assert sorted(os.listdir(mnt.p("t", "consumers", "billing"))) == [
        "consume", "follow", "lag", "partition-0", "partition-1"]
    assert sh(f"ls {mnt.p('t', 'consumers')}").stdout.split() == ["audit.v2", "billing"]
    os.rmdir(mnt.p("t", "consumers", "billing"))
    assert os.listdir(mnt.p("t", "consumers")) == ["audit.v2"]
    assert not os.path.exists(mnt.p("t", "consumers", "billing"))
    with pytest.raises(FileNotFoundError):
        os.rmdir(mnt.p("t", "consumers", "billing"))


def test_group_names_follow_kafkas_rule_else_einval_and_nothing_made(mnt):
    mnt.topic("t")
    for bad in ["a b", "back\\slash", "caf\u00e9", "a" * 250, "semi;colon", "@g"]:
        with pytest.raises(OSError) as e:
            os.mkdir(mnt.p("t", "consumers", bad))
        assert e.value.errno == errno.EINVAL, bad
    for dots in [".", ".."]:
        with pytest.raises(OSError):
            os.mkdir(mnt.p("t", "consumers", dots))
    os.mkdir(mnt.p("t", "consumers", "a" * 249))
    with pytest.raises(FileExistsError):
        os.mkdir(mnt.p("t", "consumers", "a" * 249))
    assert os.listdir(mnt.p("t", "consumers")) == ["a" * 249]
    assert "not a group name" in mnt.log()


def test_groups_of_a_topic_are_its_own(mnt):
    group(mnt, "a", "g")
    mnt.topic("b")
    assert os.listdir(mnt.p("b", "consumers")) == []
    os.mkdir(mnt.p("b", "consumers", "g"))
    produce(mnt, ["x", "y"], "a")
    assert read_file(mnt.p("b", "consumers", "g", "consume")) == ""
    assert read_file(mnt.p("a", "consumers", "g", "consume")) == "x\ny\n"


def test_rmdir_of_a_topic_removes_its_groups(mnt):
    g = group(mnt)
    produce(mnt, ["a", "b"])
    read_file(os.path.join(g, "consume"))
    os.rmdir(mnt.p("t"))
    mnt.topic("t")
    assert os.listdir(mnt.p("t", "consumers")) == []
    os.mkdir(mnt.p("t", "consumers", "g"))
    assert committed(mnt.p("t", "consumers", "g")) == 0


def test_a_group_made_again_is_a_new_node(mnt):
    g = group(mnt)
    ino = os.stat(g).st_ino
    os.rmdir(g)
    os.mkdir(g)
    assert os.stat(g).st_ino != ino, "group ids are never reused"


def test_other_files_cannot_be_made_in_consumers_or_a_group(mnt):
    g = group(mnt)
    for path in [mnt.p("t", "consumers", "f"), os.path.join(g, "x")]:
        with pytest.raises(OSError) as e:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o644))
        assert e.value.errno in (errno.EACCES, errno.EPERM)
    with pytest.raises(OSError):
        os.mkdir(os.path.join(g, "sub"))
    for ro in ["consume", "follow", "lag"]:
        with pytest.raises(PermissionError):
            os.open(os.path.join(g, ro), os.O_WRONLY)


class Dirent(ctypes.Structure):
    _fields_ = [("d_ino", ctypes.c_uint64), ("d_off", ctypes.c_int64),
                ("d_reclen", ctypes.c_ushort), ("d_type", ctypes.c_ubyte),
                ("d_name", ctypes.c_char * 256)]


def listing(path, seek=None):
    """(name, cookie) of each entry via readdir(3), optionally from seekdir(seek)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.opendir.restype = ctypes.c_void_p
    libc.readdir.restype = ctypes.POINTER(Dirent)
    libc.readdir.argtypes = [ctypes.c_void_p]
    libc.seekdir.argtypes = [ctypes.c_void_p, ctypes.c_long]
    libc.closedir.argtypes = [ctypes.c_void_p]
    d = libc.opendir(path.encode())
    assert d, os.strerror(ctypes.get_errno())
    try:
        if seek is not None:
            libc.seekdir(d, seek)
        out = []
        while True:
            e = libc.readdir(d)
            if not e:
                return out
            out.append((e.contents.d_name.decode(), e.contents.d_off))
    finally:
        libc.closedir(d)


@pytest.mark.parametrize("where", ["topic", "consumers", "group"])
def test_a_listing_resumed_at_any_cookie_neither_skips_nor_repeats(mnt, where):
    g = group(mnt, partitions=3)
    for name in ["h1", "h2"]:
        os.mkdir(mnt.p("t", "consumers", name))
    path = {"topic": mnt.p("t"), "consumers": mnt.p("t", "consumers"), "group": g}[where]
    full = listing(path)
    names = [n for n, _ in full]
    assert len(set(names)) == len(names)
    for i, (_, cookie) in enumerate(full):
        assert [n for n, _ in listing(path, cookie)] == names[i + 1:], (where, cookie)
    if where == "topic":
        # consumers is a fixed entry: listed before the partitions, with a
        # cookie below all of theirs, so more partitions never move it.
        cookies = dict(full)
        assert names[:6] == [".", "..", "produce", "keys", "config", "consumers"]
        assert max(cookies[n] for n in names[:6]) < min(cookies[n] for n in names[6:])


def test_a_group_sees_partitions_added_later_from_their_start(mnt):
    g = group(mnt, partitions=1)
    produce(mnt, ["a"])
    write_file(mnt.p("t", "config", "partitions"), "3\n", os.O_WRONLY | os.O_TRUNC)
    assert sorted(os.listdir(g)) == ["consume", "follow", "lag", "partition-0", "partition-1",
                                     "partition-2"]
    produce(mnt, ["b", "c", "d"])
    assert read_file(os.path.join(g, "lag")).splitlines()[1:] == ["1 0 1 1", "2 0 1 1"]
    assert sorted(read_file(os.path.join(g, "consume")).split()) == ["a", "b", "c", "d"]
    with pytest.raises(FileNotFoundError):
        read_file(os.path.join(g, "partition-3"))


# --- partition-<N>: commit and reset ---


def test_a_new_group_starts_at_each_partitions_start(mnt):
    mnt.topic("t", 2)
    produce(mnt, ["a", "b", "c"])
    g = group(mnt)
    assert [committed(g, 0), committed(g, 1)] == [0, 0]
    assert read_file(os.path.join(g, "lag")) == "0 0 2 2\n1 0 1 1\n"


def test_writing_an_offset_commits_it(mnt):
    g = group(mnt)
    produce(mnt, [f"r{i}" for i in range(10)])
    commit(g, "4\n")
    assert committed(g) == 4
    assert sh(f"echo 7 > {g}/partition-0 && cat {g}/partition-0").stdout == "7\n"
    assert read_file(os.path.join(g, "consume")) == "r7\nr8\nr9\n"
    assert committed(g) == 10


def test_every_reset_form(mnt):
    g = group(mnt)
    produce(mnt, [f"r{i}" for i in range(10)])
    forms = [("5", 5), ("earliest", 0), ("latest", 10), ("-3", 7), ("+2", 9), ("+5", 10),
             ("-100", 0), ("1000", 10), ("  3 \n", 3), ("0", 0), ("@0", 0),
             ("@99999999999999", 10), ("1970-01-01T00:00:00Z", 0),
             ("2999-01-01T00:00:00.000Z", 10), ("2999-01-01T00:00:00+02:00", 10)]
    for text, want in forms:
        commit(g, text)
        assert committed(g) == want, text


def test_bad_reset_values_are_einval_and_change_nothing(mnt):
    g = group(mnt)
    produce(mnt, ["a", "b", "c"])
    commit(g, "2")
    for bad in ["\n", "x", "-", "+", "@", "1.5", "0x10", "earliest latest", "EARLIEST", "@-5",
                "2026-12-01T07:00:00", "2026-02-30T00:00:00Z", "2026-12-01 07:00:00Z",
                "2026-12-01T07:00:00.1234Z", "99999999999999999999", "--1", "+-1"]:
        with pytest.raises(OSError) as e:
            commit(g, bad)
        assert e.value.errno == errno.EINVAL, bad
        assert committed(g) == 2, bad
    assert "is not an offset" in mnt.log()


def batch_times(mnt, batches):
    """Writes each batch as one write(), apart in time; returns their timestamps."""
    times = []
    for i, b in enumerate(batches):
        produce(mnt, b)
        end = int(read_file(mnt.p("t", "partition-0", "end")))
        times.append(int(os.getxattr(mnt.p("t", "partition-0", f"offset-{end - 1}"),
                                     "user.topicfs.timestamp")))
        time.sleep(0.02)
    return times


def test_a_time_moves_to_the_first_record_at_or_after_it(mnt):
    g = group(mnt)
    batches = [[f"b{i}-{j}" for j in range(i + 1)] for i in range(8)]  # 1, 2, ... 8 records
    times = batch_times(mnt, batches)
    assert times == sorted(times) and len(set(times)) == len(times)
    first = 0
    for b, t in zip(batches, times):
        commit(g, f"@{t}")
        assert committed(g) == first
        commit(g, f"@{t - 1}")
        assert committed(g) == first, "a time between batches finds the later one"
        iso = datetime.datetime.fromtimestamp(t / 1000, datetime.timezone.utc)
        commit(g, iso.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t % 1000:03d}Z")
        assert committed(g) == first
        first += len(b)
    commit(g, f"@{times[-1] + 1}")
    assert committed(g) == first, "after the last record: the end"
    # Without milliseconds: the first record in or after that second.
    commit(g, datetime.datetime.fromtimestamp(times[0] / 1000 - 10, datetime.timezone.utc)
           .strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert committed(g) == 0


def test_seeking_a_time_in_a_big_partition_is_quick(mnt):
    # O(log n) batch lookups: 20,000 batches take no longer than a few.
    g = group(mnt)
    fd = os.open(mnt.p("t", "produce"), os.O_WRONLY | os.O_APPEND)
    for i in range(20000):
        os.write(fd, b"x\n")
    os.close(fd)
    t = int(os.getxattr(mnt.p("t", "partition-0", "offset-12345"), "user.topicfs.timestamp"))
    began = time.monotonic()
    for _ in range(50):
        commit(g, f"@{t}")
    elapsed = time.monotonic() - began
    n = committed(g)
    assert n <= 12345
    assert int(os.getxattr(mnt.p("t", "partition-0", f"offset-{n}"),
                           "user.topicfs.timestamp")) == t
    if n > 0:
        assert int(os.getxattr(mnt.p("t", "partition-0", f"offset-{n - 1}"),
                               "user.topicfs.timestamp")) < t
    assert elapsed < 2.0, f"50 seeks took {elapsed:.2f} s"


# --- consume ---


def test_consume_returns_each_record_once_and_commits_it(mnt):
    g = group(mnt)
    produce(mnt, ["a", "", "c"])
    assert read_file(os.path.join(g, "consume")) == "a\n\nc\n"
    assert read_file(os.path.join(g, "consume")) == "", "caught up: EOF"
    assert committed(g) == 3
    produce(mnt, ["d"])
    assert sh(f"cat {g}/consume").stdout == "d\n"
    assert read_file(os.path.join(g, "lag")) == "0 4 4 0\n"


def test_consume_reads_return_whole_records(mnt):
    g = group(mnt)
    produce(mnt, [f"record-{i:04d}" for i in range(1000)])
    fd = os.open(os.path.join(g, "consume"), os.O_RDONLY)
    try:
        chunks = []
        while True:
            b = os.read(fd, 1000)
            if not b:
                break
            assert b.endswith(b"\n") and len(b) <= 1000
            chunks.append(b)
    finally:
        os.close(fd)
    assert b"".join(chunks).decode().split("\n")[:-1] == [f"record-{i:04d}" for i in range(1000)]
    assert len(chunks) > 10


def test_consume_is_fair_across_partitions(mnt):
    g = group(mnt, partitions=3)
    for p in range(3):
        write_file(mnt.p("t", "produce"), "".join(f"p{i % 3}-{i}\n" for i in range(3000)))
    fd = os.open(os.path.join(g, "consume"), os.O_RDONLY)
    try:
        seen = [set(l.split("-")[0] for l in os.read(fd, 2000).decode().split()) for _ in range(3)]
    finally:
        os.close(fd)
    assert set().union(*seen) == {"p0", "p1", "p2"}, "each partition served within 3 reads"


def test_a_record_longer_than_a_read_goes_whole_to_that_reader(mnt):
    g = group(mnt)
    produce(mnt, ["x" * 10000, "short"])
    fd = os.open(os.path.join(g, "consume"), os.O_RDONLY)
    other = os.open(os.path.join(g, "consume"), os.O_RDONLY)
    try:
        got = os.read(fd, 4096)
        assert got == b"x" * 4096
        assert committed(g) == 1, "handed out whole: committed"
        assert os.read(other, 4096) == b"short\n", "the rest is not another reader's"
        assert os.read(fd, 4096) == b"x" * 4096
        assert os.read(fd, 4096) == b"x" * (10000 - 8192) + b"\n"
        assert os.read(fd, 4096) == b""
    finally:
        os.close(fd)
        os.close(other)


def test_a_follow_reader_gets_a_record_longer_than_its_reads_in_full_parts(mnt):
    g = group(mnt)
    produce(mnt, ["y" * 10000])
    fd = os.open(os.path.join(g, "follow"), os.O_RDONLY)
    try:
        assert os.read(fd, 4096) == b"y" * 4096
        assert os.read(fd, 4096) == b"y" * 4096, "a part of the rest fills the read"
        assert os.read(fd, 4096) == b"y" * (10000 - 8192) + b"\n"
    finally:
        os.close(fd)


def test_bash_read_loop_on_consume_gets_every_line(mnt):
    # bash reads a byte at a time from a file it cannot seek back in.
    g = group(mnt)
    produce(mnt, ["one", "two words", "three"])
    r = sh(f"while IFS= read -r l; do echo \"[$l]\"; done < {g}/consume")
    assert r.stdout == "[one]\n[two words]\n[three]\n"
    assert committed(g) == 3


def test_two_concurrent_readers_share_the_records_disjoint_and_complete(mnt):
    g = group(mnt, partitions=3)
    want = []
    for i in range(3000):
        size = 9000 if i % 97 == 0 else (i * 37) % 300
        want.append(f"{i}:" + "v" * size)
    for start in range(0, len(want), 500):
        write_file(mnt.p("t", "produce"), "".join(w + "\n" for w in want[start:start + 500]))
    got = [[], []]

    def reader(k):
        data = read_all(os.path.join(g, "consume"), chunk=4096)
        got[k] = data.decode().split("\n")[:-1]

    threads = [threading.Thread(target=reader, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got[0] and got[1], "both readers got records"
    assert not set(got[0]) & set(got[1]), "no record went to both"
    assert sorted(got[0] + got[1]) == sorted(want), "every record, each whole"
    assert read_file(os.path.join(g, "lag")).split("\n")[0].split()[3] == "0"


def test_two_processes_reading_with_cat_share_the_records(mnt):
    g = group(mnt)
    want = [f"line-{i}-" + "z" * (i % 50) for i in range(20000)]
    write_file(mnt.p("t", "produce"), "".join(w + "\n" for w in want))
    procs = [subprocess.Popen(["dd", f"if={g}/consume", "bs=1000", "status=none"],
                              stdout=subprocess.PIPE) for _ in range(2)]
    outs = [p.communicate()[0].decode().split("\n")[:-1] for p in procs]
    assert not set(outs[0]) & set(outs[1])
    assert sorted(outs[0] + outs[1]) == sorted(want)


# --- durability ---


def test_committed_offsets_survive_a_remount(mnt):
    g = group(mnt, partitions=2)
    produce(mnt, [str(i) for i in range(10)])
    commit(g, "3", 0)
    commit(g, "latest", 1)
    mnt.restart()
    assert [committed(g, 0), committed(g, 1)] == [3, 5]
    assert read_file(os.path.join(g, "consume")) == "6\n8\n"


def test_committed_offsets_survive_kill_9(mnt):
    g = group(mnt)
    produce(mnt, [str(i) for i in range(10)])
    fd = os.open(os.path.join(g, "consume"), os.O_RDONLY)
    assert os.read(fd, 4) == b"0\n1\n"
    os.close(fd)
    commit(g, "+1")
    mnt.kill9()
    mnt.start()
    assert committed(g) == 3
    assert read_file(os.path.join(g, "consume")) == "".join(f"{i}\n" for i in range(3, 10))


def test_retention_past_a_group_moves_it_to_start_and_logs_what_it_never_saw(mount_factory):
    m = mount_factory("retention.check.interval.ms=100")
    g = group(m)
    produce(m, ["old1", "old2", "old3"])
    commit(g, "1")
    write_file(m.p("t", "config", "retention.ms"), "200\n", os.O_WRONLY | os.O_TRUNC)
    wait_for(lambda: read_file(m.p("t", "partition-0", "start")) == "3\n", what="retention")
    wait_for(lambda: "never consumed" in m.log(), what="the log line")
    assert "2 record(s)" in m.log()
    assert committed(g) == 3
    write_file(m.p("t", "config", "retention.ms"), "-1\n", os.O_WRONLY | os.O_TRUNC)
    produce(m, ["new"])
    assert read_file(os.path.join(g, "consume")) == "new\n"


# --- follow ---


def test_follow_blocks_until_records_arrive(mnt):
    g = group(mnt)
    produce(mnt, ["first"])
    fd = os.open(os.path.join(g, "follow"), os.O_RDONLY)
    try:
        assert os.read(fd, 4096) == b"first\n"
        got = []
        t = threading.Thread(target=lambda: got.append(os.read(fd, 4096)))
        t.start()
        time.sleep(0.3)
        assert not got, "nothing to read: the read waits"
        produce(mnt, ["second"])
        t.join(5)
        assert got == [b"second\n"]
    finally:
        os.close(fd)


def test_a_follow_read_racing_an_append_never_misses_it(mnt):
    g = group(mnt)
    fd = os.open(os.path.join(g, "follow"), os.O_RDONLY)
    wfd = os.open(mnt.p("t", "produce"), os.O_WRONLY | os.O_APPEND)
    try:
        for i in range(100):
            got = []
            t = threading.Thread(target=lambda: got.append(os.read(fd, 4096)))
            t.start()
            os.write(wfd, b"r%d\n" % i)  # before, while or after the read parks
            t.join(5)
            assert got == [b"r%d\n" % i], f"round {i}: the read missed the append"
    finally:
        os.close(wfd)
        os.close(fd)


def test_follow_with_o_nonblock_gives_eagain(mnt):
    g = group(mnt)
    fd = os.open(os.path.join(g, "follow"), os.O_RDONLY | os.O_NONBLOCK)
    try:
        with pytest.raises(BlockingIOError):
            os.read(fd, 100)
        produce(mnt, ["x"])
        assert os.read(fd, 100) == b"x\n"
    finally:
        os.close(fd)


@pytest.mark.parametrize("removed", ["group", "topic"])
def test_follow_ends_when_its_group_or_topic_is_removed(mnt, removed):
    g = group(mnt)
    p = subprocess.Popen(["cat", os.path.join(g, "follow")], stdout=subprocess.PIPE)
    time.sleep(0.3)
    produce(mnt, ["r"])
    time.sleep(0.3)
    assert p.poll() is None, "follow does not end when caught up"
    os.rmdir(g if removed == "group" else mnt.p("t"))
    assert p.wait(5) == 0
    assert p.stdout.read() == b"r\n"


def test_a_signal_interrupts_a_blocked_follow_read(mnt):
    g = group(mnt)
    p = subprocess.Popen(["cat", os.path.join(g, "follow")])
    time.sleep(0.3)
    p.send_signal(signal.SIGINT)
    assert p.wait(5) != 0
    p = subprocess.Popen(["cat", os.path.join(g, "follow")])
    time.sleep(0.3)
    p.kill()
    assert p.wait(5) == -signal.SIGKILL
    produce(mnt, ["kept"])
    assert read_file(os.path.join(g, "consume")) == "kept\n", "an interrupted read took nothing"


def test_a_while_read_loop_on_follow_is_a_worker(mnt):
    g = group(mnt)
    out = mnt.p("..", "worker.out")
    p = subprocess.Popen(["bash", "-c", f"while IFS= read -r l; do echo \"got $l\"; done "
                                        f"< {g}/follow > {out}"])
    try:
        produce(mnt, ["a", "b"])
        produce(mnt, ["c"])
        wait_for(lambda: os.path.exists(out) and read_file(out) == "got a\ngot b\ngot c\n",
                 what="the worker's output")
    finally:
        p.kill()
        p.wait()


def test_64_blocked_followers_do_not_stop_ls_or_echo(mnt):
    mnt.topic("t")
    for i in range(8):
        os.mkdir(mnt.p("t", "consumers", f"g{i}"))
    # A 1-byte read takes one whole record (its rest stays with that reader).
    procs = [subprocess.Popen(["dd", f"if={mnt.p('t', 'consumers', f'g{i % 8}', 'follow')}",
                               "bs=1", "count=1", "status=none"], stdout=subprocess.PIPE)
             for i in range(64)]
    try:
        time.sleep(1)
        assert all(p.poll() is None for p in procs), "nothing to read: all 64 wait"
        began = time.monotonic()
        assert sh(f"ls {mnt.p('t')} {mnt.p('t', 'consumers')}").returncode == 0
        assert sh(f"echo hello >> {mnt.p('t', 'produce')}").returncode == 0
        assert read_file(mnt.p("t", "partition-0", "offset-0")) == "hello"
        assert time.monotonic() - began < 5
        # Each group gets the record: one follower of each.
        wait_for(lambda: sum(p.poll() is not None for p in procs) == 8, what="8 followers")
        produce(mnt, ["r1", "r2", "r3", "r4", "r5", "r6", "r7"])
        wait_for(lambda: all(p.poll() is not None for p in procs), what="all followers")
        firsts = sorted(p.stdout.read() for p in procs)
        assert firsts == [b"h"] * 8 + [b"r"] * 56
    finally:
        for p in procs:
            p.kill()
            p.wait()


# --- poll ---


@pytest.mark.parametrize("name", ["consume", "follow"])
def test_poll_wakes_when_records_arrive(mnt, name):
    g = group(mnt)
    fd = os.open(os.path.join(g, name), os.O_RDONLY | os.O_NONBLOCK)
    try:
        p = select.poll()
        p.register(fd, select.POLLIN)
        assert p.poll(300) == [], "nothing to read: poll waits"
        threading.Timer(0.2, lambda: produce(mnt, ["x"])).start()
        began = time.monotonic()
        assert p.poll(5000), "an append wakes it"
        assert time.monotonic() - began < 4
        assert os.read(fd, 100) == b"x\n"
        assert p.poll(200) == []
        assert select.select([fd], [], [], 0.2)[0] == []
    finally:
        os.close(fd)


# --- lag ---


def test_lag_shows_partition_committed_end_lag(mnt):
    g = group(mnt, partitions=3)
    produce(mnt, [str(i) for i in range(7)])
    commit(g, "2", 0)
    commit(g, "latest", 2)
    assert read_file(os.path.join(g, "lag")) == "0 2 3 1\n1 0 2 2\n2 2 2 0\n"
    total = sh(f"awk '{{s += $4}} END {{print s}}' {g}/lag").stdout
    assert total == "3\n"
