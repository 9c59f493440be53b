"""Records of any format (config/framing=writes), and partition-<N>/produce."""
import errno
import os
import random
import stat

import pytest

from conftest import read_file, sh, write_file
from kafka import partition_for

# The longest write() taken whole as one record: 1 MiB less a page (the
# kernel cuts a write() into requests of at most 256 pages of its buffer).
WRITE_RECORD_MAX = 1024 * 1024 - os.sysconf("SC_PAGESIZE")


def setting(m, topic, name, value):
    write_file(m.p(topic, "config", name), value, os.O_WRONLY | os.O_TRUNC)


def records(m, topic, partition):
    base = m.p(topic, f"partition-{partition}")
    start = int(read_file(os.path.join(base, "start")))
    end = int(read_file(os.path.join(base, "end")))
    return [read_file(os.path.join(base, f"offset-{n}"), "rb") for n in range(start, end)]


def ends(m, topic, partitions):
    return [int(read_file(m.p(topic, f"partition-{p}", "end"))) for p in range(partitions)]


def errno_of(fn, *args):
    with pytest.raises(OSError) as e:
        fn(*args)
    return e.value.errno


def writes_topic(m, name="t", partitions=None):
    m.topic(name, partitions)
    setting(m, name, "framing", "writes\n")
    return m.p(name, "produce")


def test_framing_is_lines_by_default_and_takes_writes(mnt):
    mnt.topic("t")
    assert read_file(mnt.p("t", "config", "framing")) == "lines\n"
    setting(mnt, "t", "framing", "writes\n")
    assert read_file(mnt.p("t", "config", "framing")) == "writes\n"
    assert sh(f"echo lines > {mnt.p('t', 'config', 'framing')}").returncode == 0
    assert read_file(mnt.p("t", "config", "framing")) == "lines\n"


@pytest.mark.parametrize("value", ["line", "WRITES", "\n", "writes lines", "writes\n\n",
                                   "write", "lines\x00", "bytes"])
def test_bad_framing_values_are_einval_and_change_nothing(mnt, value):
    mnt.topic("t")
    setting(mnt, "t", "framing", "writes")
    assert errno_of(setting, mnt, "t", "framing", value) == errno.EINVAL
    assert read_file(mnt.p("t", "config", "framing")) == "writes\n"
    assert "rejected (EINVAL)" in mnt.log()


def test_binary_records_with_nul_and_newline_round_trip_exactly(mnt):
    prod = writes_topic(mnt)
    rng = random.Random(17)
    values = [b"\n", b"\x00", b"a\nb\n\nc", b"\x00\n\x00", bytes(range(256)),
              bytes(rng.randrange(256) for _ in range(70000)), b"no newline", b"ends\n"]
    fd = os.open(prod, os.O_WRONLY | os.O_APPEND)
    for v in values:
        assert os.write(fd, v) == len(v)
    os.close(fd)
    assert records(mnt, "t", 0) == values
    for n, v in enumerate(values):
        assert os.stat(mnt.p("t", "partition-0", f"offset-{n}")).st_size == len(v)
    # log still joins the records with '\n': read them one by one through offset-<n>
    assert read_file(mnt.p("t", "partition-0", "log"), "rb") == b"".join(v + b"\n" for v in values)


def test_cp_of_a_300_kb_binary_file_is_one_record(mnt, tmp_path):
    prod = writes_topic(mnt)
    rng = random.Random(300)
    data = bytes(rng.randrange(256) for _ in range(300_000))
    assert data.count(b"\n") > 1000 and b"\x00" in data
    src = tmp_path / "blob.bin"
    src.write_bytes(data)
    r = sh(f"cp {src} {prod}")
    assert r.returncode == 0, r.stderr
    assert records(mnt, "t", 0) == [data]


def test_cp_of_a_file_up_to_the_limit_is_one_record_and_bigger_fails_whole(mnt, tmp_path):
    prod = writes_topic(mnt)
    fits = tmp_path / "fits.bin"
    fits.write_bytes(os.urandom(WRITE_RECORD_MAX))
    assert sh(f"cp {fits} {prod}").returncode == 0
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(3 * 1024 * 1024))
    r = sh(f"cp {big} {prod}")
    assert r.returncode != 0 and "Message too long" in r.stderr
    assert records(mnt, "t", 0) == [fits.read_bytes()]


