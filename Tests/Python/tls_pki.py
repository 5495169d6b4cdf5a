"""A throwaway PKI for the TLS tests, made in the test run with the openssl CLI (Debian's
`openssl` package): EC P-256 keys, certificates valid for three days.

    root            "CellHub Test Root"         trusted by the clients (and mTLS client CA)
    intermediate    signed by root              signs the server certificate
    server          signed by intermediate      CN cellhub-test-server, serial 0x1001,
                                                SAN IP:127.0.0.1 and DNS:localhost;
                                                server-chain.pem = server + intermediate
    client          signed by root              a client certificate mTLS accepts
    other-root      an unrelated CA
    other-client    signed by other-root        a client certificate mTLS refuses
    reload-root     another CA
    reload-server   signed by reload-root       CN cellhub-reloaded, serial 0x2002, same SAN:
                                                what a SIGHUP reload switches to

Every file is <name>.pem / <name>.key in one directory. Run as a script
(`python tls_pki.py DIR`) for the Swift tests, which share it.
"""
from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

CONFIG = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[intermediate_ext]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[server_ext]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
"""

SERVER_SERIAL = 0x1001
RELOAD_SERIAL = 0x2002
SERVER_CN = "cellhub-test-server"
RELOAD_CN = "cellhub-reloaded"


@dataclass
class Pki:
    directory: Path

    def pem(self, name: str) -> Path:
        return self.directory / f"{name}.pem"

    def key(self, name: str) -> Path:
        return self.directory / f"{name}.key"

    def read(self, path: Path) -> bytes:
        return path.read_bytes()


def _openssl(directory: Path, *args: str) -> None:
    done = subprocess.run(["openssl", *args], cwd=directory, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed:\n{done.stderr}")


def _root(directory: Path, name: str, cn: str) -> None:
    _openssl(directory, "req", "-x509", "-new", "-config", "pki.cnf", "-extensions", "ca_ext",
             "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "3", "-subj", f"/CN={cn}")


def _signed(directory: Path, name: str, cn: str, issuer: str, extensions: str, serial: int) -> None:
    _openssl(directory, "req", "-new", "-config", "pki.cnf", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}")
    _openssl(directory, "x509", "-req", "-in", f"{name}.csr", "-CA", f"{issuer}.pem", "-CAkey", f"{issuer}.key",
             "-set_serial", str(serial), "-days", "3", "-extfile", "pki.cnf", "-extensions", extensions,
             "-out", f"{name}.pem")


def make_pki(directory: Path) -> Pki:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "pki.cnf").write_text(CONFIG)
    _root(directory, "root", "CellHub Test Root")
    _signed(directory, "intermediate", "CellHub Test Intermediate", "root", "intermediate_ext", 0x100)
    _signed(directory, "server", SERVER_CN, "intermediate", "server_ext", SERVER_SERIAL)
    (directory / "server-chain.pem").write_bytes((directory / "server.pem").read_bytes() + (directory / "intermediate.pem").read_bytes())
    _signed(directory, "client", "cellhub-test-client", "root", "client_ext", 0x3003)
    _root(directory, "other-root", "Unrelated Test Root")
    _signed(directory, "other-client", "cellhub-stranger", "other-root", "client_ext", 0x4004)
    _root(directory, "reload-root", "CellHub Reload Root")
    _signed(directory, "reload-server", RELOAD_CN, "reload-root", "server_ext", RELOAD_SERIAL)
    return Pki(directory)


if __name__ == "__main__":
    print(make_pki(Path(sys.argv[1])).directory)
