"""Drives the official 1Password Connect Python SDK (onepasswordconnectsdk) against mock-connect.

Run by tests/python_sdk.rs with OP_CONNECT_HOST and OP_CONNECT_TOKEN set and the demo data
loaded. Every public client function is exercised; any failed expectation raises, which makes the
process exit non-zero. The journal under /__admin is used to check what the SDK actually sent.
"""

import asyncio
import os
import sys
import tempfile

import httpx
from onepasswordconnectsdk.client import new_client
from onepasswordconnectsdk.errors import FailedToRetrieveItemException, OnePasswordConnectSDKError
from onepasswordconnectsdk.models import Field, GeneratorRecipe, Item, ItemVault

HOST = os.environ["OP_CONNECT_HOST"]
TOKEN = os.environ["OP_CONNECT_TOKEN"]
CHECKS = 0


def check(condition, message):
    global CHECKS
    CHECKS += 1
    if not condition:
        raise AssertionError(message)


def expect_error(exception_type, function, *args):
    try:
        function(*args)
    except exception_type as error:
        check(True, "")
        return error
    raise AssertionError(f"{function.__name__}{args} did not raise {exception_type.__name__}")


def journal():
    return httpx.get(f"{HOST}/__admin/requests").json()


def main():
    httpx.delete(f"{HOST}/__admin/requests")
    client = new_client(HOST, TOKEN)

    # Vaults.
    vaults = client.get_vaults()
    check(sorted(v.name for v in vaults) == ["Private", "engineering"], f"vaults {vaults}")
    engineering = client.get_vault_by_title("ENGINEERING")  # names match case-insensitively
    check(engineering.name == "engineering", "vault by title")
    vault_id = engineering.id
    check(client.get_vault(vault_id).id == vault_id, "vault by id")
    check(client.get_vault(vault_id).type == "USER_CREATED", "vault type")
    expect_error(OnePasswordConnectSDKError, client.get_vault_by_title, "No Such Vault")

    # Items: list, filter, by id, by title.
    summaries = client.get_items(vault_id)
    check(len(summaries) == 9, f"{len(summaries)} items")
    prod = client.get_items(vault_id, 'tag eq "prod"')
    check(sorted(i.title for i in prod) == ["Production Database", "TLS Certificate"], "tag filter")
    database = client.get_item_by_title("Production Database", vault_id)
    check(database.category == "DATABASE", "category")
    values = {f.label: f.value for f in database.fields}
    check(values["password"] == "pg-Demo-S3cret" and values["port"] == "5432", f"fields {values}")
    check(client.get_item_by_id(database.id, vault_id).title == "Production Database", "by id")
    github = client.get_item("GitHub", "engineering")  # vault and item by title
    otp = [f for f in github.fields if f.type == "OTP"][0]
    check(otp.totp is not None and len(otp.totp) == 6 and otp.totp.isdigit(), f"totp {otp.totp}")
    expect_error(FailedToRetrieveItemException, client.get_item_by_title, "Build Server", vault_id)
    missing = expect_error(
        FailedToRetrieveItemException, client.get_item_by_id, "abcdefghijklmnop1234567890", vault_id
    )
    check(missing.status_code == 404, f"status {missing.status_code}")

    # Create with a generated password, update, delete.
    recipe = GeneratorRecipe(length=40, character_sets=["LETTERS", "DIGITS"], exclude_characters="lI1O0")
    new_item = Item(
        vault=ItemVault(id=vault_id),
        title="Python Created",
        category="LOGIN",
        tags=["python"],
        fields=[
            Field(value="py-user", purpose="USERNAME", label="username"),
            Field(purpose="PASSWORD", generate=True, recipe=recipe, label="password"),
        ],
    )
    created = client.create_item(vault_id, new_item)
    check(created.id and len(created.id) == 26, f"id {created.id}")
    check(created.version == 1, f"version {created.version}")
    password = [f for f in created.fields if f.purpose == "PASSWORD"][0]
    check(len(password.value) == 40 and password.value.isalnum(), f"password {password.value}")
    check(not any(c in "lI1O0" for c in password.value), "excluded characters")
    check(password.entropy and password.entropy > 0, "entropy")
    created.title = "Python Updated"
    updated = client.update_item(created.id, vault_id, created)
    check(updated.title == "Python Updated" and updated.version == 2, f"update {updated.version}")
    check(client.get_item("Python Updated", vault_id).id == created.id, "title lookup after update")
    client.delete_item(created.id, vault_id)
    gone = expect_error(FailedToRetrieveItemException, client.get_item_by_id, created.id, vault_id)
    check(gone.status_code == 404, "deleted item is 404")

    # Files.
    certificate = client.get_item_by_title("TLS Certificate", vault_id)
    files = client.get_files(certificate.id, vault_id)
    check(len(files) == 1 and files[0].name == "cert.pem", f"files {files}")
    file = client.get_file(files[0].id, certificate.id, vault_id)
    check(file.content_path.startswith("/v1/vaults/"), f"content_path {file.content_path}")
    content = client.get_file_content(file.id, certificate.id, vault_id)
    check(content.startswith(b"-----BEGIN CERTIFICATE-----") and len(content) == file.size, "content")
    with tempfile.TemporaryDirectory() as directory:
        client.download_file(file.id, certificate.id, vault_id, directory)
        with open(os.path.join(directory, "cert.pem"), "rb") as downloaded:
            check(downloaded.read() == content, "download_file")

    # The async client sends the same requests.
    async def async_part():
        async_client = new_client(HOST, TOKEN, is_async=True)
        return await async_client.get_vaults()

    check(len(asyncio.run(async_part())) == 2, "async get_vaults")

    # What the SDK sent, as the mock journal saw it.
    sent = journal()
    filters = [e["query"] for e in sent if e["query"] and e["query"].startswith("filter=")]
    check('filter=title%20eq%20%22Production%20Database%22' in filters, f"filter encoding {filters}")
    check(any(e["method"] == "POST" and e["status"] == 200 for e in sent), "POST 200")
    check(any(e["method"] == "PUT" and e["status"] == 200 for e in sent), "PUT 200")
    check(any(e["method"] == "DELETE" and e["status"] == 204 for e in sent), "DELETE 204")
    print(f"OK {CHECKS} checks, {len(sent)} requests")


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # report any failure as one line, exit 1
        print(f"FAILED: {type(error).__name__}: {error}", file=sys.stderr)
        raise
