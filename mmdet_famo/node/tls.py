"""DICOM TLS: the node's certificate, key and trusted CA, for receiving and
for sending (PS3.15 B.1 "The Basic TLS Secure Transport Connection
Profile" and its BCP 195 successors; TLS 1.2 at least, as BCP 195 asks).

pynetdicom takes the resulting :class:`ssl.SSLContext` as is: a server one
for ``AE.start_server(ssl_context=...)``, a client one for
``AE.associate(tls_args=(context, host))``.
"""
import os.path as osp
import ssl
from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class TlsSettings:
    """The node's TLS identity and trust.

    Args:
        certificate (str): The node's certificate (PEM), with its chain.
        key (str): Its private key (PEM, unencrypted).
        ca (str, optional): Certificates (PEM) trusted to sign peers':
            when receiving, the modalities' (for mutual TLS); when sending,
            the destination's. Without it, the system's trust store is used
            when sending.
        require_client_certificate (bool): When receiving, accept only
            callers with a certificate signed by ``ca`` (mutual TLS).
    """
    certificate: str
    key: str
    ca: Optional[str] = None
    require_client_certificate: bool = False

    def __post_init__(self) -> None:
        for name in ('certificate', 'key', 'ca'):
            path = getattr(self, name)
            if path is not None and not osp.isfile(path):
                raise ValueError(f'TLS {name} {path}: no such file')
        if self.require_client_certificate and self.ca is None:
            raise ValueError('requiring client certificates needs the CA '
                             'that signs them')

    def server_context(self) -> ssl.SSLContext:
        """The context the Storage SCP listens with."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.certificate, self.key)
        if self.ca is not None:
            context.load_verify_locations(self.ca)
        if self.require_client_certificate:
            context.verify_mode = ssl.CERT_REQUIRED
        return context

    def client_context(self) -> ssl.SSLContext:
        """The context the sender associates with: the destination's
        certificate is verified (against ``ca``) and its host name or
        address checked; the node's certificate is offered for mutual
        TLS."""
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH,
                                             cafile=self.ca)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.certificate, self.key)
        return context
