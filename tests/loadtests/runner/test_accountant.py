"""The accountant of finished requests, behind: it must let every ready socket be read between two accounts.

It runs in a subprocess of its own, since importing the runner imports Locust, which patches the process.
"""

from __future__ import annotations

import subprocess
import sys

from tests.loadtests.conftest import ROOT

SCENARIO = r'''
import gevent
from types import SimpleNamespace
from gevent import socket
import loadtests.runner.requests as requests

order = []
ours, theirs = socket.socketpair()

def account(st, out, **kw):
    order.append("account")
    theirs.send(b"x")  # an event arrives while the worker accounts

def reader():
    while True:
        ours.recv(1)
        order.append("read")

requests.account = account
accountant = requests.Accountant(SimpleNamespace(), backlog=0)  # behind: past its backlog from the start
gevent.spawn(reader)
gevent.sleep(0.01)
for _ in range(5):
    accountant.submit(SimpleNamespace())
gevent.sleep(0.2)
print(" ".join(order))
'''


def test_past_its_backlog_the_accountant_reads_between_two_accounts():
    out = subprocess.run([sys.executable, "-c", SCENARIO], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    # back to back it read "account account ... read ...": so did gevent.sleep(0) (up to 50 callbacks before a
    # poll) and a plain zero timer (libev runs the timer queued with the reads before them)
    assert out.stdout.split() == ["account", "read"] * 5


LATE = r'''
import time
import gevent
from types import SimpleNamespace
import loadtests.runner.requests as requests

judged = []
requests.account = lambda st, out, **kw: judged.append((out.name, kw["judge"]))
requests.CHECK_MAX_WAIT_S = 0.05
accountant = requests.Accountant(SimpleNamespace())

def hold_the_loop(seconds):  # Locust patched time.sleep into a yield: busy, as a worker that is behind
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass

def finished(name):
    out = SimpleNamespace(name=name, queued_at=None)
    accountant.submit(out)

finished("prompt")
gevent.sleep(0.01)  # the loop idles: accounted while fresh
finished("behind")
hold_the_loop(0.1)  # the worker holds its loop: this one is late when the accountant gets to it
gevent.sleep(0.01)
finished("late-at-a-report")
hold_the_loop(0.1)
accountant.drain()  # a report while the run goes on: a late stream is not judged
finished("late-at-the-end")
hold_the_loop(0.1)  # the stop holds the loop (Locust looks up its caller's source; the report is written)
accountant.drain(final=True)  # the traffic is over: judged however long it waited
print(judged)
'''


def test_a_late_stream_is_judged_at_the_final_drain_and_skipped_only_while_the_run_goes_on():
    out = subprocess.run([sys.executable, "-c", LATE], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == str([("prompt", True), ("behind", False), ("late-at-a-report", False),
                                      ("late-at-the-end", True)])


GAUGE = r'''
import time
from loadtests.runner.requests import CpuGauge

gauge = CpuGauge(window_s=0.5)
opened = gauge.read()  # opens the first window: what came before (start-up) is left out
t0, c0 = time.monotonic(), time.process_time()
while time.process_time() - c0 < 0.6:  # busy: as much of a core as this machine gives
    pass
busy = gauge.read()
own = (time.process_time() - c0) / (time.monotonic() - t0)
time.sleep(0.6)  # Locust patched this into a yield to an idle loop: no CPU
idle = gauge.read()
print(opened, abs(busy - own) < 0.05, busy > 0.3, idle < 0.2)
'''


def test_the_cpu_gauge_reads_the_share_of_a_core_the_process_used_in_its_last_window():
    out = subprocess.run([sys.executable, "-c", GAUGE], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["0.0", "True", "True", "True"]
