from tenants.accounts import passwords


class TestPasswords:
    async def test_hashes_with_argon2id_and_verifies(self) -> None:
        password_hash = await passwords.hash_password("a-good-long-password")

        assert password_hash.startswith("$argon2id$")
        assert await passwords.verify_password(password_hash, "a-good-long-password")
        assert not await passwords.verify_password(password_hash, "a-good-long-passwor")
        assert not passwords.needs_rehash(password_hash)

    async def test_the_same_password_hashes_differently_each_time(self) -> None:
        assert await passwords.hash_password("same") != await passwords.hash_password("same")

    async def test_a_malformed_hash_never_verifies(self) -> None:
        assert not await passwords.verify_password("not-a-hash", "anything")
        assert not await passwords.verify_password("", "")
