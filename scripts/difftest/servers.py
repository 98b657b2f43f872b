"""Starting and stopping the two servers a differential run compares.

Upstream is openstack-placement from the compatibility virtualenv, served
by gunicorn (one worker, one thread); ours is the placement-api binary.
Each gets a placement.conf with noauth2 and a SQLite database of its own
in the seed's directory.
"""

import http.client
import os
import signal
import socket
import subprocess
import time


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def write_conf(directory, db_name, sync_on_startup=False):
    os.makedirs(directory, exist_ok=True)
    conf = os.path.join(directory, 'placement.conf')
    with open(conf, 'w') as f:
        f.write('[api]\nauth_strategy = noauth2\n')
        f.write('[placement_database]\nconnection = sqlite:///%s\n'
                % os.path.join(directory, db_name))
        if sync_on_startup:
            f.write('sync_on_startup = True\n')
    return conf


class Server:
    """One running server: its name, port, process and log file."""

    def __init__(self, name, directory):
        self.name = name
        self.directory = directory
        self.port = None
        self.proc = None
        self.log_path = None

    def wait_ready(self, timeout=60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('%s exited with %s during start-up; see %s'
                                   % (self.name, self.proc.returncode,
                                      self.log_path))
            try:
                conn = http.client.HTTPConnection('127.0.0.1', self.port,
                                                  timeout=2)
                conn.request('GET', '/')
                resp = conn.getresponse()
                resp.read()
                conn.close()
                if resp.status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError('%s did not answer GET / within %ds; see %s'
                           % (self.name, timeout, self.log_path))

    def stop(self):
        """Stop the process this object started (by its pid only)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


class Upstream(Server):
    """Upstream Placement under gunicorn, from the virtualenv VENV.

    PYTHONHASHSEED is fixed so that upstream's answers that depend on set
    iteration order (some error messages list names in that order) are
    reproducible from one run to the next.
    """

    def __init__(self, name, directory, venv, hash_seed='0'):
        super().__init__(name, directory)
        self.venv = venv
        self.hash_seed = hash_seed

    def start(self):
        conf = write_conf(self.directory, 'placement.db')
        self.log_path = os.path.join(self.directory, 'upstream.log')
        env = dict(os.environ, OS_PLACEMENT_CONFIG_DIR=self.directory,
                   PYTHONHASHSEED=self.hash_seed)
        with open(self.log_path, 'ab') as log:
            subprocess.run(
                [os.path.join(self.venv, 'bin', 'placement-manage'),
                 '--config-file', conf, 'db', 'sync'],
                cwd=self.directory, env=env, stdout=log, stderr=log,
                check=True, timeout=120)
        self.port = free_port()
        log = open(self.log_path, 'ab')
        self.proc = subprocess.Popen(
            [os.path.join(self.venv, 'bin', 'gunicorn'),
             '--bind', '127.0.0.1:%d' % self.port,
             '--workers', '1', '--threads', '1', '--timeout', '60',
             'placement.wsgi.api:application'],
            cwd=self.directory, env=env, stdout=log, stderr=log,
            stdin=subprocess.DEVNULL)
        log.close()


class Ours(Server):
    """Our placement-api binary, migrating its database at start-up."""

    def __init__(self, name, directory, binary):
        super().__init__(name, directory)
        self.binary = binary

    def start(self):
        conf = write_conf(self.directory, 'ours.db', sync_on_startup=True)
        self.log_path = os.path.join(self.directory, 'ours.log')
        self.port = free_port()
        log = open(self.log_path, 'ab')
        self.proc = subprocess.Popen(
            [self.binary, '--config-file', conf, '--port', str(self.port),
             '--workers', '1'],
            cwd=self.directory, stdout=log, stderr=log,
            stdin=subprocess.DEVNULL)
        log.close()
