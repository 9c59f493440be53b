"""A full map grows by itself; a full disk fails write() with ENOSPC, loses
nothing already stored, and recovers once space is freed."""
import contextlib
import errno
import hashlib
import os
import subprocess
import time

import pytest

from conftest import Mount, read_file, wait_for, write_file


# What a full disk gives: ENOSPC, also when LMDB's pwrite comes up short
# (see test_full_disk_write_fails_with_enospc_not_eio).
FULL = (errno.ENOSPC,)


def fill(m, topic, chunk):
    """Writes chunk to topic until a write fails; returns (acked writes, errno)."""
    fd = os.open(m.p(topic, "produce"), os.O_WRONLY)
    acked = 0
    try:
        for _ in range(100000):
            try:
                n = os.write(fd, chunk)
            except OSError as e:
                return acked, e.errno
            # chunks stay below the kernel's largest FUSE write (1 MiB), so
            # each write() is one request: all of it or an error
            assert n == len(chunk), "short write"
            acked += 1
    finally:
        try:
            os.close(fd)
        except OSError:
            pass
    return acked, None


def end(m, topic, p=0):
    return int(read_file(m.p(topic, f"partition-{p}", "end")))


@contextlib.contextmanager
def tmpfs(d, size):
    """A tmpfs of size on d (made), unmounted at the end whatever happens."""
    d.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(d)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr}")
    try:
        yield d
    finally:
        subprocess.run(["umount", "-l", str(d)], check=False)


@pytest.fixture
def small_disk(tmp_path):
    """An 8 MiB tmpfs for DATA_DIR."""
    with tmpfs(tmp_path / "small", "8m") as d:
        yield d


@pytest.fixture
def disk_mount(tmp_path, small_disk):
    m = Mount(tmp_path / "fd", "map.size=1048576,retention.check.interval.ms=100")
    m.data = str(small_disk / "data")
    m.expect_errors("disk is full", "No space left on device")
    try:
        yield m.start()
    finally:
        m.stop()
        m.check_log()


def test_full_disk_write_fails_with_enospc_not_eio(disk_mount):
    m = disk_mount
    m.topic("t")
    errors = []
    for size in (65000, 512 << 10, 4096, 100, 2):
        _, err = fill(m, "t", b"e" * (size - 1) + b"\n")
        errors.append(err)
    assert [errno.errorcode.get(e, e) for e in errors] == ["ENOSPC"] * len(errors)


def test_full_disk_keeps_stored_data_and_recovers_when_space_is_freed(disk_mount, small_disk):
    m = disk_mount
    # a ballast file the admin can delete to free space later
    ballast = small_disk / "ballast"
    ballast.write_bytes(b"\0" * (1 << 20))
    m.topic("keep")
    kept = "".join(f"keep-{i:05d}-{'k' * 200}\n" for i in range(300))
    write_file(m.p("keep", "produce"), kept)
    m.topic("filler", partitions=2)
    line = b"f" * 999 + b"\n"
    acked, err = fill(m, "filler", line * 64)  # 64 KiB per write
    assert err in FULL, f"expected ENOSPC, got {err and errno.errorcode[err]}"
    assert acked > 0
    assert m.proc.poll() is None, "the daemon died on a full disk"

    # nothing stored before is lost or damaged, nothing of the failed write stored
    def check_filler():
        assert end(m, "filler", 0) + end(m, "filler", 1) == acked * 64
        for p in (0, 1):
            log = read_file(m.p("filler", f"partition-{p}", "log"), "rb")
            assert log == line * end(m, "filler", p)
    assert read_file(m.p("keep", "partition-0", "log")) == kept
    check_filler()
    # more writes, big and small, and a new topic, all refused while full
    for size in (512 << 10, 4096, 2):
        _, err = fill(m, "keep", b"x" * (size - 1) + b"\n")
        assert err in FULL
    log = read_file(m.p("keep", "partition-0", "log"))
    assert log.startswith(kept)
    check_filler()
    assert m.proc.poll() is None

    # the admin frees space: writes succeed again, and nothing was lost
    ballast.unlink()
    write_file(m.p("keep", "produce"), "after-ballast\n")
    assert read_file(m.p("keep", "partition-0", "log")) == log + "after-ballast\n"
    check_filler()

    # and all of it survives a remount
    m.restart()
    assert read_file(m.p("keep", "partition-0", "log")) == log + "after-ballast\n"
    check_filler()


def test_rmdir_frees_space_on_a_full_disk(disk_mount):
    m = disk_mount
    m.topic("keep")
    write_file(m.p("keep", "produce"), "kept\n")
    m.topic("filler")
    for size in (65000, 512 << 10, 4096, 100, 2):  # full to the last byte
        _, err = fill(m, "filler", b"f" * (size - 1) + b"\n")
        assert err in FULL
    os.rmdir(m.p("filler"))
    write_file(m.p("keep", "produce"), "after-rmdir\n")
    assert read_file(m.p("keep", "partition-0", "log")) == "kept\nafter-rmdir\n"


def test_space_reserve_is_given_up_to_delete_and_made_again(disk_mount, small_disk):
    m = disk_mount
    reserve = os.path.join(m.data, "topicfs.reserve")
    assert os.path.getsize(reserve) >= 256 << 10
    ballast = small_disk / "ballast"
    ballast.write_bytes(b"\0" * (1 << 20))
    m.topic("filler")
    for size in (65000, 512 << 10, 4096, 100, 2):
        _, err = fill(m, "filler", b"f" * (size - 1) + b"\n")
        assert err in FULL
    assert os.path.exists(reserve), "appends must not use the reserve"
    os.rmdir(m.p("filler"))
    assert not os.path.exists(reserve), "rmdir on a full disk deletes in the reserve's room"
    ballast.unlink()  # room again: the next retention run makes the reserve again
    wait_for(lambda: os.path.exists(reserve), what="the reserve to be made again")
    assert m.proc.poll() is None

