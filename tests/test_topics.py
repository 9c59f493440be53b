"""Topics are directories: mkdir, rmdir, names, config files."""
import errno
import os

import pytest

from conftest import read_file, write_file


def test_mkdir_creates_topic_with_its_tree(mount_factory):
    m = mount_factory("partitions=3")
    os.mkdir(m.p("events"))
    assert sorted(os.listdir(m.path)) == ["events"]
    assert sorted(os.listdir(m.p("events"))) == [
        "config", "consumers", "keys", "partition-0", "partition-1", "partition-2", "produce"]
    assert sorted(os.listdir(m.p("events", "partition-1"))) == ["end", "log", "produce", "start"]
    assert read_file(m.p("events", "partition-0", "start")) == "0\n"
    assert read_file(m.p("events", "partition-0", "end")) == "0\n"


@pytest.mark.parametrize("name", [
    "a b", "x" * 250, "caf\u00e9", "semi;colon", "star*", "tab\tname", "colon:name", ".", ".."])
def test_invalid_topic_name_is_einval_and_creates_nothing(mnt, name):
    with pytest.raises(OSError) as e:
        os.mkdir(mnt.p(name))
    assert e.value.errno in (errno.EINVAL, errno.EEXIST)  # the kernel answers . and .. itself
    assert os.listdir(mnt.path) == []
    assert "not a topic name" in mnt.log() or name in (".", "..")


def test_longest_valid_topic_name_works(mnt):
    name = "a.b_c-D9" + "x" * 241
    assert len(name) == 249
    os.mkdir(mnt.p(name))
    write_file(mnt.p(name, "produce"), "hello\n")
    assert read_file(mnt.p(name, "partition-0", "log")) == "hello\n"


def test_mkdir_existing_topic_is_eexist(mnt):
    os.mkdir(mnt.p("t"))
    with pytest.raises(FileExistsError):
        os.mkdir(mnt.p("t"))


def test_mkdir_inside_a_topic_is_refused(mnt):
    os.mkdir(mnt.p("t"))
    with pytest.raises(PermissionError):
        os.mkdir(mnt.p("t", "sub"))


def test_rmdir_deletes_topic_with_all_its_data(mnt):
    os.mkdir(mnt.p("t"))
    write_file(mnt.p("t", "produce"), "a\nb\n")
    os.rmdir(mnt.p("t"))
    assert os.listdir(mnt.path) == []
    assert not os.path.exists(mnt.p("t", "partition-0", "log"))
    os.mkdir(mnt.p("t"))
    assert read_file(mnt.p("t", "partition-0", "end")) == "0\n"
    assert read_file(mnt.p("t", "partition-0", "log")) == ""


def test_rmdir_missing_topic_is_enoent(mnt):
    with pytest.raises(FileNotFoundError):
        os.rmdir(mnt.p("nope"))


def test_config_files_show_mount_defaults(mount_factory):
    m = mount_factory("partitions=2,retention.ms=1000,retention.bytes=4096,max.message.bytes=100")
    os.mkdir(m.p("t"))
    cfg = m.p("t", "config")
    assert sorted(os.listdir(cfg)) == [
        "framing", "key.separator", "max.message.bytes", "partitions", "retention.bytes",
        "retention.ms"]
    assert read_file(os.path.join(cfg, "partitions")) == "2\n"
    assert read_file(os.path.join(cfg, "retention.ms")) == "1000\n"
    assert read_file(os.path.join(cfg, "retention.bytes")) == "4096\n"
    assert read_file(os.path.join(cfg, "max.message.bytes")) == "100\n"
    assert read_file(os.path.join(cfg, "key.separator")) == "\n"


def test_config_write_sets_value_sysfs_style(mnt):
    os.mkdir(mnt.p("t"))
    path = mnt.p("t", "config", "retention.ms")
    write_file(path, "60000\n", os.O_WRONLY | os.O_TRUNC)
    assert read_file(path) == "60000\n"
    assert os.stat(path).st_size == len("60000\n")


@pytest.mark.parametrize("name,value", [
    ("retention.ms", "abc"), ("retention.ms", "-2"), ("retention.ms", "99999999999999999999999"),
    ("retention.bytes", "1.5"), ("max.message.bytes", "-1"), ("partitions", "0"),
    ("partitions", "5000"), ("partitions", " "), ("key.separator", "a\nb")])
def test_invalid_config_value_is_einval_and_changes_nothing(mnt, name, value):
    os.mkdir(mnt.p("t"))
    path = mnt.p("t", "config", name)
    before = read_file(path)
    with pytest.raises(OSError) as e:
        write_file(path, value + "\n", os.O_WRONLY | os.O_TRUNC)
    assert e.value.errno == errno.EINVAL
    assert read_file(path) == before
    assert "rejected (EINVAL)" in mnt.log()


def test_partitions_may_only_grow(mnt):
    os.mkdir(mnt.p("t"))
    write_file(mnt.p("t", "config", "partitions"), "4\n")
    assert read_file(mnt.p("t", "config", "partitions")) == "4\n"
    assert "partition-3" in os.listdir(mnt.p("t"))
    with pytest.raises(OSError) as e:
        write_file(mnt.p("t", "config", "partitions"), "2\n")
    assert e.value.errno == errno.EINVAL
    assert read_file(mnt.p("t", "config", "partitions")) == "4\n"
    assert "partition-3" in os.listdir(mnt.p("t"))


def test_echo_into_config_with_shell(mnt):
    import subprocess
    os.mkdir(mnt.p("t"))
    r = subprocess.run(["bash", "-c", f"echo 3 > {mnt.p('t', 'config', 'partitions')}"])
    assert r.returncode == 0
    r = subprocess.run(["bash", "-c", f"echo nope > {mnt.p('t', 'config', 'partitions')}"],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "Invalid argument" in r.stderr
    assert read_file(mnt.p("t", "config", "partitions")) == "3\n"


def test_find_walks_the_whole_tree(mnt):
    import subprocess
    mnt.topic("t", partitions=2)
    out = subprocess.run(["find", mnt.path], capture_output=True, text=True, check=True).stdout
    assert mnt.p("t", "partition-1", "log") in out.split("\n")
    assert mnt.p("t", "config", "retention.ms") in out.split("\n")


def test_listings_are_fresh_after_each_change(mnt):
    # Listings must show every change at once, however quickly a directory is
    # listed again: a kernel-cached listing (cache_readdir, or what the kernel
    # does when OPENDIR is skipped) goes stale when appends land within the
    # same millisecond of the directory's mtime.
    mnt.topic("t")
    part = mnt.p("t", "partition-0")
    for i in range(3):
        assert sorted(os.listdir(part)) == sorted(
            ["log", "start", "end", "produce"] + ["offset-%d" % j for j in range(i)])
        write_file(mnt.p("t", "produce"), b"r%d\n" % i)
    write_file(mnt.p("t", "config", "partitions"), b"3")
    assert "partition-2" in os.listdir(mnt.p("t"))
    os.mkdir(mnt.p("u"))
    assert "u" in os.listdir(mnt.path)
    os.rmdir(mnt.p("u"))
    assert "u" not in os.listdir(mnt.path)
