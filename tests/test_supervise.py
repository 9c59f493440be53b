"""Producers that recover: under --supervise the mount and the files open on it
outlive a kill -9 of the daemon; every write() that returned is stored once."""
import errno
import json
import os
import signal
import statistics
import subprocess
import threading
import time

import pytest

from conftest import Mount, read_file, stop_and_check, wait_for, write_file

KILLED = r"supervisor: the daemon \(pid \d+\) was killed by signal 9"


def daemon_of(m):
    """The pid of the daemon the supervisor (m.proc) runs now, or None."""
    with open(f"/proc/{m.proc.pid}/task/{m.proc.pid}/children") as f:
        kids = [int(p) for p in f.read().split()]
    return kids[0] if len(kids) == 1 else None


def takeovers(m):
    return m.log().count("took over")


def kill_daemon(m):
    """SIGKILLs the daemon (not the supervisor); returns the time of the kill
    once a new daemon serves the mount."""
    old, seen = daemon_of(m), takeovers(m)
    assert old, "no daemon under the supervisor"
    at = time.monotonic()
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: takeovers(m) > seen, timeout=20, what="a new daemon to take over")
    assert daemon_of(m) not in (None, old)
    assert os.path.ismount(m.path)
    return at


@pytest.fixture
def supervised(tmp_path):
    mounts = []

    def make(options=""):
        m = Mount(tmp_path / f"m{len(mounts)}", ",".join(o for o in ("supervise", options) if o))
        os.makedirs(tmp_path / f"m{len(mounts)}", exist_ok=True)
        m.expect_errors(KILLED)
        mounts.append(m)
        return m.start()

    yield make
    errors = stop_and_check(mounts)
    assert not errors, "\n".join(errors)


