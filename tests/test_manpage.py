"""The manual page renders without warnings and keeps up with --help and --version."""
import os
import re
import subprocess

from conftest import TOPICFS
from sysmount import REPO, need

MANPAGE = os.path.join(REPO, "man", "topicfs.8")


def rendered():
    r = subprocess.run(["man", "-E", "UTF-8", "-l", MANPAGE], capture_output=True, text=True,
                       env=dict(os.environ, MANWIDTH="200", MAN_KEEP_FORMATTING=""))
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_manpage_renders_without_warnings():
    need("man")
    r = subprocess.run(f"man --warnings -E UTF-8 -l {MANPAGE} 2>&1 >/dev/null",
                       shell=True, capture_output=True, text=True)
    assert r.stdout == ""
    text = rendered()
    for section in ("SYNOPSIS", "OPTIONS", "THE TREE", "PRODUCING", "CONSUMING", "RETENTION",
                    "DURABILITY", "ERRORS", "EXIT STATUS"):
        assert f"\n{section}\n" in text, f"no {section} section"


def test_help_and_version():
    r = subprocess.run([TOPICFS, "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "usage:" in r.stdout and "DATA_DIR MOUNTPOINT" in r.stdout
    r = subprocess.run([TOPICFS, "--version"], capture_output=True, text=True)
    assert r.returncode == 0
    version = re.match(r"topicfs (\d+\.\d+\.\d+) ", r.stdout).group(1)
    with open(MANPAGE) as f:
        assert f'"topicfs {version}"' in f.read(), "the man page's .TH names another version"
    r = subprocess.run([TOPICFS], capture_output=True, text=True)
    assert r.returncode == 1 and "need DATA_DIR and MOUNTPOINT" in r.stderr


def test_manpage_documents_every_option_of_help():
    r = subprocess.run([TOPICFS, "--help"], capture_output=True, text=True)
    options = re.findall(r"-o ([a-z.]+)=", r.stdout)
    assert "partitions" in options and "sync" in options
    text = rendered()
    for name in options:
        assert f"{name}=" in text, f"-o {name}= is not in the man page"
    for flag in re.findall(r"^\s+(-[a-zA-Z]|--[a-z]+)\b", r.stdout, re.M):
        assert flag in text, f"{flag} is not in the man page"
