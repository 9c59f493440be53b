"""make install / make uninstall honour prefix and DESTDIR, and install what they should."""
import os
import subprocess

from sysmount import REPO


def make(*args):
    r = subprocess.run(["make", "-C", REPO, *args], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def test_install_and_uninstall_honour_prefix_and_destdir(tmp_path):
    root = str(tmp_path / "root")
    make("install", f"DESTDIR={root}", "prefix=/usr")
    expect = {"/usr/bin/topicfs": 0o755, "/usr/bin/topicfs-stat": 0o755,
              "/sbin/mount.topicfs": 0o755, "/usr/share/man/man8/topicfs.8": 0o644}
    for path, mode in expect.items():
        st = os.stat(root + path)
        assert st.st_mode & 0o777 == mode, path
    installed = []
    for dirpath, _, files in os.walk(root):
        installed += [os.path.join(dirpath, f)[len(root):] for f in files]
    assert sorted(installed) == sorted(expect)  # and nothing else, nowhere else
    # mount(8) runs the helper without PATH: it is told where the daemon went.
    with open(root + "/sbin/mount.topicfs") as f:
        assert "\nbindir=/usr/bin\n" in f.read()
    r = subprocess.run([root + "/usr/bin/topicfs", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("topicfs ")
    r = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l",
                        root + "/usr/share/man/man8/topicfs.8"], capture_output=True, text=True)
    assert r.returncode == 0 and "topicfs-stat" in r.stdout and r.stderr == ""

    make("uninstall", f"DESTDIR={root}", "prefix=/usr")
    left = [f for _, _, files in os.walk(root) for f in files]
    assert left == []
