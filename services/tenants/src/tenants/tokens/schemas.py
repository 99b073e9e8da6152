from typing import Literal

from pydantic import BaseModel


class JsonWebKey(BaseModel):
    kty: Literal["OKP"] = "OKP"
    crv: Literal["Ed25519"] = "Ed25519"
    x: str
    kid: str
    use: Literal["sig"] = "sig"
    alg: Literal["EdDSA"] = "EdDSA"


class JsonWebKeySet(BaseModel):
    keys: list[JsonWebKey]
