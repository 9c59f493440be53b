"""Many writers and readers at once, while retention deletes and topics go away:
no torn record, no crash, no hang, no deadlock."""
import errno
import os
import re
import subprocess
import threading
import time

from conftest import read_file, wait_for, write_file

LINE = re.compile(rb"w(\d+)-(\d+)-(x*)")


def rec(w, i):
    return b"w%d-%d-%s" % (w, i, b"x" * (i % 37))


def write_records(path, w, per, flags=os.O_WRONLY):
    """Writer w's records 0..per-1, one write() each, through one open file."""
    fd = os.open(path, flags)
    try:
        for i in range(per):
            os.write(fd, rec(w, i) + b"\n")
    finally:
        os.close(fd)


def check_record(line):
    """Returns (writer, seq) of a well-formed record; fails on a torn one."""
    m = LINE.fullmatch(line)
    assert m, f"torn record {line[:80]!r}"
    w, i = int(m.group(1)), int(m.group(2))
    assert len(m.group(3)) == i % 37, f"torn record {line[:80]!r}"
    return w, i


def join_all(threads, timeout=60):
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.1, deadline - time.monotonic()))
        assert not t.is_alive(), "a thread hung: deadlock or lost wake-up"


class Worker(threading.Thread):
    """A thread that records its exception for the test to re-raise."""

    def __init__(self, fn, *args):
        super().__init__(daemon=True)
        self.fn, self.args, self.exc = fn, args, None

    def run(self):
        try:
            self.fn(*self.args)
        except BaseException as e:  # noqa: B902 - reported by the test
            self.exc = e


def run_workers(workers, timeout=60):
    for w in workers:
        w.start()
    join_all(workers, timeout)
    for w in workers:
        if w.exc:
            raise w.exc


def test_eight_writers_on_one_topic_keep_order_and_never_tear(mnt):
    mnt.topic("t", partitions=3)
    per = 1500

    def produce(w):
        fd = os.open(mnt.p("t", "produce"), os.O_WRONLY)
        try:
            i = 0
            while i < per:
                n = min(1 + i % 5, per - i)  # 1-5 records per write()
                os.write(fd, b"".join(rec(w, j) + b"\n" for j in range(i, i + n)))
                i += n
        finally:
            os.close(fd)

    run_workers([Worker(produce, w) for w in range(8)])
    seen = {}
    for p in range(3):
        log = read_file(mnt.p("t", f"partition-{p}", "log"), "rb")
        last = {}
        for line in log.split(b"\n")[:-1]:
            w, i = check_record(line)
            assert i > last.get(w, -1), f"w{w} out of order in partition-{p}"
            last[w] = i
            seen.setdefault(w, []).append(i)
    for w in range(8):
        assert sorted(seen[w]) == list(range(per)), f"w{w}: lost or duplicated records"


def test_writers_on_many_topics_at_once(mnt):
    topics = [f"topic-{k}" for k in range(12)]
    for t in topics:
        mnt.topic(t, partitions=1 + len(t) % 3)
    per = 300

    def produce(t, w):
        write_records(mnt.p(t, "produce"), w, per)

    def keyed(t, w):
        write_records(mnt.p(t, "keys", f"k{w}"), w, per, os.O_WRONLY | os.O_CREAT)

    workers = [Worker(produce, t, 0) for t in topics] + [Worker(keyed, t, 1) for t in topics]
    run_workers(workers)
    for t in topics:
        parts = int(read_file(mnt.p(t, "config", "partitions")))
        seen = {0: [], 1: []}
        for p in range(parts):
            for line in read_file(mnt.p(t, f"partition-{p}", "log"), "rb").split(b"\n")[:-1]:
                w, i = check_record(line)
                seen[w].append(i)
        assert sorted(seen[0]) == list(range(per)), t
        assert seen[1] == list(range(per)), t  # one key: one partition, in order


def test_reads_of_many_small_batches_while_retention_deletes(mount_factory):
    # One write() per record makes small batches (a fold puts the writes of one
    # millisecond in one); a read gathers thousands of them across several store
    # views (logview.c, gathered_small) while retention
    # removes the oldest: every record read is whole, none comes twice or out of
    # order, and a read that starts at the retained start gets them contiguous.
    m = mount_factory("retention.check.interval.ms=20")
    m.topic("t")
    write_file(m.p("t", "config", "retention.bytes"), "150000\n", os.O_WRONLY | os.O_TRUNC)
    stop = threading.Event()
    log = m.p("t", "partition-0", "log")

    def produce():
        write_records(m.p("t", "produce"), 0, 15000)

    def read_all():
        passes = 0
        while not stop.is_set() or passes < 3:
            with open(log, "rb", buffering=0) as f:
                first = f.read(1 << 20)
                data = first + f.read()
            seqs = [check_record(line)[1] for line in data.split(b"\n")[:-1]]
            assert all(b > a for a, b in zip(seqs, seqs[1:])), "records out of order or twice"
            firsts = [check_record(line)[1] for line in first.split(b"\n")[:-1]]
            assert firsts == list(range(firsts[0], firsts[0] + len(firsts))) if firsts else True, \
                "a gap inside one read"
            passes += 1

    readers = [Worker(read_all) for _ in range(2)]
    for r in readers:
        r.start()
    try:
        run_workers([Worker(produce)])
        wait_for(lambda: int(read_file(m.p("t", "partition-0", "start"))) > 0, what="retention")
    finally:
        stop.set()
        join_all(readers)
    for r in readers:
        if r.exc:
            raise r.exc
    # The log now holds thousands of small batches: one read returns them all.
    with open(log, "rb", buffering=0) as f:
        first = f.read(1 << 20)
    end = int(read_file(m.p("t", "partition-0", "end")))
    start = int(read_file(m.p("t", "partition-0", "start")))
    assert end - start > 1500, "retention kept too few records to need gathering"
    assert [check_record(line)[1] for line in first.split(b"\n")[:-1]] == list(range(start, end))