class TickWriter(threading.Thread):
    """Holds produce open and writes a numbered line every millisecond,
    recording when each write() started and ended and what it returned."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.fd = os.open(path, os.O_WRONLY)
        self.stop = threading.Event()
        self.writes = []  # (start, end, seq, errno or 0)

    def run(self):
        seq = 0
        while not self.stop.is_set():
            start = time.monotonic()
            try:
                os.write(self.fd, b"r%d\n" % seq)
                err = 0
            except OSError as e:
                err = e.errno
            self.writes.append((start, time.monotonic(), seq, err))
            seq += 1
            time.sleep(0.001)
        os.close(self.fd)

    def acked(self):
        return [s for _, _, s, err in self.writes if err == 0]

    def failed(self):
        return [(s, err) for _, _, s, err in self.writes if err]

    def at_kill(self, at):
        """The first write() that had not returned when the daemon was killed:
        its duration is the pause the writer saw; and what it returned."""
        w = next(w for w in self.writes if w[1] > at)
        return w[1] - w[0], w[0] <= at, w[3]


def records(m, topic, partition=0):
    return read_file(m.p(topic, f"partition-{partition}", "log"), "rb").split(b"\n")[:-1]


def test_writer_rides_over_three_kills_and_each_returned_write_is_stored_once(supervised):
    m = supervised()
    m.topic("t")
    w = TickWriter(m.p("t", "produce"))
    w.start()
    kills = []
    for _ in range(3):
        time.sleep(1.2)  # apart enough not to count as a crash loop (no backoff)
        kills.append(kill_daemon(m))
    time.sleep(0.4)
    w.stop.set()
    w.join(timeout=30)
    assert not w.is_alive()
    assert os.path.ismount(m.path)

    got = records(m, "t")
    acked = w.acked()
    assert len(acked) > 500, "the writer kept writing"
    assert any(err == 0 and start > kills[-1] for start, _, _, err in w.writes) and \
        acked[-1] == w.writes[-1][2], "writes after the last kill succeed"
    assert len(w.failed()) <= 3, f"a few EIO at most: {w.failed()}"
    counts = {}
    for r in got:
        counts[r] = counts.get(r, 0) + 1
    twice = [r for r, n in counts.items() if n > 1]
    assert not twice, f"stored twice: {twice[:10]}"
    missing = [s for s in acked if counts.get(b"r%d" % s) != 1]
    assert not missing, f"returned but not stored: {missing[:10]}"

    pauses = [w.at_kill(k) for k in kills]
    report = {
        "pause_ms": [round(p[0] * 1000, 1) for p in pauses],
        "pause_median_ms": round(statistics.median(p[0] for p in pauses) * 1000, 1),
        "pause_max_ms": round(max(p[0] for p in pauses) * 1000, 1),
        "write_in_flight_at_kill": [bool(p[1]) for p in pauses],
        "errno_of_first_write_after_kill": [p[2] for p in pauses],
        "writes": len(w.writes),
        "failed": w.failed(),
    }
    print("supervise:", json.dumps(report))
    if os.environ.get("TOPICFS_SUPERVISE_REPORT"):
        with open(os.environ["TOPICFS_SUPERVISE_REPORT"], "a") as f:
            f.write(json.dumps(report) + "\n")

    # umount stops supervisor and daemon cleanly, and it is all on disk.
    m.stop()
    m.start(options="")
    assert records(m, "t") == got


def test_tail_f_started_before_the_kills_prints_the_records_written_after(supervised):
    m = supervised()
    m.topic("t")
    write_file(m.p("t", "produce"), "before\n")
    out = open(os.path.join(os.path.dirname(m.path), "tail.out"), "wb")
    tail = subprocess.Popen(["tail", "-f", "-s", "0.1", m.p("t", "partition-0", "log")],
                            stdout=out)
    try:
        wait_for(lambda: b"before" in read_file(out.name, "rb"), what="tail to start")
        for i in range(3):
            kill_daemon(m)
            write_file(m.p("t", "produce"), f"after-{i}\n")
        wait_for(lambda: b"after-2\n" in read_file(out.name, "rb"), timeout=20,
                 what="tail -f to print what was written after the kills")
        assert read_file(out.name, "rb") == b"before\nafter-0\nafter-1\nafter-2\n"
        assert tail.poll() is None
    finally:
        tail.kill()
        tail.wait()
        out.close()


def test_a_write_resent_after_the_daemon_died_between_commit_and_reply_is_stored_once(
        supervised, monkeypatch):
    # Each daemon kills itself after committing its 25th write, before its reply.
    monkeypatch.setenv("TOPICFS_TEST_DIE_AFTER_WRITES", "25")
    m = supervised()
    m.topic("t")
    fd = os.open(m.p("t", "produce"), os.O_WRONLY)
    try:
        for i in range(100):
            assert os.write(fd, b"%d\n" % i) == len(b"%d\n" % i)
    finally:
        os.close(fd)
    assert records(m, "t") == [b"%d" % i for i in range(100)]
    deaths = m.log().count("was killed by signal 9")
    assert deaths >= 3
    assert m.log().count("not stored again") == deaths


RESENT_DONE = "resent after the daemon died: it was done before, not done again"


def died_once_and_answered_the_resend(m):
    """One daemon died between a mkdir's or rmdir's commit and its reply, and
    the next answered the request the kernel resent from what was kept."""
    log = m.log()
    return log.count("was killed by signal 9") == 1 and log.count(RESENT_DONE) == 1


def listed_inodes(path):
    return {e.name: e.inode() for e in os.scandir(path)}


def test_a_topic_mkdir_resent_after_the_daemon_died_between_commit_and_reply_succeeds(
        supervised, monkeypatch):
    # Each daemon kills itself after committing its 2nd mkdir or rmdir, before its reply.
    monkeypatch.setenv("TOPICFS_TEST_DIE_AFTER_MKDIRS", "2")
    m = supervised()
    m.topic("a")
    os.mkdir(m.p("b"))  # not EEXIST: the resent MKDIR finds its create kept
    assert died_once_and_answered_the_resend(m)
    assert sorted(os.listdir(m.path)) == ["a", "b"]
    assert os.stat(m.p("b")).st_ino == listed_inodes(m.path)["b"] != listed_inodes(m.path)["a"], \
        "the entry answered is the topic the mkdir made"
    write_file(m.p("b", "produce"), "one\n")
    assert records(m, "b") == [b"one"]


def test_a_group_mkdir_resent_after_the_daemon_died_between_commit_and_reply_succeeds(
        supervised, monkeypatch):
    monkeypatch.setenv("TOPICFS_TEST_DIE_AFTER_MKDIRS", "2")
    m = supervised()
    m.topic("t")
    os.mkdir(m.p("t", "consumers", "g"))  # the 2nd: the daemon dies before the reply
    assert died_once_and_answered_the_resend(m)
    assert os.listdir(m.p("t", "consumers")) == ["g"]
    assert os.stat(m.p("t", "consumers", "g")).st_ino == \
        listed_inodes(m.p("t", "consumers"))["g"], "the entry answered is the group made"
    write_file(m.p("t", "produce"), "one\n")
    assert read_file(m.p("t", "consumers", "g", "consume"), "rb") == b"one\n"


def test_a_group_rmdir_resent_after_the_daemon_died_between_commit_and_reply_succeeds(
        supervised, monkeypatch):
    monkeypatch.setenv("TOPICFS_TEST_DIE_AFTER_MKDIRS", "3")
    m = supervised()
    g = group(m)
    os.rmdir(g)  # the 3rd: not ENOENT, the resent RMDIR finds its delete kept
    assert died_once_and_answered_the_resend(m)
    assert os.listdir(m.p("t", "consumers")) == []
    assert not os.path.exists(g)


def test_a_big_topics_rmdir_resent_after_the_daemon_died_between_commit_and_reply_succeeds(
        supervised, monkeypatch):
    monkeypatch.setenv("TOPICFS_TEST_DIE_AFTER_MKDIRS", "2")
    m = supervised()
    m.topic("t")
    # Enough records that the delete empties the partition first, in transactions of its own.
    write_file(m.p("t", "produce"), "".join("r%d\n" % i for i in range(3000)))
    os.rmdir(m.p("t"))
    assert died_once_and_answered_the_resend(m)
    assert os.listdir(m.path) == []
    m.stop()
    m.start(options="")
    assert os.listdir(m.path) == []


def test_a_key_file_held_open_keeps_its_key_after_a_kill(supervised):
    m = supervised()
    m.topic("t", partitions=3)
    fd = os.open(m.p("t", "keys", "sticky"), os.O_WRONLY | os.O_CREAT)
    try:
        os.write(fd, b"one\n")
        kill_daemon(m)
        os.write(fd, b"two\n")
    finally:
        os.close(fd)
    where = [p for p in range(3) if records(m, "t", p)]
    assert len(where) == 1 and records(m, "t", where[0]) == [b"one", b"two"]


def test_the_tree_is_served_after_a_kill(supervised):
    m = supervised()
    m.topic("t", partitions=2)
    kill_daemon(m)
    assert sorted(os.listdir(m.path)) == ["t"]
    assert read_file(m.p("t", "config", "partitions")) == "2\n"
    os.mkdir(m.p("u"))
    assert sorted(os.listdir(m.path)) == ["t", "u"]


def test_sigterm_to_the_supervisor_stops_both_and_unmounts(supervised):
    m = supervised()
    m.topic("t")
    write_file(m.p("t", "produce"), "kept\n")
    kill_daemon(m)
    daemon = daemon_of(m)
    m.proc.send_signal(signal.SIGTERM)
    assert m.proc.wait(timeout=20) == 0
    m.proc = None
    assert not os.path.ismount(m.path)
    assert not os.path.exists(f"/proc/{daemon}")
    m.start(options="")
    assert records(m, "t") == [b"kept"]


def test_background_supervisor_writes_its_pid_and_umount_stops_it(tmp_path):
    from conftest import TOPICFS
    data, mnt = str(tmp_path / "data"), str(tmp_path / "mnt")
    os.makedirs(mnt)
    r = subprocess.run([TOPICFS, "--supervise", data, mnt], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    try:
        assert os.path.ismount(mnt)
        sup = int(read_file(os.path.join(data, "topicfs.supervisor.pid")))
        daemon = int(read_file(os.path.join(data, "topicfs.lock")).strip())
        assert daemon != sup
        os.kill(daemon, signal.SIGKILL)
        wait_for(lambda: read_file(os.path.join(data, "topicfs.lock")).strip() not in
                 ("", str(daemon)), timeout=20, what="a new daemon")
        os.mkdir(os.path.join(mnt, "t"))
    finally:
        subprocess.run(["umount", mnt], check=False)
    wait_for(lambda: not os.path.exists(f"/proc/{sup}"), timeout=20,
             what="the supervisor to exit after umount")
    assert not os.path.ismount(mnt)
    assert not os.path.exists(os.path.join(data, "topicfs.supervisor.pid"))


def test_a_poll_waiting_on_log_at_the_kill_wakes_for_records_written_after(supervised):
    import select
    m = supervised()
    m.topic("t")
    write_file(m.p("t", "produce"), "old\n")
    fd = os.open(m.p("t", "partition-0", "log"), os.O_RDONLY)
    try:
        assert os.read(fd, 4096) == b"old\n"
        p = select.poll()
        p.register(fd, select.POLLIN)
        assert p.poll(0) == [], "nothing new to read yet"
        got = []
        waiter = threading.Thread(target=lambda: got.append(p.poll(20000)), daemon=True)
        waiter.start()
        time.sleep(0.3)  # the poll waits in the kernel, registered with the daemon
        kill_daemon(m)
        write_file(m.p("t", "produce"), "new\n")
        waiter.join(timeout=5)
        assert not waiter.is_alive(), "the poll did not wake for the new record"
        assert got and got[0] and got[0][0][1] & select.POLLIN
        assert os.read(fd, 4096) == b"new\n"
    finally:
        os.close(fd)


def test_a_partition_produce_held_open_keeps_its_partition_after_a_kill(supervised):
    m = supervised()
    m.topic("t", partitions=3)
    fd = os.open(m.p("t", "partition-2", "produce"), os.O_WRONLY)
    try:
        os.write(fd, b"one\n")
        kill_daemon(m)
        os.write(fd, b"two\n")
    finally:
        os.close(fd)
    assert records(m, "t", 2) == [b"one", b"two"]
    assert records(m, "t", 0) == [] and records(m, "t", 1) == []


def group(m, topic="t", name="g", partitions=None):
    m.topic(topic, partitions=partitions)
    os.mkdir(m.p(topic, "consumers", name))
    return m.p(topic, "consumers", name)


def test_a_consume_file_open_across_kills_goes_on_where_it_was(supervised):
    m = supervised()
    g = group(m)
    write_file(m.p("t", "produce"), "a\nb\n")
    fd = os.open(os.path.join(g, "consume"), os.O_RDONLY)
    try:
        assert os.read(fd, 4096) == b"a\nb\n"
        kill_daemon(m)
        write_file(m.p("t", "produce"), "c\n")
        assert os.read(fd, 4096) == b"c\n"
        assert os.read(fd, 4096) == b"", "caught up: EOF, as before the kill"
        kill_daemon(m)
        write_file(m.p("t", "produce"), "d\n")
        assert os.read(fd, 4096) == b"d\n"
    finally:
        os.close(fd)
    assert read_file(os.path.join(g, "lag")) == "0 4 4 0\n"


def test_a_record_a_consume_reader_had_in_part_at_the_kill_is_finished_after(supervised):
    m = supervised()
    g = group(m)
    write_file(m.p("t", "produce"), "0123456789abcdefghij\nnext\n")
    fd = os.open(os.path.join(g, "consume"), os.O_RDONLY)
    try:
        assert os.read(fd, 8) == b"01234567", "the record is this reader's, in parts"
        kill_daemon(m)
        assert os.read(fd, 8) == b"89abcdef"
        kill_daemon(m)
        assert os.read(fd, 4096) == b"ghij\n", "the rest of the record, read again"
        assert os.read(fd, 4096) == b"next\n"
    finally:
        os.close(fd)


def test_a_consume_read_resent_after_the_daemon_died_between_commit_and_reply_gets_its_records(
        supervised, monkeypatch):
    # Each daemon kills itself after committing its 3rd consume, before its reply:
    # the kernel resends the read, and the next daemon answers it with the
    # records it had committed (kept with the request), read again.
    monkeypatch.setenv("TOPICFS_TEST_DIE_AFTER_CONSUMES", "3")
    m = supervised()
    m.expect_errors(KILLED)
    g = group(m, partitions=3)
    fd = os.open(os.path.join(g, "consume"), os.O_RDONLY)
    got = b""
    try:
        for i in range(40):
            write_file(m.p("t", "produce"), "r%d\n" % i)
            got += os.read(fd, 4096)
        while (more := os.read(fd, 4096)):
            got += more
    finally:
        os.close(fd)
    lines = got.split(b"\n")[:-1]
    assert sorted(lines) == sorted(b"r%d" % i for i in range(40)), \
        "every record once: none lost, none twice"
    deaths = m.log().count("was killed by signal 9")
    assert deaths >= 5
    assert m.log().count("a read resent after the daemon died gets the") == deaths


def test_a_read_of_a_records_rest_resent_after_the_daemon_died_gets_the_same_part(
        supervised, monkeypatch):
    # Records of 50 bytes read 16 at a time: each daemon dies after its 3rd
    # read that handed something out (a commit or a part of the rest).
    monkeypatch.setenv("TOPICFS_TEST_DIE_AFTER_CONSUMES", "3")
    m = supervised()
    m.expect_errors(KILLED)
    g = group(m)
    want = b"".join(b"%02d" % i + b"-" * 47 + b"\n" for i in range(4))
    write_file(m.p("t", "produce"), want)
    fd = os.open(os.path.join(g, "consume"), os.O_RDONLY)
    got = b""
    try:
        while (more := os.read(fd, 16)):
            got += more
    finally:
        os.close(fd)
    assert got == want, "every byte once, in order"
    assert m.log().count("was killed by signal 9") >= 4


def test_consume_and_follow_readers_of_one_group_across_kills_get_every_record_once(supervised):
    m = supervised()
    g = group(m, partitions=2)
    stop = threading.Event()
    got = {"consume": [], "follow": []}

    def reader(name):
        fd = os.open(os.path.join(g, name), os.O_RDONLY)
        try:
            while not stop.is_set() or name == "consume":
                data = os.read(fd, 64)
                if not data:
                    if stop.is_set():
                        break
                    time.sleep(0.005)
                    continue
                got[name].append(data)
        finally:
            os.close(fd)

    follow = threading.Thread(target=reader, args=("follow",), daemon=True)
    follow.start()
    consumer = threading.Thread(target=reader, args=("consume",), daemon=True)
    consumer.start()
    w = TickWriter(m.p("t", "produce"))
    w.start()
    for _ in range(3):
        time.sleep(1.2)
        kill_daemon(m)
    time.sleep(0.3)
    w.stop.set()
    w.join(timeout=30)
    wait_for(lambda: read_file(os.path.join(g, "lag")).split("\n")[0].endswith(" 0") and
             read_file(os.path.join(g, "lag")).split("\n")[1].endswith(" 0"),
             timeout=20, what="the group to catch up")
    stop.set()
    # The follower's last read returns with a record; the consume reader may take
    # one first (the group hands each record to one of them): write until it does.
    for i in range(200):
        write_file(m.p("t", "produce"), "end-%d\n" % i)
        follow.join(timeout=0.1)
        if not follow.is_alive():
            break
    follow.join(timeout=20)
    consumer.join(timeout=20)
    assert not follow.is_alive() and not consumer.is_alive()
    lines = b"".join(got["consume"]).split(b"\n")[:-1] + \
        b"".join(got["follow"]).split(b"\n")[:-1]
    stored = [r for p in (0, 1) for r in records(m, "t", p)]
    assert len(stored) > 500
    assert sorted(lines) == sorted(stored), "every record once, to one of the two readers"
    assert got["consume"] and got["follow"]


def test_a_follow_reader_blocked_at_the_kill_gets_the_records_written_after(supervised):
    m = supervised()
    g = group(m)
    write_file(m.p("t", "produce"), "before\n")
    fd = os.open(os.path.join(g, "follow"), os.O_RDONLY)
    got = []
    reader = threading.Thread(target=lambda: [got.append(os.read(fd, 4096)) for _ in range(4)],
                              daemon=True)
    try:
        assert os.read(fd, 4096) == b"before\n"
        reader.start()
        for i in range(3):
            time.sleep(0.3)  # the read waits in the daemon, parked
            kill_daemon(m)
            write_file(m.p("t", "produce"), "after-%d\n" % i)
            wait_for(lambda: len(got) == i + 1, timeout=20,
                     what="the follow read blocked across the kill to return")
        write_file(m.p("t", "produce"), "last\n")
        reader.join(timeout=20)
        assert not reader.is_alive()
    finally:
        os.close(fd)
    assert got == [b"after-0\n", b"after-1\n", b"after-2\n", b"last\n"], \
        "each record once, in order, none lost"


def test_lag_and_partition_files_open_at_the_kill_read_after_it(supervised):
    m = supervised()
    g = group(m, partitions=2)
    write_file(m.p("t", "partition-1", "produce"), "x\ny\n")
    write_file(os.path.join(g, "partition-1"), "1\n")
    lag = os.open(os.path.join(g, "lag"), os.O_RDONLY)
    try:
        part = os.open(os.path.join(g, "partition-1"), os.O_RDONLY)
        try:
            assert os.pread(lag, 4096, 0) == b"0 0 0 0\n1 1 2 1\n"
            assert os.pread(part, 4096, 0) == b"1\n"
            kill_daemon(m)
            assert os.pread(lag, 4096, 8) == b"1 1 2 1\n", \
                "a read further on, first after the kill, makes the text again"
            assert os.pread(part, 4096, 0) == b"1\n"
            write_file(os.path.join(g, "partition-1"), "2\n")
            assert os.pread(part, 4096, 0) == b"2\n"
            assert os.pread(lag, 4096, 0) == b"0 0 0 0\n1 2 2 0\n"
        finally:
            os.close(part)
    finally:
        os.close(lag)


def test_a_poll_waiting_on_follow_at_the_kill_wakes_for_records_written_after(supervised):
    import select
    m = supervised()
    g = group(m)
    fd = os.open(os.path.join(g, "follow"), os.O_RDONLY | os.O_NONBLOCK)
    try:
        p = select.poll()
        p.register(fd, select.POLLIN)
        assert p.poll(0) == [], "nothing to read yet"
        got = []
        waiter = threading.Thread(target=lambda: got.append(p.poll(20000)), daemon=True)
        waiter.start()
        time.sleep(0.3)
        kill_daemon(m)
        write_file(m.p("t", "produce"), "new\n")
        waiter.join(timeout=10)
        assert not waiter.is_alive(), "the poll did not wake for the new record"
        assert got and got[0] and got[0][0][1] & select.POLLIN
        assert not got[0][0][1] & select.POLLERR
        assert os.read(fd, 4096) == b"new\n"
    finally:
        os.close(fd)


def test_without_resend_in_the_kernel_a_dead_daemon_ends_the_mount_as_unsupervised(
        supervised, monkeypatch):
    # TOPICFS_TEST_NO_RESEND=1: the supervisor acts as on a kernel before 6.9.
    monkeypatch.setenv("TOPICFS_TEST_NO_RESEND", "1")
    m = supervised()
    m.expect_errors(r"supervisor: the daemon \(pid \d+\) was killed by signal 9 \(Killed\); "
                    r"not restarted \(no resend in this kernel\)")
    assert "this kernel cannot resend the requests of a daemon that died" in m.log()
    m.topic("t")
    write_file(m.p("t", "produce"), "kept\n")
    fd = os.open(m.p("t", "produce"), os.O_WRONLY)
    try:
        os.kill(daemon_of(m), signal.SIGKILL)
        assert m.proc.wait(timeout=20) == 1, "the supervisor gives up, with status 1"
        m.proc = None
        assert "took over" not in m.log()
        assert not os.path.ismount(m.path), "it unmounted"
        with pytest.raises(OSError) as e:
            os.write(fd, b"lost\n")
        assert e.value.errno == errno.ENOTCONN, "as after an unsupervised daemon died"
    finally:
        os.close(fd)
    m.start(options="")
    assert records(m, "t") == [b"kept"], "what was stored is kept"


def test_an_unprivileged_mount_says_plainly_that_dev_fuse_is_roots_only():
    import pwd
    import shutil
    import stat
    import tempfile
    from conftest import TOPICFS
    if os.geteuid() != 0:
        pytest.skip("needs root, to run topicfs as the user nobody")
    if stat.S_IMODE(os.stat("/dev/fuse").st_mode) & 0o006 == 0o006:
        pytest.skip("/dev/fuse is open to every user here: this test is for hosts where it "
                    "is root's only (an unprivileged takeover test is not written yet)")
    nobody = pwd.getpwnam("nobody")
    top = tempfile.mkdtemp(prefix="topicfs-nobody-", dir="/var/tmp")
    try:
        os.chmod(top, 0o755)  # nobody reaches its own directories inside
        for d in ("data", "mnt"):
            os.mkdir(os.path.join(top, d), 0o700)
            os.chown(os.path.join(top, d), nobody.pw_uid, nobody.pw_gid)
        r = subprocess.run(["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}",
                            "--clear-groups", TOPICFS, "--supervise",
                            os.path.join(top, "data"), os.path.join(top, "mnt"), "-f"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 1
        assert "/dev/fuse is not open to uid %d here (mode " % nobody.pw_uid in r.stderr
        assert "cannot mount FUSE on this host, with or without --supervise" in r.stderr
        assert not os.path.ismount(os.path.join(top, "mnt"))
    finally:
        subprocess.run(["fusermount3", "-u", "-q", "-z", os.path.join(top, "mnt")],
                       check=False)
        shutil.rmtree(top, ignore_errors=True)
