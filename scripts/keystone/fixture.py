"""A template Keystone for the tests, and one Keystone served from a copy.

    fixture.py prepare VENV DIR    database, keys, users and projects in DIR
    fixture.py certs DIR           a test CA (ca.pem) and a certificate for
                                   127.0.0.1 signed by it (server.pem, .key)
    fixture.py serve VENV DIR PORT [EXPIRATION]
                                   DIR is a copy of the template: point
                                   its catalog and configuration at PORT
                                   and exec gunicorn on it

With KEYSTONE_TLS_DIR set (a `certs` directory), serve answers HTTPS and
puts an https identity endpoint in its catalog. The tests copy the
template directory and serve the copy, one Keystone
per test. Users (password: the user name): admin (admin on project admin
and on the system), member and reader (on project demo), placement and
nova (service on project service), and nobody (no role at all).
"""

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request

CONF = """[DEFAULT]
public_endpoint = http://127.0.0.1:{port}/
[database]
connection = sqlite:///{dir}/keystone.db
[token]
provider = fernet
expiration = {expiration}
[fernet_tokens]
key_repository = {dir}/fernet-keys
[fernet_receipts]
key_repository = {dir}/fernet-keys
[credential]
key_repository = {dir}/credential-keys
[identity]
password_hash_rounds = 4
[cache]
enabled = false
"""


# Keystone parses the process's command line as its own: hide gunicorn's.
APP = """import sys
sys.argv = sys.argv[:1]
from keystone.wsgi.api import application  # noqa: E402,F401
"""


def write_conf(directory, port, expiration=3600):
    with open(os.path.join(directory, "keystone.conf"), "w") as f:
        f.write(CONF.format(dir=directory, port=port, expiration=expiration))
    with open(os.path.join(directory, "keystone_app.py"), "w") as f:
        f.write(APP)


def gunicorn(venv, directory, port, tls=None):
    env = dict(os.environ, OS_KEYSTONE_CONFIG_DIR=directory)
    cert = ["--certfile", os.path.join(tls, "server.pem"), "--keyfile", os.path.join(tls, "server.key")] if tls else []
    return [
        os.path.join(venv, "bin", "gunicorn"), *cert,
        "--bind", f"127.0.0.1:{port}",
        "--workers", "1", "--threads", "8", "--timeout", "120",
        "--error-logfile", "-", "--no-control-socket",
        "--pythonpath", directory, "keystone_app:application",
    ], env


def call(url, method="GET", body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("X-Auth-Token", token)
    with urllib.request.urlopen(req, timeout=60) as resp:
        payload = resp.read()
        return resp.headers, (json.loads(payload) if payload else None)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def prepare(venv, directory):
    os.makedirs(directory)
    for sub in ("fernet-keys", "credential-keys"):
        os.makedirs(os.path.join(directory, sub), mode=0o700)
    port = free_port()
    write_conf(directory, port)
    manage = [os.path.join(venv, "bin", "keystone-manage"), "--config-dir", directory]
    user = ["--keystone-user", str(os.getuid()), "--keystone-group", str(os.getgid())]
    subprocess.run(manage + ["db_sync"], check=True)
    subprocess.run(manage + ["fernet_setup"] + user, check=True)
    subprocess.run(manage + ["credential_setup"] + user, check=True)
    base = f"http://127.0.0.1:{port}/v3"
    subprocess.run(manage + ["bootstrap", "--bootstrap-password", "admin",
                             "--bootstrap-region-id", "RegionOne",
                             "--bootstrap-public-url", base,
                             "--bootstrap-internal-url", base], check=True)
    cmd, env = gunicorn(venv, directory, port)
    server = subprocess.Popen(cmd, env=env)
    try:
        for _ in range(600):
            try:
                call(base)
                break
            except OSError:
                time.sleep(0.1)
        auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": "default"}, "password": "admin"}}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
        headers, _ = call(base + "/auth/tokens", "POST", auth)
        token = headers["X-Subject-Token"]
        roles = {r["name"]: r["id"] for r in call(base + "/roles", token=token)[1]["roles"]}
        if "service" not in roles:
            roles["service"] = call(base + "/roles", "POST", {"role": {"name": "service"}}, token)[1]["role"]["id"]
        projects = {p["name"]: p["id"] for p in call(base + "/projects", token=token)[1]["projects"]}
        for name in ("demo", "service"):
            projects[name] = call(base + "/projects", "POST", {"project": {
                "name": name, "domain_id": "default"}}, token)[1]["project"]["id"]
        users = {u["name"]: u["id"] for u in call(base + "/users", token=token)[1]["users"]}
        grants = {"member": ("demo", "member"), "reader": ("demo", "reader"),
                  "placement": ("service", "service"), "nova": ("service", "service"), "nobody": None}
        for name, grant in grants.items():
            users[name] = call(base + "/users", "POST", {"user": {
                "name": name, "password": name, "domain_id": "default"}}, token)[1]["user"]["id"]
            if grant:
                project, role = grant
                call(f"{base}/projects/{projects[project]}/users/{users[name]}/roles/{roles[role]}", "PUT",
                     token=token)
        with open(os.path.join(directory, "users.json"), "w") as f:
            json.dump({"users": users, "projects": projects, "roles": roles}, f, indent=1)
    finally:
        server.terminate()
        server.wait()


def serve(venv, directory, port, expiration):
    tls = os.environ.get("KEYSTONE_TLS_DIR")
    write_conf(directory, port, expiration)
    # The copy answers on its own port: so must its catalog.
    db = sqlite3.connect(os.path.join(directory, "keystone.db"))
    with db:
        db.execute("UPDATE endpoint SET url = ? WHERE service_id IN "
                   "(SELECT id FROM service WHERE type = 'identity')",
                   (f"{'https' if tls else 'http'}://127.0.0.1:{port}/v3",))
    db.close()
    cmd, env = gunicorn(venv, directory, port, tls)
    os.execve(cmd[0], cmd, env)


def certs(directory):
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    window = (now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=1))

    def cert(subject, issuer, key, signer, extensions):
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(window[0]).not_valid_after(window[1]))
        for extension, critical in extensions:
            builder = builder.add_extension(extension, critical=critical)
        return builder.sign(signer, hashes.SHA256())

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = cert(name("placement test CA"), name("placement test CA"), ca_key, ca_key, [
        (x509.BasicConstraints(ca=True, path_length=None), True),
        (x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                       key_encipherment=False, data_encipherment=False, key_agreement=False,
                       encipher_only=False, decipher_only=False), True),
    ])
    key = ec.generate_private_key(ec.SECP256R1())
    server = cert(name("127.0.0.1"), name("placement test CA"), key, ca_key, [
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                      x509.DNSName("localhost")]), False),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
    ])
    os.makedirs(directory, exist_ok=True)
    pem = serialization.Encoding.PEM
    with open(os.path.join(directory, "ca.pem"), "wb") as f:
        f.write(ca.public_bytes(pem))
    with open(os.path.join(directory, "server.pem"), "wb") as f:
        f.write(server.public_bytes(pem))
    with open(os.path.join(directory, "server.key"), "wb") as f:
        f.write(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        prepare(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "certs":
        certs(sys.argv[2])
    elif sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]) if len(sys.argv) > 5 else 3600)
    else:
        sys.exit(__doc__)
