"""Every setup in examples/ run for real against a mount: nginx, rsyslog, Python
logging, the shell consumers, the work queue, retention instead of logrotate, the
systemd units."""
import configparser
import json
import os
import shlex
import signal
import subprocess
import time

from conftest import TOPICFS, read_file, wait_for, write_file
from sysmount import (REPO, daemon_pid, data_dir_free, free_port, mount_helper,  # noqa: F401
                      need, stop_process, system_lock, unmount, wait_records)

EXAMPLES = os.path.join(REPO, "examples")


def example(path, **replace):
    """The example's text with its real-server paths replaced by the test's own."""
    with open(os.path.join(EXAMPLES, path)) as f:
        text = f.read()
    for old, new in replace.items():
        assert old in text, f"{path} no longer mentions {old}"
        text = text.replace(old, new)
    return text


def test_nginx_access_log_lands_in_a_topic(mnt, tmp_path):
    need("nginx", "curl")
    base = tmp_path / "nginx"
    base.mkdir()
    port = free_port()
    conf = base / "nginx.conf"
    conf.write_text(example("nginx/nginx.conf", **{
        "/srv/topics": mnt.path, "/var/lib/topicfs-nginx": str(base),
        "127.0.0.1:8080": f"127.0.0.1:{port}"}))
    os.mkdir(mnt.p("nginx"))
    server = subprocess.Popen(["nginx", "-c", str(conf), "-p", f"{base}/", "-e",
                               str(base / "error.log")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: subprocess.run(["curl", "-sf", "-o", "/dev/null", url + "/health"])
                 .returncode == 0 or server.poll() is not None, what="nginx to answer")
        assert server.poll() is None, server.stderr.read()
        for path in ("/?id=1", "/cart?id=2", "/favicon.ico"):
            subprocess.run(["curl", "-s", "-o", "/dev/null", url + path], check=True)
        records = wait_records(mnt.p("nginx", "partition-0"), 3)
        time.sleep(0.2)  # nothing more comes: the health checks are not logged
        assert read_file(mnt.p("nginx", "partition-0", "end")) == "3\n"
    finally:
        stop_process(server, signal.SIGQUIT)
    assert '"GET /?id=1 HTTP/1.1" 200 6 ' in records[0]
    assert '"GET /cart?id=2 HTTP/1.1" 200 6 ' in records[1]
    assert '"GET /favicon.ico HTTP/1.1" 404 ' in records[2]
    assert all(r.startswith("127.0.0.1 - - [") and '"curl/' in r for r in records)


def test_rsyslog_forwards_logger_messages_into_a_topic(mnt, tmp_path):
    need("rsyslogd", "logger")
    base = tmp_path / "rsyslog"
    base.mkdir()
    conf = base / "rsyslog.conf"
    conf.write_text(example("rsyslog/rsyslog.conf", **{
        "/srv/topics": mnt.path, "/var/lib/topicfs-rsyslog": str(base)}))
    os.mkdir(mnt.p("syslog"))
    sock = base / "log.sock"
    daemon = subprocess.Popen(["rsyslogd", "-n", "-f", str(conf), "-i", str(base / "rsyslogd.pid")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: sock.exists() or daemon.poll() is not None, what="rsyslog's socket")
        assert daemon.poll() is None, daemon.stderr.read()
        for i in range(3):
            subprocess.run(["logger", "-u", str(sock), "-t", "shop", f"order {i} paid"], check=True)
        records = wait_records(mnt.p("syslog", "partition-0"), 3)
    finally:
        stop_process(daemon)
    assert [r.split(" ", 2)[2] for r in records] == [f"shop: order {i} paid" for i in range(3)]
    assert all(r[:4].isdigit() and r[10] == "T" for r in records)  # RFC 3339 time first


def test_python_logging_filehandler_writes_one_record_per_message(mnt):
    topic = mnt.p("app")
    r = subprocess.run(["/usr/bin/python3", os.path.join(EXAMPLES, "python", "log_to_topic.py"),
                        topic, "4"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert read_file(os.path.join(topic, "partition-0", "end")) == "6\n"
    docs = [json.loads(line) for line in read_file(os.path.join(topic, "partition-0", "log"))
            .splitlines()]
    assert [d["msg"] for d in docs[:4]] == [f"order {i} placed" for i in range(4)]
    assert docs[4]["msg"] == "a message\nover two lines"  # one record, not two
    assert docs[5]["level"] == "ERROR" and "ZeroDivisionError" in docs[5]["exc"]


def follow(*args, **kw):
    return subprocess.run(["sh", os.path.join(EXAMPLES, "consumer", "follow.sh"), *args],
                          capture_output=True, text=True, timeout=30, **kw)


def test_shell_consumer_resumes_from_its_saved_offset(mnt, tmp_path):
    mnt.topic("orders")
    part = mnt.p("orders", "partition-0")
    state = str(tmp_path / "orders.offset")
    write_file(mnt.p("orders", "produce"), "".join(f"o{i}\n" for i in range(5)))
    r = follow("-1", part, state)
    assert (r.returncode, r.stdout) == (0, "o0\no1\no2\no3\no4\n")
    assert read_file(state) == "5\n"
    write_file(mnt.p("orders", "produce"), "o5\no6\n")
    r = follow("-1", part, state)
    assert (r.returncode, r.stdout) == (0, "o5\no6\n")  # only what is new
    assert read_file(state) == "7\n"

    # Records retention deleted before the consumer came are reported and skipped.
    write_file(mnt.p("orders", "produce"), "gone7\ngone8\n")
    write_file(mnt.p("orders", "config", "retention.ms"), "1\n", flags=os.O_WRONLY)
    wait_for(lambda: read_file(os.path.join(part, "start")) == "9\n", what="retention")
    write_file(mnt.p("orders", "config", "retention.ms"), "-1\n", flags=os.O_WRONLY)
    time.sleep(0.3)  # let a retention run that began with retention.ms=1 end
    write_file(mnt.p("orders", "produce"), "o9\n")
    r = follow("-1", part, state)
    assert r.stdout == "o9\n"
    assert "offsets 7 to 8 were deleted by retention" in r.stderr
    assert read_file(state) == "10\n"


def test_shell_consumer_follows_new_records_with_a_command(mnt, tmp_path):
    mnt.topic("jobs")
    part = mnt.p("jobs", "partition-0")
    out = tmp_path / "out"
    proc = subprocess.Popen(["sh", os.path.join(EXAMPLES, "consumer", "follow.sh"), part,
                             str(tmp_path / "state"), "sh", "-c", f"tr a-z A-Z >> {out}"])
    try:
        write_file(mnt.p("jobs", "produce"), "one\ntwo\n")
        wait_for(lambda: out.exists() and out.read_text() == "ONETWO", what="the consumer")
        write_file(mnt.p("jobs", "produce"), "three\n")
        wait_for(lambda: out.read_text() == "ONETWOTHREE", what="the consumer to follow")
        # The offset is saved after the command ran.
        wait_for(lambda: read_file(str(tmp_path / "state")) == "3\n", what="the saved offset")
    finally:
        stop_process(proc)
    assert out.read_text() == "ONETWOTHREE"


def test_two_workers_on_follow_share_a_queue(mnt, tmp_path):
    mnt.topic("jobs", partitions=2)
    out = tmp_path / "done"
    # Each job takes a while, so both workers get some; each appends one line.
    proc = subprocess.Popen(["sh", os.path.join(EXAMPLES, "consumer", "workers.sh"),
                             mnt.p("jobs"), "thumbnails", "sh", "-c",
                             f'read job && sleep 0.01 && echo "$WORKER $job" >> {out}'],
                            start_new_session=True)
    try:
        wait_for(lambda: os.path.isdir(mnt.p("jobs", "consumers", "thumbnails")),
                 what="the group")
        jobs = [f"photo-{i}.jpg" for i in range(60)]
        for start in range(0, 60, 20):
            write_file(mnt.p("jobs", "produce"), "".join(j + "\n" for j in jobs[start:start + 20]))
        wait_for(lambda: out.exists() and len(out.read_text().splitlines()) >= 60,
                 timeout=30, what="every job done")
        time.sleep(0.2)
        done = [line.split(" ", 1) for line in out.read_text().splitlines()]
        assert sorted(job for _, job in done) == sorted(jobs), "each job once"
        assert {w for w, _ in done} == {"1", "2"}, "both workers took jobs"
        lag = read_file(mnt.p("jobs", "consumers", "thumbnails", "lag"))
        assert [line.split()[3] for line in lag.splitlines()] == ["0", "0"]
    finally:
        # The workers too, or one still reading follow keeps the mount busy.
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        stop_process(proc)


def test_retention_replaces_logrotate(mnt):
    topic = mnt.topic("access")
    keep = os.path.join(EXAMPLES, "retention", "keep.sh")
    r = subprocess.run(["sh", keep, topic, "14d", "1K"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert read_file(os.path.join(topic, "config", "retention.ms")) == f"{14 * 86400000}\n"
    assert read_file(os.path.join(topic, "config", "retention.bytes")) == "1024\n"
    # 100 lines of 50 bytes: byte retention trims the partition to what fits in 1 KiB.
    for i in range(100):
        write_file(os.path.join(topic, "produce"), f"{i:049d}\n")
    part = os.path.join(topic, "partition-0")
    wait_for(lambda: int(read_file(os.path.join(part, "start"))) >= 80, what="byte retention")
    lines = read_file(os.path.join(part, "log")).splitlines()
    assert lines[-1] == f"{99:049d}" and 0 < len(lines) * 50 <= 1024
    r = subprocess.run(["sh", keep, topic, "2weeks"], capture_output=True, text=True)
    assert r.returncode == 2 and "needs a unit" in r.stderr


def unit(name, **replace):
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.optionxform = str
    text = example(os.path.join("systemd", name), **replace)
    cp.read_string(text)
    return text, cp


def test_systemd_service_starts_ready_and_stops_cleanly(tmp_path):
    data, mnt = str(tmp_path / "data"), str(tmp_path / "mnt")
    text, cp = unit("topicfs.service", **{"/usr/local/bin/topicfs": os.path.abspath(TOPICFS),
                                          "/var/lib/topicfs": data, "/srv/topics": mnt})
    path = tmp_path / "topicfs.service"
    path.write_text(text)
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", str(path)],
                       capture_output=True, text=True)
    assert (r.returncode, r.stderr) == (0, ""), r.stderr
    svc = cp["Service"]
    assert svc["Type"] == "forking"
    # What systemd does: ExecStartPre lines ('-': failure ignored), then ExecStart,
    # which returns once mounted; PIDFile names the daemon; stop is SIGTERM.
    for line in text.splitlines():
        key, _, cmd = line.partition("=")
        if key == "ExecStartPre":
            r = subprocess.run(shlex.split(cmd.lstrip("-")), capture_output=True)
            assert cmd.startswith("-") or r.returncode == 0
    try:
        r = subprocess.run(shlex.split(svc["ExecStart"]), capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        assert os.path.ismount(mnt)
        os.mkdir(os.path.join(mnt, "boot"))
        assert len([n for n in os.listdir(os.path.join(mnt, "boot")) if n.startswith("part")]) == 3
        # The unit's process is the supervisor, the daemon's parent.
        pid = int(read_file(svc["PIDFile"]))
        with open(f"/proc/{daemon_pid(data)}/stat") as f:
            assert int(f.read().rsplit(")", 1)[1].split()[1]) == pid
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not os.path.ismount(mnt) and data_dir_free(data), timeout=20,
                 what="the daemon to unmount and exit on SIGTERM")
    finally:
        unmount(mnt, data)


def test_systemd_mount_unit_mounts_through_the_helper(mount_helper, tmp_path):
    data, mnt = str(tmp_path / "data"), str(tmp_path / "mnt")
    os.makedirs(mnt)
    _, cp = unit("srv-topics.mount", **{"/var/lib/topicfs": data, "/srv/topics": mnt})
    m = cp["Mount"]
    try:
        # What systemd runs for a .mount unit.
        r = subprocess.run(["mount", "-t", m["Type"], m["What"], m["Where"], "-o", m["Options"]],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        os.mkdir(os.path.join(mnt, "t"))
        assert read_file(os.path.join(mnt, "t", "config", "partitions")) == "3\n"
    finally:
        unmount(mnt, data)


def test_kafka_service_mirrors_the_server_s_topics(tmp_path):
    from mockkafka import Kafka, wait_shipped
    kafka = Kafka()
    data, mnt = str(tmp_path / "data"), str(tmp_path / "mnt")
    text = example("kafka/topicfs-kafka.service", **{
        "/usr/local/bin/topicfs": os.path.abspath(TOPICFS), "/var/lib/topicfs": data,
        "/srv/topics": mnt, "kafka1.example.com:9092": kafka.broker})
    path = tmp_path / "topicfs-kafka.service"
    path.write_text(text)
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", str(path)],
                       capture_output=True, text=True)
    assert (r.returncode, r.stderr) == (0, ""), r.stderr
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.optionxform = str
    cp.read_string(text)
    svc = cp["Service"]
    try:
        for line in text.splitlines():
            key, _, cmd = line.partition("=")
            if key == "ExecStartPre":
                subprocess.run(shlex.split(cmd.lstrip("-")), capture_output=True)
        kafka.topic("dc1.nginx", 3)
        r = subprocess.run(shlex.split(svc["ExecStart"]), capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 0, r.stderr
        os.mkdir(os.path.join(mnt, "nginx"))
        os.mkdir(os.path.join(mnt, "tmp-scratch"))
        write_file(os.path.join(mnt, "nginx", "produce"), "GET /\nGET /cart\n")
        write_file(os.path.join(mnt, "tmp-scratch", "produce"), "not shipped\n")

        class Mnt:
            p = staticmethod(lambda *a: os.path.join(mnt, *a))
        wait_shipped(Mnt, "nginx", 3)
        assert sorted(r["value"] for r in kafka.records("dc1.nginx")) == ["GET /", "GET /cart"]
        assert not [t for t in kafka.topics() if "tmp" in t]
        os.kill(daemon_pid(data), signal.SIGTERM)
        wait_for(lambda: not os.path.ismount(mnt) and data_dir_free(data), timeout=20,
                 what="the daemon to unmount and exit on SIGTERM")
    finally:
        unmount(mnt, data)
        kafka.stop()
