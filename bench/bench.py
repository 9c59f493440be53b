#!/usr/bin/python3
"""topicfs benchmark: topicfs vs a plain file vs Redis Streams, on the same disk.

Run by `make bench` (never part of `make test`).  Standard library only.

Environment:
  BENCH_QUICK=1   shrink every size 10x (smoke run, ~1 min)
  BENCH_REPS=N    repetitions per workload (default 5; the median is reported)
  BENCH_DIR=DIR   work directory (default /var/tmp/topicfs-bench.<pid>; must not be tmpfs)
  BENCH_KEEP=1    keep the work directory afterwards
  BENCH_OUT=FILE  where to write the results (default bench/RESULTS.md)
  BENCH_WAIT_IDLE=S  wait up to S seconds (default 180) for other work on the machine to calm down
  TOPICFS_BIN     the daemon (default build/topicfs)
  NOOPFS_BIN      a FUSE filesystem that does nothing (bench/noopfs.c; default build/noopfs)

Every mount, the redis-server and every helper process are stopped on exit, including on
an error or a signal.  Outputs are checked (record counts, record contents) so a broken
run aborts instead of printing numbers.
"""
import atexit
import os
import platform
import random
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
SCALE = 10 if QUICK else 1
REPS = int(os.environ.get("BENCH_REPS", "5"))
BIN = os.path.abspath(os.environ.get("TOPICFS_BIN", os.path.join(ROOT, "build", "topicfs")))
NOOPFS = os.path.abspath(os.environ.get("NOOPFS_BIN", os.path.join(ROOT, "build", "noopfs")))
OPEN_WRITER = os.path.abspath(os.environ.get("OPEN_WRITER_BIN", os.path.join(ROOT, "build", "open_writer")))
OUT = os.environ.get("BENCH_OUT", os.path.join(HERE, "RESULTS.md"))

N_BULK = 1_000_000 // SCALE          # bulk produce / consume records
N_SMALL = 10_000 // SCALE            # small appends
N_OPEN = 80_000 // SCALE             # long-lived writers: records per run, all writers together
N_BIG = 10_000_000 // SCALE          # the random-read partition
N_RAND = 2_000 // (1 if not QUICK else 4)
RAND_BLOCKS = 10                     # random reads: the peers take turns, this many blocks each
N_FOLLOW = 50 if not QUICK else 15
N_TOPICS = 1_000 // SCALE
SCALE_PARTS = 10
REC = 100                            # bytes per line, '\n' included (record value: 99 bytes)
PAGE = 10_000                        # XRANGE page size

MiB = 1024 * 1024

# --------------------------------------------------------------------------- helpers


def log(*a):
    print("[bench %6.1fs]" % (time.monotonic() - T0), *a, file=sys.stderr, flush=True)


T0 = time.monotonic()


class BenchError(Exception):
    pass


def check(cond, what):
    if not cond:
        raise BenchError("check failed: " + what)


