"""A power loss never corrupts the store: disk images a power loss could leave,
rebuilt from a journal of every write and sync of the store's files, each mounted.

The daemon runs a workload under tests/powerloss/iojournal.c (LD_PRELOAD);
tests/powerloss/images.py rebuilds the images (everything up to a file's last
completed sync; after it, per page, any later version or none). Each image must
mount, keep every topic, and hold per partition a prefix of what was written,
with at least every record made durable before the crash: by a fsync(2) on
produce that had returned (sync=interval), or by its write() (sync=always).
TOPICFS_POWERLOSS_IMAGES sets how many images (`make stress`: hundreds)."""
import os
import random
import re
import shutil
import subprocess
import threading
import time

import pytest

from conftest import TOPICFS, Mount, assert_no_sanitizer_report, wait_for, write_file
from powerloss import images

IMAGES = int(os.environ.get("TOPICFS_POWERLOSS_IMAGES", "60"))
SHIM = os.environ.get("TOPICFS_IOJOURNAL") or os.path.join(
    os.path.dirname(TOPICFS), "iojournal.so")
RECORD = re.compile(rb"^w(\d)-(\d+)$")
WRITERS = 2
BOOT_BEFORE, BOOT_AFTER = "before-the-power-loss", "after-the-power-loss"
LOG_MAX = 16 << 20  # far more than the workload writes


