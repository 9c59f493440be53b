"""The C unit runner cannot be fooled: a test name it does not know is an error."""
import os
import subprocess

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def runner():
    subprocess.run(["make", "-s", "-C", ROOT, "build/store_test"], check=True,
                   capture_output=True)
    return os.path.join(ROOT, "build", "store_test")


def test_unit_runner_rejects_an_unknown_test_name():
    r = subprocess.run([runner(), "no_such_test"], capture_output=True, text=True)
    assert r.returncode != 0
    assert "no_such_test" in r.stderr and "passed" not in r.stdout


def test_unit_runner_runs_a_named_test():
    r = subprocess.run([runner(), "names_follow_kafka_rule"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "1 passed, 0 failed"
