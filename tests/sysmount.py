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


class Syslog:
    """What reached syslog since the fixture began, as the README says where to
    look: the journal where journald owns /dev/log, else /var/log/syslog; on a
    machine with no syslog daemon at all (a CI container) the fixture runs its
    own rsyslogd on /dev/log, writing to a file, for the test's duration."""

    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.daemon = None
        self.file = None
        self.offset = 0
        self.since = None

    def start(self):
        if not os.path.exists("/dev/log"):
            need("rsyslogd")
            self.file = str(self.tmp / "syslog")
            conf = self.tmp / "rsyslog.conf"
            conf.write_text(
                f'global(workDirectory="{self.tmp}")\n'
                'module(load="imuxsock" SysSock.Name="/dev/log")\n'
                'template(name="Plain" type="string" string="%syslogtag%%msg%\\n")\n'
                f'action(type="omfile" file="{self.file}" template="Plain")\n')
            self.daemon = subprocess.Popen(
                ["rsyslogd", "-n", "-f", str(conf), "-i", str(self.tmp / "rsyslogd.pid")],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            wait_for(lambda: os.path.exists("/dev/log") or self.daemon.poll() is not None,
                     what="rsyslogd's /dev/log")
            assert self.daemon.poll() is None, self.daemon.stderr.read()
        elif os.path.isdir("/run/systemd/journal"):
            self.since = subprocess.run(["date", "+@%s"], capture_output=True,
                                        text=True).stdout.strip()
        elif os.path.exists("/var/log/syslog"):
            self.file = "/var/log/syslog"
            self.offset = os.path.getsize(self.file)
        else:
            pytest.skip("/dev/log exists, but neither a journal nor /var/log/syslog to read")
        return self

    def text(self):
        if self.since:
            return subprocess.run(["journalctl", "-q", "-o", "short", "-t", "topicfs",
                                   "--since", self.since],
                                  capture_output=True, text=True).stdout
        if not os.path.exists(self.file):
            return ""
        with open(self.file, errors="replace") as f:
            f.seek(self.offset)
            return f.read()

    def stop(self):
        if self.daemon:
            stop_process(self.daemon)
            if os.path.exists("/dev/log"):
                os.unlink("/dev/log")


@pytest.fixture
def syslog(tmp_path, system_lock):
    s = Syslog(tmp_path).start()
    try:
        yield s
    finally:
        s.stop()
