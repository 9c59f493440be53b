"""Bad input of every shape gets its errno, stores nothing, and leaves the daemon
running. (Cases already in test_topics/test_errors/test_produce/test_consume are
not repeated here.)"""
import ctypes
import errno
import os
import random
import subprocess

import pytest

from conftest import read_file, write_file


def ends(m, topic):
    parts = int(read_file(m.p(topic, "config", "partitions")))
    return [int(read_file(m.p(topic, f"partition-{p}", "end"))) for p in range(parts)]


def errno_of(fn, *args):
    try:
        fn(*args)
    except OSError as e:
        return e.errno
    return 0


def alive(m):
    """The daemon still runs and still does its job: a record makes the round trip
    through a topic of its own, which is then removed again."""
    assert m.proc.poll() is None, f"daemon died:\n{m.log()}"
    probe = m.p("alive-probe")
    os.mkdir(probe)
    try:
        write_file(os.path.join(probe, "produce"), b"still here\n")
        assert read_file(os.path.join(probe, "partition-0", "offset-0"), "rb") == b"still here"
    finally:
        os.rmdir(probe)
    assert "alive-probe" not in os.listdir(m.path)


# --- names ---

WEIRD = ["\x01", "a\x7fb", "t\u00ff", "\u2603", "a\tb", "new\nline", " lead", "trail ", "*",
         "a" * 250, "a" * 255, "-", "partition-0", "offset-0"]


@pytest.mark.parametrize("name", ["a" * 250, "a" * 255, "\x01", "a\x7fb", "\u00ff", "new\nline", "back\\slash", "quote'", "a+b", "a=b", "a,b"])
def test_bad_topic_names_are_einval_and_create_nothing(mnt, name):
    assert errno_of(os.mkdir, mnt.p(name)) == errno.EINVAL
    assert os.listdir(mnt.path) == []
    alive(mnt)


def test_raw_byte_names_are_einval(mnt):
    for raw in (b"\xff", b"a\x80b", b"\xc3\xa9t\xc3\xa9"):
        assert errno_of(os.mkdir, os.path.join(mnt.path.encode(), raw)) == errno.EINVAL
    assert os.listdir(mnt.path) == []


def test_names_over_255_bytes_are_einval_or_enoent(mnt):
    # FUSE passes names up to 1024 bytes through; the daemon refuses them itself
    for n in (256, 1000):
        assert errno_of(os.mkdir, mnt.p("a" * n)) == errno.EINVAL
        assert errno_of(os.stat, mnt.p("a" * n)) == errno.ENOENT
        assert errno_of(os.rmdir, mnt.p("a" * n)) == errno.ENOENT
    assert os.listdir(mnt.path) == []
    alive(mnt)


def test_odd_but_valid_names_work(mnt):
    for name in ("...", "-", "_", ".hidden", "a..b", "A" * 249):
        os.mkdir(mnt.p(name))
        write_file(mnt.p(name, "produce"), f"in {name[:10]}\n")
        assert read_file(mnt.p(name, "partition-0", "log")) == f"in {name[:10]}\n"
    assert len(os.listdir(mnt.path)) == 6


def test_lookups_of_weird_names_at_every_level_are_enoent(mnt):
    mnt.topic("t", partitions=2)
    write_file(mnt.p("t", "produce"), "a\nb\n")
    before = ends(mnt, "t")
    levels = [(), ("t",), ("t", "config"), ("t", "partition-0"), ("t", "keys")]
    for level in levels:
        for name in WEIRD + ["PRODUCE", "produce ", "log.", "config", "keys"]:
            path = mnt.p(*level, name)
            if os.path.basename(path) in os.listdir(mnt.p(*level)):
                continue
            assert errno_of(os.stat, path) == errno.ENOENT, path
        assert errno_of(os.stat, mnt.p(*level, "x" * 1000)) == errno.ENOENT
    # below files: ENOTDIR
    for f in (("t", "produce"), ("t", "partition-0", "log"), ("t", "partition-0", "offset-0"),
              ("t", "config", "partitions")):
        assert errno_of(os.stat, mnt.p(*f, "x")) == errno.ENOTDIR
    assert ends(mnt, "t") == before
    alive(mnt)


@pytest.mark.parametrize("name", [
    "partition-01", "partition-+1", "partition--1", "partition-2", "partition-4096",
    "partition-99999999999999999999", "partition-0x0", "partition- 0", "partition-",
    "partition", "partition-1 "])
def test_malformed_or_missing_partition_names_are_enoent(mnt, name):
    mnt.topic("t", partitions=2)
    assert errno_of(os.stat, mnt.p("t", name)) == errno.ENOENT
    assert errno_of(os.listdir, mnt.p("t", name)) == errno.ENOENT