class Workload:
    """Two writers on their own produce descriptors, one record per write() with
    some three-line writes; every 25 writes a fsync(2). Records which record of
    each writer every write() and every fsync() acknowledged, and when."""

    def __init__(self, produce, writes):
        self.produce, self.writes = produce, writes
        self.acks = [[] for _ in range(WRITERS)]    # (t_ns, last seq) per write()
        self.fsyncs = [[] for _ in range(WRITERS)]  # (t_ns, last seq) per fsync()

    def writer(self, w):
        fd = os.open(self.produce, os.O_WRONLY | os.O_APPEND)
        seq = 0
        try:
            for i in range(self.writes):
                n = 3 if i % 7 == 0 else 1
                os.write(fd, b"".join(b"w%d-%d\n" % (w, seq + j) for j in range(n)))
                seq += n
                self.acks[w].append((time.monotonic_ns(), seq - 1))
                if i % 25 == 24:
                    os.fsync(fd)
                    self.fsyncs[w].append((time.monotonic_ns(), seq - 1))
        finally:
            os.close(fd)

    def run(self):
        threads = [threading.Thread(target=self.writer, args=(w,)) for w in range(WRITERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def required(self, t_ns, sync_always):
        """Per writer, the last seq that must survive a crash at t_ns."""
        marks = self.acks if sync_always else self.fsyncs
        return [max((s for t, s in m if t < t_ns), default=-1) for m in marks]


def partition_records(mnt, topic):
    parts = int(open(mnt.p(topic, "config", "partitions")).read())
    out = []
    for n in range(parts):
        with open(mnt.p(topic, f"partition-{n}", "log"), "rb") as f:
            data = f.read(LOG_MAX)  # a damaged store may claim any size
        assert len(data) < LOG_MAX, f"{topic}/partition-{n}: a log of {LOG_MAX} bytes or more"
        recs = data.split(b"\n")[:-1] if data else []
        start = int(open(mnt.p(topic, f"partition-{n}", "start")).read())
        end = int(open(mnt.p(topic, f"partition-{n}", "end")).read())
        assert end - start == len(recs), f"{topic}/partition-{n}: {start}..{end} but {len(recs)} records"
        out.append(recs)
    return out


def journaled_run(tmp_path, sync):
    """Runs the workload on a daemon under the journal; returns the journal's
    events, the workload, and what the partitions held at the end."""
    m = Mount(tmp_path / "journaled", f"sync={sync},retention.check.interval.ms=150")
    os.makedirs(tmp_path / "journaled", exist_ok=True)
    journal = str(tmp_path / "journal")
    assert os.path.exists(SHIM), f"{SHIM} is missing: make builds it"
    env = dict(os.environ, LD_PRELOAD=SHIM, IOJ_DIR=m.data, IOJ_OUT=journal,
               TOPICFS_BOOT_ID=BOOT_BEFORE,
               ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0")
    os.makedirs(m.data, mode=0o700, exist_ok=True)
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        m.start()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    try:
        m.topic("pl", 3)
        m.topic("other")
        write_file(m.p("other", "produce"), "kept\n")
        fd = os.open(m.p("other", "produce"), os.O_WRONLY)
        os.fsync(fd)  # both topics are durable from here on
        os.close(fd)
        work = Workload(m.p("pl", "produce"), 260)
        work.topics_durable_ns = time.monotonic_ns()
        work.run()
        final = partition_records(m, "pl")
    finally:
        m.stop()
    assert_no_sanitizer_report(m.log())
    return images.read_journal(journal), work, final


def check_image(tmp_path, name, events, k, choose, work, final, sync_always, boot=BOOT_AFTER):
    """Mounts the image of a crash at event k; returns None or what is wrong."""
    data = tmp_path / name / "data"
    images.write_image(events, k, str(data), choose)
    m = Mount(tmp_path / name, "")
    os.environ["TOPICFS_BOOT_ID"] = boot
    try:
        try:
            m.start()
        except AssertionError as e:
            return f"does not mount: {e}"
        try:
            topics = sorted(os.listdir(m.path))
            if events[k - 1].t_ns <= work.topics_durable_ns:
                # Before the topics were synced: they may be gone, never torn.
                for t in topics:
                    partition_records(m, t)
                return f"topics {topics}" if set(topics) - {"other", "pl"} else None
            if topics != ["other", "pl"]:
                return f"topics {topics}"
            got = partition_records(m, "pl")
            if partition_records(m, "other") != [[b"kept"]]:
                return "topic other lost its record"
        except (OSError, AssertionError, ValueError) as e:
            return f"reading fails: {e!r}"
        finally:
            try:
                m.stop()
            except AssertionError as e:
                return f"unclean stop: {e}"
        log = m.log()
        if "inconsistent" in log or "AddressSanitizer" in log or "runtime error" in log:
            return f"daemon log:\n{log}"
    finally:
        os.environ.pop("TOPICFS_BOOT_ID", None)
        shutil.rmtree(tmp_path / name, ignore_errors=True)
    present = set()
    for n, (g, f) in enumerate(zip(got, final)):
        if g != f[:len(g)]:
            return f"partition-{n} is not a prefix of what was written"
        present.update(g)
    need = work.required(events[k - 1].t_ns, sync_always)
    for w, last in enumerate(need):
        missing = [s for s in range(last + 1) if b"w%d-%d" % (w, s) not in present]
        if missing:
            return f"writer {w} lost durable records {missing[:5]}... (of 0..{last})"
    return None


@pytest.mark.parametrize("sync", ["interval", "always"])
def test_no_image_a_power_loss_can_leave_is_broken(tmp_path, sync):
    events, work, final = journaled_run(tmp_path, sync)
    # The WAL is written through a mapping: the shim must have seen its entries.
    wal = [e for e in events if e.type == images.J_WRITE and e.file in (2, 3) and b"WAL1" in e.data]
    assert len(wal) > 10, f"the journal holds {len(wal)} writes of WAL entries"
    rng = random.Random(f"{sync}-{IMAGES}")
    broken = []
    for i, k in enumerate(images.crash_points(events, IMAGES, rng)):
        bad = check_image(tmp_path, f"img{i}", events, k, images.random_choice(rng), work,
                          final, sync == "always")
        if bad:
            broken.append(f"image {i} (crash at event {k} of {len(events)}): {bad}")
    assert not broken, f"{len(broken)} of {IMAGES} images broken:\n" + "\n".join(broken[:5])


def test_the_controls_every_write_and_none_after_the_sync_pass(tmp_path):
    events, work, final = journaled_run(tmp_path, "interval")
    rng = random.Random(7)
    for i, k in enumerate(images.crash_points(events, 4, rng) + [len(events)]):
        for how, choose in (("all", images.every_write), ("none", images.no_write)):
            bad = check_image(tmp_path, f"{how}{i}", events, k, choose, work, final, False)
            assert bad is None, f"{how} image at event {k}: {bad}"


def test_the_test_finds_a_store_that_skips_recovery(tmp_path):
    """Without the restore (the same boot id: taken for a daemon crash), torn
    images are found broken: the check can fail."""
    events, work, final = journaled_run(tmp_path, "interval")
    rng = random.Random(11)
    broken = 0
    for i, k in enumerate(images.crash_points(events, 40, rng)):
        if check_image(tmp_path, f"raw{i}", events, k, images.random_choice(rng), work, final,
                       False, boot=BOOT_BEFORE):
            broken += 1
    assert broken > 0, "no torn image of 40 was found broken: the test cannot fail"