def sh(cmd, **kw):
    """Run a bash command, fail loudly, return stdout (text)."""
    r = subprocess.run(["bash", "-c", cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    if r.returncode != 0:
        raise BenchError("command failed (%d): %s\n%s" % (r.returncode, cmd, r.stderr.decode(errors="replace")))
    return r.stdout.decode(errors="replace")


def timed(cmd):
    """Wall seconds of one bash command."""
    t = time.perf_counter()
    sh(cmd)
    return time.perf_counter() - t


def med(xs):
    return statistics.median(xs)


def line(i):
    return b"%099d\n" % i


def read_text(path):
    with open(path, "rb") as f:
        return f.read().decode().strip()


# --------------------------------------------------------------------------- cleanup

MOUNTS = []       # mountpoints we mounted
PROCS = []        # Popen objects we started


def stop(p):
    """Terminates a child, killing it if it does not go within 5 s."""
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)


def cleanup():
    for p in list(PROCS):
        try:
            stop(p)
        except Exception:
            pass
        PROCS.remove(p)
    for m in list(MOUNTS):
        try:
            umount(m)
        except Exception as e:
            print("bench: cleanup: %s" % e, file=sys.stderr)
            subprocess.run(["fusermount3", "-uz", m], stderr=subprocess.DEVNULL)
            if m in MOUNTS:
                MOUNTS.remove(m)


def on_signal(sig, frame):
    raise SystemExit(128 + sig)


atexit.register(cleanup)
for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(s, on_signal)

# --------------------------------------------------------------------------- topicfs mounts


def is_mounted(mnt):
    mnt = os.path.realpath(mnt)
    with open("/proc/self/mountinfo") as f:
        for l in f:
            if l.split()[4] == mnt:
                return True
    return False


def daemon_pid(data):
    """The topicfs daemon serving DATA (found with pgrep -f on the data dir)."""
    r = subprocess.run(["pgrep", "-f", "--", "topicfs %s " % data], stdout=subprocess.PIPE, text=True)
    pids = []
    for p in r.stdout.split():
        try:
            if os.path.basename(os.readlink("/proc/%s/exe" % p)) == "topicfs":
                pids.append(int(p))
        except OSError:
            pass
    check(len(pids) == 1, "exactly one topicfs daemon for %s (found %s)" % (data, pids))
    return pids[0]


class Mount:
    def __init__(self, data, mnt, opts=None):
        self.data, self.mnt = data, mnt
        os.makedirs(data, exist_ok=True)
        os.makedirs(mnt, exist_ok=True)
        cmd = [BIN, data, mnt] + (["-o", opts] if opts else [])
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
        if r.returncode != 0:
            raise BenchError("mount failed: %s\n%s" % (" ".join(cmd), r.stdout))
        MOUNTS.append(mnt)
        deadline = time.monotonic() + 20
        while not is_mounted(mnt):
            check(time.monotonic() < deadline, "mount %s appears" % mnt)
            time.sleep(0.05)
        os.listdir(mnt)  # answers
        self.pid = daemon_pid(data)
        self.rss = RssSampler(self.pid)

    def close(self):
        self.rss.stop()
        umount(self.mnt, self.pid)


def noop_mount(mnt, topicfs_loop=False):
    """Mounts noopfs (a FUSE filesystem that does nothing) on mnt; its file is mnt/f.
    topicfs_loop: on topicfs's request loop instead of libfuse's."""
    os.makedirs(mnt, exist_ok=True)
    r = subprocess.run([NOOPFS] + (["--topicfs-loop"] if topicfs_loop else []) + [mnt], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=60)
    if r.returncode != 0:
        raise BenchError("noopfs mount failed on %s: %s" % (mnt, r.stdout))
    MOUNTS.append(mnt)
    check(is_mounted(mnt) and os.path.exists(os.path.join(mnt, "f")), "noopfs answers on %s" % mnt)


def fuse_round_trip(mnt, n=2000):
    """Median ns of one FUSE round trip here: stat(2) of noopfs's never-cached name "rt"."""
    noop_mount(mnt)
    try:
        path = os.path.join(mnt, "rt")
        per = []
        for _ in range(n):
            t0 = time.perf_counter_ns()
            os.stat(path)
            per.append(time.perf_counter_ns() - t0)
        return med(per)
    finally:
        umount(mnt)


def umount(mnt, pid=None):
    if is_mounted(mnt):
        subprocess.run(["fusermount3", "-u", mnt], check=True, stderr=subprocess.PIPE)
    if mnt in MOUNTS:
        MOUNTS.remove(mnt)
    if pid:
        deadline = time.monotonic() + 30
        while os.path.exists("/proc/%d" % pid):
            try:
                with open("/proc/%d/stat" % pid) as f:
                    if f.read().split(") ")[-1].startswith("Z"):
                        break
            except OSError:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                break
            time.sleep(0.05)


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for l in f:
            k, _, v = l.partition(":")
            if k in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem"):
                out[k] = int(v.split()[0]) * 1024
    return out


class RssSampler:
    """Samples a daemon's RSS every 20 ms; window() resets VmHWM (clear_refs 5) and
    reports the peak VmHWM and the peak anonymous (heap) RSS over a workload."""

    def __init__(self, pid):
        self.pid = pid
        self.peak_anon = 0
        self.peak_file = 0
        self.stopped = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stopped:
            try:
                st = proc_status(self.pid)
                self.peak_anon = max(self.peak_anon, st.get("RssAnon", 0))
                self.peak_file = max(self.peak_file, st.get("RssFile", 0) + st.get("RssShmem", 0))
            except OSError:
                return
            time.sleep(0.02)

    def reset(self):
        with open("/proc/%d/clear_refs" % self.pid, "w") as f:
            f.write("5")
        self.peak_anon = 0
        self.peak_file = 0

    def read(self):
        st = proc_status(self.pid)
        return {"hwm": st["VmHWM"], "rss": st["VmRSS"],
                "anon": max(self.peak_anon, st["RssAnon"]),
                "file": max(self.peak_file, st.get("RssFile", 0) + st.get("RssShmem", 0))}

    def stop(self):
        self.stopped = True


RSS = {}   # workload -> sample


class rss_window:
    def __init__(self, mount, label):
        self.m, self.label = mount, label

    def __enter__(self):
        self.m.rss.reset()

    def __exit__(self, *exc):
        if exc[0] is None:
            time.sleep(0.05)
            RSS[self.label] = self.m.rss.read()


# --------------------------------------------------------------------------- redis


class Redis:
    """A minimal RESP2 client: request/response round trips on one connection."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.pos = 0

    @staticmethod
    def enc(*args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if not isinstance(a, bytes):
                a = str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    def _more(self):
        if self.pos > (1 << 20):
            del self.buf[:self.pos]
            self.pos = 0
        d = self.s.recv(1 << 20)
        if not d:
            raise BenchError("redis closed the connection")
        self.buf += d

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i >= 0:
                l = bytes(self.buf[self.pos:i])
                self.pos = i + 2
                return l
            self._more()

    def _exact(self, n):
        while len(self.buf) - self.pos < n:
            self._more()
        d = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return d

    def reply(self):
        l = self._line()
        t, rest = l[:1], l[1:]
        if t == b"+":
            return rest
        if t == b"-":
            raise BenchError("redis error: %s" % rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n + 2)[:-2]
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise BenchError("bad RESP: %r" % l)

    def cmd(self, *args):
        self.s.sendall(self.enc(*args))
        return self.reply()

    def raw_until_pong(self, payload):
        """Send payload + PING; return the raw reply bytes (without +PONG).  Used for
        XRANGE pages: the reply is scanned with bytes.count/rfind, not parsed per field."""
        assert self.pos == len(self.buf)
        self.s.sendall(payload + b"*1\r\n$4\r\nPING\r\n")
        chunks, tail = [], b""
        while True:
            d = self.s.recv(1 << 22)
            if not d:
                raise BenchError("redis closed the connection")
            chunks.append(d)
            tail = (tail + d)[-7:]
            if tail == b"+PONG\r\n":
                break
        return b"".join(chunks)[:-7]


class RedisServer:
    def __init__(self, d):
        if not shutil.which("redis-server") or not shutil.which("redis-cli"):
            log("installing redis-server (apt-get)")
            subprocess.run(["apt-get", "update", "-qq"], stdout=subprocess.DEVNULL)
            subprocess.run(["apt-get", "install", "-y", "-qq", "redis-server"],
                           stdout=subprocess.DEVNULL, check=True, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        os.makedirs(d, exist_ok=True)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.version = subprocess.run(["redis-server", "--version"], stdout=subprocess.PIPE, text=True).stdout.split()[2]
        self.p = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                   "--dir", d, "--appendonly", "yes", "--appendfsync", "everysec",
                                   # no automatic AOF rewrite: it would rewrite GBs in the
                                   # background while the next workload runs, on any peer
                                   "--auto-aof-rewrite-percentage", "0",
                                   "--save", "", "--daemonize", "no", "--protected-mode", "no",
                                   "--logfile", os.path.join(d, "redis.log")],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        PROCS.append(self.p)
        deadline = time.monotonic() + 20
        while True:
            try:
                self.c = Redis(self.port)
                if self.c.cmd("PING") == b"PONG":
                    break
            except OSError:
                pass
            check(self.p.poll() is None and time.monotonic() < deadline, "redis-server starts")
            time.sleep(0.05)
        self.pid = self.p.pid

    def pipe(self, src):
        """Feed RESP through `redis-cli --pipe` (src: a file path, or an iterable of chunks)."""
        cmd = ["redis-cli", "-p", str(self.port), "--pipe"]
        if isinstance(src, str):
            with open(src, "rb") as f:
                r = subprocess.run(cmd, stdin=f, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        else:
            p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            for chunk in src:
                p.stdin.write(chunk)
            p.stdin.close()
            out = p.stdout.read()
            p.wait()
            r = subprocess.CompletedProcess(cmd, p.returncode, out)
        txt = r.stdout.decode(errors="replace")
        check(r.returncode == 0 and "errors: 0," in txt, "redis-cli --pipe without errors: " + txt[-300:])

    def hwm(self):
        return proc_status(self.pid)["VmHWM"]

    def close(self):
        try:
            self.c.cmd("SHUTDOWN", "NOSAVE")
        except Exception:
            pass
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        if self.p in PROCS:
            PROCS.remove(self.p)


def resp_xadd(key, value, rid=b"*"):
    return b"*5\r\n$4\r\nXADD\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$1\r\nv\r\n$%d\r\n%s\r\n" % (
        len(key), key, len(rid), rid, len(value), value)


# --------------------------------------------------------------------------- results

ROWS = []      # (section, workload, unit, topicfs, plain, redis, higher_is_better, note)
TARGETS = []   # (target, measured, met)
DETAIL = []    # free-form lines


def row(section, name, unit, tfs, plain=None, redis=None, higher=True, note=""):
    ROWS.append((section, name, unit, tfs, plain, redis, higher, note))
    log("%-48s topicfs=%s plain=%s redis=%s %s" % (name, fmt(tfs), fmt(plain), fmt(redis), unit))


def target(name, measured, met):
    TARGETS.append((name, measured, met))


def fmt(x):
    if x is None:
        return "–"
    if isinstance(x, str):
        return x
    if x == 0:
        return "0"
    a = abs(x)
    if a >= 1e6:
        return "{:,.0f}".format(x)
    if a >= 100:
        return "{:,.0f}".format(x)
    if a >= 10:
        return "%.1f" % x
    if a >= 1:
        return "%.2f" % x
    return "%.3g" % x


def ratio(a, b, higher):
    if a is None or b is None or isinstance(a, str) or isinstance(b, str) or a <= 0 or b <= 0:
        return "–"
    r = a / b if higher else b / a
    return "%.2f×" % r


# --------------------------------------------------------------------------- workloads


def prime_pages(work, mib=160):
    """Readies the machine for a run that writes: writes mib MiB to a scratch file
    and deletes it, then syncs. On this VM a guest's free memory goes back to the host
    (free page reporting), and the first touch of such a page is a fault in the host: a
    plain file's 100 MB cat takes 238-339 ms into such pages, 31-33 ms into pages just
    freed. Without this, whichever peer's run came when the just-freed pages ran out would
    be the slow one."""
    scratch = os.path.join(work, "prime-scratch")
    block = b"\0" * MiB
    with open(scratch, "wb") as f:
        for _ in range(mib):
            f.write(block)
    os.unlink(scratch)
    os.sync()


def bulk_produce(m, rs, work, lines_file, resp_file):
    total_bytes = N_BULK * REC
    tt, tp, tr = [], [], []
    plain = os.path.join(work, "plain-bulk")  # run 0's; bulk consume reads it
    # Each peer keeps what it wrote, as a log does: topicfs a topic per run, the plain peer
    # a file per run, Redis its AOF. The peers take turns, run by run, and each run starts
    # after prime_pages(): nothing waiting to be written back, and memory to write into.
    with rss_window(m, "bulk produce"):
        for rep in range(REPS):
            t = "bulk%d" % rep
            os.mkdir(os.path.join(m.mnt, t))
            prime_pages(work)
            tt.append(timed("cat %s >> %s/%s/produce" % (lines_file, m.mnt, t)))
            end = int(read_text("%s/%s/partition-0/end" % (m.mnt, t)))
            check(end == N_BULK, "bulk produce stored %d records (got %d)" % (N_BULK, end))
            f = plain if rep == 0 else "%s-%d" % (plain, rep)
            prime_pages(work)
            tp.append(timed("cat %s >> %s" % (lines_file, f)))
            check(os.path.getsize(f) == total_bytes, "plain file size")
            rs.c.cmd("DEL", "bulk")
            prime_pages(work)
            t = time.perf_counter()
            rs.pipe(resp_file)
            tr.append(time.perf_counter() - t)
            check(rs.c.cmd("XLEN", "bulk") == N_BULK, "redis XLEN after bulk XADD")
    for rep in range(1, REPS):
        os.unlink("%s-%d" % (plain, rep))
    DETAIL.append("bulk produce seconds per run: topicfs %s; plain %s; redis %s" % (
        [round(x, 3) for x in tt], [round(x, 3) for x in tp], [round(x, 3) for x in tr]))
    rt, rp, rr = N_BULK / med(tt), N_BULK / med(tp), N_BULK / med(tr)
    row("bulk produce", "bulk produce (%d × %d B lines)" % (N_BULK, REC), "records/s", rt, rp, rr)
    row("bulk produce", "bulk produce", "MB/s", rt * REC / 1e6, rp * REC / 1e6, rr * REC / 1e6)
    target("bulk produce ≥ 2,000,000 records/s", "%s records/s" % fmt(rt), rt >= 2e6)
    target("bulk produce ≥ 0.25× plain-file append bytes/s", "%.2f×" % (rt / rp), rt >= 0.25 * rp)
    target("bulk produce ahead of Redis Streams XADD (pipelined)", "%.2f×" % (rt / rr), rt > rr)


def small_appends(m, rs, work):
    payload = "s" * (REC - 1)
    loop = 'for i in $(seq %d); do echo %s >> %%s; done' % (N_SMALL, payload)
    tt, tp, tr, pyt, pyp = [], [], [], [], []
    with rss_window(m, "small appends"):
        for rep in range(REPS):
            t = "small%d" % rep
            os.mkdir(os.path.join(m.mnt, t))
            prime_pages(work, 32)
            tt.append(timed(loop % ("%s/%s/produce" % (m.mnt, t))))
            end = int(read_text("%s/%s/partition-0/end" % (m.mnt, t)))
            check(end == N_SMALL, "small appends stored %d records (got %d)" % (N_SMALL, end))
            # informational: one open fd, one write() per record (no open/close per record)
            t2 = "smallfd%d" % rep
            os.mkdir(os.path.join(m.mnt, t2))
            pyt.append(write_loop("%s/%s/produce" % (m.mnt, t2), payload))
            check(int(read_text("%s/%s/partition-0/end" % (m.mnt, t2))) == N_SMALL, "write() loop count")
    for rep in range(REPS):
        f = os.path.join(work, "plain-small")
        if os.path.exists(f):
            os.unlink(f)
        prime_pages(work, 32)
        tp.append(timed(loop % f))
        check(os.path.getsize(f) == N_SMALL * REC, "plain small file size")
        os.unlink(f)
        pyp.append(write_loop(f, payload))
    # The floor: the same loop on a FUSE filesystem that answers and drops every write,
    # on libfuse's request loop and on topicfs's.
    tn, tnl = [], []
    noop = os.path.join(work, "noop-mnt")
    for topicfs_loop, times in ((False, tn), (True, tnl)):
        noop_mount(noop, topicfs_loop)
        try:
            for rep in range(REPS):
                prime_pages(work, 32)
                times.append(timed(loop % os.path.join(noop, "f")))
        finally:
            umount(noop)
    val = payload.encode()
    for rep in range(REPS):
        c = rs.c
        c.cmd("DEL", "small")
        msg = resp_xadd(b"small", val)
        prime_pages(work, 32)
        t = time.perf_counter()
        for i in range(N_SMALL):
            c.s.sendall(msg)
            c.reply()
        tr.append(time.perf_counter() - t)
        check(c.cmd("XLEN", "small") == N_SMALL, "redis XLEN after small XADDs")
    DETAIL.append("small appends seconds per run: topicfs %s; plain %s; redis %s; noopfs %s; "
                  "noopfs on topicfs's loop %s" % (
                      [round(x, 3) for x in tt], [round(x, 3) for x in tp], [round(x, 3) for x in tr],
                      [round(x, 3) for x in tn], [round(x, 3) for x in tnl]))
    rt, rp, rr = N_SMALL / med(tt), N_SMALL / med(tp), N_SMALL / med(tr)
    row("small appends", "small appends: bash `echo >>` loop (%d)" % N_SMALL, "records/s", rt, rp, rr,
        note="redis: one XADD round trip per record, one connection (python socket)")
    row("small appends", "  µs per record", "µs", 1e6 / rt, 1e6 / rp, 1e6 / rr, higher=False)
    row("small appends", "  info: one fd, one write() per record (python)", "records/s",
        N_SMALL / med(pyt), N_SMALL / med(pyp), None)
    rn = N_SMALL / med(tn)
    row("small appends", "  floor: the loop on a FUSE filesystem that does nothing (noopfs), µs per record",
        "µs", 1e6 / rn, 1e6 / rp, 1e6 / rr, higher=False,
        note="this row's first column is noopfs (bench/noopfs.c, libfuse's own loop), not topicfs")
    rnl = N_SMALL / med(tnl)
    row("small appends", "  floor: the same on noopfs with topicfs's loop, µs per record",
        "µs", 1e6 / rnl, 1e6 / rp, 1e6 / rr, higher=False,
        note="this row's first column is noopfs on fs/loop.c, as topicfs runs it")
    DETAIL.append("small appends: topicfs takes %.2f× the time of a FUSE filesystem that does nothing "
                  "(noopfs %.1f µs per record; plain file %.1f, Redis %.1f)" % (rn / rt, 1e6 / rn, 1e6 / rp, 1e6 / rr))
    target("small appends ≥ 0.25× the plain-file loop", "%.2f×" % (rt / rp), rt >= 0.25 * rp)
    target("small appends ahead of Redis Streams (XADD round trip)",
           "%.2f× (a FUSE filesystem that does nothing: %.2f×, on topicfs's loop %.2f×)" % (
               rt / rr, rn / rr, rnl / rr), rt > rr)


def open_writers(m, work):
    """Long-lived writers (nginx's access_log, a logging library, rsyslog's omfile): each keeps
    one descriptor open and makes one write() per 100-byte record (bench/open_writer.c); one
    writer, and eight at once. The floor is noopfs on topicfs's own loop; the two take turns."""
    noop = os.path.join(work, "noop-open")
    noop_mount(noop, True)
    res = {}
    try:
        with rss_window(m, "long-lived writers"):
            for writers in (1, 8):
                per = N_OPEN // writers
                tt, tn = [], []
                for rep in range(REPS):
                    t = "open%d-%d" % (writers, rep)
                    os.mkdir(os.path.join(m.mnt, t))
                    for path, out in ((os.path.join(m.mnt, t, "produce"), tt), (os.path.join(noop, "f"), tn)):
                        prime_pages(work, 32)
                        r = subprocess.run([OPEN_WRITER, path, str(per), str(writers)], stdout=subprocess.PIPE,
                                           text=True, check=True)
                        out.append(float(r.stdout))
                    end = int(read_text("%s/%s/partition-0/end" % (m.mnt, t)))
                    check(end == per * writers, "long-lived writers stored %d records (got %d)" % (per * writers, end))
                res[writers] = (med(tt), med(tn))
                DETAIL.append("long-lived writers (%d): records/s per run: topicfs %s; noopfs on topicfs's loop %s" % (
                    writers, [round(x) for x in tt], [round(x) for x in tn]))
    finally:
        umount(noop)
    for writers, want in ((1, 0.7), (8, 0.8)):
        rt, rn = res[writers]
        row("long-lived writers", "%d writer%s on an open fd, one write() per record" % (
            writers, "s at once" if writers > 1 else ""), "records/s", rt, None, None,
            note="bench/open_writer.c")
        row("long-lived writers", "  floor: the same on noopfs with topicfs's loop", "records/s", rn, None, None,
            note="this row's first column is noopfs on fs/loop.c")
        target("long-lived writers, %d at once, ≥ %.1f× the floor (noopfs on topicfs's loop)" % (writers, want),
               "%.2f×" % (rt / rn), rt >= want * rn)


def write_loop(path, payload):
    data = (payload + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        t = time.perf_counter()
        for i in range(N_SMALL):
            os.write(fd, data)
        return time.perf_counter() - t
    finally:
        os.close(fd)


def xrange_all(c, key):
    """Read a whole stream in pages of PAGE with exclusive-start XRANGE; returns (count, bytes)."""
    last = b"-"
    n = nbytes = 0
    while True:
        data = c.raw_until_pong(Redis.enc(b"XRANGE", key, last, b"+", b"COUNT", PAGE))
        k = data.count(b"\r\n$1\r\nv\r\n")
        if k == 0:
            break
        n += k
        nbytes += len(data)
        i = data.rfind(b"\r\n*2\r\n$1\r\nv\r\n")
        j = data.rfind(b"\r\n", 0, i)
        last = b"(" + data[j + 2:i]
        if k < PAGE:
            break
    return n, nbytes


def bulk_consume(m, rs, work):
    log_path = "%s/bulk0/partition-0/log" % m.mnt
    plain = os.path.join(work, "plain-bulk")
    # correctness, and warm-up (no caches are dropped: every run is warm)
    out = sh("wc -lc < %s" % log_path).split()
    check(int(out[0]) == N_BULK and int(out[1]) == N_BULK * REC,
          "cat log gives %d lines / %d bytes (got %s)" % (N_BULK, N_BULK * REC, out))
    sh("cat %s > /dev/null" % plain)
    tt, tp, tr = [], [], []
    with rss_window(m, "bulk consume"):
        for rep in range(REPS):
            tt.append(timed("cat %s > /dev/null" % log_path))
    for rep in range(REPS):
        tp.append(timed("cat %s > /dev/null" % plain))
    n, _ = xrange_all(rs.c, b"bulk")  # warm + check
    check(n == N_BULK, "XRANGE pages return %d entries (got %d)" % (N_BULK, n))
    for rep in range(REPS):
        t = time.perf_counter()
        xrange_all(rs.c, b"bulk")
        tr.append(time.perf_counter() - t)
    DETAIL.append("bulk consume seconds per run: topicfs %s; plain %s; redis %s" % (
        [round(x, 3) for x in tt], [round(x, 3) for x in tp], [round(x, 3) for x in tr]))
    rt, rp, rr = N_BULK / med(tt), N_BULK / med(tp), N_BULK / med(tr)
    row("bulk consume", "bulk consume (%d records, warm)" % N_BULK, "records/s", rt, rp, rr,
        note="redis: XRANGE COUNT %d pages, python socket client, replies scanned not parsed" % PAGE)
    row("bulk consume", "bulk consume", "MB/s", rt * REC / 1e6, rp * REC / 1e6, rr * REC / 1e6)
    target("bulk consume ≥ 4,000,000 records/s", "%s records/s" % fmt(rt), rt >= 4e6)
    target("bulk consume ≥ 0.5× plain-file read bytes/s", "%.2f×" % (rt / rp), rt >= 0.5 * rp)
    target("bulk consume ahead of Redis Streams XRANGE", "%.2f×" % (rt / rr), rt > rr)


def group_consume(m, work):
    """A consumer group reading the bulk topic's records through `consume`, and `cat log` of the
    same partition, in turns in the same run."""
    g = "%s/bulk0/consumers/bench" % m.mnt
    log_path = "%s/bulk0/partition-0/log" % m.mnt
    os.mkdir(g)

    def rewind():
        with open("%s/partition-0" % g, "w") as f:
            f.write("earliest\n")
    out = sh("wc -lc < %s/consume" % g).split()  # warm-up, checked
    check(int(out[0]) == N_BULK and int(out[1]) == N_BULK * REC,
          "cat consume gives %d lines / %d bytes (got %s)" % (N_BULK, N_BULK * REC, out))
    check(read_text("%s/lag" % g).split()[3] == "0", "the group caught up")
    tc, tl = [], []
    with rss_window(m, "group consume"):
        for rep in range(REPS):
            rewind()
            tc.append(timed("cat %s/consume > /dev/null" % g))
            check(read_text("%s/partition-0" % g).strip() == str(N_BULK), "consume committed all")
            tl.append(timed("cat %s > /dev/null" % log_path))
    DETAIL.append("group consume seconds per run: consume %s; cat log %s" % (
        [round(x, 3) for x in tc], [round(x, 3) for x in tl]))
    rc, rl = N_BULK / med(tc), N_BULK / med(tl)
    row("consumer groups", "group: `cat consumers/<g>/consume` (%d records, each committed)" % N_BULK,
        "records/s", rc, note="`cat log` of the same partition, same run: %s records/s (%.2f×)" % (
            fmt(rl), rc / rl))
    target("group consume ≥ 0.5× the rate of `cat log` in the same run", "%.2f×" % (rc / rl),
           rc >= 0.5 * rl)


def group_follow_latency(m):
    """Median time from a write() returning to a blocked read() of a group's `follow` returning."""
    t = "groupfollow"
    os.mkdir(os.path.join(m.mnt, t))
    os.mkdir(os.path.join(m.mnt, t, "consumers", "g"))
    fd = os.open("%s/%s/produce" % (m.mnt, t), os.O_WRONLY | os.O_APPEND)
    try:
        with rss_window(m, "group follow latency"):
            ret, call, _ = follow_run("group", "%s/%s/consumers/g/follow" % (m.mnt, t),
                                      lambda i: os.write(fd, b"follow-%d %s\n" % (i, b"f" * 80)))
    finally:
        os.close(fd)
    row("consumer groups", "group: blocked `follow` read() (from write() return)", "ms median",
        med(ret), higher=False)
    row("consumer groups", "group: blocked `follow` read() (from write() call)", "ms median",
        med(call), higher=False)
    DETAIL.append("group follow latency ms from write() return: p10 %.3f, median %.3f, p90 %.3f" % (
        statistics.quantiles(ret, n=10)[0], med(ret), statistics.quantiles(ret, n=10)[-1]))
    target("a blocked `follow` read returns < 1 ms after the write() (median)",
           "%.3f ms" % med(ret), med(ret) < 1.0)


def redis_settle(c, timeout=300):
    """Waits until redis has no AOF rewrite running or scheduled, then syncs the disk."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = c.cmd("INFO", "persistence")
        info = info.decode() if isinstance(info, bytes) else str(info)
        if "aof_rewrite_in_progress:0" in info and "aof_rewrite_scheduled:0" in info:
            break
        time.sleep(0.2)
    os.sync()


def open_read_close(path, times):
    """A random read as `cat offset-<n>` does it; appends its ns to times."""
    t0 = time.perf_counter_ns()
    f = os.open(path, os.O_RDONLY)
    b = os.read(f, 65536)
    os.close(f)
    times.append(time.perf_counter_ns() - t0)
    return b


def random_reads(m, rs, work, lines_file):
    reps = 10  # N_BIG = 10 × N_BULK
    t = "big"
    os.mkdir(os.path.join(m.mnt, t))
    with rss_window(m, "10M produce (one big cat)"):
        dt = timed("cat %s >> %s/%s/produce" % (" ".join([lines_file] * reps), m.mnt, t))
        end = int(read_text("%s/%s/partition-0/end" % (m.mnt, t)))
        check(end == N_BIG, "big produce stored %d records (got %d)" % (N_BIG, end))
    DETAIL.append("the %d-record partition took %.1f s to produce (%s records/s)" % (N_BIG, dt, fmt(N_BIG / dt)))
    plain = os.path.join(work, "plain-big")
    sh("cat %s > %s" % (" ".join([lines_file] * reps), plain))
    # redis: the same 10M records, explicit ids 0-1 .. 0-N so a record can be addressed
    log("loading %d records into redis" % N_BIG)
    rs.c.cmd("DEL", "big")

    def chunks():
        step = 100_000
        for base in range(0, N_BIG, step):
            yield b"".join(resp_xadd(b"big", b"%099d" % (i % N_BULK), b"0-%d" % (i + 1))
                           for i in range(base, min(base + step, N_BIG)))
    rs.pipe(chunks())
    check(rs.c.cmd("XLEN", "big") == N_BIG, "redis big stream length")
    # Every peer is loaded and has its writes on disk (redis's AOF rewrite over, the disk
    # synced) before any is measured; then they are measured in turns, block by block,
    # so that whatever else the host does weighs on all of them alike.
    redis_settle(rs.c)
    d = "%s/%s/partition-0" % (m.mnt, t)
    sh("cat %s/log %s > /dev/null" % (d, plain))  # warm: both files' pages in the page cache
    rnd = random.Random(4)
    offs = [rnd.randrange(N_BIG) for _ in range(N_RAND)]
    # warm the daemon / LMDB's top pages once with a few unrelated reads
    for n in rnd.sample(range(N_BIG), 50):
        with open("%s/offset-%d" % (d, n), "rb") as f:
            f.read()
    per_t, per_p, per_po, per_r, per_n = [], [], [], [], []
    c = rs.c
    fd = os.open(plain, os.O_RDONLY)
    noop = os.path.join(work, "noop-mnt")
    noop_mount(noop, topicfs_loop=True)
    with rss_window(m, "random reads"):
        for block in range(RAND_BLOCKS):
            part = offs[block::RAND_BLOCKS]
            for n in part:
                b = open_read_close("%s/offset-%d" % (d, n), per_t)
                check(b == line(n % N_BULK)[:-1], "offset-%d content" % n)
            # plain file: pread of a 100-byte record at its position, on an open fd; and with open/close
            for n in part:
                t0 = time.perf_counter_ns()
                b = os.pread(fd, REC, n * REC)
                per_p.append(time.perf_counter_ns() - t0)
                check(b == line(n % N_BULK), "plain record %d" % n)
            for n in part:
                t0 = time.perf_counter_ns()
                f = os.open(plain, os.O_RDONLY)
                b = os.pread(f, REC, n * REC)
                os.close(f)
                per_po.append(time.perf_counter_ns() - t0)
                check(b == line(n % N_BULK), "plain record %d" % n)
            for n in part:
                rid = b"0-%d" % (n + 1)
                t0 = time.perf_counter_ns()
                r = c.cmd(b"XRANGE", b"big", rid, rid)
                per_r.append(time.perf_counter_ns() - t0)
                check(r[0][1][1] == line(n % N_BULK)[:-1], "redis record %d" % n)
            # the floor: the same on a FUSE filesystem that does nothing but push the bytes
            for n in part:
                b = open_read_close("%s/r%d" % (noop, n), per_n)
                check(len(b) == REC - 1, "noopfs r%d length" % n)
    umount(noop)
    os.close(fd)
    mt, mp, mpo, mr, mn = (med(x) / 1000 for x in (per_t, per_p, per_po, per_r, per_n))
    row("random reads", "random read, %d-record partition (open+read+close)" % N_BIG, "µs median",
        mt, mpo, mr, higher=False, note="plain: open+pread+close of a 1 GB file; redis: XRANGE id id")
    row("random reads", "  plain: pread on an open fd", "µs median", None, mp, None, higher=False)
    row("random reads", "  p90", "µs", statistics.quantiles(per_t, n=10)[-1] / 1000,
        statistics.quantiles(per_po, n=10)[-1] / 1000, statistics.quantiles(per_r, n=10)[-1] / 1000,
        higher=False)
    rt_us = fuse_round_trip(os.path.join(work, "noop-mnt")) / 1000
    row("random reads", "  floor: one FUSE round trip (stat of a never-cached name on noopfs)", "µs median",
        rt_us, None, None, higher=False,
        note="this row's first column is noopfs; opening a file not yet looked up takes two (LOOKUP, OPEN)")
    row("random reads", "  floor: the same reads on noopfs with topicfs's loop", "µs median",
        mn, mpo, mr, higher=False,
        note="this row's first column is noopfs: LOOKUP and OPEN of a new file, its bytes pushed at open")
    DETAIL.append("random reads: topicfs takes %.2f× the time of a FUSE filesystem that does nothing "
                  "on the same request loop (noopfs %.1f µs; topicfs %.1f, Redis %.1f)" % (mt / mn, mn, mt, mr))
    target("random offset read median < 50 µs (%d records)" % N_BIG, "%.1f µs" % mt, mt < 50)
    target("random reads ahead of Redis Streams XRANGE",
           "%.1f vs %.1f µs (a FUSE filesystem that does nothing: %.1f µs)" % (mt, mr, mn), mt < mr)
    os.unlink(plain)
    rs.c.cmd("DEL", "big")


# ----- follow latency
# Each follower runs in its own process (this script with --follower), so that the writer's
# timestamps are not skewed by the GIL; perf_counter() is CLOCK_MONOTONIC, comparable across
# processes.


def die_with_parent():
    """preexec_fn: SIGKILL this child when its parent dies (prctl PR_SET_PDEATHSIG)."""
    try:
        import ctypes
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)
    except Exception:
        pass


def follower_main(mode, target, n):
    """Follow TARGET (a file, or a redis port for mode redis) until N records `follow-<i>` are
    seen; print `ready`, then one `i seconds` line per record at the end."""
    got = {}
    deadline = time.monotonic() + 60
    out = sys.stdout

    def scan(buf, now):
        while b"\n" in buf:
            l, _, buf = buf.partition(b"\n")
            mm = re.search(rb"follow-(\d+)", l)
            if mm:
                got[int(mm.group(1))] = now
        return buf
    if mode == "redis":
        c = Redis(int(target))
        last = c.cmd(b"XREVRANGE", b"follow", b"+", b"-", b"COUNT", b"1")[0][0]
        out.write("ready\n")
        out.flush()
        while len(got) < n and time.monotonic() < deadline:
            c.s.sendall(Redis.enc(b"XREAD", b"BLOCK", b"1000", b"STREAMS", b"follow", last))
            r = c.reply()
            now = time.perf_counter()
            for rid, fields in (r[0][1] if r else []):
                mm = re.match(rb"follow-(\d+)", fields[1])
                if mm:
                    got[int(mm.group(1))] = now
                last = rid
    elif mode == "tail":
        p = subprocess.Popen(["tail", "-n", "0", "-f", "-s", "0.1", target], stdout=subprocess.PIPE,
                             preexec_fn=die_with_parent)
        PROCS.append(p)
        fd = p.stdout.fileno()
        time.sleep(0.5)  # tail has opened the file and reached its end
        out.write("ready\n")
        out.flush()
        buf = b""
        pl = select.poll()
        pl.register(fd, select.POLLIN)
        while len(got) < n and time.monotonic() < deadline:
            if not pl.poll(1000):
                continue
            d = os.read(fd, 65536)
            if not d:
                break
            buf = scan(buf + d, time.perf_counter())
        p.terminate()
        p.wait()
        PROCS.remove(p)
    elif mode == "group":  # a read() of consumers/<group>/follow, blocked until records come
        fd = os.open(target, os.O_RDONLY)
        out.write("ready\n")
        out.flush()
        buf = b""
        while len(got) < n and time.monotonic() < deadline:
            d = os.read(fd, 65536)
            if not d:
                break
            buf = scan(buf + d, time.perf_counter())
        os.close(fd)
    else:  # loop / poll: read() to EOF, then read() in a busy loop, or poll() then read()
        fd = os.open(target, os.O_RDONLY)
        while os.read(fd, 1 << 20):
            pass
        pl = None
        empty = wakeups = 0
        if mode == "poll":
            pl = select.poll()
            pl.register(fd, select.POLLIN)
        out.write("ready\n")
        out.flush()
        buf = b""
        while len(got) < n and time.monotonic() < deadline:
            if pl:
                if not pl.poll(1000):
                    continue
                wakeups += 1
            d = os.read(fd, 65536)
            if not d:
                empty += 1
                continue
            buf = scan(buf + d, time.perf_counter())
        if pl:
            out.write("poll %d %d\n" % (empty, wakeups))
    for i, t in sorted(got.items()):
        out.write("%d %.9f\n" % (i, t))
    out.flush()


def follow_run(mode, target, writer):
    """Start a follower process, write N_FOLLOW records with writer(i) one every 30–170 ms (random,
    so not in step with any poll period); return (ms from write() return, ms from write() call,
    poll stats)."""
    p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--follower", mode, str(target),
                          str(N_FOLLOW)], stdout=subprocess.PIPE, text=True, preexec_fn=die_with_parent)
    PROCS.append(p)
    try:
        check(p.stdout.readline().strip() == "ready", "follower %s starts" % mode)
        rnd = random.Random(7)
        called, returned = {}, {}
        for i in range(N_FOLLOW):
            time.sleep(rnd.uniform(0.03, 0.17))
            called[i] = time.perf_counter()
            writer(i)
            returned[i] = time.perf_counter()
        out, _ = p.communicate(timeout=90)
    finally:
        stop(p)
        PROCS.remove(p)
    got, pollst = {}, None
    for l in out.splitlines():
        f = l.split()
        if f[0] == "poll":
            pollst = (int(f[1]), int(f[2]))
        else:
            got[int(f[0])] = float(f[1])
    check(len(got) == N_FOLLOW, "follower %s saw all %d records (saw %d)" % (mode, N_FOLLOW, len(got)))
    return ([(got[i] - returned[i]) * 1000 for i in range(N_FOLLOW)],
            [(got[i] - called[i]) * 1000 for i in range(N_FOLLOW)], pollst)


def follow_latency(m, rs, work):
    t = "follow"
    os.mkdir(os.path.join(m.mnt, t))
    tlog = "%s/%s/partition-0/log" % (m.mnt, t)
    plain = os.path.join(work, "plain-follow")
    history = b"".join(line(i) for i in range(1000))  # some history to follow from
    for f in (plain, "%s/%s/produce" % (m.mnt, t)):
        with open(f, "ab") as w:
            w.write(history)
    fds = []

    def writer_for(path):
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        fds.append(fd)
        return lambda i: os.write(fd, b"follow-%d %s\n" % (i, b"f" * 80))
    wt = writer_for("%s/%s/produce" % (m.mnt, t))
    wp = writer_for(plain)
    R = {}
    with rss_window(m, "follow latency"):
        for mode in ("tail", "loop", "poll"):
            log("follow: %s" % mode)
            R[mode] = follow_run(mode, tlog, wt)
            if mode != "poll":
                R[mode + "-plain"] = follow_run(mode, plain, wp)
    for fd in fds:
        os.close(fd)
    log("follow: redis XREAD BLOCK")
    rs.c.cmd("DEL", "follow")
    rs.c.cmd("XADD", "follow", "*", "v", "start")
    R["redis"] = follow_run("redis", rs.port,
                            lambda i: rs.c.cmd(b"XADD", b"follow", b"*", b"v", b"follow-%d %s" % (i, b"f" * 80)))
    R["poll-plain"] = (None, None, None)
    M = {k: (med(v[0]) if v[0] else None, med(v[1]) if v[1] else None) for k, v in R.items()}
    empty, wakeups = R["poll"][2]
    waits = ("poll() blocked until data" if empty < wakeups / 2 else
             "poll() does not wait: always readable (%d of %d wakeups read nothing), so a busy loop" % (empty, wakeups))
    labels = {"tail": "`tail -n0 -f -s 0.1`", "loop": "python read() busy loop", "poll": "python poll() then read()"}
    notes = {"tail": "plain: GNU tail uses inotify on ext4; on FUSE it polls every -s; redis: XREAD BLOCK",
             "poll": waits}
    for k in ("tail", "loop", "poll"):
        row("follow latency", "follow: %s (from write() return)" % labels[k], "ms median",
            M[k][0], M[k + "-plain"][0], M["redis"][0], higher=False, note=notes.get(k, ""))
    for k in ("tail", "loop", "poll"):
        row("follow latency", "follow: %s (from write() call)" % labels[k], "ms median",
            M[k][1], M[k + "-plain"][1], M["redis"][1], higher=False,
            note="includes the write() / XADD round trip itself" if k == "tail" else "")
    DETAIL.append("follow latency p90 ms (from write() return): " + ", ".join(
        "%s %.3f" % (k, statistics.quantiles(v[0], n=10)[-1]) for k, v in R.items() if v[0]))
    DETAIL.append("follow: %s" % waits)
    # Compared from the write() call: Redis wakes its XREAD client before the XADD reply reaches the
    # writer, so "from the return" is negative for Redis and not a fair yardstick.
    best = min(M[k][1] for k in ("tail", "loop", "poll"))
    target("follow latency ahead of Redis Streams XREAD BLOCK (best topicfs reader, from write() call)",
           "%.3f vs %.3f ms" % (best, M["redis"][1]), best < M["redis"][1])
    target("follow latency with `tail -f` ahead of Redis Streams XREAD BLOCK (from write() call)",
           "%.1f vs %.3f ms" % (M["tail"][1], M["redis"][1]), M["tail"][1] < M["redis"][1])


def issue2(m):
    """The issue-2 note: a 1,000,000-record partition and the shell tools."""
    d = "%s/bulk0/partition-0" % m.mnt
    res = {}
    with rss_window(m, "issue-2 (ls/cat/tail on %d records)" % N_BULK):
        for name, cmd, expect in (
                ("ls partition-0 | wc -l", "ls %s | wc -l" % d, N_BULK),
                ("ls -U partition-0 | wc -l", "ls -U %s | wc -l" % d, N_BULK),
                ("cat partition-0/log > /dev/null", "cat %s/log > /dev/null" % d, None),
                ("tail -n 10 log", "tail -n 10 %s/log" % d, 10)):
            ts = []
            for rep in range(3):
                t = time.perf_counter()
                out = sh(cmd)
                ts.append(time.perf_counter() - t)
            if expect is not None:
                if "wc -l" in cmd:
                    cnt = int(out.strip())
                    check(cnt >= expect, "%s lists ≥ %d entries (got %d)" % (name, expect, cnt))
                    name += " (%d entries)" % cnt
                else:
                    ls = out.splitlines()
                    check(len(ls) == 10 and ls[-1].encode() == line(N_BULK - 1)[:-1], "tail -n 10 gives the last records")
            st = proc_status(m.pid)
            res[name] = (med(ts), st["VmRSS"], st["VmHWM"])
        ts = []
        for rep in range(3):
            t = time.perf_counter()
            p = subprocess.Popen(["tail", "-f", d + "/log"], stdout=subprocess.PIPE)
            PROCS.append(p)
            first = p.stdout.readline()
            ts.append(time.perf_counter() - t)
            p.terminate()
            p.wait()
            PROCS.remove(p)
            check(first.strip() == line(N_BULK - 10).strip(), "tail -f starts with the 10th-last record")
        st = proc_status(m.pid)
        res["first output of tail -f log"] = (med(ts), st["VmRSS"], st["VmHWM"])
    return res


def scale(work, data):
    m = Mount(data, os.path.join(work, "mnt-scale"), "partitions=%d" % SCALE_PARTS)
    res = {}
    try:
        names = ["topic-%04d" % i for i in range(N_TOPICS)]
        with rss_window(m, "scale (%d topics × %d partitions)" % (N_TOPICS, SCALE_PARTS)):
            t = time.perf_counter()
            subprocess.run(["mkdir"] + names, cwd=m.mnt, check=True)
            res["mkdir"] = time.perf_counter() - t
            check(read_text("%s/%s/config/partitions" % (m.mnt, names[-1])) == str(SCALE_PARTS), "partitions=10")
            check(os.path.isdir("%s/%s/partition-%d" % (m.mnt, names[-1], SCALE_PARTS - 1)), "partition dirs")
            for k, cmd in (("ls", "ls %s | wc -l"), ("ls -R", "ls -R %s | wc -l"), ("find", "find %s | wc -l")):
                ts, out = [], None
                for rep in range(3):
                    t = time.perf_counter()
                    out = sh(cmd % m.mnt)
                    ts.append(time.perf_counter() - t)
                res[k] = (med(ts), int(out.strip()))
            check(res["ls"][1] == N_TOPICS, "ls root lists %d topics" % N_TOPICS)
    finally:
        m.close()
    # plain peer: the same directory shape on ext4 (topic dir + partition-N dirs)
    pd = os.path.join(work, "plain-scale")
    os.makedirs(pd)
    args = []
    for n in names:
        args.append(n)
        args += ["%s/partition-%d" % (n, k) for k in range(SCALE_PARTS)]
    t = time.perf_counter()
    subprocess.run(["mkdir"] + args, cwd=pd, check=True)
    pm = time.perf_counter() - t
    pres = {}
    for k, cmd in (("ls", "ls %s | wc -l"), ("ls -R", "ls -R %s | wc -l"), ("find", "find %s | wc -l")):
        ts = []
        for rep in range(3):
            t = time.perf_counter()
            out = sh(cmd % pd)
            ts.append(time.perf_counter() - t)
        pres[k] = (med(ts), int(out.strip()))
    shutil.rmtree(pd)
    row("scale", "mkdir %d topics (-o partitions=%d), one mkdir process" % (N_TOPICS, SCALE_PARTS), "ms",
        res["mkdir"] * 1000, pm * 1000, None, higher=False,
        note="plain: mkdir of the topic dir + %d partition dirs each" % SCALE_PARTS)
    row("scale", "  per topic", "µs", res["mkdir"] * 1e6 / N_TOPICS, pm * 1e6 / N_TOPICS, None, higher=False)
    row("scale", "ls of the root (%d entries)" % res["ls"][1], "ms", res["ls"][0] * 1000, pres["ls"][0] * 1000,
        None, higher=False)
    row("scale", "ls -R | wc -l (%d / %d lines)" % (res["ls -R"][1], pres["ls -R"][1]), "ms",
        res["ls -R"][0] * 1000, pres["ls -R"][0] * 1000, None, higher=False)
    row("scale", "find | wc -l (%d / %d entries)" % (res["find"][1], pres["find"][1]), "ms",
        res["find"][0] * 1000, pres["find"][0] * 1000, None, higher=False)


# --------------------------------------------------------------------------- machine


def cpu_busy(dt):
    """Fraction of all CPUs busy over dt seconds (from /proc/stat)."""
    def snap():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + v[4]
    t1, i1 = snap()
    time.sleep(dt)
    t2, i2 = snap()
    return 1 - (i2 - i1) / max(1, t2 - t1)


BACKGROUND = []


def wait_quiet():
    """Other work on this small machine (test suites, fuzzers) skews every number: wait up to
    BENCH_WAIT_IDLE seconds (default 180) for the CPUs to be mostly idle before starting."""
    limit = float(os.environ.get("BENCH_WAIT_IDLE", "180"))
    t0 = time.monotonic()
    while True:
        b = cpu_busy(2.0)
        if b < 0.15:
            break
        if time.monotonic() - t0 > limit:
            log("WARNING: the machine is still %.0f%% busy with other work; measuring anyway" % (b * 100))
            break
        log("the machine is %.0f%% busy with other work; waiting for it to calm down" % (b * 100))
    BACKGROUND.append(b)



def machine():
    def run(cmd):
        try:
            return subprocess.run(["bash", "-c", cmd], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  text=True).stdout.strip()
        except Exception:
            return "?"
    mem = run("awk '/MemTotal/ {printf \"%.1f GiB\", $2/1048576}' /proc/meminfo")
    cpu = run("awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo")
    return [
        ("date", time.strftime("%Y-%m-%d %H:%M:%S %Z")),
        ("git commit", run("git -C %s rev-parse --short HEAD" % ROOT) + (" (+ uncommitted changes)" if run(
            "git -C %s status --porcelain -- fs store" % ROOT) else "")),
        ("nproc", run("nproc") + " (" + cpu + ")"),
        ("memory", mem),
        ("kernel", platform.release()),
        ("load at start", "loadavg %s; CPU busy with other work just before the run: %.0f%%" % (
            run("cut -d' ' -f1-3 /proc/loadavg"), BACKGROUND[0] * 100 if BACKGROUND else -1)),
        ("disk", run("df -T %s | awk 'NR==2 {print $2\" on \"$1}'" % WORK) + " (work dir %s)" % WORK),
        ("libfuse", run("pkg-config --modversion fuse3") + " (fusermount3 " + run(
            "fusermount3 --version 2>&1 | awk '{print $NF}'") + ")"),
        ("lmdb", run("pkg-config --modversion lmdb") or run("dpkg-query -W -f '${Version}' liblmdb0")),
        ("redis", run("redis-server --version | awk '{print $3}' | sed 's/v=//'") +
         " (appendonly yes, appendfsync everysec, no automatic AOF rewrite, 127.0.0.1 TCP)"),
        ("python", platform.python_version()),
        ("sizes", "%s%d bulk records of %d B, %d small appends, %d-record random-read partition, %d reps (median)" % (
            "BENCH_QUICK=1: " if QUICK else "", N_BULK, REC, N_SMALL, N_BIG, REPS)),
    ]


def report(mach, issue2res, elapsed):
    L = []
    L.append("# topicfs benchmark results\n")
    L.append("Generated by `make bench` (bench/bench.py) — do not edit by hand; rerun it.%s\n" % (
        " **Smoke run (BENCH_QUICK=1): sizes are 10× smaller than the targets assume.**" if QUICK else ""))
    L.append("## Machine\n")
    L.append("| | |\n|---|---|")
    for k, v in mach:
        L.append("| %s | %s |" % (k, v))
    L.append("| load at the end | loadavg %s (other work on this 2-core machine, e.g. test suites or "
             "fuzzers, adds noise) |" % read_text("/proc/loadavg").rsplit(" ", 2)[0])
    L.append("\n## Results (medians)\n")
    L.append("Ratios are topicfs relative to the peer; > 1× means topicfs is better (faster / lower latency).\n")
    L.append("| workload | unit | topicfs | plain file | Redis Streams | vs plain | vs Redis | notes |")
    L.append("|---|---|--:|--:|--:|--:|--:|---|")
    for sec, name, unit, t, p, r, hi, note in ROWS:
        L.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            name, unit, fmt(t), fmt(p), fmt(r), ratio(t, p, hi), ratio(t, r, hi), note))
    L.append("\n## Daemon memory per workload\n")
    L.append("VmHWM is reset (`echo 5 > /proc/PID/clear_refs`) before each workload and read after it; "
             "peak anon = highest RssAnon (heap, sampled every 20 ms); "
             "file = RssFile+RssShmem (LMDB's mmap'ed pages, shared with the page cache).\n")
    L.append("| workload | VmHWM MiB | peak anon MiB | peak file-backed MiB |")
    L.append("|---|--:|--:|--:|")
    maxhwm = maxanon = 0
    for k, v in RSS.items():
        L.append("| %s | %.1f | %.1f | %.1f |" % (k, v["hwm"] / MiB, v["anon"] / MiB, v["file"] / MiB))
        maxhwm, maxanon = max(maxhwm, v["hwm"]), max(maxanon, v["anon"])
    target("daemon RSS < 64 MiB whatever the data size (VmHWM)", "max VmHWM %.1f MiB" % (maxhwm / MiB),
           maxhwm < 64 * MiB)
    target("daemon heap (RssAnon) < 64 MiB", "max RssAnon %.1f MiB" % (maxanon / MiB), maxanon < 64 * MiB)
    L.append("\n## Issue 2: shell tools on a %d-record partition\n" % N_BULK)
    L.append("| command | seconds (median of 3) | daemon VmRSS MiB | VmHWM MiB |")
    L.append("|---|--:|--:|--:|")
    for k, (s, rss, hwm) in issue2res.items():
        L.append("| `%s` | %.3f | %.1f | %.1f |" % (k, s, rss / MiB, hwm / MiB))
    L.append("\n## Targets\n")
    L.append("| target | measured | |")
    L.append("|---|---|---|")
    for name, meas, met in TARGETS:
        L.append("| %s | %s | %s |" % (name, meas, "**met**" if met else "not met"))
    L.append("\n## Method\n")
    L.append("""- One run, one disk: topicfs's LMDB files, the plain files and Redis's AOF all live under the
  work directory on the same filesystem (see Machine). No caches are dropped: every measurement is warm.
  Before each workload the disk is synced (sync(2)), so none starts with another's writeback. Before
  each bulk-produce run the script also writes and deletes a 160 MiB scratch file (32 MiB before each
  small-append run): this VM hands free memory back to its host, and writing into such pages costs 8×
  more (see prime_pages()).
- topicfs runs with default options (`sync=interval`), one mount for all workloads but scale
  (which uses a second mount with `-o partitions=10`). Each repetition writes to a fresh topic.
- bulk produce: `cat lines >> topic/produce` (%d lines of 99 chars + '\\n', pre-generated) into a new
  topic each run, vs `cat lines >> file` into a new plain file each run, all kept (page cache, no
  fsync), vs Redis `XADD bulk * v <99 B>` pre-generated as RESP and fed through `redis-cli --pipe`
  (its AOF grows). The peers take turns run by run; counts checked after each run.
- small appends: `for i in $(seq N); do echo <99 chars> >> produce; done` in bash (open, write, close per
  record) vs the same loop on a plain file vs Redis: N `XADD` request/response round trips on one
  connection from a python socket client. The "info" row writes each record with its own write() on one
  open fd (python), which isolates the per-write() cost from open/close. The "floor" rows run the same
  loop on noopfs (bench/noopfs.c), a FUSE filesystem whose one file answers and drops every write, on
  libfuse's own loop and on topicfs's (fs/loop.c): what a FUSE filesystem pays per `echo >>` on this
  machine before doing any work.
- bulk consume: `cat partition-0/log > /dev/null` vs `cat file > /dev/null` vs `XRANGE bulk (last + COUNT %d`
  pages from a python socket client (each page's reply is scanned with bytes.count/rfind, not parsed per
  field; a PING after each page marks its end). One warm-up run first, whose output is checked.
- consumer groups: a group on the bulk-consume topic, rewound to `earliest` before each run, read by
  `cat consumers/bench/consume > /dev/null` (every read commits what it hands out), then `cat log` of the
  same partition, in turns; checked: the output of a warm-up run, and the committed offset after each.
  Follow: a python reader blocked in read() on `consumers/g/follow` of a fresh topic, and the same
  writer as below (one write() per record, every 30–170 ms); latency from the write() return.
- random reads: a %d-record partition made by one big `cat` of the line file ×10; %d reads at random offsets
  in one python process, each `os.open(offset-n)`, `os.read`, `os.close`, timed individually, contents
  checked. Plain peer: open+pread+close of the same bytes in a 1 GB file (and pread on an open fd);
  Redis: the same records with ids 0-1..0-N, `XRANGE big id id` round trips. All three are loaded first;
  once Redis's AOF rewrite is over and the disk synced, both files are read through once (warm), and
  then the peers take turns: %d blocks of %d reads each, topicfs, plain, plain with open, Redis, noopfs, so
  that no peer is measured under another's background writes and the host's noise weighs on all alike.
  The first "floor" row: stat(2) of a name noopfs never lets the kernel cache, one FUSE round trip (a
  LOOKUP), on libfuse's loop. The second: the same reads of `r<n>` on noopfs run on topicfs's request
  loop (fs/loop.c), each a new inode whose 99 bytes it pushes into the page cache at open, as topicfs
  does: what a random read costs there before topicfs does any work of its own.
- follow latency: a writer (one fd on `produce`, one write() per record) appends one record every
  30–170 ms (random, so not in step with any poll period); latency = CLOCK_MONOTONIC when the follower
  got the line minus when the writer's write() (the XADD reply for Redis) returned — and, second set of
  rows, minus when write() was called; %d records per method. Each follower is its own process:
  `tail -n 0 -f -s 0.1` (read through a pipe), a python reader doing read() in a busy loop, a python
  reader blocking in poll() then read(), and Redis `XREAD BLOCK` on its own connection. A negative
  latency from the return means the follower had the record before the writer saw its reply.
- RSS: VmHWM of the daemon (found with `pgrep -f` on its data dir), reset before each workload.
- The whole run took %.0f s.""" % (N_BULK, PAGE, N_BIG, N_RAND, RAND_BLOCKS, N_RAND // RAND_BLOCKS,
                                    N_FOLLOW, elapsed))
    if DETAIL:
        L.append("\n## Raw numbers\n")
        for d in DETAIL:
            L.append("- " + d)
    return "\n".join(L) + "\n"


# --------------------------------------------------------------------------- main

WORK = None


def main():
    global WORK
    if not os.path.exists(BIN):
        raise BenchError("%s not built (run make)" % BIN)
    WORK = os.environ.get("BENCH_DIR") or "/var/tmp/topicfs-bench.%d" % os.getpid()
    os.makedirs(WORK, exist_ok=True)
    fstype = subprocess.run(["stat", "-f", "-c", "%T", WORK], stdout=subprocess.PIPE, text=True).stdout.strip()
    check(fstype not in ("tmpfs", "ramfs"), "work dir %s is not on tmpfs (%s)" % (WORK, fstype))
    keep = os.environ.get("BENCH_KEEP", "") not in ("", "0")
    log("work dir %s (%s), quick=%s, reps=%d" % (WORK, fstype, QUICK, REPS))
    wait_quiet()
    mach = machine()
    rs = m = None
    try:
        log("generating %d lines" % N_BULK)
        lines_file = os.path.join(WORK, "lines")
        with open(lines_file, "wb") as f:
            for base in range(0, N_BULK, 100_000):
                f.write(b"".join(line(i) for i in range(base, min(base + 100_000, N_BULK))))
        resp_file = os.path.join(WORK, "bulk.resp")
        with open(resp_file, "wb") as f:
            for base in range(0, N_BULK, 100_000):
                f.write(b"".join(resp_xadd(b"bulk", line(i)[:-1]) for i in range(base, min(base + 100_000, N_BULK))))
        # The 200 MB just generated would otherwise be written back during the
        # first workload, slowing whichever peer runs first.
        os.sync()
        rs = RedisServer(os.path.join(WORK, "redis"))
        m = Mount(os.path.join(WORK, "data"), os.path.join(WORK, "mnt"))
        log("topicfs daemon pid %d, redis-server pid %d port %d" % (m.pid, rs.pid, rs.port))
        log("bulk produce")
        bulk_produce(m, rs, WORK, lines_file, resp_file)
        # Each workload starts with nothing left to write back (redis_settle syncs).
        log("small appends")
        redis_settle(rs.c)
        small_appends(m, rs, WORK)
        log("long-lived writers")
        redis_settle(rs.c)
        open_writers(m, WORK)
        log("bulk consume")
        redis_settle(rs.c)
        bulk_consume(m, rs, WORK)
        log("consumer groups")
        group_consume(m, WORK)
        group_follow_latency(m)
        log("issue-2 note")
        i2 = issue2(m)
        log("follow latency")
        redis_settle(rs.c)
        follow_latency(m, rs, WORK)
        log("random reads")
        redis_settle(rs.c)
        random_reads(m, rs, WORK, lines_file)
        redis_hwm = rs.hwm()
        DETAIL.append("redis-server VmHWM over the run: %.0f MiB" % (redis_hwm / MiB))
        m.close()
        m = None
        rs.close()
        rs = None
        log("scale")
        scale(WORK, os.path.join(WORK, "data-scale"))
        du = subprocess.run(["du", "-sh", os.path.join(WORK, "data")], stdout=subprocess.PIPE, text=True).stdout.split()
        if du:
            DETAIL.append("topicfs data dir after the run: %s" % du[0])
        text = report(mach, i2, time.monotonic() - T0)
        with open(OUT, "w") as f:
            f.write(text)
        print(text)
        log("wrote %s" % OUT)
    finally:
        if m:
            m.close()
        if rs:
            rs.close()
        cleanup()
        if not keep:
            shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--follower":
        follower_main(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        sys.exit(0)
    try:
        main()
    except BenchError as e:
        print("bench: FAILED: %s" % e, file=sys.stderr)
        sys.exit(1)
