"""Producing under hostile or careless input: oversized lines across split
writes, refusals that keep what was acknowledged, bounded memory, fallocate,
sendfile, and creates racing a topic's removal (issue 14)."""
import errno
import os

import pytest

from conftest import read_file, sh, write_file


def setting(m, topic, name, value):
    write_file(m.p(topic, "config", name), value, os.O_WRONLY | os.O_TRUNC)


def records(m, topic, partition=0):
    base = m.p(topic, f"partition-{partition}")
    end = int(read_file(os.path.join(base, "end")))
    return [read_file(os.path.join(base, f"offset-{n}"), "rb") for n in range(end)]


def errno_of(fn, *args, **kw):
    with pytest.raises(OSError) as e:
        fn(*args, **kw)
    return e.value.errno


# --- finding 1: an oversized line in a write() the kernel splits ---

def test_dd_of_an_oversized_line_bigger_than_a_fuse_write_stores_nothing(mnt, tmp_path):
    mnt.topic("t")  # max.message.bytes = 1 MiB
    line = tmp_path / "line"
    line.write_bytes(b"x" * 1_500_000 + b"\n")
    r = sh(f"dd if={line} of={mnt.p('t', 'produce')} bs=2M")
    assert r.returncode != 0 and "Message too long" in r.stderr
    write_file(mnt.p("t", "produce"), b"next\n")
    assert records(mnt, "t") == [b"next"]


def test_buffered_python_write_of_an_oversized_line_stores_nothing(mnt):
    mnt.topic("t")
    with pytest.raises(OSError) as e:
        with open(mnt.p("t", "produce"), "ab") as f:
            f.write(b"z" * 1048577 + b"\n")
    assert e.value.errno == errno.EMSGSIZE
    write_file(mnt.p("t", "produce"), b"next\n")
    assert records(mnt, "t") == [b"next"]


def test_each_retry_of_the_rest_of_an_oversized_line_is_refused(mnt):
    # What the kernel's split looks like from here: the start of the line
    # acknowledged, then its end refused, then the same end again.
    mnt.topic("t")
    setting(mnt, "t", "max.message.bytes", "10")
    fd = os.open(mnt.p("t", "produce"), os.O_WRONLY)
    assert os.write(fd, b"0123456789") == 10  # at the limit: held
    assert errno_of(os.write, fd, b"abc\nnext\n") == errno.EMSGSIZE
    assert errno_of(os.write, fd, b"abc\nnext\n") == errno.EMSGSIZE  # the retry
    os.write(fd, b"fine\n")
    os.close(fd)
    assert records(mnt, "t") == [b"fine"]


def test_a_new_write_after_a_refused_line_end_is_stored(mnt):
    # Not a retry (its first newline is elsewhere): it is new data.
    mnt.topic("t")
    setting(mnt, "t", "max.message.bytes", "10")
    fd = os.open(mnt.p("t", "produce"), os.O_WRONLY)
    os.write(fd, b"01234")
    assert errno_of(os.write, fd, b"56789abcdef\n") == errno.EMSGSIZE
    os.write(fd, b"ok\n")
    os.close(fd)
    assert records(mnt, "t") == [b"ok"]


# --- finding 2: a refusal keeps the partial line an earlier write acknowledged ---

def test_emsgsize_keeps_the_partial_line_an_earlier_write_acknowledged(mnt):
    mnt.topic("t")
    setting(mnt, "t", "max.message.bytes", "10")
    fd = os.open(mnt.p("t", "produce"), os.O_WRONLY)
    assert os.write(fd, b"abc") == 3
    assert errno_of(os.write, fd, b"def\n" + b"X" * 11 + b"\n") == errno.EMSGSIZE
    assert os.write(fd, b"def\n") == 4
    os.close(fd)
    assert records(mnt, "t") == [b"abcdef"]


def test_a_refused_partial_tail_keeps_the_held_line_too(mnt):
    mnt.topic("t")
    setting(mnt, "t", "max.message.bytes", "10")
    fd = os.open(mnt.p("t", "produce"), os.O_WRONLY)
    os.write(fd, b"ab")
    assert errno_of(os.write, fd, b"c\n" + b"Y" * 11) == errno.EMSGSIZE
    os.write(fd, b"c")
    os.close(fd)
    assert records(mnt, "t") == [b"abc"]


# --- finding 4: memory held for partial lines is bounded ---

