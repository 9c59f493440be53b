"""Fixtures that mount a real topicfs in a temp dir and always unmount it."""
import os
import signal
import subprocess
import time

import pytest

TOPICFS = os.environ.get("TOPICFS_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "build", "topicfs")


def wait_for(cond, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


class Mount:
    """One topicfs daemon in the foreground, on data_dir, mounted at path."""

    def __init__(self, tmp_path, options=""):
        self.data = str(tmp_path / "data")
        self.path = str(tmp_path / "mnt")
        self.options = options
        self.log_path = str(tmp_path / "daemon.log")
        os.makedirs(self.path, exist_ok=True)
        self.proc = None
        self.logs = []

    def start(self, options=None):
        if options is not None:
            self.options = options
        args = [TOPICFS, self.data, self.path, "-f"]
        if self.options:
            args += ["-o", self.options]
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(args, stdout=log, stderr=log)
        log.close()
        wait_for(lambda: os.path.ismount(self.path) or self.proc.poll() is not None,
                 what="mount")
        assert self.proc.poll() is None, f"topicfs exited early:\n{self.log()}"
        return self

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self):
        """Clean unmount; asserts the daemon exited by itself with status 0."""
        if self.proc is None:
            return
        subprocess.run(["fusermount3", "-u", self.path], check=False)
        try:
            rc = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("topicfs did not exit after unmount")
        finally:
            self.proc = None
        assert rc == 0, f"topicfs exited with {rc}:\n{self.log()}"

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None
        subprocess.run(["fusermount3", "-u", "-z", self.path], check=False)
        wait_for(lambda: not os.path.ismount(self.path), what="lazy unmount")

    def restart(self):
        self.stop()
        return self.start()

    def p(self, *parts):
        return os.path.join(self.path, *parts)

    def topic(self, name, partitions=None):
        os.mkdir(self.p(name))
        if partitions is not None:
            write_file(self.p(name, "config", "partitions"), f"{partitions}\n")
        return self.p(name)


def write_file(path, data, flags=os.O_WRONLY | os.O_APPEND):
    if isinstance(data, str):
        data = data.encode()
    fd = os.open(path, flags)
    try:
        n = os.write(fd, data)
        assert n == len(data)
    finally:
        os.close(fd)


def read_file(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def sh(cmd, **kw):
    """Runs a bash command line; returns CompletedProcess with text output."""
    return subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, **kw)


def assert_no_sanitizer_report(text):
    for marker in ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer",
                   "WARNING: ThreadSanitizer"):
        assert marker not in text, f"sanitizer report in daemon log:\n{text}"


@pytest.fixture
def mount_factory(tmp_path):
    mounts = []

    def make(options="retention.check.interval.ms=100"):
        m = Mount(tmp_path / f"m{len(mounts)}", options)
        os.makedirs(tmp_path / f"m{len(mounts)}", exist_ok=True)
        mounts.append(m)
        return m.start()

    yield make
    errors = []
    for m in mounts:
        try:
            m.stop()
        except AssertionError as e:
            errors.append(str(e))
        assert_no_sanitizer_report(m.log())
    assert not errors, "\n".join(errors)


@pytest.fixture
def mnt(mount_factory):
    return mount_factory()
