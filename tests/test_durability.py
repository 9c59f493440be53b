"""Records survive unmount, remount and kill -9; one daemon per data directory."""
import os
import signal
import subprocess
import threading
import time

from conftest import TOPICFS, read_file, sh, wait_for, write_file


def test_data_survives_unmount_and_remount(mnt):
    mnt.topic("t", partitions=2)
    write_file(mnt.p("t", "config", "retention.ms"), "123456\n", os.O_WRONLY | os.O_TRUNC)
    write_file(mnt.p("t", "produce"), "a\nb\nc\n")
    write_file(mnt.p("t", "keys", "k"), "keyed\n", os.O_WRONLY | os.O_CREAT)
    before = {p: read_file(mnt.p("t", f"partition-{p}", "log")) for p in (0, 1)}
    mnt.restart()
    assert os.listdir(mnt.path) == ["t"]
    assert read_file(mnt.p("t", "config", "retention.ms")) == "123456\n"
    assert {p: read_file(mnt.p("t", f"partition-{p}", "log")) for p in (0, 1)} == before
    # round robin and offsets continue where they were
    write_file(mnt.p("t", "produce"), "d\n")
    total = sum(int(read_file(mnt.p("t", f"partition-{p}", "end"))) for p in (0, 1))
    assert total == 5


def test_kill_9_loses_no_acknowledged_record(mnt):
    mnt.topic("t")
    acked = []
    stop = threading.Event()

    def producer():
        fd = os.open(mnt.p("t", "produce"), os.O_WRONLY)
        i = 0
        try:
            while not stop.is_set():
                line = f"rec-{i:07d}\n".encode()
                os.write(fd, line)
                acked.append(line[:-1])
                i += 1
        except OSError:
            pass  # the daemon died under us
        finally:
            try:
                os.close(fd)
            except OSError:
                pass

    t = threading.Thread(target=producer)
    t.start()
    wait_for(lambda: len(acked) > 300, what="some records")
    mnt.kill9()
    stop.set()
    t.join()
    mnt.start()
    got = read_file(mnt.p("t", "partition-0", "log"), "rb").split(b"\n")[:-1]
    assert got[:len(acked)] == acked
    assert len(got) - len(acked) <= 1  # at most the one write in flight when killed


def test_second_daemon_on_same_data_dir_is_refused(mnt, tmp_path):
    mnt.topic("t")
    other = tmp_path / "other-mnt"
    other.mkdir()
    r = subprocess.run([TOPICFS, mnt.data, str(other), "-f"], capture_output=True, text=True,
                       timeout=20)
    assert r.returncode != 0
    assert "already in use" in r.stderr
    assert not os.path.ismount(other)
    assert os.listdir(mnt.path) == ["t"]  # the first is untouched


def test_sigterm_unmounts_cleanly_and_keeps_data(mnt):
    mnt.topic("t")
    write_file(mnt.p("t", "produce"), "kept\n")
    mnt.proc.send_signal(signal.SIGTERM)
    assert mnt.proc.wait(timeout=20) == 0
    mnt.proc = None
    wait_for(lambda: not os.path.ismount(mnt.path), what="unmount")
    mnt.start()
    assert read_file(mnt.p("t", "partition-0", "log")) == "kept\n"


def test_background_mode_returns_when_mounted(tmp_path):
    data, mp = tmp_path / "d", tmp_path / "m"
    mp.mkdir()
    r = subprocess.run([TOPICFS, str(data), str(mp)], capture_output=True, text=True, timeout=20)
    try:
        assert r.returncode == 0, r.stderr
        assert os.path.ismount(mp)
        os.mkdir(mp / "t")
        assert sorted(os.listdir(mp / "t"))[0] == "config"
    finally:
        subprocess.run(["fusermount3", "-u", str(mp)])
    wait_for(lambda: not os.path.ismount(mp), what="unmount")


def test_fsync_on_produce_succeeds(mnt):
    mnt.topic("t")
    fd = os.open(mnt.p("t", "produce"), os.O_WRONLY)
    os.write(fd, b"durable\n")
    os.fsync(fd)
    os.close(fd)
    assert read_file(mnt.p("t", "partition-0", "log")) == "durable\n"


def test_sync_always_mount_works(mount_factory):
    m = mount_factory("sync=always")
    m.topic("t")
    write_file(m.p("t", "produce"), "x\n")
    assert read_file(m.p("t", "partition-0", "log")) == "x\n"


def test_bad_mount_option_is_refused(tmp_path):
    mp = tmp_path / "m"
    mp.mkdir()
    r = subprocess.run([TOPICFS, str(tmp_path / "d"), str(mp), "-f", "-o", "partitions=zero"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode != 0 and "partitions" in r.stderr
    assert not os.path.ismount(mp)


def test_sigterm_commits_partial_lines_of_files_still_open(mnt):
    mnt.topic("t")
    fd = os.open(mnt.p("t", "produce"), os.O_WRONLY)
    os.write(fd, b"whole\nheld-partial")
    mnt.proc.send_signal(signal.SIGTERM)
    assert mnt.proc.wait(timeout=20) == 0
    mnt.proc = None
    try:
        os.close(fd)
    except OSError:
        pass
    wait_for(lambda: not os.path.ismount(mnt.path), what="unmount")
    mnt.start()
    assert read_file(mnt.p("t", "partition-0", "log")) == "whole\nheld-partial\n"