def test_offset_names_with_huge_and_signed_numbers_are_enoent(mnt):
    mnt.topic("t")
    write_file(mnt.p("t", "produce"), "a\n")
    base = mnt.p("t", "partition-0")
    for name in ("offset-+0", "offset- 0", "offset-0 ", "offset-9223372036854775807",
                 "offset-9223372036854775808", "offset-18446744073709551615",
                 "offset-1099511627776",  # 2^40: aliases offset 0 in the inode number
                 "offset-" + "9" * 200, "offset-0x0", "offset-1e0"):
        assert errno_of(os.stat, os.path.join(base, name)) == errno.ENOENT, name
        assert errno_of(open, os.path.join(base, name)) == errno.ENOENT, name
    assert read_file(os.path.join(base, "offset-0")) == "a"


@pytest.fixture(scope="module")
def parse_u64(tmp_path_factory):
    """fs/numbers.c's tfs_parse_u64, built alone into a library: (errno, value)."""
    src = os.path.join(os.path.dirname(__file__), "..", "fs", "numbers.c")
    lib = str(tmp_path_factory.mktemp("numbers") / "libnumbers.so")
    r = subprocess.run(["cc", "-std=c11", "-shared", "-fPIC", "-o", lib, src],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot build fs/numbers.c: {r.stderr}")
    fn = ctypes.CDLL(lib).tfs_parse_u64
    fn.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_uint64)]

    def parse(text):
        v = ctypes.c_uint64(12345)
        return fn(text.encode(), ctypes.byref(v)), v.value
    return parse


@pytest.mark.parametrize("text", ["9" * 23 + "x", "1" * 20 + " ", "18446744073709551616-",
                                  "9" * 200 + "\x01", "1" * 19 + "x"])
def test_numbers_with_garbage_are_einval_whatever_their_length(parse_u64, text):
    assert parse_u64(text) == (errno.EINVAL, 12345)


def test_numbers_too_big_are_erange_and_the_largest_parses(parse_u64):
    assert parse_u64("18446744073709551615") == (0, 2**64 - 1)
    assert parse_u64("18446744073709551616") == (errno.ERANGE, 12345)
    assert parse_u64("9" * 200) == (errno.ERANGE, 12345)


# --- config values ---

@pytest.mark.parametrize("name,value", [
    ("retention.ms", "+5"), ("retention.ms", "0x10"), ("retention.ms", "1e3"),
    ("retention.ms", "9223372036854775808"), ("retention.ms", "-9223372036854775808"),
    ("retention.ms", "5\n\n"), ("retention.ms", "5\x00"), ("retention.ms", "\n"),
    ("retention.ms", "1 2"), ("retention.ms", "--1"), ("retention.ms", "-"),
    ("retention.bytes", "-18446744073709551616"), ("retention.bytes", "\u0661"),
    ("max.message.bytes", "67108865"), ("max.message.bytes", "9" * 100),
    ("partitions", "-1"), ("partitions", "4097"), ("partitions", "4294967297"),
    ("partitions", "1.0"), ("key.separator", "x" * 17), ("key.separator", "a\x00b"),
    ("key.separator", "\n\n")])
def test_more_invalid_config_values_are_einval(mnt, name, value):
    mnt.topic("t")
    path = mnt.p("t", "config", name)
    before = read_file(path)
    assert errno_of(write_file, path, value, os.O_WRONLY | os.O_TRUNC) == errno.EINVAL
    assert read_file(path) == before
    alive(mnt)


@pytest.mark.parametrize("name,value,shown", [
    ("retention.ms", "9223372036854775807", "9223372036854775807\n"),
    ("retention.ms", " \t42\t ", "42\n"), ("retention.ms", "-1", "-1\n"),
    ("retention.bytes", "0", "0\n"), ("max.message.bytes", "67108864", "67108864\n"),
    ("max.message.bytes", "0", "0\n"), ("key.separator", "x" * 16, "x" * 16 + "\n"),
    ("key.separator", "\n", "\n"), ("key.separator", " ", " \n")])
def test_config_values_at_the_edges_are_accepted(mnt, name, value, shown):
    mnt.topic("t")
    write_file(mnt.p("t", "config", name), value, os.O_WRONLY | os.O_TRUNC)
    assert read_file(mnt.p("t", "config", name)) == shown


