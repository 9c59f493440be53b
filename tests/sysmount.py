"""Fixtures for tests that go through the system: mount(8), /etc/fstab, servers.

mount(8) only finds helpers in /sbin and runs them without PATH, so the
`mount_helper` fixture links /sbin/mount.topicfs to a copy of the helper that
sits beside a link to the daemon under test (the helper looks beside itself,
following links). It holds a lock meanwhile, so that test runs sharing a
machine take turns at /sbin and /etc/fstab, and puts back what was there.
"""
import fcntl
import os
import shutil
import socket
import subprocess

import pytest

from conftest import TOPICFS, wait_for

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
HELPER_SRC = os.path.join(REPO, "mount-helper", "mount.topicfs")
SBIN_HELPER = "/sbin/mount.topicfs"
SYSTEM_LOCK = "/run/lock/topicfs-tests-system.lock"


@pytest.fixture
def system_lock():
    os.makedirs(os.path.dirname(SYSTEM_LOCK), exist_ok=True)
    with open(SYSTEM_LOCK, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


@pytest.fixture
def mount_helper(tmp_path, system_lock):
    """/sbin/mount.topicfs, running the daemon under test, for the test's duration."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    shutil.copy(HELPER_SRC, bindir / "mount.topicfs")
    os.chmod(bindir / "mount.topicfs", 0o755)
    os.symlink(os.path.abspath(TOPICFS), bindir / "topicfs")
    backup = SBIN_HELPER + ".pytest-backup"
    had = os.path.lexists(SBIN_HELPER)
    if had:
        os.replace(SBIN_HELPER, backup)
    os.symlink(bindir / "mount.topicfs", SBIN_HELPER)
    try:
        yield SBIN_HELPER
    finally:
        os.unlink(SBIN_HELPER)
        if had:
            os.replace(backup, SBIN_HELPER)


def daemon_pid(data):
    with open(os.path.join(data, "topicfs.lock")) as f:
        return int(f.read().strip() or 0)


def data_dir_free(data):
    """True once no daemon holds DATA/topicfs.lock (it has stopped)."""
    path = os.path.join(data, "topicfs.lock")
    if not os.path.exists(path):
        return True
    with open(path) as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(f, fcntl.LOCK_UN)
        return True


def process_gone(pid):
    """True once pid has exited (a zombie nobody reaps counts as exited)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def unmount(mnt, data, timeout=20):
    """umount(8), then waits for the background daemon to let go of its data."""
    if os.path.ismount(mnt):
        r = subprocess.run(["umount", mnt], capture_output=True, text=True)
        if r.returncode != 0:
            subprocess.run(["umount", "-l", mnt], check=False)
            raise AssertionError(f"umount {mnt} failed: {r.stderr}")
    wait_for(lambda: data_dir_free(data), timeout=timeout, what=f"topicfs on {data} to stop")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def need(*programs):
    """Installs the test dependencies (tests/install-deps.sh) if a program is missing."""
    if all(shutil.which(p) for p in programs):
        return
    subprocess.run(["sh", os.path.join(REPO, "tests", "install-deps.sh")], check=True)
    missing = [p for p in programs if not shutil.which(p)]
    assert not missing, f"still missing after install-deps.sh: {missing}"


def stop_process(proc, sig=15, timeout=10):
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_records(partition_dir, count, timeout=10):
    """Waits until the partition holds at least `count` records; returns its log lines."""
    def enough():
        with open(os.path.join(partition_dir, "end")) as f:
            return int(f.read()) >= count
    wait_for(enough, timeout=timeout, what=f"{count} records in {partition_dir}")
    with open(os.path.join(partition_dir, "log")) as f:
        return f.read().splitlines()
