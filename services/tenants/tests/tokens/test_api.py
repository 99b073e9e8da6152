import httpx

from tenants.state import TenantsState


class TestJwks:
    async def test_publishes_the_signing_key(
        self, client: httpx.AsyncClient, state: TenantsState
    ) -> None:
        response = await client.get("/internal/jwks.json")

        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert "max-age" in response.headers["cache-control"]
        (key,) = response.json()["keys"]
        assert key == {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": key["x"],
            "kid": state.tokens.kid,
            "use": "sig",
            "alg": "EdDSA",
        }