def test_shrinking_partitions_while_producers_run_is_einval(mnt):
    import threading
    mnt.topic("t", partitions=3)
    stop = threading.Event()
    done = []

    def produce():
        fd = os.open(mnt.p("t", "produce"), os.O_WRONLY)
        n = 0
        while not stop.is_set():
            os.write(fd, b"r%d\n" % n)
            n += 1
        os.close(fd)
        done.append(n)

    t = threading.Thread(target=produce)
    t.start()
    try:
        for bad in ("2\n", "1\n", "0\n", "-3\n", "x\n"):
            p = mnt.p("t", "config", "partitions")
            assert errno_of(write_file, p, bad, os.O_WRONLY | os.O_TRUNC) == errno.EINVAL
            assert read_file(p) == "3\n"
    finally:
        stop.set()
        t.join(30)
    assert sum(ends(mnt, "t")) == done[0]
    assert sorted(os.listdir(mnt.p("t")))[-3:] == ["partition-1", "partition-2", "produce"]


# --- records ---

def test_nul_free_binary_records_round_trip(mnt):
    mnt.topic("t", partitions=3)
    rng = random.Random(3)
    alphabet = bytes(b for b in range(1, 256) if b != 0x0A)
    recs = [bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 300))) for _ in range(60)]
    write_file(mnt.p("t", "produce"), b"".join(r + b"\n" for r in recs))
    got = []
    for p in range(3):
        n = int(read_file(mnt.p("t", f"partition-{p}", "end")))
        vals = [read_file(mnt.p("t", f"partition-{p}", f"offset-{i}"), "rb") for i in range(n)]
        assert read_file(mnt.p("t", f"partition-{p}", "log"), "rb") == \
            b"".join(v + b"\n" for v in vals)
        got.append(vals)
    assert [got[i % 3][i // 3] for i in range(60)] == recs


def test_binary_key_file_names_round_trip(mnt):
    mnt.topic("t", partitions=4)
    key = b"\x01\xfe k\xff"
    path = os.path.join(mnt.p("t", "keys").encode(), key)
    write_file(path, b"v\n", os.O_WRONLY | os.O_CREAT)
    from kafka import partition_for
    base = mnt.p("t", f"partition-{partition_for(key, 4)}")
    assert read_file(os.path.join(base, "offset-0"), "rb") == b"v"
    assert os.getxattr(os.path.join(base, "offset-0"), "user.topicfs.key") == key


def test_records_at_and_over_max_message_bytes_with_key_separator(mnt):
    mnt.topic("t")
    write_file(mnt.p("t", "config", "max.message.bytes"), "10\n", os.O_WRONLY | os.O_TRUNC)
    write_file(mnt.p("t", "config", "key.separator"), "::\n", os.O_WRONLY | os.O_TRUNC)
    prod = mnt.p("t", "produce")
    # the key and separator do not count: the value may be exactly 10 bytes
    write_file(prod, b"k" * 500 + b"::" + b"v" * 10 + b"\n")
    assert errno_of(write_file, prod, b"key::" + b"v" * 11 + b"\n") == errno.EMSGSIZE
    # without a separator the whole line is the value
    write_file(prod, b"n" * 10 + b"\n")
    assert errno_of(write_file, prod, b"n" * 11 + b"\n") == errno.EMSGSIZE
    # a value of exactly the limit that contains a lone ':' is not split
    write_file(prod, b"a:" + b"b" * 8 + b"\n")
    # one over inside a multi-record write: none of the write is stored
    assert errno_of(write_file, prod, b"ok::1\n" + b"k::" + b"x" * 11 + b"\nok::2\n") \
        == errno.EMSGSIZE
    # split across writes of one open file, at and over the limit
    fd = os.open(prod, os.O_WRONLY)
    os.write(fd, b"kk::" + b"s" * 5)
    os.write(fd, b"s" * 5 + b"\n")
    os.write(fd, b"kk::" + b"o" * 6)
    assert errno_of(os.write, fd, b"o" * 5 + b"\n") == errno.EMSGSIZE
    os.close(fd)
    base = mnt.p("t", "partition-0")
    vals = [read_file(os.path.join(base, f"offset-{i}"), "rb")
            for i in range(int(read_file(os.path.join(base, "end"))))]
    assert vals == [b"v" * 10, b"n" * 10, b"a:" + b"b" * 8, b"s" * 10]
    assert os.getxattr(os.path.join(base, "offset-0"), "user.topicfs.key") == b"k" * 500
    alive(mnt)


def test_key_over_64_kib_is_refused_and_stores_nothing(mnt):
    mnt.topic("t")
    write_file(mnt.p("t", "config", "key.separator"), ":\n", os.O_WRONLY | os.O_TRUNC)
    err = errno_of(write_file, mnt.p("t", "produce"), b"k" * 70000 + b":v\nfine:ok\n")
    assert err in (errno.EINVAL, errno.EMSGSIZE)
    assert ends(mnt, "t") == [0]
    write_file(mnt.p("t", "produce"), b"k" * 65536 + b":v\n")  # exactly the longest key
    assert ends(mnt, "t") == [1]
    alive(mnt)


def _sanitized(path):
    with open(path, "rb") as f:
        return b"__ubsan_handle" in f.read()


def test_first_write_of_only_newlines_is_clean(mnt):
    mnt.topic("t")
    for data in (b"\n", b"\nx\n", b"\n\n"):
        write_file(mnt.p("t", "produce"), data)
    assert ends(mnt, "t") == [5]
    assert "runtime error" not in mnt.log()


# --- reads at odd offsets and sizes ---

def test_reads_at_odd_offsets_and_sizes(mnt):
    mnt.topic("t")
    write_file(mnt.p("t", "produce"), "hello\nworld\n")
    files = {
        ("partition-0", "log"): b"hello\nworld\n",
        ("partition-0", "offset-1"): b"world",
        ("partition-0", "start"): b"0\n",
        ("partition-0", "end"): b"2\n",
        ("config", "retention.ms"): b"604800000\n",
        ("config", "key.separator"): b"\n",
    }
    for parts, content in files.items():
        fd = os.open(mnt.p("t", *parts), os.O_RDONLY)
        try:
            for off in (0, 1, len(content) - 1, len(content), len(content) + 1, 4096,
                        1 << 40, (1 << 62)):
                for size in (1, 2, 4096, 16 << 20):
                    want = content[off:off + size]
                    assert os.pread(fd, size, off) == want, (parts, off, size)
            with pytest.raises(OSError) as e:
                os.pread(fd, 1, -1)
            assert e.value.errno == errno.EINVAL
        finally:
            os.close(fd)
    alive(mnt)


# --- xattrs ---

libc = ctypes.CDLL(None, use_errno=True)


def raw_getxattr(path, name, size):
    buf = ctypes.create_string_buffer(max(size, 1))
    n = libc.getxattr(path.encode(), name.encode(), buf if size else None, ctypes.c_size_t(size))
    return (n, ctypes.get_errno()) if n < 0 else (n, buf.raw[:n] if size else None)


def raw_listxattr(path, size):
    buf = ctypes.create_string_buffer(max(size, 1))
    n = libc.listxattr(path.encode(), buf if size else None, ctypes.c_size_t(size))
    return (n, ctypes.get_errno()) if n < 0 else (n, buf.raw[:n] if size else None)


def test_getxattr_with_too_small_buffer_is_erange(mnt):
    mnt.topic("t")
    write_file(mnt.p("t", "keys", "a-key"), "v\n", os.O_WRONLY | os.O_CREAT)
    path = mnt.p("t", "partition-0", "offset-0")
    assert raw_getxattr(path, "user.topicfs.key", 0) == (5, None)  # size query
    assert raw_getxattr(path, "user.topicfs.key", 4) == (-1, errno.ERANGE)
    assert raw_getxattr(path, "user.topicfs.key", 5) == (5, b"a-key")
    assert raw_getxattr(path, "user.topicfs.offset", 1) == (1, b"0")
    ts_len = len(os.getxattr(path, "user.topicfs.timestamp"))
    assert raw_getxattr(path, "user.topicfs.timestamp", ts_len - 1) == (-1, errno.ERANGE)
    names = b"user.topicfs.key\0user.topicfs.timestamp\0user.topicfs.offset\0"
    assert raw_listxattr(path, 0) == (len(names), None)
    assert raw_listxattr(path, len(names) - 1) == (-1, errno.ERANGE)
    assert raw_listxattr(path, len(names)) == (len(names), names)


def test_getxattr_of_unknown_names_and_non_records_is_enodata(mnt):
    mnt.topic("t")
    write_file(mnt.p("t", "produce"), "v\n")
    rec = mnt.p("t", "partition-0", "offset-0")
    for name in ("user.topicfs.nope", "user.topicfs.key", "user.x", "user.topicfs.offset\x01",
                 "security.selinux", "user." + "n" * 250):
        assert errno_of(os.getxattr, rec, name) in (errno.ENODATA, errno.EOPNOTSUPP), name
    for node in ((), ("t",), ("t", "produce"), ("t", "partition-0", "log"),
                 ("t", "config", "partitions")):
        assert errno_of(os.getxattr, mnt.p(*node), "user.topicfs.offset") == errno.ENODATA
    assert errno_of(os.getxattr, rec, "user." + "n" * 300) == errno.ERANGE  # kernel: name > 255
    alive(mnt)
