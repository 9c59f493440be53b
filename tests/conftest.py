"""Fixtures that mount a real topicfs in a temp dir and always unmount it."""
import os
import re
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
        self.expected_errors = []

    def expect_errors(self, *patterns):
        """Declares `error` lines this test provokes on purpose (regexes searched
        in the line); any other error line in the daemon's log fails the test."""
        self.expected_errors += [re.compile(p) for p in patterns]

    def unexpected_errors(self):
        return [line for line in self.log().splitlines()
                if re.match(r"(topicfs|store): error: ", line)
                and not any(p.search(line) for p in self.expected_errors)]

    def check_log(self):
        """No sanitizer report and no error line the test did not expect."""
        text = self.log()
        assert_no_sanitizer_report(text)
        bad = self.unexpected_errors()
        assert not bad, "unexpected error lines in the daemon's log (declare them with " \
            "expect_errors if the test provokes them):\n" + "\n".join(bad)

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


def stop_and_check(mounts):
    """Unmounts every mount and checks its log; the failures, one string each."""
    errors = []
    for m in mounts:
        for step in (m.stop, m.check_log):
            try:
                step()
            except AssertionError as e:
                errors.append(str(e))
    return errors


@pytest.fixture
def mount_factory(tmp_path):
    mounts = []

    def make(options="retention.check.interval.ms=100"):
        m = Mount(tmp_path / f"m{len(mounts)}", options)
        os.makedirs(tmp_path / f"m{len(mounts)}", exist_ok=True)
        mounts.append(m)
        return m.start()

    yield make
    errors = stop_and_check(mounts)
    assert not errors, "\n".join(errors)


@pytest.fixture
def mnt(mount_factory):
    return mount_factory()


SECOND_USER = "topicfs-test"


@pytest.fixture(scope="session")
def second_user():
    """A real second local user (made once if missing; the suite runs as root)."""
    import pwd
    try:
        return pwd.getpwnam(SECOND_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/bin/sh",
                        SECOND_USER], check=True)
        return pwd.getpwnam(SECOND_USER)


def as_user(pw, *argv, **kw):
    """Runs argv as user pw (no supplementary groups); CompletedProcess with text output."""
    return subprocess.run(["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}",
                           "--clear-groups", *argv], capture_output=True, text=True,
                          timeout=kw.pop("timeout", 60), **kw)


@pytest.fixture
def shared_factory(tmp_path):
    """Mounts under a directory every user can reach (with the options given, e.g.
    allow_other); each mount is stopped and its log checked at the end."""
    import shutil
    import tempfile
    mounts, tops = [], []

    def make(options):
        top = tempfile.mkdtemp(prefix="topicfs-shared-", dir="/var/tmp")
        os.chmod(top, 0o755)
        tops.append(top)
        m = Mount(tmp_path / f"s{len(mounts)}", options)
        os.makedirs(tmp_path / f"s{len(mounts)}", exist_ok=True)
        m.path = os.path.join(top, "mnt")
        m.data = os.path.join(top, "data")  # reachable too: who may read it is the test
        os.makedirs(m.path)
        mounts.append(m)
        return m.start()

    yield make
    errors = stop_and_check(mounts)
    for top in tops:
        shutil.rmtree(top, ignore_errors=True)
    assert not errors, "\n".join(errors)
