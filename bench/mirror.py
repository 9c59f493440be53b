#!/usr/bin/python3
"""The Kafka mirror's benchmark: records/s shipped by topicfs (-o mirror=) next to
a bare librdkafka producer of the same records to the same mock cluster, in the same
run; the daemon's RSS while shipping. Writes bench/MIRROR.md. Run by `make bench`
(and `make bench-mirror`); never part of `make test`.

Records are 100-byte lines (99-byte values), spread over enough partitions that no
mock partition holds more than its ~5 MiB. The mirror's run: the records are written
into a topic on a mount without the mirror, then the mount is remounted with
`-o mirror=`, and the time runs from the mount until every partition's `mirrored`
equals its `end` (read every 20 ms). The bare producer (bench/kafka_bare.c) sends
the same values with the same origin header and the mirror's librdkafka settings,
and is timed from its first record to its last delivery report; a second bare run
without headers and with librdkafka's defaults shows the client's own ceiling.

Environment: BENCH_QUICK=1 (10x fewer records), BENCH_REPS=N (default 3; medians),
BENCH_OUT_MIRROR=FILE (default bench/MIRROR.md), TOPICFS_BIN, KAFKA_MOCK_BIN,
KAFKA_BARE_BIN.
"""
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
N = 1_000_000 // (10 if QUICK else 1)
PARTS = 32
REPS = int(os.environ.get("BENCH_REPS", "3"))
BIN = os.environ.get("TOPICFS_BIN", os.path.join(ROOT, "build", "topicfs"))
MOCK = os.environ.get("KAFKA_MOCK_BIN", os.path.join(ROOT, "build", "kafka_mock"))
BARE = os.environ.get("KAFKA_BARE_BIN", os.path.join(ROOT, "build", "kafka_bare"))
OUT = os.environ.get("BENCH_OUT_MIRROR", os.path.join(HERE, "MIRROR.md"))
MiB = 1024 * 1024


def log(*a):
    print("bench-mirror:", *a, file=sys.stderr, flush=True)