def test_a_write_over_max_message_bytes_is_emsgsize_and_stores_nothing(mnt):
    prod = writes_topic(mnt)
    setting(mnt, "t", "max.message.bytes", "100")
    fd = os.open(prod, os.O_WRONLY)
    assert os.write(fd, b"\n" * 100) == 100  # exactly the limit: fine
    assert errno_of(os.write, fd, b"x" * 101) == errno.EMSGSIZE
    os.close(fd)
    assert records(mnt, "t", 0) == [b"\n" * 100]
    assert "EMSGSIZE" in mnt.log()


@pytest.mark.parametrize("size", [WRITE_RECORD_MAX + 1, 1024 * 1024, 1024 * 1024 + 1,
                                  5 * 1024 * 1024])
def test_a_write_over_what_one_fuse_write_carries_is_emsgsize_and_stores_nothing(mnt, size):
    # The kernel cuts it into requests; none of them may become a record.
    prod = writes_topic(mnt)
    setting(mnt, "t", "max.message.bytes", str(64 * 1024 * 1024))
    fd = os.open(prod, os.O_WRONLY)
    assert errno_of(os.write, fd, b"y" * size) == errno.EMSGSIZE
    # the longest that always arrives whole, from a buffer at any page offset
    for shift in (0, 1, 2000, 4095):
        buf = memoryview(bytearray(WRITE_RECORD_MAX + shift))[shift:]
        assert os.write(fd, buf) == WRITE_RECORD_MAX
    os.close(fd)
    assert [len(r) for r in records(mnt, "t", 0)] == [WRITE_RECORD_MAX] * 4


def test_an_empty_write_makes_no_record(mnt):
    prod = writes_topic(mnt)
    fd = os.open(prod, os.O_WRONLY)
    assert os.write(fd, b"") == 0
    os.write(fd, b"one")
    assert os.write(fd, b"") == 0
    os.close(fd)
    assert sh(f"printf '' >> {prod}").returncode == 0
    assert records(mnt, "t", 0) == [b"one"]


def test_framing_survives_a_remount(mount_factory):
    m = mount_factory()
    writes_topic(m)
    m.restart()
    assert read_file(m.p("t", "config", "framing")) == "writes\n"
    write_file(m.p("t", "produce"), b"a\nb\n")
    assert records(m, "t", 0) == [b"a\nb\n"]


def test_mount_option_sets_the_framing_of_new_topics(mount_factory):
    m = mount_factory("framing=writes")
    m.topic("t")
    assert read_file(m.p("t", "config", "framing")) == "writes\n"


def test_key_file_with_writes_makes_each_write_one_keyed_record(mnt):
    writes_topic(mnt, partitions=5)
    setting(mnt, "t", "key.separator", ":")  # does not apply to writes
    write_file(mnt.p("t", "keys", "user-7"), b"x:1\ny:2\n", os.O_WRONLY | os.O_CREAT)
    write_file(mnt.p("t", "produce"), b"k:v\n")
    part = partition_for(b"user-7", 5)
    assert records(mnt, "t", part)[0] == b"x:1\ny:2\n"
    off0 = mnt.p("t", f"partition-{part}", "offset-0")
    assert os.getxattr(off0, "user.topicfs.key") == b"user-7"
    # the separator makes no key with writes: round robin, whole value
    assert sum(ends(mnt, "t", 5)) == 2
    found = [p for p in range(5) if b"k:v\n" in records(mnt, "t", p)]
    assert len(found) == 1


def test_a_file_keeps_the_framing_it_was_opened_with(mnt):
    mnt.topic("t")
    fd = os.open(mnt.p("t", "produce"), os.O_WRONLY)
    setting(mnt, "t", "framing", "writes")
    os.write(fd, b"l1\nl2\n")
    os.close(fd)
    write_file(mnt.p("t", "produce"), b"w1\nw2\n")
    assert records(mnt, "t", 0) == [b"l1", b"l2", b"w1\nw2\n"]


