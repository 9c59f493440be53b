"""Mirroring to Kafka (-o mirror=): every record, in order, exactly once, across
kill -9, outages, several mounts; mismatches and retention shown, never hidden.
Against librdkafka's mock cluster (tests/kafka_mock.c); kcat says what arrived."""
import os
import subprocess
import threading
import time

import pytest

from conftest import read_file, wait_for, write_file
from mockkafka import Kafka, end, mirrored, wait_shipped

# librdkafka reconnects after at most this long once a broker is back.
FAST = "mirror.reconnect.backoff.max.ms=200,mirror.retry.backoff.ms=50"


@pytest.fixture
def kafka():
    k = Kafka()
    yield k
    k.stop()


def mirror_opts(kafka, extra="", all_brokers=False):
    # Several bootstrap brokers: commas inside an -o value are escaped.
    brokers = kafka.bootstrap.replace(",", "\\,") if all_brokers else kafka.broker
    o = f"mirror={brokers},{FAST},retention.check.interval.ms=100"
    return o + ("," + extra if extra else "")


def local_records(m, topic, partition):
    """(offset, key or '', value, timestamp ms) of every retained record."""
    pdir = m.p(topic, f"partition-{partition}")
    start, stop = int(read_file(os.path.join(pdir, "start"))), end(m, topic, partition)
    out = []
    for o in range(start, stop):
        path = os.path.join(pdir, f"offset-{o}")
        try:
            key = os.getxattr(path, "user.topicfs.key").decode()
        except OSError:
            key = ""
        ts = int(os.getxattr(path, "user.topicfs.timestamp"))
        out.append((o, key, read_file(path), ts))
    return out


def topicfs_stat(m):
    stat = os.path.join(os.path.dirname(__file__), "..", "tools", "topicfs-stat")
    return subprocess.run([stat, m.path], capture_output=True, text=True, check=True).stdout


def origin(record):
    """(host, topic, partition, offset) from the record's topicfs.origin header,
    HOST/TOPIC/PARTITION/OFFSET (read from the right: a host name may hold '/')."""
    host, topic, partition, offset = record["headers"]["topicfs.origin"].rsplit("/", 3)
    return host, topic, int(partition), int(offset)


def offsets_once(records, host, partition):
    """The source offsets of host's records in a Kafka partition, asserting each once."""
    offs = [origin(r)[3] for r in records
            if r["partition"] == partition and origin(r)[0] == host]
    assert len(offs) == len(set(offs)), f"doubled offsets in partition {partition}"
    return offs


