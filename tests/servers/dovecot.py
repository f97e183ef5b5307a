"""A private dovecot started as an ordinary process from a config in a temporary folder.

It never touches the system-wide instance: every path (sockets, state, log, mail) lives in
the folder, and `doveadm` is always pointed at our config with `-c`. Works as root (CI) and
as an ordinary user (then dovecot's own processes run as that user too).
"""

from __future__ import annotations

import datetime
import ipaddress
import itertools
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from tests.servers import free_port

DOVECOT = "/usr/sbin/dovecot"
DOVEADM = "/usr/bin/doveadm"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


class DovecotError(RuntimeError):
    """The test server misbehaved; the message carries dovecot's log."""


@dataclass(frozen=True)
class Account:
    """A user of a running `Dovecot`, with shortcuts to act on its own mail."""

    server: Dovecot
    address: str
    password: str

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def port(self) -> int:
        return self.server.port

    def deliver(self, raw: bytes, folder: str = "INBOX") -> None:
        self.server.deliver(self.address, raw, folder)

    def create_mailbox(self, folder: str) -> None:
        self.server.create_mailbox(self.address, folder)

    def recreate_mailbox(self, folder: str = "INBOX") -> None:
        self.server.recreate_mailbox(self.address, folder)


class Dovecot:
    """A running private dovecot; use as a context manager or call `start()` / `stop()`.

    With `tls=True` the plain port also offers STARTTLS and `imaps_port` speaks implicit
    TLS, both with a self-signed certificate for 127.0.0.1 whose PEM is `cert_path`.
    """

    def __init__(self, *, tls: bool = False) -> None:
        self.tls = tls
        self.host = "127.0.0.1"
        self.port = 0
        self.imaps_port = 0
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._users: dict[str, str] = {}
        self._user_numbers = itertools.count(1)

    # -- paths ---------------------------------------------------------------------------

    @property
    def root(self) -> Path:
        if self._tmp is None:
            raise DovecotError("dovecot is not started")
        return Path(self._tmp.name)

    @property
    def conf_path(self) -> Path:
        return self.root / "dovecot.conf"

    @property
    def log_path(self) -> Path:
        return self.root / "dovecot.log"

    @property
    def cert_path(self) -> Path:
        return self.root / "cert.pem"

    @property
    def mail_dir(self) -> Path:
        return self.root / "mail"

    @property
    def passwd_dir(self) -> Path:
        return self.root / "passwd"

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log written)"

    # -- life cycle ----------------------------------------------------------------------

    def __enter__(self) -> Dovecot:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        if self._process is not None:
            raise DovecotError("dovecot is already started")
        self._tmp = tempfile.TemporaryDirectory(prefix="relaydesk-dovecot-")
        self.port = free_port()
        self.imaps_port = free_port() if self.tls else 0
        for sub in ("run", "state", "mail", "passwd"):
            (self.root / sub).mkdir()
        if self.tls:
            self._write_certificate()
        self.conf_path.write_text(self._config())
        if os.geteuid() == 0:
            # The root folder is 0700 and owned by root; dovecot's unprivileged processes
            # (mail user, login user) must be able to traverse it.
            self.root.chmod(0o755)
            shutil.chown(self.mail_dir, "mail", "mail")
        self._spawn()

    def _spawn(self) -> None:
        self._process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.conf_path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self._wait_until_listening()

    @contextmanager
    def outage(self) -> Iterator[None]:
        """The server is down inside the block (connections dropped, port closed) and back
        on the same port, with the same users and mail, after it."""
        process = self._process
        if process is None:
            raise DovecotError("dovecot is not started")
        self._doveadm("stop")
        try:
            process.wait(timeout=STOP_TIMEOUT)
        finally:
            if process.stdout is not None:
                process.stdout.close()
        self._process = None
        try:
            yield
        finally:
            self._spawn()

    def _wait_until_listening(self) -> None:
        assert self._process is not None
        ports = [self.port] + ([self.imaps_port] if self.tls else [])
        deadline = time.monotonic() + START_TIMEOUT
        pending = list(ports)
        while pending:
            if self._process.poll() is not None:
                process, self._process = self._process, None
                assert process.stdout is not None
                output = process.stdout.read().decode(errors="replace")
                process.stdout.close()
                raise DovecotError(
                    f"dovecot exited with status {process.returncode} while starting\n"
                    f"--- output ---\n{output}\n--- log ---\n{self.log()}"
                )
            try:
                with socket.create_connection((self.host, pending[0]), timeout=0.5):
                    pending.pop(0)
                    continue
            except OSError:
                pass
            if time.monotonic() > deadline:
                self._kill()
                raise DovecotError(
                    f"dovecot did not listen on {self.host}:{pending[0]} within "
                    f"{START_TIMEOUT}s\n--- log ---\n{self.log()}"
                )
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop dovecot and remove the folder; raises when it does not go away cleanly."""
        process, self._process = self._process, None
        if process is None:
            return
        try:
            self._doveadm("stop")
            try:
                rc = process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise DovecotError(
                    f"dovecot did not exit within {STOP_TIMEOUT}s of `doveadm stop`\n"
                    f"--- log ---\n{self.log()}"
                ) from None
            if rc != 0:
                raise DovecotError(f"dovecot exited with status {rc}\n--- log ---\n{self.log()}")
        finally:
            if process.stdout is not None:
                process.stdout.close()
            if process.poll() is None:
                process.kill()
                process.wait()
            if self._tmp is not None:
                self._tmp.cleanup()
                self._tmp = None

    def _kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._process = None

    # -- users and mail ------------------------------------------------------------------

    def add_user(self, email: str, password: str) -> None:
        """Add (or change) a user.

        One passwd-file per user: dovecot checks a passwd-file for changes at most once a
        second, so a user added to a shared file right after a lookup would stay unknown for
        up to a second, whereas a new file is read on its first lookup.
        """
        if any(c in email + password for c in ":/\n\r") or email.startswith("."):
            raise ValueError(f"cannot store {email!r} or its password in a passwd-file")
        path = self.passwd_dir / email
        if email in self._users:
            time.sleep(1.1)  # see above: let dovecot's once-a-second check see the change
        self._users[email] = password
        # Replace the file atomically so dovecot never reads half of it.
        tmp = path.with_name(f".{email}.tmp")
        tmp.write_text(f"{email}:{{PLAIN}}{password}\n")
        tmp.replace(path)

    def new_account(self) -> Account:
        """A fresh user with a random password and an empty mailbox, never shared."""
        address = f"u{next(self._user_numbers)}@example.test"
        password = secrets.token_urlsafe(12)
        self.add_user(address, password)
        return Account(self, address, password)

    def deliver(self, user: str, raw: bytes, folder: str = "INBOX") -> None:
        """Store `raw` exactly as given in `folder` (which must exist)."""
        self._doveadm("save", "-u", user, "-m", folder, stdin=raw)

    def create_mailbox(self, user: str, folder: str) -> None:
        self._doveadm("mailbox", "create", "-u", user, folder)

    def recreate_mailbox(self, user: str, folder: str = "INBOX") -> None:
        """Delete and create `folder`, so it gets a new UIDVALIDITY and its UIDs restart.

        Dovecot refuses to delete INBOX, so INBOX is emptied and given a new UIDVALIDITY
        instead, which is what a client sees after a real recreate.
        """
        if folder.upper() == "INBOX":
            old = self.uidvalidity(user, folder)
            self._doveadm("expunge", "-u", user, "mailbox", folder, "all")
            self._doveadm(
                "mailbox",
                "update",
                "-u",
                user,
                "--uid-validity",
                str(old + 1),
                "--min-next-uid",
                "1",
                folder,
            )
        else:
            self._doveadm("mailbox", "delete", "-u", user, folder)
            self._doveadm("mailbox", "create", "-u", user, folder)

    def mailboxes(self, user: str) -> list[str]:
        """The user's folder names, decoded (dovecot prints UTF-8, not modified UTF-7)."""
        return self._doveadm("mailbox", "list", "-u", user).decode().splitlines()

    def flags(self, user: str, uid: int, folder: str = "INBOX") -> set[str]:
        out = self._doveadm(
            "-f", "tab", "-h", "fetch", "-u", user, "flags", "mailbox", folder, "uid", str(uid)
        )
        return set(out.decode().split())

    def uidvalidity(self, user: str, folder: str = "INBOX") -> int:
        out = self._doveadm(
            "-f", "tab", "-h", "mailbox", "status", "-u", user, "uidvalidity", folder
        )
        return int(out.decode().strip().rsplit("\t", 1)[-1])

    def _doveadm(self, *args: str, stdin: bytes | None = None) -> bytes:
        cmd = [DOVEADM, "-c", str(self.conf_path), *args]
        result = subprocess.run(cmd, input=stdin, capture_output=True, timeout=30, check=False)
        if result.returncode != 0:
            raise DovecotError(
                f"{' '.join(cmd[3:])} failed with status {result.returncode}: "
                f"{result.stderr.decode(errors='replace').strip()}\n--- log ---\n{self.log()}"
            )
        return result.stdout

    # -- configuration -------------------------------------------------------------------

    def _config(self) -> str:
        root = self.root
        if os.geteuid() == 0:
            ids = "uid=mail gid=mail"
            service_users = ""
            first_valid_uid = 8
        else:
            me = pwd.getpwuid(os.geteuid())
            ids = f"uid={me.pw_uid} gid={me.pw_gid}"
            service_users = (
                f"default_login_user = {me.pw_name}\ndefault_internal_user = {me.pw_name}\n"
            )
            first_valid_uid = me.pw_uid
        if self.tls:
            ssl = (
                "ssl = yes\n"
                f"ssl_cert = <{root}/cert.pem\n"
                f"ssl_key = <{root}/key.pem\n"
                "ssl_dh = </usr/share/dovecot/dh.pem\n"
            )
        else:
            ssl = "ssl = no\n"
        return f"""\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
instance_name = relaydesk-test-{self.port}
{ssl}disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
first_valid_uid = {first_valid_uid}
{service_users}# A test of a wrong password should not wait for it. (Dovecot's per-IP auth penalty
# still delays later logins from 127.0.0.1 by seconds: such tests use their own server.)
auth_failure_delay = 0 secs
# Notice new mail during IDLE quickly even where inotify is not available.
mailbox_idle_check_interval = 1 secs
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd/%u
}}
userdb {{
  driver = static
  args = {ids} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    port = {self.port}
  }}
  inet_listener imaps {{
    port = {self.imaps_port}
  }}
}}
"""

    def _write_certificate(self) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "relaydesk test imap")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        self.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path = self.root / "key.pem"
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        key_path.chmod(0o600)
