"""Producing: newline framing, routing, keys, sizes, concurrency."""
import errno
import os
import random
import subprocess
import threading
import time

import pytest

from conftest import read_file, sh, write_file
from kafka import murmur2, partition_for


def records(m, topic, partition):
    """The records of a partition, read one offset file at a time."""
    base = m.p(topic, f"partition-{partition}")
    start = int(read_file(os.path.join(base, "start")))
    end = int(read_file(os.path.join(base, "end")))
    return [read_file(os.path.join(base, f"offset-{n}"), "rb") for n in range(start, end)]


# Published in Kafka's UtilsTest: murmur2(key) as Kafka computes it.
KAFKA_MURMUR2 = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}


@pytest.mark.parametrize("partitions", [7, 997])
def test_kafka_murmur2_reference_vectors(mnt, partitions):
    # Keyed records land in toPositive(murmur2(key)) % partitions, from Kafka's own
    # numbers: topicfs's routing, and the oracle the other routing tests use.
    mnt.topic("t", partitions)
    for key in KAFKA_MURMUR2:
        write_file(mnt.p("t", "keys", key.decode()), key + b"\n",
                   os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    landed = {}
    for p in range(partitions):
        for value in read_file(mnt.p("t", f"partition-{p}", "log"), "rb").splitlines():
            landed[value] = p
    assert landed == {key: (want & 0x7FFFFFFF) % partitions
                      for key, want in KAFKA_MURMUR2.items()}
    for key, want in KAFKA_MURMUR2.items():
        assert murmur2(key) == want


def test_echo_appends_one_record_per_line(mnt):
    mnt.topic("t")
    r = sh(f"echo first >> {mnt.p('t', 'produce')}; echo second >> {mnt.p('t', 'produce')}")
    assert r.returncode == 0, r.stderr
    assert read_file(mnt.p("t", "partition-0", "log")) == "first\nsecond\n"
    assert records(mnt, "t", 0) == [b"first", b"second"]


def test_truncating_redirect_also_appends(mnt):
    mnt.topic("t")
    assert sh(f"echo a > {mnt.p('t', 'produce')}; echo b > {mnt.p('t', 'produce')}").returncode == 0
    assert records(mnt, "t", 0) == [b"a", b"b"]


def test_empty_lines_are_empty_records(mnt):
    mnt.topic("t")
    write_file(mnt.p("t", "produce"), "a\n\n\nb\n")
    assert records(mnt, "t", 0) == [b"a", b"", b"", b"b"]
    assert os.stat(mnt.p("t", "partition-0", "offset-1")).st_size == 0


def test_round_robin_over_three_partitions(mnt):
    mnt.topic("t", partitions=3)
    write_file(mnt.p("t", "produce"), "r0\nr1\nr2\nr3\nr4\n")
    write_file(mnt.p("t", "produce"), "r5\n")
    assert records(mnt, "t", 0) == [b"r0", b"r3"]
    assert records(mnt, "t", 1) == [b"r1", b"r4"]
    assert records(mnt, "t", 2) == [b"r2", b"r5"]


def test_key_file_routes_like_kafka_default_partitioner(mnt):
    mnt.topic("t", partitions=7)
    rng = random.Random(7)
    keys = ["21", "foobar", "user-42", "a-little-bit-long-string"] + [
        "k%d" % rng.randrange(10**9) for _ in range(30)]
    for k in keys:
        write_file(mnt.p("t", "keys", k), f"value-of-{k}\n", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    for k in keys:
        want = partition_for(k.encode(), 7)
        assert f"value-of-{k}".encode() in records(mnt, "t", want), k
    # every record carries its key
    part = partition_for(b"foobar", 7)
    base = mnt.p("t", f"partition-{part}")
    for name in os.listdir(base):
        if name.startswith("offset-") and read_file(os.path.join(base, name)) == "value-of-foobar":
            assert os.getxattr(os.path.join(base, name), "user.topicfs.key") == b"foobar"
            break
    else:
        pytest.fail("record for key foobar not found")


def test_same_key_always_same_partition_with_shell(mnt):
    mnt.topic("t", partitions=5)
    r = sh(f"for i in $(seq 20); do echo v$i >> {mnt.p('t', 'keys', 'sticky')}; done")
    assert r.returncode == 0, r.stderr
    part = partition_for(b"sticky", 5)
    assert records(mnt, "t", part) == [f"v{i}".encode() for i in range(1, 21)]
    assert os.listdir(mnt.p("t", "keys")) == []


def test_key_separator_splits_key_and_value(mnt):
    mnt.topic("t", partitions=4)
    write_file(mnt.p("t", "config", "key.separator"), ":\n", os.O_WRONLY | os.O_TRUNC)
    write_file(mnt.p("t", "produce"), "alice:login\nbob:logout\nno separator here\n")
    p_alice = partition_for(b"alice", 4)
    assert b"login" in records(mnt, "t", p_alice)
    p_bob = partition_for(b"bob", 4)
    assert b"logout" in records(mnt, "t", p_bob)
    found = [p for p in range(4) if b"no separator here" in records(mnt, "t", p)]
    assert len(found) == 1
    off = records(mnt, "t", found[0]).index(b"no separator here")
    with pytest.raises(OSError) as e:
        os.getxattr(mnt.p("t", f"partition-{found[0]}", f"offset-{off}"), "user.topicfs.key")
    assert e.value.errno == errno.ENODATA


def test_tab_key_separator(mnt):
    mnt.topic("t", partitions=3)
    assert sh(f"printf '\\t' > {mnt.p('t', 'config', 'key.separator')}").returncode == 0
    assert read_file(mnt.p("t", "config", "key.separator")) == "\t\n"
    write_file(mnt.p("t", "produce"), "k1\tv1\n")
    assert records(mnt, "t", partition_for(b"k1", 3)) == [b"v1"]


def test_binary_record_with_nul_bytes_round_trips_exactly(mnt):
    mnt.topic("t")
    payload = bytes(range(256)).replace(b"\n", b"") + b"\x00\x00end"
    write_file(mnt.p("t", "produce"), payload + b"\n")
    assert read_file(mnt.p("t", "partition-0", "offset-0"), "rb") == payload
    assert os.stat(mnt.p("t", "partition-0", "offset-0")).st_size == len(payload)
    assert read_file(mnt.p("t", "partition-0", "log"), "rb") == payload + b"\n"


def test_partial_line_is_held_until_close(mnt):
    mnt.topic("t")
    fd = os.open(mnt.p("t", "produce"), os.O_WRONLY | os.O_APPEND)
    os.write(fd, b"complete\npart")
    assert records(mnt, "t", 0) == [b"complete"]
    os.write(fd, b"ial")
    assert read_file(mnt.p("t", "partition-0", "end")) == "1\n"
    os.close(fd)
    assert records(mnt, "t", 0) == [b"complete", b"partial"]


def test_partial_line_is_a_record_as_soon_as_close_returns(mount_factory):
    # close() sends no FLUSH (noflush): the record is made on RELEASE, which
    # the daemon must handle before anything read after it. sync=always makes
    # that commit slow (an fdatasync), so a read that overtook it would see
    # the old end; the reader is another open file, checked right after close.
    m = mount_factory("sync=always")
    m.topic("t")
    end = os.open(m.p("t", "partition-0", "end"), os.O_RDONLY)
    try:
        for i in range(60):
            fd = os.open(m.p("t", "produce"), os.O_WRONLY | os.O_APPEND)
            os.write(fd, b"p%d" % i)
            os.close(fd)
            assert os.pread(end, 64, 0) == b"%d\n" % (i + 1), "after close #%d" % i
    finally:
        os.close(end)
    assert records(m, "t", 0) == [b"p%d" % i for i in range(60)]


def test_partial_line_waits_for_the_last_close_of_the_open_file(mnt):
    # A dup'ed (or inherited) descriptor shares the open file: closing one copy
    # does not end the line, closing the last one does.
    mnt.topic("t")
    fd = os.open(mnt.p("t", "produce"), os.O_WRONLY)
    os.write(fd, b"hel")
    fd2 = os.dup(fd)
    os.close(fd)
    assert read_file(mnt.p("t", "partition-0", "end")) == "0\n"
    os.write(fd2, b"lo")
    os.close(fd2)
    assert records(mnt, "t", 0) == [b"hello"]


def test_partial_line_completed_by_next_write(mnt):
    mnt.topic("t")
    fd = os.open(mnt.p("t", "produce"), os.O_WRONLY)
    os.write(fd, b"hel")
    os.write(fd, b"lo\nwor")
    assert records(mnt, "t", 0) == [b"hello"]
    os.write(fd, b"ld\n")
    os.close(fd)
    assert records(mnt, "t", 0) == [b"hello", b"world"]


def test_printf_without_newline_becomes_record(mnt):
    mnt.topic("t")
    assert sh(f"printf 'no newline' >> {mnt.p('t', 'produce')}").returncode == 0
    assert records(mnt, "t", 0) == [b"no newline"]


def test_record_over_max_message_bytes_is_emsgsize_and_stores_nothing(mnt):
    mnt.topic("t")
    write_file(mnt.p("t", "config", "max.message.bytes"), "10\n", os.O_WRONLY | os.O_TRUNC)
    write_file(mnt.p("t", "produce"), "x" * 10 + "\n")  # exactly the limit: fine
    with pytest.raises(OSError) as e:
        write_file(mnt.p("t", "produce"), "ok\n" + "y" * 11 + "\nok2\n")
    assert e.value.errno == errno.EMSGSIZE
    assert records(mnt, "t", 0) == [b"x" * 10]
    assert "EMSGSIZE" in mnt.log()


def test_oversized_partial_line_fails_and_is_dropped(mnt):
    mnt.topic("t")
    write_file(mnt.p("t", "config", "max.message.bytes"), "8\n", os.O_WRONLY | os.O_TRUNC)
    fd = os.open(mnt.p("t", "produce"), os.O_WRONLY)
    os.write(fd, b"12345")
    with pytest.raises(OSError) as e:
        os.write(fd, b"6789abc")
    assert e.value.errno == errno.EMSGSIZE
    with pytest.raises(OSError) as e:
        os.write(fd, b"def\n")  # the rest of the oversized line
    assert e.value.errno == errno.EMSGSIZE
    os.write(fd, b"fine\n")
    os.close(fd)
    assert records(mnt, "t", 0) == [b"fine"]


def test_zero_byte_write_stores_nothing(mnt):
    mnt.topic("t")
    fd = os.open(mnt.p("t", "produce"), os.O_WRONLY)
    assert os.write(fd, b"") == 0
    os.close(fd)
    assert read_file(mnt.p("t", "partition-0", "end")) == "0\n"


def test_big_write_is_one_batch_of_many_records(mnt):
    mnt.topic("t", partitions=2)
    lines = [f"line-{i:06d}" for i in range(50000)]
    write_file(mnt.p("t", "produce"), "\n".join(lines) + "\n")
    a = read_file(mnt.p("t", "partition-0", "log")).splitlines()
    b = read_file(mnt.p("t", "partition-1", "log")).splitlines()
    assert a == lines[0::2] and b == lines[1::2]


def test_tee_dd_and_cp_produce(mnt, tmp_path):
    mnt.topic("t")
    src = tmp_path / "src.txt"
    src.write_text("c1\nc2\n")
    prod = mnt.p("t", "produce")
    r = sh(f"echo tee1 | tee -a {prod} >/dev/null && "
           f"printf 'dd1\\ndd2\\n' | dd of={prod} oflag=append conv=notrunc status=none && "
           f"cp {src} {prod}")
    assert r.returncode == 0, r.stderr
    assert records(mnt, "t", 0) == [b"tee1", b"dd1", b"dd2", b"c1", b"c2"]


def test_concurrent_writers_never_tear_or_reorder(mnt):
    mnt.topic("t")
    writers, per_writer = 4, 2000

    def produce(w):
        fd = os.open(mnt.p("t", "produce"), os.O_WRONLY)
        for i in range(per_writer):
            os.write(fd, f"w{w}-{i:05d}-{'x' * (i % 50)}\n".encode())
        os.close(fd)

    threads = [threading.Thread(target=produce, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = read_file(mnt.p("t", "partition-0", "log")).splitlines()
    assert len(lines) == writers * per_writer
    for w in range(writers):
        mine = [l for l in lines if l.startswith(f"w{w}-")]
        assert mine == [f"w{w}-{i:05d}-{'x' * (i % 50)}" for i in range(per_writer)]


def test_concurrent_shell_writers_into_three_partitions(mnt):
    mnt.topic("t", partitions=3)
    procs = [subprocess.Popen(["bash", "-c",
                               f"for i in $(seq 500); do echo p{w}-$i; done > {mnt.p('t', 'produce')}"])
             for w in range(4)]
    for p in procs:
        assert p.wait() == 0
    total = []
    for part in range(3):
        total += read_file(mnt.p("t", f"partition-{part}", "log")).splitlines()
    assert sorted(total) == sorted(f"p{w}-{i}" for w in range(4) for i in range(1, 501))


def test_write_to_deleted_topic_is_enoent(mnt):
    mnt.topic("t")
    fd = os.open(mnt.p("t", "produce"), os.O_WRONLY)
    os.rmdir(mnt.p("t"))
    with pytest.raises(OSError) as e:
        os.write(fd, b"late\n")
    assert e.value.errno == errno.ENOENT
    os.close(fd)


def daemon_cpu_seconds(m):
    fields = open(f"/proc/{m.proc.pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.parametrize("options", ["", "spin=0", "spin=10000"])
def test_back_to_back_appends_then_the_daemon_sleeps(mount_factory, options):
    # While appends come back to back the daemon polls for the next request
    # (spin=); once they stop it must sleep, not go on polling.
    m = mount_factory(options)
    m.topic("t")
    path = m.p("t", "produce")
    for i in range(3000):
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        os.write(fd, b"r%d\n" % i)
        os.close(fd)
    assert read_file(m.p("t", "partition-0", "end")) == "3000\n"
    time.sleep(0.2)
    before = daemon_cpu_seconds(m)
    time.sleep(1.0)
    idle = daemon_cpu_seconds(m) - before
    assert idle < 0.05, f"the idle daemon used {idle:.2f} s of CPU in 1 s"