def test_every_record_arrives_in_order_with_partition_key_timestamp_and_headers(
        mount_factory, kafka):
    kafka.topic("orders", 3)
    m = mount_factory(mirror_opts(kafka, "mirror.host=web1,partitions=3"))
    os.mkdir(m.p("orders"))
    write_file(m.p("orders", "produce"), "".join(f"plain-{i}\n" for i in range(30)))
    for user in ("alice", "bob", "carol", "dave"):
        write_file(m.p("orders", "keys", user), f"{user} paid\n{user} shipped\n",
                   os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    wait_shipped(m, "orders", 3)
    got = kafka.records("orders")
    for p in range(3):
        want = local_records(m, "orders", p)
        arrived = [r for r in got if r["partition"] == p]
        assert [(origin(r)[3], r["key"], r["value"], r["timestamp"])
                for r in arrived] == want
        assert [r["offset"] for r in arrived] == list(range(len(want)))
        for r, (offset, *_) in zip(arrived, want):
            # One header says where the record came from.
            assert r["headers"] == {"topicfs.origin": f"web1/orders/{p}/{offset}"}
    assert len(got) == 38


def test_only_matching_topics_ship_under_the_prefix(mount_factory, kafka):
    kafka.topic("dc1.app-logs", 1)
    m = mount_factory(mirror_opts(kafka, "mirror.topics=app-.*,mirror.prefix=dc1."))
    os.mkdir(m.p("app-logs"))
    os.mkdir(m.p("secrets"))
    os.mkdir(m.p("old-app-logs"))  # the whole name must match
    write_file(m.p("old-app-logs", "produce"), "x\n")
    write_file(m.p("app-logs", "produce"), "started\nready\n")
    write_file(m.p("secrets", "produce"), "hunter2\n")
    wait_shipped(m, "app-logs", 1)
    assert [r["value"] for r in kafka.records("dc1.app-logs")] == ["started", "ready"]
    assert mirrored(m, "secrets", 0) == "-"  # not mirrored: nothing to ship
    assert "secrets" not in kafka.topics()
    assert mirrored(m, "old-app-logs", 0) == "-"


def test_bad_librdkafka_property_refuses_to_mount(tmp_path, kafka):
    from conftest import TOPICFS
    (tmp_path / "mnt").mkdir()
    r = subprocess.run([TOPICFS, str(tmp_path / "d"), str(tmp_path / "mnt"), "-f", "-o",
                        f"mirror={kafka.broker},mirror.no.such.property=1"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode != 0
    assert "no.such.property" in r.stderr
    r = subprocess.run([TOPICFS, str(tmp_path / "d"), str(tmp_path / "mnt"), "-f", "-o",
                        f"mirror={kafka.broker},mirror.message.timeout.ms=300000"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode != 0
    assert "mirror.message.timeout.ms cannot be set" in r.stderr


def test_kill9_three_times_while_shipping_then_everything_exactly_once(mount_factory, kafka):
    kafka.topic("clicks", 2)
    # Slow deliveries in small batches: records are in flight when the daemon dies.
    kafka.rtt(200)
    m = mount_factory(mirror_opts(
        kafka, "mirror.host=h,partitions=2,mirror.linger.ms=1,mirror.batch.num.messages=20"))
    os.mkdir(m.p("clicks"))
    n = 0
    for round in range(3):
        for _ in range(20):
            write_file(m.p("clicks", "produce"), "".join(f"c{n + i}\n" for i in range(50)))
            n += 50
        # Some of this round is in Kafka, some in flight, some not sent yet.
        wait_for(lambda: int(mirrored(m, "clicks", 0)) > 0, what="shipping to start")
        assert int(mirrored(m, "clicks", 0)) < end(m, "clicks", 0), "still shipping"
        m.kill9()
        m.start()
    kafka.rtt(0)
    wait_shipped(m, "clicks", 2)
    got = kafka.records("clicks")
    for p in range(2):
        assert offsets_once(got, "h", p) == list(range(end(m, "clicks", p)))
    assert sorted(r["value"] for r in got) == sorted(f"c{i}" for i in range(n))
    # Kafka had records whose delivery reports died with the daemon: not sent again.
    assert "Kafka already has up to offset" in m.log()


def test_a_host_name_holding_a_slash_is_found_again_after_kill9(mount_factory, kafka):
    kafka.topic("views", 1)
    kafka.rtt(200)  # records are in flight when the daemon dies
    m = mount_factory(mirror_opts(
        kafka, "mirror.host=dc1/web1,mirror.linger.ms=1,mirror.batch.num.messages=20"))
    os.mkdir(m.p("views"))
    for i in range(20):
        write_file(m.p("views", "produce"), "".join(f"v{50 * i + j}\n" for j in range(50)))
    wait_for(lambda: int(mirrored(m, "views", 0)) > 0, what="shipping to start")
    assert int(mirrored(m, "views", 0)) < 1000, "still shipping"
    m.kill9()
    m.start()
    kafka.rtt(0)
    wait_shipped(m, "views", 1)
    assert offsets_once(kafka.records("views"), "dc1/web1", 0) == list(range(1000))
    assert "Kafka already has up to offset" in m.log()


def test_all_brokers_down_holds_shipping_back_and_loses_nothing(mount_factory, kafka):
    kafka.topic("audit", 1)
    m = mount_factory(mirror_opts(kafka, "mirror.host=h", all_brokers=True))
    os.mkdir(m.p("audit"))
    write_file(m.p("audit", "produce"), "".join(f"before-{i}\n" for i in range(100)))
    wait_shipped(m, "audit", 1)
    kafka.all_down()
    write_file(m.p("audit", "produce"), "".join(f"during-{i}\n" for i in range(100)))
    time.sleep(3)
    assert mirrored(m, "audit", 0) == "100", "nothing is confirmed while the cluster is down"
    # A restart during the outage: the new daemon waits for the cluster too.
    m.kill9()
    m.start()
    write_file(m.p("audit", "produce"), "".join(f"after-{i}\n" for i in range(100)))
    time.sleep(1)
    assert mirrored(m, "audit", 0) == "100"
    kafka.all_up()
    wait_shipped(m, "audit", 1, timeout=30)
    got = kafka.records("audit")
    assert offsets_once(got, "h", 0) == list(range(300))
    assert [r["value"] for r in got] == ([f"before-{i}" for i in range(100)] +
                                         [f"during-{i}" for i in range(100)] +
                                         [f"after-{i}" for i in range(100)])


def test_two_mounts_ship_one_topic_each_exactly_once(mount_factory, kafka):
    kafka.topic("logs", 2)
    a = mount_factory(mirror_opts(kafka, "mirror.host=web-a,partitions=2"))
    b = mount_factory(mirror_opts(kafka, "mirror.host=web-b,partitions=2"))
    for m, name in ((a, "a"), (b, "b")):
        os.mkdir(m.p("logs"))
        write_file(m.p("logs", "produce"), "".join(f"{name}{i}\n" for i in range(40)))
    wait_shipped(a, "logs", 2)
    wait_shipped(b, "logs", 2)
    b.kill9()  # b resumes from Kafka's tail, where a's records are mixed in
    b.start()
    write_file(b.p("logs", "produce"), "".join(f"b-again{i}\n" for i in range(10)))
    wait_shipped(b, "logs", 2)
    got = kafka.records("logs")
    for m, host in ((a, "web-a"), (b, "web-b")):
        for p in range(2):
            assert offsets_once(got, host, p) == list(range(end(m, "logs", p)))
    assert len(got) == 90


def test_partition_count_mismatch_stops_that_topic_and_others_go_on(mount_factory, kafka):
    kafka.topic("metrics", 3)
    kafka.topic("events", 2)
    m = mount_factory(mirror_opts(kafka, "partitions=2"))
    m.expect_errors(r"Kafka topic 'metrics' has 3 partitions")
    os.mkdir(m.p("metrics"))
    os.mkdir(m.p("events"))
    write_file(m.p("metrics", "produce"), "cpu 1\ncpu 2\n")
    write_file(m.p("events", "produce"), "login\nlogout\n")
    wait_shipped(m, "events", 2)
    path = m.p("metrics", "partition-0", "mirrored")
    wait_for(lambda: "user.topicfs.mirror.error" in os.listxattr(path), what="the error")
    error = os.getxattr(path, "user.topicfs.mirror.error").decode()
    assert "3 partitions" in error and "2" in error
    assert mirrored(m, "metrics", 0) == "0"
    assert kafka.records("metrics") == []
    assert "topic 'metrics': Kafka topic 'metrics' has 3 partitions" in m.log()
    out = topicfs_stat(m)
    assert "topic metrics: not mirrored: Kafka topic 'metrics' has 3 partitions" in out
    assert "topic events" not in out


def test_records_retention_removes_before_shipping_are_counted_lost(mount_factory, kafka):
    kafka.topic("burst", 1)
    m = mount_factory(mirror_opts(kafka, "mirror.host=h"))
    os.mkdir(m.p("burst"))
    write_file(m.p("burst", "config", "retention.bytes"), "300\n")
    kafka.all_down()
    write_file(m.p("burst", "produce"), "".join(f"r{i:04d}\n" for i in range(200)))  # 6 B each
    wait_for(lambda: int(read_file(m.p("burst", "partition-0", "start"))) > 0,
             what="retention")
    start = int(read_file(m.p("burst", "partition-0", "start")))
    kafka.all_up()
    wait_shipped(m, "burst", 1, timeout=30)
    path = m.p("burst", "partition-0", "mirrored")
    lost = int(os.getxattr(path, "user.topicfs.mirror.lost"))
    got = kafka.records("burst")
    assert lost == start > 0
    assert offsets_once(got, "h", 0) == list(range(start, 200))
    assert "retention deleted offsets 0.." in m.log() and "lost to the mirror" in m.log()
    head, row = topicfs_stat(m).splitlines()[:2]
    cols = dict(zip(head.split(), row.split()))
    assert (cols["SHIPPED"], cols["LAG"], cols["LOST"]) == (str(200 - start), "0", str(start))


def test_topicfs_stat_shows_shipped_lag_and_lost(mount_factory, kafka):
    kafka.topic("t", 1)
    m = mount_factory(mirror_opts(kafka))
    os.mkdir(m.p("t"))
    write_file(m.p("t", "produce"), "a\nb\nc\n")
    wait_shipped(m, "t", 1)
    head, row = topicfs_stat(m).splitlines()[:2]
    cols = dict(zip(head.split(), row.split()))
    assert cols["SHIPPED"] == "3" and cols["LAG"] == "0" and cols["LOST"] == "0"


def test_a_topic_made_again_under_its_old_name_ships_its_new_records(mount_factory, kafka):
    # Kafka still has the old topic's records with the same host, topic,
    # partition and offsets: they must not make the mirror skip the new ones.
    kafka.topic("jobs", 1)
    m = mount_factory(mirror_opts(kafka, "mirror.host=h"))
    os.mkdir(m.p("jobs"))
    write_file(m.p("jobs", "produce"), "old-0\nold-1\nold-2\n")
    wait_shipped(m, "jobs", 1)
    os.rmdir(m.p("jobs"))
    time.sleep(0.01)  # the new topic's records are younger than the old ones
    os.mkdir(m.p("jobs"))
    write_file(m.p("jobs", "produce"), "new-0\nnew-1\n")
    wait_shipped(m, "jobs", 1)
    m.kill9()  # and the resume after a restart does not skip them either
    m.start()
    write_file(m.p("jobs", "produce"), "new-2\n")
    wait_shipped(m, "jobs", 1)
    assert [r["value"] for r in kafka.records("jobs")] == [
        "old-0", "old-1", "old-2", "new-0", "new-1", "new-2"]


def test_unmount_while_the_cluster_is_down_is_prompt_and_loses_nothing(mount_factory, kafka):
    kafka.topic("q", 1)
    m = mount_factory(mirror_opts(kafka, "mirror.host=h"))
    os.mkdir(m.p("q"))
    kafka.all_down()
    write_file(m.p("q", "produce"), "".join(f"q{i}\n" for i in range(50)))
    t0 = time.monotonic()
    m.stop()
    assert time.monotonic() - t0 < 10
    m.start()
    kafka.all_up()
    wait_shipped(m, "q", 1, timeout=30)
    assert [r["value"] for r in kafka.records("q")] == [f"q{i}" for i in range(50)]


def test_broker_errors_retried_or_fatal_still_ship_each_record_once(mount_factory, kafka):
    kafka.topic("pay", 1)
    m = mount_factory(mirror_opts(kafka, "mirror.host=h"))
    m.expect_errors(r"Fatal error: .*old epoch", r"the producer stopped .*; starting a new one")
    os.mkdir(m.p("pay"))
    write_file(m.p("pay", "produce"), "p0\n")
    wait_shipped(m, "pay", 1)
    kafka.fail_produce(6, 7, 6)  # NOT_LEADER_FOR_PARTITION, REQUEST_TIMED_OUT: retried
    write_file(m.p("pay", "produce"), "p1\np2\n")
    wait_shipped(m, "pay", 1)
    kafka.fail_produce(47, 47)  # INVALID_PRODUCER_EPOCH: fatal to the producer
    for i in range(3, 8):
        write_file(m.p("pay", "produce"), f"p{i}\n")
    wait_shipped(m, "pay", 1)
    assert [r["value"] for r in kafka.records("pay")] == [f"p{i}" for i in range(8)]
    assert "the producer stopped" in m.log() and "starting a new one" in m.log()


def test_one_broker_down_holds_back_only_the_partitions_it_leads(mount_factory, kafka):
    kafka.topic("web", 3)
    m = mount_factory(mirror_opts(kafka, "mirror.host=h,partitions=3", all_brokers=True))
    os.mkdir(m.p("web"))
    write_file(m.p("web", "produce"), "".join(f"w{i}\n" for i in range(30)))
    wait_shipped(m, "web", 3)
    leaders = kafka.leaders("web")
    broker = leaders[0]  # the mock picks leaders at random: take partition 0's
    led = sorted(p for p, b in leaders.items() if b == broker)
    kafka.down(broker)
    write_file(m.p("web", "produce"), "".join(f"x{i}\n" for i in range(30)))
    others = [p for p in range(3) if p not in led]
    wait_for(lambda: all(mirrored(m, "web", p) == str(end(m, "web", p)) for p in others),
             what="partitions on live brokers to ship")
    time.sleep(2)
    behind = [p for p in range(3) if mirrored(m, "web", p) != str(end(m, "web", p))]
    assert behind == led, "only the partitions the down broker leads wait"
    kafka.up(broker)
    wait_shipped(m, "web", 3, timeout=30)
    got = kafka.records("web")
    for p in range(3):
        assert offsets_once(got, "h", p) == list(range(end(m, "web", p)))


def test_a_record_too_big_for_kafka_stops_its_topic_with_a_clear_error(mount_factory, kafka):
    kafka.topic("blobs", 1)
    kafka.topic("notes", 1)
    m = mount_factory(mirror_opts(kafka, "mirror.host=h"))
    m.expect_errors(r"larger than Kafka takes")
    os.mkdir(m.p("blobs"))
    os.mkdir(m.p("notes"))
    # 1,000,100 bytes: topicfs keeps it (max.message.bytes 1 MiB), librdkafka's
    # message.max.bytes (1,000,000) refuses it.
    write_file(m.p("blobs", "produce"), "small\n" + "x" * 1_000_100 + "\nafter\n")
    write_file(m.p("notes", "produce"), "still shipped\n")
    wait_shipped(m, "notes", 1)
    path = m.p("blobs", "partition-0", "mirrored")
    wait_for(lambda: "user.topicfs.mirror.error" in os.listxattr(path), what="the error")
    error = os.getxattr(path, "user.topicfs.mirror.error").decode()
    assert "offset 1 of partition 0 is larger than Kafka takes" in error
    assert mirrored(m, "blobs", 0) == "1", "the records before it are shipped"
    assert [r["value"] for r in kafka.records("blobs")] == ["small"]
    assert "raise mirror.message.max.bytes" in m.log()
