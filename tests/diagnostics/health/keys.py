"""DKIM key records made at test time with cryptography, shaped as providers publish them."""

from __future__ import annotations

import base64
import functools
import secrets

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa


@functools.cache
def rsa_p(bits: int) -> str:
    """The p= value of a fresh RSA key of `bits` (SubjectPublicKeyInfo, base64). cryptography
    will not generate keys under 1024 bits, so a short one gets a random odd modulus of that
    size: the record has the shape and length of a real short key, which is what is checked."""
    if bits < 1024:
        modulus = secrets.randbits(bits) | (1 << (bits - 1)) | 1
        public = rsa.RSAPublicNumbers(65537, modulus).public_key()
    else:
        public = rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


@functools.cache
def rsa_pkcs1_p(bits: int) -> str:
    """An RSA key published as a bare PKCS#1 RSAPublicKey, as some tools do."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.PKCS1
    )
    return base64.b64encode(der).decode()


@functools.cache
def ed25519_p() -> str:
    raw = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    return base64.b64encode(raw).decode()


def rsa_record(bits: int = 2048, extra: str = "") -> str:
    return f"v=DKIM1; k=rsa; {extra}p={rsa_p(bits)}"


def split(value: str) -> list[str]:
    """A long record as DNS carries it: character-strings of at most 255 bytes."""
    return [value[i : i + 255] for i in range(0, len(value), 255)]
