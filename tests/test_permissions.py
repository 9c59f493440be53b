"""With allow_other,default_permissions, topics have owners and modes that hold."""
import os
import pwd
import shutil
import subprocess
import tempfile

import pytest

from conftest import Mount, read_file, write_file

USER = "topicfs-test"


@pytest.fixture(scope="module")
def user():
    """A real second user (made once, as CI runs as root)."""
    try:
        pw = pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/bin/sh", USER],
                       check=True)
        pw = pwd.getpwnam(USER)
    return pw


@pytest.fixture
def shared(tmp_path):
    """A mount under a directory every user can reach."""
    top = tempfile.mkdtemp(prefix="topicfs-perm-", dir="/var/tmp")
    os.chmod(top, 0o755)
    m = Mount(tmp_path, "allow_other,default_permissions,retention.check.interval.ms=100")
    m.path = os.path.join(top, "mnt")
    os.makedirs(m.path)
    m.start()
    try:
        yield m
    finally:
        m.stop()
        m.check_log()
        shutil.rmtree(top, ignore_errors=True)


def as_user(pw, cmd):
    return subprocess.run(["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}",
                           "--clear-groups", "bash", "-c", cmd],
                          capture_output=True, text=True, timeout=30)


def test_mkdir_by_a_user_makes_a_topic_the_user_owns(shared, user):
    r = as_user(user, f"umask 022; mkdir {shared.p('mine')} && echo hi >> {shared.p('mine', 'produce')}")
    assert r.returncode == 0, r.stderr
    st = os.stat(shared.p("mine"))
    assert (st.st_uid, st.st_gid) == (user.pw_uid, user.pw_gid)
    assert st.st_mode & 0o7777 == 0o755
    assert os.stat(shared.p("mine", "produce")).st_mode & 0o777 == 0o200
    assert os.stat(shared.p("mine", "partition-0", "log")).st_uid == user.pw_uid
    assert read_file(shared.p("mine", "partition-0", "log")) == "hi\n"


def test_user_without_write_permission_gets_eacces_on_produce(shared, user):
    os.mkdir(shared.p("roots"), 0o755)
    write_file(shared.p("roots", "produce"), "by root\n")
    r = as_user(user, f"echo intruder >> {shared.p('roots', 'produce')}")
    assert r.returncode != 0 and "Permission denied" in r.stderr
    r = as_user(user, f"echo intruder >> {shared.p('roots', 'keys', 'k')}")
    assert r.returncode != 0 and "Permission denied" in r.stderr
    r = as_user(user, f"echo 9 > {shared.p('roots', 'config', 'partitions')}")
    assert r.returncode != 0
    # but reading is allowed by 0755
    r = as_user(user, f"cat {shared.p('roots', 'partition-0', 'log')}")
    assert r.returncode == 0 and r.stdout == "by root\n"
    assert read_file(shared.p("roots", "partition-0", "log")) == "by root\n"
    assert read_file(shared.p("roots", "config", "partitions")) == "1\n"


def test_user_without_read_permission_cannot_read_partitions(shared, user):
    os.mkdir(shared.p("secret"), 0o700)
    write_file(shared.p("secret", "produce"), "classified\n")
    for cmd in (f"cat {shared.p('secret', 'partition-0', 'log')}",
                f"ls {shared.p('secret', 'partition-0')}",
                f"cat {shared.p('secret', 'partition-0', 'offset-0')}"):
        r = as_user(user, cmd)
        assert r.returncode != 0 and "Permission denied" in r.stderr, cmd
        assert "classified" not in r.stdout


def test_chmod_and_chown_persist_across_remount(shared, user):
    os.mkdir(shared.p("t"), 0o755)
    os.chown(shared.p("t"), user.pw_uid, user.pw_gid)
    r = as_user(user, f"chmod 0730 {shared.p('t')} && echo mine >> {shared.p('t', 'produce')}")
    assert r.returncode == 0, r.stderr
    shared.restart()
    st = os.stat(shared.p("t"))
    assert (st.st_uid, st.st_mode & 0o7777) == (user.pw_uid, 0o730)
    assert os.stat(shared.p("t", "produce")).st_mode & 0o777 == 0o220
    assert read_file(shared.p("t", "partition-0", "log")) == "mine\n"


def test_only_the_owner_may_chmod_and_remove_a_topic(shared, user):
    os.mkdir(shared.p("roots"))
    os.chmod(shared.p("roots"), 0o777)
    r = as_user(user, f"chmod 0700 {shared.p('roots')}")
    assert r.returncode != 0
    assert os.stat(shared.p("roots")).st_mode & 0o7777 == 0o777
    r = as_user(user, f"rmdir {shared.p('roots')}")  # the root is sticky, like /tmp
    assert r.returncode != 0
    assert os.path.isdir(shared.p("roots"))