def test_partition_produce_fills_that_partition_only_in_order(mnt):
    mnt.topic("t", partitions=4)
    lines = [f"p2-{i}" for i in range(500)]
    write_file(mnt.p("t", "partition-2", "produce"), "".join(l + "\n" for l in lines))
    r = sh(f"for i in 1 2 3; do echo sh$i >> {mnt.p('t', 'partition-2', 'produce')}; done")
    assert r.returncode == 0, r.stderr
    assert ends(mnt, "t", 4) == [0, 0, 503, 0]
    assert records(mnt, "t", 2) == [l.encode() for l in lines] + [b"sh1", b"sh2", b"sh3"]
    # the topic's own produce still goes round robin from where it was
    write_file(mnt.p("t", "produce"), b"a\nb\n")
    assert ends(mnt, "t", 4) == [1, 1, 503, 0]


def test_partition_produce_stores_the_key_from_the_line_but_keeps_the_partition(mnt):
    mnt.topic("t", partitions=3)
    setting(mnt, "t", "key.separator", ":")
    keys = [b"k%d" % i for i in range(12)]
    assert {partition_for(k, 3) for k in keys} == {0, 1, 2}
    write_file(mnt.p("t", "partition-1", "produce"), b"".join(k + b":v\n" for k in keys))
    assert ends(mnt, "t", 3) == [0, 12, 0]
    base = mnt.p("t", "partition-1")
    assert [os.getxattr(os.path.join(base, f"offset-{i}"), "user.topicfs.key")
            for i in range(12)] == keys
    assert records(mnt, "t", 1) == [b"v"] * 12


def test_partition_produce_takes_the_writes_framing(mnt):
    writes_topic(mnt, partitions=3)
    fd = os.open(mnt.p("t", "partition-0", "produce"), os.O_WRONLY | os.O_APPEND)
    os.write(fd, b"\x00\nrec\n")
    os.write(fd, b"two")
    os.close(fd)
    assert ends(mnt, "t", 3) == [2, 0, 0]
    assert records(mnt, "t", 0) == [b"\x00\nrec\n", b"two"]


def test_partition_produce_is_write_only_like_produce(mnt):
    mnt.topic("t", partitions=2)
    path = mnt.p("t", "partition-1", "produce")
    st = os.stat(path)
    assert stat.S_ISREG(st.st_mode)
    assert st.st_mode & 0o777 == os.stat(mnt.p("t", "produce")).st_mode & 0o777
    assert st.st_blksize == os.stat(mnt.p("t", "produce")).st_blksize == 1024 * 1024
    assert errno_of(os.open, path, os.O_RDONLY) == errno.EACCES
    assert "produce" in os.listdir(mnt.p("t", "partition-1"))
    assert sh(f"echo x > {path}").returncode == 0  # '>' appends, as on produce
    assert ends(mnt, "t", 2) == [0, 1]


def test_partition_produce_of_a_partition_grown_later(mnt):
    mnt.topic("t", partitions=1)
    assert not os.path.exists(mnt.p("t", "partition-3", "produce"))
    setting(mnt, "t", "partitions", "4")
    write_file(mnt.p("t", "partition-3", "produce"), b"late\n")
    assert ends(mnt, "t", 4) == [0, 0, 0, 1]


from test_permissions import as_user, shared, user  # noqa: E402,F401 (fixtures)


def test_partition_produce_takes_the_permissions_of_the_topics_produce(shared, user):
    os.mkdir(shared.p("t"), 0o755)
    setting(shared, "t", "partitions", "2")
    path = shared.p("t", "partition-1", "produce")
    r = as_user(user, f"echo no >> {path}")
    assert r.returncode != 0 and "Permission denied" in r.stderr
    os.chmod(shared.p("t"), 0o733)
    r = as_user(user, f"echo yes >> {path}")
    assert r.returncode == 0, r.stderr
    assert ends(shared, "t", 2) == [0, 1]
