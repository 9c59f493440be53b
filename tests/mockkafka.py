"""A Kafka cluster on loopback for the mirror's tests: librdkafka's mock cluster
(tests/kafka_mock.c, 3 brokers) and kcat as the consumer that says what arrived."""
import json
import os
import shutil
import subprocess

from conftest import wait_for

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
MOCK = os.environ.get("KAFKA_MOCK_BIN") or os.path.join(REPO, "build", "kafka_mock")


class Kafka:
    def __init__(self):
        assert shutil.which("kcat"), "kcat is missing: run make deps"
        self.proc = subprocess.Popen([MOCK], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        self.bootstrap = self.proc.stdout.readline().strip()
        assert self.bootstrap, "the mock cluster did not start"
        # One broker is enough to start with: the client learns the others.
        self.broker = self.bootstrap.split(",")[0]

    def cmd(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        assert answer == "ok", f"mock cluster: {line}: {answer}"

    def topic(self, name, partitions):
        self.cmd(f"topic {name} {partitions}")

    def down(self, broker):
        self.cmd(f"down {broker}")

    def up(self, broker):
        self.cmd(f"up {broker}")

    def all_down(self):
        self.cmd("all down")

    def all_up(self):
        self.cmd("all up")

    def fail_produce(self, *codes):
        """The next Produce requests get these Kafka error codes, one each."""
        self.cmd("errors 0 " + " ".join(str(c) for c in codes))

    def rtt(self, ms):
        for b in (1, 2, 3):
            self.cmd(f"rtt {b} {ms}")

    def topics(self):
        """The names of the cluster's topics."""
        r = subprocess.run(["kcat", "-b", self.bootstrap, "-L", "-J"], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        return [t["topic"] for t in json.loads(r.stdout)["topics"]]

    def leaders(self, topic):
        """The leader broker id of each partition of topic, by partition."""
        r = subprocess.run(["kcat", "-b", self.bootstrap, "-L", "-J", "-t", topic],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        parts = json.loads(r.stdout)["topics"][0]["partitions"]
        return {p["partition"]: p["leader"] for p in parts}

    def records(self, topic):
        """Every record of the topic: dicts of partition, offset, key, value,
        timestamp and headers (a dict), in offset order per partition."""
        r = subprocess.run(
            ["kcat", "-b", self.bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q",
             "-f", "%p\t%o\t%k\t%s\t%T\t%h\n"],
            capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        out = []
        for line in r.stdout.splitlines():
            p, o, k, s, ts, h = line.split("\t")
            headers = dict(kv.split("=", 1) for kv in h.split(",")) if h else {}
            out.append({"partition": int(p), "offset": int(o), "key": k, "value": s,
                        "timestamp": int(ts), "headers": headers})
        out.sort(key=lambda r: (r["partition"], r["offset"]))
        return out

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.cmd("quit")
            except (AssertionError, BrokenPipeError, ValueError):
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def mirrored(mount, topic, partition):
    with open(mount.p(topic, f"partition-{partition}", "mirrored")) as f:
        return f.read().strip()


def end(mount, topic, partition):
    with open(mount.p(topic, f"partition-{partition}", "end")) as f:
        return int(f.read())


def wait_shipped(mount, topic, partitions, timeout=20):
    """Until mirrored == end in every partition of the topic."""
    def done():
        return all(mirrored(mount, topic, p) == str(end(mount, topic, p))
                   for p in range(partitions))
    wait_for(done, timeout=timeout, what=f"{topic} shipped")
