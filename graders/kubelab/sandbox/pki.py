"""The sandbox's own certificate authority, serving certificate and client identities."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = datetime.timedelta(days=365)
SERVICE_IP = "10.152.183.1"

# Client identities: file stem -> (common name, organisation or None).
CLIENTS: dict[str, tuple[str, str | None]] = {
    "admin": ("admin", "system:masters"),
    "controller-manager": ("system:kube-controller-manager", None),
    "scheduler": ("system:kube-scheduler", None),
    "kwok": ("kwok-controller", "system:masters"),
    "sandbox-controller": ("kubelab-sandbox-controller", "system:masters"),
}


@dataclass(frozen=True)
class Pki:
    """Paths of the PEM files of one sandbox."""

    folder: Path

    def path(self, name: str) -> Path:
        return self.folder / name

    @property
    def ca_cert(self) -> Path:
        return self.path("ca.crt")

    def client(self, name: str) -> tuple[Path, Path]:
        return self.path(f"{name}.crt"), self.path(f"{name}.key")


def ensure_pki(folder: Path, extra_ips: tuple[str, ...] = ()) -> Pki:
    """Create the CA, serving and client certificates once; later calls reuse them.

    ``extra_ips`` are further addresses of the API server's serving certificate (the real
    node's address, where pods and the kubelet reach the API server).
    """
    pki = Pki(folder)
    if pki.ca_cert.exists() and pki.path("sa.key").exists():
        return pki
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = _new_key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubelab-sandbox-ca")])
    ca_cert = (
        _builder(ca_name, ca_name, ca_key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write(pki.path("ca.key"), ca_key, ca_cert)
    names = ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
             "kubernetes.default.svc.cluster.local"]
    ips = ["127.0.0.1", SERVICE_IP, *extra_ips]
    san = x509.SubjectAlternativeName(
        [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    )
    _issue(pki, "apiserver", "kube-apiserver", None, ca_key, ca_cert, ExtendedKeyUsageOID.SERVER_AUTH, san)
    for stem, (common_name, organisation) in CLIENTS.items():
        _issue(pki, stem, common_name, organisation, ca_key, ca_cert, ExtendedKeyUsageOID.CLIENT_AUTH)
    sa_key = _new_key()
    pki.path("sa.key").write_bytes(_key_pem(sa_key))
    pki.path("sa.pub").write_bytes(
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return pki


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def _builder(subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
    )


def _issue(
    pki: Pki,
    stem: str,
    common_name: str,
    organisation: str | None,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    usage: x509.ObjectIdentifier,
    san: x509.SubjectAlternativeName | None = None,
) -> None:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organisation:
        attributes.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation))
    key = _new_key()
    builder = _builder(x509.Name(attributes), ca_cert.subject, key).add_extension(
        x509.ExtendedKeyUsage([usage]), critical=False
    )
    if san is not None:
        builder = builder.add_extension(san, critical=False)
    _write(pki.path(f"{stem}.key"), key, builder.sign(ca_key, hashes.SHA256()))


def _write(key_path: Path, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> None:
    key_path.write_bytes(_key_pem(key))
    key_path.chmod(0o600)
    key_path.with_suffix(".crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def issue_client(pki: Pki, stem: str, common_name: str, organisation: str | None) -> tuple[Path, Path]:
    """One more client identity signed by the sandbox's CA (a node's kubelet, kube-proxy…)."""
    ca_key = serialization.load_pem_private_key(pki.path("ca.key").read_bytes(), password=None)
    ca_cert = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TypeError("la clé de l'autorité du bac à sable n'est pas une clé EC")
    _issue(pki, stem, common_name, organisation, ca_key, ca_cert, ExtendedKeyUsageOID.CLIENT_AUTH)
    return pki.client(stem)
