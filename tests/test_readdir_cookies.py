"""Readdir cookies: a listing resumed at any entry's cookie (telldir/seekdir)
goes on with exactly the entries after it, none skipped or repeated."""
import ctypes
import ctypes.util
import os

from conftest import read_file, wait_for, write_file


class Dirent(ctypes.Structure):  # glibc's struct dirent on 64-bit Linux
    _fields_ = [("d_ino", ctypes.c_uint64), ("d_off", ctypes.c_int64),
                ("d_reclen", ctypes.c_ushort), ("d_type", ctypes.c_ubyte),
                ("d_name", ctypes.c_char * 256)]


libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
libc.opendir.restype = ctypes.c_void_p
libc.opendir.argtypes = [ctypes.c_char_p]
libc.readdir.restype = ctypes.POINTER(Dirent)
libc.readdir.argtypes = [ctypes.c_void_p]
libc.telldir.restype = ctypes.c_long
libc.telldir.argtypes = [ctypes.c_void_p]
libc.seekdir.restype = None
libc.seekdir.argtypes = [ctypes.c_void_p, ctypes.c_long]
libc.closedir.argtypes = [ctypes.c_void_p]


def listing(path, resume_at=None):
    """[(name, cookie after it)] read with readdir(3), from resume_at if given."""
    d = libc.opendir(os.fsencode(path))
    if not d:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), path)
    try:
        if resume_at is not None:
            libc.seekdir(d, resume_at)
        out = []
        while True:
            ctypes.set_errno(0)
            ent = libc.readdir(d)
            if not ent:
                assert ctypes.get_errno() == 0, os.strerror(ctypes.get_errno())
                return out
            out.append((ent.contents.d_name.decode(), libc.telldir(d)))
    finally:
        libc.closedir(d)


def assert_resumes_at_every_cookie(path, expected):
    full = listing(path)
    assert sorted(name for name, _ in full) == sorted(expected)
    cookies = [c for _, c in full]
    assert len(set(cookies)) == len(cookies), f"two entries of {path} share a cookie"
    for i, (name, cookie) in enumerate(full):
        tail = [n for n, _ in listing(path, cookie)]
        assert tail == [n for n, _ in full[i + 1:]], f"{path} resumed after {name!r}"


def test_the_top_of_the_mount_resumes_at_every_cookie(mnt):
    for name in ("a", "b", "c"):
        mnt.topic(name)
    os.rmdir(mnt.p("b"))  # a gap in the topic ids
    mnt.topic("d")
    assert_resumes_at_every_cookie(mnt.path, [".", "..", "a", "c", "d"])


def test_a_topic_resumes_at_every_cookie(mnt):
    mnt.topic("t", 3)
    assert_resumes_at_every_cookie(mnt.p("t"), [
        ".", "..", "produce", "keys", "config", "consumers",
        "partition-0", "partition-1", "partition-2"])


def test_a_partition_resumes_at_every_cookie(mnt):
    mnt.topic("t")
    # More entries than one READDIR reply holds: the daemon's own resume point too.
    write_file(mnt.p("t", "produce"), "".join(f"r{i}\n" for i in range(300)))
    assert_resumes_at_every_cookie(mnt.p("t", "partition-0"), [
        ".", "..", "log", "start", "end", "produce"] + [f"offset-{i}" for i in range(300)])


def test_a_partition_whose_first_records_retention_removed_resumes_at_every_cookie(mnt):
    mnt.topic("t")
    write_file(mnt.p("t", "produce"), "".join(f"rec-{i:05d}\n" for i in range(50)))  # 10 B each
    write_file(mnt.p("t", "config", "retention.bytes"), "100\n", os.O_WRONLY | os.O_TRUNC)
    wait_for(lambda: read_file(mnt.p("t", "partition-0", "start")) != "0\n", what="retention")
    write_file(mnt.p("t", "config", "retention.bytes"), "-1\n", os.O_WRONLY | os.O_TRUNC)
    start = int(read_file(mnt.p("t", "partition-0", "start")))
    # The offsets listed start at start, not 0.
    assert_resumes_at_every_cookie(mnt.p("t", "partition-0"), [
        ".", "..", "log", "start", "end", "produce"] + [f"offset-{i}" for i in range(start, 50)])


def test_config_resumes_at_every_cookie(mnt):
    mnt.topic("t")
    names = os.listdir(mnt.p("t", "config"))
    assert len(names) > 3
    assert_resumes_at_every_cookie(mnt.p("t", "config"), [".", ".."] + names)


def test_keys_resumes_at_every_cookie(mnt):
    mnt.topic("t")
    write_file(mnt.p("t", "keys", "k"), "v\n", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    assert_resumes_at_every_cookie(mnt.p("t", "keys"), [".", ".."])


def test_consumers_and_a_group_resume_at_every_cookie(mnt):
    mnt.topic("t", 4)
    for g in ("g1", "g2", "g3"):
        os.mkdir(mnt.p("t", "consumers", g))
    os.rmdir(mnt.p("t", "consumers", "g2"))
    assert_resumes_at_every_cookie(mnt.p("t", "consumers"), [".", "..", "g1", "g3"])
    assert_resumes_at_every_cookie(mnt.p("t", "consumers", "g1"), [
        ".", "..", "consume", "follow", "lag"] + [f"partition-{i}" for i in range(4)])


def test_a_mirrored_partition_resumes_at_every_cookie(mount_factory):
    from mockkafka import Kafka
    kafka = Kafka()
    try:
        kafka.topic("t", 1)
        m = mount_factory(f"mirror={kafka.broker},retention.check.interval.ms=100")
        m.topic("t")
        write_file(m.p("t", "produce"), "".join(f"r{i}\n" for i in range(5)))
        # mirrored is there only with -o mirror=, among the fixed entries.
        assert_resumes_at_every_cookie(m.p("t", "partition-0"), [
            ".", "..", "log", "start", "end", "produce", "mirrored"]
            + [f"offset-{i}" for i in range(5)])
        m.stop()
    finally:
        kafka.stop()