def test_readers_while_retention_deletes(mount_factory):
    m = mount_factory("retention.check.interval.ms=50")
    m.topic("t", partitions=2)
    write_file(m.p("t", "config", "retention.bytes"), "4096\n", os.O_WRONLY | os.O_TRUNC)
    stop = threading.Event()
    per = 4000

    def produce(w):
        write_records(m.p("t", "produce"), w, per)

    def cat_log(p):
        while not stop.is_set():
            r = subprocess.run(["cat", m.p("t", f"partition-{p}", "log")], capture_output=True,
                               timeout=30)
            assert r.returncode == 0, r.stderr
            for line in r.stdout.split(b"\n")[:-1]:
                check_record(line)

    def slow_cat(p):
        # small reads stretch one pass over the log across retention runs
        while not stop.is_set():
            with open(m.p("t", f"partition-{p}", "log"), "rb", buffering=0) as f:
                data = b""
                while True:
                    chunk = f.read(256)
                    if not chunk:
                        break
                    data += chunk
                    time.sleep(0.002)
            for line in data.split(b"\n")[:-1]:
                check_record(line)

    def read_offsets(p):
        base = m.p("t", f"partition-{p}")
        while not stop.is_set():
            names = os.listdir(base)  # retention may remove entries meanwhile
            assert {"log", "start", "end"} <= set(names)
            start, end = int(read_file(os.path.join(base, "start"))), \
                int(read_file(os.path.join(base, "end")))
            assert start <= end
            for n in range(max(start - 2, 0), min(end, start + 20)):
                try:
                    check_record(read_file(os.path.join(base, f"offset-{n}"), "rb"))
                except FileNotFoundError:
                    assert n < int(read_file(os.path.join(base, "start")))  # deleted meanwhile

    tails = [subprocess.Popen(["tail", flag, "-s", "0.05", "-n", "+1",
                               m.p("t", f"partition-{p}", "log")],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for p, flag in ((0, "-f"), (1, "-F"))]
    readers = [Worker(f, p) for p in (0, 1) for f in (cat_log, slow_cat, read_offsets)]
    for r in readers:
        r.start()
    try:
        run_workers([Worker(produce, w) for w in range(4)])
        wait_for(lambda: all(int(read_file(m.p("t", f"partition-{p}", "start"))) > 0
                             for p in (0, 1)), what="retention")
        time.sleep(0.2)  # readers keep reading while retention finishes its passes
    finally:
        stop.set()
        join_all(readers)
        outs = []
        for t in tails:
            t.terminate()
            out, err = t.communicate(timeout=20)
            outs.append((out, err))
    for r in readers:
        if r.exc:
            raise r.exc
    for out, err in outs:
        assert b"truncated" not in err and b"replaced" not in err, err
        lines = out.split(b"\n")
        lines = lines[:-1] if out.endswith(b"\n") else lines[:-1]  # last may be mid-read
        last = {}
        for line in lines:
            w, i = check_record(line)
            assert i > last.get(w, -1), "tail repeated or reordered a record"
            last[w] = i
    # the newest records are all there
    for p in (0, 1):
        log = read_file(m.p("t", f"partition-{p}", "log"), "rb").split(b"\n")[:-1]
        assert log and all(check_record(l) for l in log)
        assert len(b"\n".join(log)) + 1 <= 4096
    assert m.proc.poll() is None


def test_readers_and_writers_while_rmdir_removes_the_topic(mount_factory):
    m = mount_factory("retention.check.interval.ms=50")
    for rnd in range(5):
        m.topic("t", partitions=2)
        write_file(m.p("t", "produce"), b"".join(rec(9, i) + b"\n" for i in range(2000)))
        go = threading.Event()

        def produce(w):
            try:
                fd = os.open(m.p("t", "produce"), os.O_WRONLY)
            except FileNotFoundError:
                return
            try:
                for i in range(100000):
                    os.write(fd, rec(w, i) + b"\n")
                    if i == 50:
                        go.set()
            except OSError as e:
                assert e.errno == errno.ENOENT, e  # the topic is gone
            finally:
                try:
                    os.close(fd)
                except OSError as e:
                    assert e.errno == errno.ENOENT, e

        def read_log(p):
            try:
                f = open(m.p("t", f"partition-{p}", "log"), "rb")
            except FileNotFoundError:
                return
            with f:
                try:
                    while True:
                        chunk = f.read(4096)
                        if not chunk:
                            break
                        for line in chunk.split(b"\n")[1:-1]:  # edges may be mid-record
                            check_record(line)
                except OSError as e:
                    assert e.errno == errno.ENOENT, e

        def list_dirs():
            for _ in range(200):
                try:
                    for name in os.listdir(m.p("t")):
                        os.stat(m.p("t", name))
                    os.listdir(m.p("t", "partition-0"))
                except FileNotFoundError:
                    return

        ws = [Worker(produce, w) for w in range(3)]
        rs = [Worker(read_log, p) for p in (0, 1)] + [Worker(list_dirs)]
        for w in ws + rs:
            w.start()
        assert go.wait(20), "writers never got going"
        os.rmdir(m.p("t"))
        for w in ws + rs:
            w.join(60)
            assert not w.is_alive(), "a thread hung after rmdir"
            if w.exc:
                raise w.exc
        assert os.listdir(m.path) == []
        assert m.proc.poll() is None, "daemon died"
    # the daemon still answers, and unmounts cleanly (fixture checks exit 0)
    m.topic("after")
    write_file(m.p("after", "produce"), "ok\n")
    assert read_file(m.p("after", "partition-0", "log")) == "ok\n"


def test_config_writes_and_partition_growth_while_producing(mnt):
    mnt.topic("t")
    stop = threading.Event()
    per = 3000

    def produce(w):
        write_records(mnt.p("t", "produce"), w, per)

    def configure():
        n = 1
        while not stop.is_set() and n < 16:
            n += 1
            write_file(mnt.p("t", "config", "partitions"), f"{n}\n", os.O_WRONLY | os.O_TRUNC)
            write_file(mnt.p("t", "config", "retention.ms"), f"{600000 + n}\n",
                       os.O_WRONLY | os.O_TRUNC)
            time.sleep(0.01)

    c = Worker(configure)
    c.start()
    try:
        run_workers([Worker(produce, w) for w in range(4)])
    finally:
        stop.set()
        join_all([c])
    if c.exc:
        raise c.exc
    parts = int(read_file(mnt.p("t", "config", "partitions")))
    seen = {}
    for p in range(parts):
        last = {}
        for line in read_file(mnt.p("t", f"partition-{p}", "log"), "rb").split(b"\n")[:-1]:
            w, i = check_record(line)
            assert i > last.get(w, -1)
            last[w] = i
            seen.setdefault(w, []).append(i)
    for w in range(4):
        assert sorted(seen[w]) == list(range(per))


def test_log_reader_mid_record_never_gets_a_torn_line(mount_factory):
    m = mount_factory("retention.check.interval.ms=50")
    m.topic("t")
    recs = [b"rec-%015d" % i for i in range(100)]  # 20 B with the newline
    write_file(m.p("t", "produce"), b"".join(r + b"\n" for r in recs))
    with open(m.p("t", "partition-0", "log"), "rb", buffering=0) as f:
        first = f.read(10)  # a slow reader, in the middle of record 0
        write_file(m.p("t", "config", "retention.bytes"), "200\n", os.O_WRONLY | os.O_TRUNC)
        wait_for(lambda: int(read_file(m.p("t", "partition-0", "start"))) >= 90,
                 what="retention")
        rest = f.read()
    lines = (first + rest).split(b"\n")
    assert lines[-1] == b""
    assert b"\0" not in first + rest, "bytes never written (NUL hole)"
    torn = [l for l in lines[:-1] if l not in recs]
    assert not torn, f"torn lines: {torn}"


def test_log_reader_mid_long_record_gets_its_rest_after_retention(mount_factory):
    m = mount_factory("retention.check.interval.ms=50")
    m.topic("t")
    recs = [b"%06d-" % i + b"L" * 99992 for i in range(8)]  # 100 000 B with the newline
    fd = os.open(m.p("t", "produce"), os.O_WRONLY)
    try:
        for r in recs:  # a batch each
            os.write(fd, r + b"\n")
    finally:
        os.close(fd)
    with open(m.p("t", "partition-0", "log"), "rb", buffering=0) as f:
        first = f.read(100000 + 4096)  # stops 4 KiB into record 1
        write_file(m.p("t", "config", "retention.bytes"), "250000\n", os.O_WRONLY | os.O_TRUNC)
        wait_for(lambda: int(read_file(m.p("t", "partition-0", "start"))) >= 6,
                 what="retention")
        rest = f.read()
    assert (first + rest).split(b"\n") == [recs[0], recs[1], recs[6], recs[7], b""]
