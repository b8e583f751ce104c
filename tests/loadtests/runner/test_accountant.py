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
