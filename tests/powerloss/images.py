"""The disk images a power loss could leave, rebuilt from iojournal.c's journal.

Model (the one the write-path issue states): at a crash at journal event K, each
file holds everything written before its last completed sync began; of what was
written after that, each page holds any one of its later versions, or none of
them. A write through an O_DSYNC descriptor is durable once it returned, so its
page holds that version or a later one.
"""
import os
import random
import struct

J_WRITE, J_SYNC_BEGIN, J_SYNC_END, J_TRUNCATE = 1, 2, 3, 4
HEAD = struct.Struct("<IBBHI4xQQ")  # struct jhead in iojournal.c
MAGIC = 0x4A4F5552
FILES = ("data.mdb", "topicfs.snapshot", "topicfs.wal.0", "topicfs.wal.1")
PAGE = 4096


class Event:
    __slots__ = ("type", "file", "dsync", "off", "t_ns", "data")

    def __init__(self, type_, file, dsync, off, t_ns, data):
        self.type, self.file, self.dsync = type_, file, dsync
        self.off, self.t_ns, self.data = off, t_ns, data


def read_journal(path):
    events = []
    with open(path, "rb") as f:
        buf = f.read()
    at = 0
    while at + HEAD.size <= len(buf):
        magic, type_, file, dsync, length, off, t_ns = HEAD.unpack_from(buf, at)
        assert magic == MAGIC, f"journal damaged at byte {at}"
        at += HEAD.size
        data = buf[at:at + length] if type_ == J_WRITE else b""
        at += len(data)
        events.append(Event(type_, file, dsync, off, t_ns, data))
    return events


def apply(img, ev):
    if ev.type == J_WRITE:
        end = ev.off + len(ev.data)
        if len(img) < end:
            img.extend(bytes(end - len(img)))
        img[ev.off:end] = ev.data
    elif ev.type == J_TRUNCATE:
        if ev.off < len(img):
            del img[ev.off:]
        else:
            img.extend(bytes(ev.off - len(img)))


def durable_from(events, k, file):
    """Index of the sync-begin of the file's last sync completed before event k, or 0."""
    for i in range(k - 1, -1, -1):
        e = events[i]
        if e.file == file and e.type == J_SYNC_END:
            for j in range(i - 1, -1, -1):
                b = events[j]
                if b.file == file and b.type == J_SYNC_BEGIN:
                    return j
            return 0
    return 0


def file_image(events, k, file, choose):
    """The file's bytes after a crash at event k. choose(versions) picks one page
    version index: 0 is none (the durable page), i the page after the i-th later write."""
    b = durable_from(events, k, file)
    img = bytearray()
    for e in events[:b]:
        if e.file == file:
            apply(img, e)
    base = bytes(img)
    cur = bytearray(img)
    versions = {}  # page -> [page bytes after each later write touching it]
    floor = {}     # page -> the lowest version allowed (an O_DSYNC write)
    for e in events[b:k]:
        if e.file != file or e.type not in (J_WRITE, J_TRUNCATE):
            continue
        apply(cur, e)
        if e.type == J_TRUNCATE:
            continue  # sizes are taken from the versions chosen
        for p in range(e.off // PAGE, (e.off + len(e.data) - 1) // PAGE + 1):
            v = versions.setdefault(p, [])
            v.append(bytes(cur[p * PAGE:(p + 1) * PAGE]))
            if e.dsync:
                floor[p] = len(v)
    out = bytearray(base)
    for p, v in versions.items():
        lo = floor.get(p, 0)
        i = choose(lo, len(v))
        if i == 0:
            continue
        page = v[i - 1]
        end = p * PAGE + len(page)
        if len(out) < end:
            out.extend(bytes(end - len(out)))
        out[p * PAGE:end] = page
    return bytes(out)


def random_choice(rng):
    return lambda lo, n: rng.randint(lo, n)


def every_write(lo, n):
    return n


def no_write(lo, n):
    return lo


def write_image(events, k, dest, choose):
    os.makedirs(dest, exist_ok=True)
    os.chmod(dest, 0o700)
    for file, name in enumerate(FILES):
        if any(e.file == file for e in events[:k]):
            with open(os.path.join(dest, name), "wb") as f:
                f.write(file_image(events, k, file, choose))


def crash_points(events, n, rng):
    """n crash points spread over the journal (after its first sync completed)."""
    first = next(i for i, e in enumerate(events) if e.type == J_SYNC_END and e.file == 1)
    return sorted(rng.randint(first + 1, len(events)) for _ in range(n))
