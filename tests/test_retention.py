"""Retention deletes the oldest records; positions and offsets never move back."""
import os
import subprocess
import time

import pytest

from conftest import read_file, sh, wait_for, write_file


def part(m, topic, name, p=0):
    return m.p(topic, f"partition-{p}", name)


def start_end(m, topic, p=0):
    return int(read_file(part(m, topic, "start", p))), int(read_file(part(m, topic, "end", p)))


def set_config(m, topic, name, value):
    write_file(m.p(topic, "config", name), f"{value}\n", os.O_WRONLY | os.O_TRUNC)


def test_retention_bytes_deletes_oldest_keeps_offsets(mnt):
    mnt.topic("t")
    write_file(mnt.p("t", "produce"), "".join(f"rec-{i:05d}\n" for i in range(50)))  # 10 B each
    size_before = os.stat(part(mnt, "t", "log")).st_size
    set_config(mnt, "t", "retention.bytes", 100)
    wait_for(lambda: start_end(mnt, "t")[0] > 0, what="retention")
    start, end = start_end(mnt, "t")
    assert end == 50
    assert (end - start) * 10 <= 100 and start >= 40
    assert read_file(part(mnt, "t", "log")) == "".join(f"rec-{i:05d}\n" for i in range(start, 50))
    assert os.stat(part(mnt, "t", "log")).st_size == size_before  # positions never move
    with pytest.raises(FileNotFoundError):
        os.stat(part(mnt, "t", "offset-0"))
    with pytest.raises(FileNotFoundError):
        open(part(mnt, "t", f"offset-{start - 1}"))
    assert read_file(part(mnt, "t", f"offset-{start}")) == f"rec-{start:05d}"
    listed = [n for n in os.listdir(mnt.p("t", "partition-0")) if n.startswith("offset-")]
    assert sorted(listed, key=lambda n: int(n[7:])) == [f"offset-{i}" for i in range(start, 50)]
    # offsets are never reused
    set_config(mnt, "t", "retention.bytes", -1)
    write_file(mnt.p("t", "produce"), "after\n")
    assert start_end(mnt, "t")[1] == 51
    assert read_file(part(mnt, "t", "offset-50")) == "after"


def test_retention_ms_deletes_old_records_end_stays(mnt):
    mnt.topic("t")
    write_file(mnt.p("t", "produce"), "old-1\nold-2\n")
    time.sleep(0.3)
    set_config(mnt, "t", "retention.ms", 200)
    wait_for(lambda: start_end(mnt, "t") == (2, 2), what="time retention")
    assert read_file(part(mnt, "t", "log")) == ""
    assert sh(f"wc -l < {part(mnt, 't', 'log')}").stdout.strip() == "0"
    set_config(mnt, "t", "retention.ms", 600000)
    write_file(mnt.p("t", "produce"), "new\n")
    assert read_file(part(mnt, "t", "log")) == "new\n"
    assert read_file(part(mnt, "t", "offset-2")) == "new"


def test_tail_n_after_retention_shows_only_retained(mnt):
    mnt.topic("t")
    write_file(mnt.p("t", "produce"), "".join(f"r{i:018d}\n" for i in range(2000)))  # 20 B each
    set_config(mnt, "t", "retention.bytes", 60)
    wait_for(lambda: start_end(mnt, "t")[0] >= 1997, what="retention")
    want = [f"r{i:018d}" for i in range(1997, 2000)]
    log = part(mnt, "t", "log")
    assert sh(f"tail -n 10 {log}").stdout.splitlines() == want
    assert sh(f"tail -n 2 {log}").stdout.splitlines() == want[1:]
    assert sh(f"cat {log}").stdout.splitlines() == want
    assert sh(f"grep -c r {log}").stdout.strip() == "3"


def test_tail_n_after_retention_with_large_retained_part(mnt):
    mnt.topic("t")
    write_file(mnt.p("t", "produce"), "".join(f"r{i:018d}\n" for i in range(3000)))
    set_config(mnt, "t", "retention.bytes", 20 * 1000)
    wait_for(lambda: start_end(mnt, "t")[0] >= 2000, what="retention")
    start, _ = start_end(mnt, "t")
    want = [f"r{i:018d}" for i in range(start, 3000)]
    log = part(mnt, "t", "log")
    assert sh(f"tail -n 5000 {log}").stdout.splitlines() == want
    assert sh(f"tail -n 7 {log}").stdout.splitlines() == want[-7:]


def read_lines(stream, count, timeout=20.0):
    """Reads count lines from a pipe, failing instead of hanging."""
    import selectors
    sel = selectors.DefaultSelector()
    sel.register(stream, selectors.EVENT_READ)
    lines, buf = [], b""
    deadline = time.monotonic() + timeout
    while len(lines) < count:
        left = deadline - time.monotonic()
        assert left > 0 and sel.select(left), f"only {len(lines)} of {count} lines: {lines[-3:]}"
        chunk = os.read(stream.fileno(), 65536)
        assert chunk, "reader exited"
        buf += chunk
        *done, buf = buf.split(b"\n")
        lines += [l.decode() for l in done]
    return lines


@pytest.mark.parametrize("follow", ["-f", "-F"])
def test_tail_follows_through_retention_without_truncation(mnt, follow):
    mnt.topic("t")
    set_config(mnt, "t", "retention.bytes", 2000)
    log = part(mnt, "t", "log")
    write_file(mnt.p("t", "produce"), "seed-0000\n")
    tail = subprocess.Popen(["tail", follow, "-s", "0.05", "-n", "+1", log],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert read_lines(tail.stdout, 1) == ["seed-0000"]
        expected = []
        for burst in range(10):
            lines = [f"b{burst}-{i:04d}" for i in range(30)]  # 10 B each, 300 B a burst
            write_file(mnt.p("t", "produce"), "".join(l + "\n" for l in lines))
            expected += lines
            assert read_lines(tail.stdout, len(lines)) == lines
            time.sleep(0.15)  # let retention run between bursts
        wait_for(lambda: start_end(mnt, "t")[0] > 0, what="retention while following")
        write_file(mnt.p("t", "produce"), "last\n")
        assert read_lines(tail.stdout, 1) == ["last"]
    finally:
        tail.kill()
        _, err = tail.communicate()
    assert b"truncated" not in err and b"replaced" not in err, err


def test_follower_behind_retention_skips_to_retained_start(mnt):
    mnt.topic("t")
    write_file(mnt.p("t", "produce"), "".join(f"old-{i:05d}\n" for i in range(100)))  # 10 B each
    with open(part(mnt, "t", "log"), "rb", buffering=0) as f:
        assert f.read(50) == b"".join(f"old-{i:05d}\n".encode() for i in range(5))
        set_config(mnt, "t", "retention.bytes", 100)
        wait_for(lambda: start_end(mnt, "t")[0] >= 90, what="retention")
        rest = f.read()
    assert b"\0" not in rest
    assert rest == b"".join(f"old-{i:05d}\n".encode() for i in range(90, 100))
