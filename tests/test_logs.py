"""One log: the daemon's lines and the store's go to stderr with -f, to syslog once
detached, escaped and limited per user."""
import errno
import os
import subprocess

import pytest

from conftest import TOPICFS, wait_for, write_file
from sysmount import daemon_pid, process_gone, syslog, system_lock, unmount  # noqa: F401


@pytest.fixture
def small_disk(tmp_path):
    """An 8 MiB tmpfs for DATA_DIR, unmounted at the end whatever happens."""
    d = tmp_path / "small"
    d.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(d)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr}")
    try:
        yield d
    finally:
        subprocess.run(["umount", "-l", str(d)], check=False)


def test_store_messages_reach_syslog_when_detached(tmp_path, small_disk, syslog):
    data, mnt = str(small_disk / "data"), str(tmp_path / "mnt")
    os.makedirs(mnt)
    r = subprocess.run([TOPICFS, data, mnt, "-o", "map.size=1048576"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    pid = daemon_pid(data)
    try:
        os.mkdir(os.path.join(mnt, "t"))
        with pytest.raises(OSError) as e:
            for _ in range(1000):  # fills the 8 MiB disk
                write_file(os.path.join(mnt, "t", "produce"), b"f" * 65535 + b"\n")
        assert e.value.errno == errno.ENOSPC
    finally:
        unmount(mnt, data)
        wait_for(lambda: process_gone(pid), what="the daemon to exit")
    wait_for(lambda: "store: " in syslog.text(), what="the store's message in syslog")
    text = syslog.text()
    assert f"topicfs[{pid}]" in text
    assert "store: " in text and "disk is full" in text, text