class Mock:
    def __init__(self):
        self.p = subprocess.Popen([MOCK], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.bootstrap = self.p.stdout.readline().strip()
        self.broker = self.bootstrap.split(",")[0]

    def cmd(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        ans = self.p.stdout.readline().strip()
        if ans != "ok":
            raise RuntimeError(f"mock: {line}: {ans}")

    def close(self):
        try:
            self.cmd("quit")
        except (RuntimeError, BrokenPipeError, ValueError):
            pass
        self.p.wait(timeout=10)


EXTRA = os.environ.get("BENCH_MIRROR_OPTS", "")


def vm(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def cpu_s(pid):
    """User + system CPU seconds the process used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def mount(data, mnt, opts):
    p = subprocess.Popen([BIN, data, mnt, "-f", "-o", opts], stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(os.path.dirname(data), "daemon.log"), "a"))
    deadline = time.monotonic() + 20
    while not os.path.ismount(mnt):
        if p.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("topicfs did not mount")
        time.sleep(0.01)
    return p


def umount(p, mnt):
    subprocess.run(["fusermount3", "-u", mnt], check=False)
    p.wait(timeout=60)


def mirror_run(work, mock, rep, lines):
    """(records/s, max VmRSS while shipping, VmHWM, daemon CPU s per 1M records)"""
    topic = f"m{rep}"
    mock.cmd(f"topic {topic} {PARTS}")
    data, mnt = os.path.join(work, f"data{rep}"), os.path.join(work, f"mnt{rep}")
    os.makedirs(mnt)
    p = mount(data, mnt, f"partitions={PARTS}")
    os.mkdir(os.path.join(mnt, topic))
    with open(lines, "rb") as src, open(os.path.join(mnt, topic, "produce"), "ab") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    umount(p, mnt)
    t0 = time.monotonic()
    p = mount(data, mnt, f"mirror={mock.broker},mirror.host=bench" + ("," + EXTRA if EXTRA else ""))
    ends = [int(open(os.path.join(mnt, topic, f"partition-{i}", "end")).read())
            for i in range(PARTS)]
    if sum(ends) != N:
        raise RuntimeError(f"stored {sum(ends)} records, not {N}")
    rss = 0
    while True:
        rss = max(rss, vm(p.pid, "VmRSS"))
        if os.environ.get("BENCH_MIRROR_TRACE"):
            log("RssAnon %.1f RssFile %.1f" % (vm(p.pid, "RssAnon") / MiB, vm(p.pid, "RssFile") / MiB))
        done = all(open(os.path.join(mnt, topic, f"partition-{i}", "mirrored")).read().strip()
                   == str(ends[i]) for i in range(PARTS))
        if done:
            break
        if time.monotonic() - t0 > 600:
            raise RuntimeError("the mirror did not finish in 10 minutes")
        time.sleep(0.02)
    t = time.monotonic() - t0
    cpu = cpu_s(p.pid) * 1_000_000 / N
    hwm = vm(p.pid, "VmHWM")
    umount(p, mnt)
    shutil.rmtree(data, ignore_errors=True)
    return N / t, rss, hwm, cpu


def bare_run(mock, rep, plain):
    topic = f"b{rep}{'p' if plain else ''}"
    mock.cmd(f"topic {topic} {PARTS}")
    args = [BARE, mock.bootstrap, topic, str(PARTS), str(N)] + (["plain"] if plain else [])
    r = subprocess.run(args, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"kafka_bare: {r.stderr}")
    got, secs = r.stdout.split()
    if int(got) != N:
        raise RuntimeError(f"kafka_bare delivered {got}")
    return N / float(secs)


def main():
    work = tempfile.mkdtemp(prefix="topicfs-bench-mirror.", dir="/var/tmp")
    lines = os.path.join(work, "lines")
    with open(lines, "wb") as f:
        f.write(b"".join(b"%099d\n" % i for i in range(N)))
    res = {"mirror": [], "bare": [], "plain": [], "rss": [], "hwm": [], "cpu": []}
    t0 = time.monotonic()
    load0 = os.getloadavg()[0]
    try:
        for rep in range(REPS):
            # A fresh cluster per repetition, so the mock's memory does not grow
            # from run to run; the peers take turns on it.
            mock = Mock()
            try:
                log(f"rep {rep}: bare producer")
                res["bare"].append(bare_run(mock, rep, False))
                log(f"rep {rep}: topicfs mirror")
                rate, rss, hwm, cpu = mirror_run(work, mock, rep, lines)
                res["cpu"].append(cpu)
                res["mirror"].append(rate)
                res["rss"].append(rss)
                res["hwm"].append(hwm)
                log(f"rep {rep}: bare producer, no headers, defaults")
                res["plain"].append(bare_run(mock, rep, True))
            finally:
                mock.close()
            log(f"rep {rep}: mirror {rate:,.0f}/s, bare {res['bare'][-1]:,.0f}/s, "
                f"plain {res['plain'][-1]:,.0f}/s, RSS {rss / MiB:.1f} MiB, daemon CPU {cpu:.2f} s/1M")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in res.items()}
    # The target is against the client's ceiling (the header-less
    # producer with librdkafka's defaults); each repetition's ratio is of runs
    # next to each other, so their median moves less with the machine's load.
    ratios = [a / b for a, b in zip(res["mirror"], res["plain"])]
    ratio = statistics.median(ratios)
    load = os.getloadavg()[0]
    text = f"""# The Kafka mirror: records/s shipped

Run by `make bench-mirror` (bench/mirror.py) on {platform.node()}, {os.cpu_count()} CPUs,
{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {N:,} records of 100 bytes (99-byte
values) over {PARTS} partitions, librdkafka's 3-broker mock cluster on loopback in its own
process; median of {REPS} repetitions (the peers take turns in each); {time.monotonic() - t0:.0f} s;
load average {load0:.1f} at the start, {load:.1f} at the end (other work on the machine).

| producer | records/s | mirror vs it |
|---|--:|--:|
| topicfs mirror (`-o mirror=`: from the store, origin header, exactly once) | {med['mirror']:,.0f} | |
| bare librdkafka producer, same records, header and settings | {med['bare']:,.0f} | {med['mirror'] / med['bare']:.2f}x |
| bare librdkafka producer, no headers, librdkafka's defaults (the ceiling) | {med['plain']:,.0f} | {med['mirror'] / med['plain']:.2f}x |

Daemon while shipping: VmRSS at most {max(res['rss']) / MiB:.1f} MiB, VmHWM {max(res['hwm']) / MiB:.1f} MiB;
CPU (user + system, from the mount on) {med['cpu']:.2f} s per million records (median; {', '.join(f'{x:.2f}' for x in res['cpu'])}).

| target | measured | |
|---|---|---|
| mirror >= 0.5x the ceiling (median of the repetitions' ratios) | {ratio:.2f}x | {'**met**' if ratio >= 0.5 else 'not met'} |
| daemon RSS < 64 MiB while shipping | {max(res['hwm']) / MiB:.1f} MiB | {'**met**' if max(res['hwm']) < 64 * MiB else 'not met'} |

Raw: mirror {', '.join(f'{x:,.0f}' for x in res['mirror'])}; bare {', '.join(f'{x:,.0f}' for x in res['bare'])};
plain {', '.join(f'{x:,.0f}' for x in res['plain'])}; mirror / plain {', '.join(f'{x:.2f}' for x in ratios)}.

The machine is shared and has {os.cpu_count()} cores: the mock cluster, the producer and
the daemon compete for them, so the figures move from run to run; the ratio, measured
in turns on one cluster, is the figure to read. It grows with the machine's other load,
which slows the ceiling more than the mirror: compare runs at like load averages.
"""
    with open(OUT, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