def test_memory_held_for_partial_lines_is_bounded_in_all(mnt):
    mnt.topic("t")
    setting(mnt, "t", "max.message.bytes", str(64 * 1024 * 1024))
    chunk = b"p" * (1024 * 1024)
    fds, held, refused = [], 0, None
    try:
        for _ in range(4):  # 4 x 60 MiB without a newline
            fd = os.open(mnt.p("t", "produce"), os.O_WRONLY)
            fds.append(fd)
            for _ in range(60):
                try:
                    os.write(fd, chunk)
                    held += len(chunk)
                except OSError as e:
                    refused = e.errno
                    break
            if refused:
                break
        assert refused == errno.ENOBUFS
        assert held <= 128 * 1024 * 1024
        assert "ENOBUFS" in mnt.log() and "would exceed 128 MiB in all" in mnt.log()
        if "asan" not in os.environ.get("TOPICFS_BIN", ""):  # ASan keeps freed memory
            with open(f"/proc/{mnt.proc.pid}/status") as f:
                hwm = [int(l.split()[1]) for l in f if l.startswith("VmHWM:")][0]
            assert hwm < 320 * 1024, f"the daemon's peak resident size was {hwm} KiB"
        # what was held still becomes a record, and the memory it frees lets
        # the refused writer go on
        os.write(fds[0], b"\n")
        os.close(fds.pop(0))
        assert os.write(fds[-1], chunk) == len(chunk)
    finally:
        for fd in fds:
            os.close(fd)
    assert os.stat(mnt.p("t", "partition-0", "offset-0")).st_size == 60 * 1024 * 1024


def test_one_open_file_holds_at_most_a_record(mnt):
    mnt.topic("t")
    setting(mnt, "t", "max.message.bytes", str(3 * 1024 * 1024))
    fd = os.open(mnt.p("t", "produce"), os.O_WRONLY)
    chunk = b"q" * (1024 * 1024)
    for _ in range(3):
        os.write(fd, chunk)
    assert errno_of(os.write, fd, b"q") == errno.EMSGSIZE
    os.close(fd)
    assert records(mnt, "t") == []


# --- finding 11: fallocate is refused without glibc writing NULs ---

def test_posix_fallocate_on_produce_fails_and_stores_nothing(mnt):
    mnt.topic("t")
    fd = os.open(mnt.p("t", "produce"), os.O_WRONLY)
    try:
        assert errno_of(os.posix_fallocate, fd, 0, 10000) == errno.ENODEV
    finally:
        os.close(fd)
    r = sh(f"fallocate -l 8192 {mnt.p('t', 'produce')}")
    assert r.returncode != 0
    assert read_file(mnt.p("t", "partition-0", "end")) == "0\n"
    assert "fallocate" in mnt.log()


# --- finding 13: sendfile like write(); creates racing an rmdir ---

def test_sendfile_into_produce_stores_like_write(mnt, tmp_path):
    mnt.topic("t")
    src = tmp_path / "src"
    lines = [b"line-%05d" % i for i in range(20000)]
    src.write_bytes(b"".join(l + b"\n" for l in lines))
    fin = os.open(src, os.O_RDONLY)
    fd = os.open(mnt.p("t", "produce"), os.O_WRONLY | os.O_TRUNC)  # as `>` opens it
    try:
        size = os.fstat(fin).st_size
        sent = 0
        while sent < size:
            sent += os.sendfile(fd, fin, sent, size - sent)
    finally:
        os.close(fd)
        os.close(fin)
    assert read_file(mnt.p("t", "partition-0", "log"), "rb") == src.read_bytes()
    assert read_file(mnt.p("t", "partition-0", "end")) == "20000\n"


def test_sendfile_into_a_writes_topic_is_one_record_per_piece(mnt, tmp_path):
    mnt.topic("t")
    setting(mnt, "t", "framing", "writes")
    src = tmp_path / "src"
    data = os.urandom(40000)
    src.write_bytes(data)
    fin = os.open(src, os.O_RDONLY)
    fd = os.open(mnt.p("t", "produce"), os.O_WRONLY)
    try:
        assert os.sendfile(fd, fin, 0, len(data)) == len(data)
    finally:
        os.close(fd)
        os.close(fin)
    assert records(mnt, "t") == [data]


@pytest.mark.parametrize("where, name", [("config", "partitions"),
                                         ("partition-0", "produce"),
                                         ("partition-0", "newfile"),
                                         ("keys", "k")])
def test_a_create_in_a_directory_of_a_removed_topic_is_enoent(mnt, where, name):
    mnt.topic("t")
    dirfd = os.open(mnt.p("t", where), os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.rmdir(mnt.p("t"))
        err = errno_of(os.open, name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644,
                       dir_fd=dirfd)
    finally:
        os.close(dirfd)
    assert err == errno.ENOENT
