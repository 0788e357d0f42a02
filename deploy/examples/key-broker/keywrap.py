"""The key broker's wire format, shared by broker.py (wrap) and cvm.py (unwrap).

A secret is wrapped to the CVM's ephemeral EC public key (P-256 or P-384, DER
SubjectPublicKeyInfo) as {"alg", "epk", "iv", "ciphertext"} (README.md, "Wire format"):
ephemeral-static ECDH on the recipient's curve; HKDF-SHA256 with the challenge's bytes as salt
and "verdict-key-broker/v1" || recipient SPKI || ephemeral SPKI as info gives a 32-byte key;
AES-256-GCM with a random 96-bit IV and the recipient SPKI as additional data; ciphertext is
the GCM output (ciphertext || 16-byte tag). All binary values are standard base64.
"""
import base64
import binascii
import os

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

WRAP_ALG = "ECDH-ES+HKDF-SHA256+A256GCM"
WRAP_INFO = b"verdict-key-broker/v1"
CURVES = {"secp256r1": ec.SECP256R1, "secp384r1": ec.SECP384R1}


def b64d(text):
    """Standard or URL-safe base64, padded or not; ValueError otherwise."""
    if not isinstance(text, str) or not text:
        raise ValueError("not a base64 string")
    try:
        return base64.b64decode(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4),
                                validate=True)
    except binascii.Error as e:
        raise ValueError(str(e))


def b64e(data):
    return base64.b64encode(data).decode()


def spki(public_key):
    return public_key.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def load_public_key(der):
    """An EC P-256 or P-384 public key from DER SubjectPublicKeyInfo; ValueError otherwise."""
    key = serialization.load_der_public_key(der)
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name not in CURVES:
        raise ValueError("not an EC P-256 or P-384 key")
    return key


def new_key_pair(curve=ec.SECP384R1):
    """The CVM's ephemeral key pair: the private key and its DER SubjectPublicKeyInfo."""
    key = ec.generate_private_key(curve())
    return key, spki(key.public_key())


def _kek(shared, salt, recipient_der, epk_der):
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt,
                info=WRAP_INFO + recipient_der + epk_der).derive(shared)


def wrap(secret, recipient_der, salt):
    """Encrypt `secret` to the public key `recipient_der` (DER SPKI)."""
    recipient = load_public_key(recipient_der)
    eph = ec.generate_private_key(CURVES[recipient.curve.name]())
    epk_der = spki(eph.public_key())
    key = _kek(eph.exchange(ec.ECDH(), recipient), salt, recipient_der, epk_der)
    iv = os.urandom(12)
    ct = AESGCM(key).encrypt(iv, secret, recipient_der)
    return {"alg": WRAP_ALG, "epk": b64e(epk_der), "iv": b64e(iv), "ciphertext": b64e(ct)}


def unwrap(wrapped, private_key, salt):
    """The secret `wrap` encrypted to `private_key`'s public key. Raises
    cryptography.exceptions.InvalidTag for any other key, salt or a modified message."""
    if not isinstance(wrapped, dict) or wrapped.get("alg") != WRAP_ALG:
        raise ValueError("unknown key wrapping %r" % (wrapped or {}).get("alg"))
    recipient_der = spki(private_key.public_key())
    epk_der = b64d(wrapped["epk"])
    epk = load_public_key(epk_der)
    if epk.curve.name != private_key.curve.name:
        raise ValueError("the ephemeral key is on another curve")
    key = _kek(private_key.exchange(ec.ECDH(), epk), salt, recipient_der, epk_der)
    return AESGCM(key).decrypt(b64d(wrapped["iv"]), b64d(wrapped["ciphertext"]), recipient_der)
