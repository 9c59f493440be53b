#!/usr/bin/python3
"""log_to_topic.py — a Python program logging into a topic with logging.FileHandler.

    python3 log_to_topic.py /srv/topics/app [COUNT]

FileHandler opens the topic's produce file for appending and flushes after each
message: every message is one write(), one record, stored when the call returns.
A record is one line, so messages are formatted as one JSON object per line,
which keeps tracebacks and multi-line messages in one record. Retention, not
RotatingFileHandler, keeps the topic's size in check.
"""
import json
import logging
import os
import sys


class JsonLineFormatter(logging.Formatter):
    """One JSON object per record; json.dumps escapes the newlines."""

    def format(self, record):
        doc = {"ts": round(record.created, 3), "level": record.levelname,
               "logger": record.name, "msg": record.getMessage()}
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc)


def main():
    topic = sys.argv[1] if len(sys.argv) > 1 else "/srv/topics/app"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    if not os.path.isdir(topic):
        os.mkdir(topic)  # mkdir in a topicfs mount creates the topic
    handler = logging.FileHandler(os.path.join(topic, "produce"))
    handler.setFormatter(JsonLineFormatter())
    log = logging.getLogger("example")
    log.addHandler(handler)
    log.setLevel(logging.INFO)

    for i in range(count):
        log.info("order %d placed", i)
    log.warning("a message\nover two lines")
    try:
        1 / 0
    except ZeroDivisionError:
        log.exception("division failed")
    handler.close()


if __name__ == "__main__":
    main()
