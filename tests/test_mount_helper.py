"""mount -t topicfs, /etc/fstab and mount.topicfs: mounted when mount returns, 32 on failure."""
import os
import subprocess

import pytest

from conftest import TOPICFS, read_file, wait_for, write_file
from sysmount import (HELPER_SRC, daemon_pid, mount_helper, process_gone,  # noqa: F401
                      system_lock, unmount)


@pytest.fixture
def dirs(tmp_path):
    data, mnt = str(tmp_path / "data"), str(tmp_path / "mnt")
    os.makedirs(mnt)
    yield data, mnt
    unmount(mnt, data)


def mount(*args):
    return subprocess.run(["mount", *args], capture_output=True, text=True, timeout=30)


def proc_mounts_entry(mnt):
    with open("/proc/mounts") as f:
        for line in f:
            fields = line.split()
            if fields[1] == mnt:
                return fields
    return None


def test_mount_t_topicfs_is_ready_when_mount_returns(mount_helper, dirs):
    data, mnt = dirs
    r = mount("-t", "topicfs", data, mnt, "-o", "partitions=3")
    assert r.returncode == 0, r.stderr
    # No waiting: the helper returns only once the filesystem is mounted.
    assert os.path.ismount(mnt)
    source, target, fstype = proc_mounts_entry(mnt)[:3]
    assert (source, target, fstype) == (data, mnt, "fuse.topicfs")
    os.mkdir(os.path.join(mnt, "t"))
    assert sorted(n for n in os.listdir(os.path.join(mnt, "t")) if n.startswith("partition-")) \
        == ["partition-0", "partition-1", "partition-2"]
    write_file(os.path.join(mnt, "t", "produce"), "a\nb\nc\n")
    assert read_file(os.path.join(mnt, "t", "partition-2", "log")) == "c\n"
    pid = daemon_pid(data)
    unmount(mnt, data)
    assert not os.path.ismount(mnt)
    wait_for(lambda: process_gone(pid), timeout=20, what="the daemon to exit after umount")


def test_fstab_line_then_mount_mountpoint(mount_helper, dirs):
    data, mnt = dirs
    line = f"{data} {mnt} topicfs defaults,partitions=3 0 0\n"
    with open("/etc/fstab") as f:
        original = f.read()
    backup = "/etc/fstab.topicfs-pytest"
    with open(backup, "w") as f:
        f.write(original)
    try:
        with open("/etc/fstab", "a") as f:
            f.write(line)
        r = mount(mnt)
        assert r.returncode == 0, r.stderr
        assert os.path.ismount(mnt)
        os.mkdir(os.path.join(mnt, "fromfstab"))
        assert len(os.listdir(os.path.join(mnt, "fromfstab"))) == 4 + 3  # produce keys config consumers
        # A second `mount MOUNTPOINT` finds it mounted and refuses, as for any fs.
        assert mount(mnt).returncode != 0
        unmount(mnt, data)
    finally:
        # Remove only our line: another run may have changed the file meanwhile.
        with open("/etc/fstab") as f:
            lines = f.readlines()
        with open("/etc/fstab", "w") as f:
            f.writelines(ln for ln in lines if ln != line)
        os.unlink(backup)
    assert open("/etc/fstab").read() == original


def test_fstab_only_words_are_ignored(mount_helper, dirs):
    data, mnt = dirs
    opts = ("defaults,auto,noauto,user,nofail,_netdev,x-systemd.automount,"
            "x-systemd.requires=local-fs.target,comment=x,partitions=2")
    r = mount("-t", "topicfs", data, mnt, "-o", opts)
    assert r.returncode == 0, r.stderr
    os.mkdir(os.path.join(mnt, "t"))
    assert read_file(os.path.join(mnt, "t", "config", "partitions")) == "2\n"


@pytest.mark.parametrize("opts,message", [
    ("partitions=0", "invalid value for option partitions"),
    ("no.such.option=1", "unknown option"),
    ("sync=sometimes", "sync must be"),
    ("spin=fast", "spin must be"),
    ("spin=-1", "spin must be"),
    ("spin=10001", "spin must be"),
])
def test_bad_option_fails_with_32_and_says_why(mount_helper, dirs, opts, message):
    data, mnt = dirs
    r = mount("-t", "topicfs", data, mnt, "-o", opts)
    assert r.returncode == 32
    assert message in r.stderr
    assert f"mount.topicfs: mounting {data} on {mnt} failed" in r.stderr
    assert not os.path.ismount(mnt)


def test_data_dir_in_use_fails_with_32_and_names_the_other(mount_helper, mount_factory, tmp_path):
    first = mount_factory()
    other = str(tmp_path / "other")
    os.makedirs(other)
    r = mount("-t", "topicfs", first.data, other)
    assert r.returncode == 32
    assert f"already in use by another topicfs (pid {first.proc.pid})" in r.stderr
    assert not os.path.ismount(other)
    assert os.path.ismount(first.path)


def test_missing_mount_point_fails_with_32(mount_helper, tmp_path):
    r = mount("-t", "topicfs", str(tmp_path / "data"), str(tmp_path / "nowhere"))
    assert r.returncode == 32
    assert "mount point" in r.stderr and "does not exist" in r.stderr


def test_helper_usage_and_fake_verbose_mount(tmp_path):
    r = subprocess.run(["sh", HELPER_SRC], capture_output=True, text=True)
    assert r.returncode == 1 and "usage: mount.topicfs" in r.stderr
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    # -f (mount --fake): everything but the mount; -v shows the daemon's command
    # line, found in PATH here, without the fstab-only words.
    env = dict(os.environ, PATH=os.path.dirname(os.path.abspath(TOPICFS)) + ":/usr/bin:/bin")
    data = str(tmp_path / "d")
    words = ("defaults,auto,noauto,user,user=root,users,nouser,owner,group,nofail,_netdev,rw,"
             "x-systemd.automount,x-systemd.requires=local-fs.target,x-gvfs-hide,comment=x")
    r = subprocess.run(["sh", HELPER_SRC, data, str(mnt), "-fv", "-o", words],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert f"running {os.path.abspath(TOPICFS)} {data} {mnt} --supervise\n" in r.stderr
    r = subprocess.run(["sh", HELPER_SRC, data, str(mnt), "-f", "-v", "-o", words, "-o",
                        "ro,partitions=2,noexec"], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert f"running {os.path.abspath(TOPICFS)} {data} {mnt} --supervise -o ro,partitions=2,noexec\n" \
        in r.stderr
    r = subprocess.run(["sh", HELPER_SRC, data, str(mnt), "-fv", "-o", "nosupervise,partitions=2"],
                       capture_output=True, text=True, env=env)
    assert f"running {os.path.abspath(TOPICFS)} {data} {mnt} -o partitions=2\n" in r.stderr
    assert not os.path.ismount(mnt)