def test_retention_frees_space_on_a_full_disk(disk_mount):
    m = disk_mount
    m.topic("t")
    line = b"r" * 999 + b"\n"
    acked, err = fill(m, "t", line * 64)
    assert err in FULL
    last = read_file(m.p("t", "partition-0", f"offset-{acked * 64 - 1}"), "rb")
    assert last == line[:-1]
    # keep only about the last 64 KiB: retention deletes the rest
    write_file(m.p("t", "config", "retention.bytes"), "65536\n", os.O_WRONLY | os.O_TRUNC)
    wait_for(lambda: int(read_file(m.p("t", "partition-0", "start"))) > 0, what="retention")
    wait_for(lambda: _try_write(m, "t", b"after-retention\n"), what="a write to succeed again")
    assert read_file(m.p("t", "partition-0", "log"), "rb").endswith(b"after-retention\n")
    assert m.proc.poll() is None


def _try_write(m, topic, data):
    try:
        write_file(m.p(topic, "produce"), data)
        return True
    except OSError as e:
        assert e.errno in FULL
        return False


def test_map_grows_past_its_initial_size_without_losing_records(mount_factory):
    m = mount_factory("map.size=1048576,retention.check.interval.ms=600000")
    m.topic("t", partitions=2)
    fd = os.open(m.p("t", "produce"), os.O_WRONLY)
    try:
        for w in range(50):  # 50 writes of 1 MiB: 50 MiB through a 1 MiB map
            chunk = b"".join(b"%04d-%04d-" % (w, i) + b"m" * 1013 + b"\n" for i in range(1024))
            assert os.write(fd, chunk) == len(chunk)
    finally:
        os.close(fd)
    want = {0: hashlib.sha256(), 1: hashlib.sha256()}
    n = 0
    for w in range(50):
        for i in range(1024):
            want[n % 2].update(b"%04d-%04d-" % (w, i) + b"m" * 1013 + b"\n")
            n += 1

    def check():
        for p in (0, 1):
            assert end(m, "t", p) == 50 * 1024 // 2
            h = hashlib.sha256()
            with open(m.p("t", f"partition-{p}", "log"), "rb") as f:
                while True:
                    b = f.read(1 << 20)
                    if not b:
                        break
                    h.update(b)
            assert h.hexdigest() == want[p].hexdigest(), f"partition-{p} differs"
        assert read_file(m.p("t", "partition-1", "offset-25599"), "rb") == \
            b"0049-1023-" + b"m" * 1013
    check()
    assert os.path.getsize(os.path.join(m.data, "data.mdb")) > 50 << 20
    m.restart()
    check()


def test_a_disk_filled_under_the_wals_mapping_fails_the_write_with_enospc(tmp_path):
    """The WAL is written through a mapping of a sparse file: a page that cannot get
    its block on a disk another process filled is a SIGBUS, which must become ENOSPC
    for that write() and leave the daemon and what it stored as they were."""
    with tmpfs(tmp_path / "roomy", "96m") as d:
        fill_under_the_wal(tmp_path, d)


def fill_under_the_wal(tmp_path, d):
    m = Mount(tmp_path / "fm", "")
    m.data = str(d / "data")
    m.expect_errors("disk is full", "No space left on device")
    try:
        m.start()
        m.topic("t")
        first = b"first\n"
        write_file(m.p("t", "produce"), first)
        ballast = d / "ballast"
        hits = 0
        for attempt in range(5):
            fd = os.open(m.p("t", "produce"), os.O_WRONLY)
            try:
                time.sleep(0.25)  # the WAL looks at the disk again at the next write
                os.write(fd, b"a\n")  # the disk has room when this write looks
                # fill the disk at once: the next write finds it full within the
                # 200 ms the WAL trusts its last look
                b = os.open(ballast, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                try:
                    st = os.statvfs(d)
                    os.posix_fallocate(b, 0, max(st.f_bavail * st.f_frsize - (2 << 20), 4096))
                    for chunk in (b"\0" * (64 << 10), b"\0" * 4096):
                        try:
                            while True:
                                os.write(b, chunk)
                        except OSError:
                            pass
                finally:
                    os.close(b)
                assert os.statvfs(d).f_bavail == 0
                with pytest.raises(OSError) as e:
                    os.write(fd, b"b" * 60000 + b"\n")  # fresh pages of the WAL's file
                assert e.value.errno == errno.ENOSPC
            finally:
                try:
                    os.close(fd)
                except OSError:
                    pass
            assert m.proc.poll() is None, "the daemon died on a full disk"
            ballast.unlink()
            hits += "under the WAL's mapping" in m.log()
            if hits:
                break
        log = read_file(m.p("t", "partition-0", "log"), "rb")
        assert log.startswith(first) and b"b" * 100 not in log
        write_file(m.p("t", "produce"), b"after\n")
        assert read_file(m.p("t", "partition-0", "log"), "rb").endswith(b"after\n")
        assert hits, "no write() met the full disk under the WAL's mapping"
    finally:
        m.stop()
        m.check_log()
