"""Read-only files refuse writes, write-only files refuse reads; nothing is stored."""
import errno
import os

import pytest

from conftest import read_file, sh, write_file


@pytest.mark.parametrize("name", ["log", "start", "end", "offset-0"])
def test_writing_read_only_files_is_eacces(mnt, name):
    mnt.topic("t")
    write_file(mnt.p("t", "produce"), "keep\n")
    path = mnt.p("t", "partition-0", name)
    for flags in (os.O_WRONLY, os.O_WRONLY | os.O_APPEND, os.O_RDWR, os.O_WRONLY | os.O_TRUNC):
        with pytest.raises(PermissionError):
            os.open(path, flags)
    assert read_file(mnt.p("t", "partition-0", "log")) == "keep\n"
    assert "EACCES" in mnt.log()


def test_reading_produce_is_eacces(mnt):
    mnt.topic("t")
    with pytest.raises(PermissionError):
        open(mnt.p("t", "produce")).read()
    with pytest.raises(PermissionError):
        os.open(mnt.p("t", "produce"), os.O_RDWR)


def test_creating_files_outside_keys_is_refused(mnt):
    mnt.topic("t")
    for path in (mnt.p("t", "newfile"), mnt.p("t", "partition-0", "offset-5"), mnt.p("rootfile"),
                 mnt.p("t", "config", "unknown.setting")):
        with pytest.raises(OSError) as e:
            write_file(path, "x\n", os.O_WRONLY | os.O_CREAT)
        assert e.value.errno in (errno.EACCES, errno.EPERM)
    assert read_file(mnt.p("t", "partition-0", "end")) == "0\n"


def test_unlink_rename_and_chmod_are_refused(mnt):
    mnt.topic("t")
    write_file(mnt.p("t", "produce"), "a\n")
    with pytest.raises(OSError):
        os.unlink(mnt.p("t", "partition-0", "offset-0"))
    with pytest.raises(OSError):
        os.rename(mnt.p("t"), mnt.p("u"))
    with pytest.raises(OSError):
        os.chmod(mnt.p("t", "partition-0", "offset-0"), 0o777)
    with pytest.raises(OSError):
        os.rmdir(mnt.p("t", "partition-0"))
    assert read_file(mnt.p("t", "partition-0", "offset-0")) == "a"


def test_setxattr_on_record_is_refused(mnt):
    mnt.topic("t")
    write_file(mnt.p("t", "produce"), "a\n")
    with pytest.raises(OSError) as e:
        os.setxattr(mnt.p("t", "partition-0", "offset-0"), "user.topicfs.key", b"forged")
    assert e.value.errno in (errno.EACCES, errno.EPERM, errno.ENOTSUP)
    with pytest.raises(OSError):
        os.getxattr(mnt.p("t", "partition-0", "offset-0"), "user.topicfs.key")


def test_shell_write_to_log_reports_error(mnt):
    mnt.topic("t")
    r = sh(f"echo nope >> {mnt.p('t', 'partition-0', 'log')}")
    assert r.returncode != 0 and "Permission denied" in r.stderr
    assert read_file(mnt.p("t", "partition-0", "end")) == "0\n"
