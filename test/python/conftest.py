"""
Fixtures for the wire-level suite: real edge-kms servers (`npx tsx packages/node/src/cli.ts`)
spawned as subprocesses from the repo root, each on PORT=0 with its own temporary KMS_DATA_DIR
and KMS_TEST_MODE=1, talked to with boto3 and the AWS CLI.

One server per test module (`server`); tests that need a different configuration start their
own with `start_server(...)` (or the `server_factory` fixture, which stops them at the end).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import boto3
import botocore.config
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
ACCOUNT_ID = '111122223333'
REGION = 'us-east-1'
DAY = 86_400
STARTUP_TIMEOUT_S = 60
URL_RE = re.compile(r'edge-kms listening on (http://\S+)')


class Server:
    """One running edge-kms process."""

    def __init__(self, data_dir: str, env: dict[str, str], owns_data_dir: bool):
        self.data_dir = data_dir
        self.env = env
        self.owns_data_dir = owns_data_dir
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self.url: str | None = None
        self._ready = threading.Event()
        # A new session makes the server (npx -> tsx -> node) one process group that we own.
        self.proc = subprocess.Popen(
            ['npx', '--no-install', 'tsx', 'packages/node/src/cli.ts'],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._drain, args=(self.proc.stdout, self.stdout, True), daemon=True).start()
        threading.Thread(target=self._drain, args=(self.proc.stderr, self.stderr, False), daemon=True).start()
        if not self._ready.wait(STARTUP_TIMEOUT_S) or self.url is None:
            self.stop()
            raise RuntimeError(f'edge-kms did not start.\nstdout:\n{"".join(self.stdout)}\nstderr:\n{"".join(self.stderr)}')

    def _drain(self, stream, sink: list[str], look_for_url: bool) -> None:
        for line in stream:
            sink.append(line)
            if look_for_url and self.url is None:
                m = URL_RE.search(line)
                if m:
                    self.url = m.group(1)
                    self._ready.set()
        if look_for_url:
            self._ready.set()  # EOF: the process ended (startup failure is reported by the caller)

    def wait_for_output(self, text: str, timeout_s: float = 10.0) -> str:
        """Everything printed so far once `text` is in it (stdout and stderr are drained by two
        threads, so a line written to stderr before the URL on stdout may arrive after it)."""
        deadline = time.monotonic() + timeout_s
        while True:
            out = ''.join(self.stdout) + ''.join(self.stderr)
            if text in out or time.monotonic() > deadline:
                return out
            time.sleep(0.02)

    # --- test-mode endpoints -------------------------------------------------------------------
    def post(self, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body or {}).encode()
        req = urllib.request.Request(self.url + path, data=data, method='POST', headers={'Content-Type': 'application/json'})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(self.url + path, timeout=30) as resp:
            return json.loads(resp.read())

    def reset(self) -> None:
        assert self.post('/_edge-kms/reset') == {'reset': True}

    def advance_days(self, days: float) -> float:
        """Moves the server's test clock; returns the new time in epoch seconds."""
        return self.post('/_edge-kms/clock', {'advanceDays': days})['now'] / 1000

    def now(self) -> float:
        """The server's (test) clock in epoch seconds."""
        return self.get('/_edge-kms/clock')['now'] / 1000

    def maintenance(self) -> dict:
        return self.post('/_edge-kms/maintenance')

    # --- clients -------------------------------------------------------------------------------
    def client(self, validate: bool = True):
        """A boto3 KMS client; validate=False turns botocore's client-side parameter checks off
        so that out-of-range input reaches the server."""
        config = botocore.config.Config(
            parameter_validation=validate,
            retries={'total_max_attempts': 1},
            connect_timeout=5,
            read_timeout=30,
        )
        return boto3.client(
            'kms',
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id='test',
            aws_secret_access_key='test',
            config=config,
        )

    # --- lifecycle -----------------------------------------------------------------------------
    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=15)
        # Children (tsx's node) may outlive the npx parent by a moment; wait until no live
        # process of the group is left (zombies awaiting their reaper do not count).
        deadline = time.monotonic() + 10
        while _live_group_members(self.proc.pid):
            if time.monotonic() > deadline:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                break
            time.sleep(0.02)

    def cleanup(self) -> None:
        self.stop()
        if self.owns_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def _live_group_members(pgid: int) -> list[int]:
    """Pids of non-zombie processes in process group pgid (Linux /proc)."""
    live = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/stat') as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(')') + 2:].split()
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state not in ('Z', 'X'):
            live.append(int(entry))
    return live


def start_server(data_dir: str | None = None, **env_overrides: str) -> Server:
    """Starts edge-kms on a random port. Without data_dir a fresh temporary one is made (and
    removed by cleanup()); pass an existing one to restart on the same state."""
    owns = data_dir is None
    if owns:
        data_dir = tempfile.mkdtemp(prefix='edge-kms-pytest-')
    env = {k: v for k, v in os.environ.items() if not k.startswith('KMS_') and k not in ('PORT', 'HOST')}
    env.update({'PORT': '0', 'KMS_DATA_DIR': data_dir, 'KMS_TEST_MODE': '1', 'NO_COLOR': '1'})
    env.update(env_overrides)
    return Server(data_dir, env, owns)


@pytest.fixture(scope='module')
def server():
    s = start_server()
    yield s
    s.cleanup()


@pytest.fixture(scope='module')
def server_factory():
    """start(**env) -> Server; every server started through it is stopped after the module."""
    started: list[Server] = []

    def start(data_dir: str | None = None, **env: str) -> Server:
        s = start_server(data_dir, **env)
        started.append(s)
        return s

    yield start
    for s in reversed(started):
        s.cleanup()


@pytest.fixture(scope='module')
def kms(server):
    return server.client()


@pytest.fixture(scope='module')
def kms_raw(server):
    """No client-side validation: the server must reject bad input itself."""
    return server.client(validate=False)


@pytest.fixture
def fresh(server):
    """An empty KMS for this test."""
    server.reset()
    return server


def key_arn(key_id: str) -> str:
    return f'arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/{key_id}'


def alias_arn(alias_name: str) -> str:
    return f'arn:aws:kms:{REGION}:{ACCOUNT_ID}:{alias_name}'
