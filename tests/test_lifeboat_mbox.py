"""`flask lifeboat mbox`: threading, encodings, quotes, signatures, attachments, no addresses."""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path

import pytest

from forum import create_app
from forum.lifeboat.mbox import normal_subject, plain_to_markdown
from tests.factories_exchange import read_records, run

FOOTER = "_______________________________________________\nrouters mailing list\nrouters@lists.example\n"


def message(number: int, sender: str, subject: str, body: str, *, date: str, reply_to: str | None = None,
            references: str | None = None, charset: str = "utf-8", cte: str | None = None) -> EmailMessage:  # fmt: skip
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = "routers@lists.example"
    mail["Subject"] = subject
    mail["Date"] = date
    mail["Message-ID"] = f"<m{number}@lists.example>"
    if reply_to:
        mail["In-Reply-To"] = reply_to
    if references:
        mail["References"] = references
    mail.set_content(body, charset=charset, cte=cte)
    return mail


def write_mbox(path: Path) -> Path:
    first = message(1, "Jane Doe <jane@home.example>", "[routers] Wi-Fi drops every night",
                    "My router drops Wi-Fi at 22:00.\nAny idea?\n\n-- \nJane, jane@home.example\n" + FOOTER,
                    date="Mon, 01 Mar 2010 10:00:00 +0000", cte="quoted-printable")  # fmt: skip
    second = message(2, "Bob <bob@isp.example>", "Re: [routers] Wi-Fi drops every night",
                     "Change the channel to 11.\n\nOn Mon, Jane Doe <jane@home.example> wrote:\n"
                     "> My router drops Wi-Fi at 22:00.\n> Any idea?\n",
                     date="Mon, 01 Mar 2010 11:00:00 +0000", reply_to="<m1@lists.example>", cte="base64")  # fmt: skip
    # Broken threading: no In-Reply-To or References, only the subject ties it to the thread.
    third = message(3, "=?iso-8859-1?q?Ren=E9_M=FCller?= <rene@example.de>", "AW: Wi-Fi drops every night",
                    "Danke, das hat geholfen. Grüße aus Köln.\n", date="Tue, 02 Mar 2010 09:00:00 +0100",
                    charset="iso-8859-1", cte="quoted-printable")  # fmt: skip
    # A reply to a message that is not in the archive: it starts a thread of its own.
    fourth = message(4, "Bob <bob@isp.example>", "Re: Firmware 2.1", "Firmware 2.1 fixed it here.\n",
                     date="Wed, 03 Mar 2010 09:00:00 +0000", reply_to="<missing@lists.example>")  # fmt: skip
    fifth = message(5, "Jane Doe <jane@home.example>", "Re: [routers] Wi-Fi drops every night",
                    "Thanks! Log attached.\n", date="Wed, 03 Mar 2010 12:00:00 +0000",
                    references="<m1@lists.example> <m2@lists.example>")  # fmt: skip
    fifth.add_attachment(b"\x00\x01log data" * 100, maintype="application", subtype="octet-stream",
                         filename="router.log")  # fmt: skip
    with open(path, "wb") as out:
        for number, mail in enumerate((first, second, third, fourth, fifth), start=1):
            out.write(f"From sender{number}@example Mon Mar  1 10:00:00 2010\n".encode())
            out.write(mail.as_bytes().replace(b"\r\n", b"\n"))
            out.write(b"\n")
    return path


def convert(mbox: Path, out: Path, *args: str):
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x" * 40, "TESTING": True})
    return app.test_cli_runner().invoke(
        args=["lifeboat", "mbox", str(mbox), str(out), "--list-name", "routers", *args]
    )


@pytest.fixture
def converted(tmp_path) -> tuple[list[dict], str]:
    result = convert(write_mbox(tmp_path / "routers.mbox"), tmp_path / "out.jsonl")
    assert result.exit_code == 0, result.output
    return read_records(tmp_path / "out.jsonl"), (tmp_path / "out.jsonl").read_text()


def test_threads_follow_message_ids_then_subjects(converted):
    records, _text = converted
    threads = [r for r in records if r["type"] == "thread"]
    replies = [r for r in records if r["type"] == "post"]
    assert [t["title"] for t in threads] == ["Wi-Fi drops every night", "Firmware 2.1"]
    assert [(r["id"], r["thread_id"]) for r in replies] == [(2, 1), (3, 1), (5, 1)]
    assert records[0]["counts"]["thread"] == 2 and records[0]["counts"]["post"] == 3


def test_encodings_quotes_signatures_footers_and_attachments(converted):
    records, _text = converted
    bodies = {r["id"]: r["body"] for r in records if r["type"] in ("thread", "post")}
    assert (
        bodies[1] == "My router drops Wi-Fi at 22:00.\nAny idea?"
    )  # quoted-printable; signature and footer cut
    assert bodies[2].startswith("Change the channel to 11.")  # base64
    assert "wrote:" not in bodies[2] and "*[2 quoted lines folded]*" in bodies[2]
    assert bodies[3] == "Danke, das hat geholfen. Grüße aus Köln."  # ISO-8859-1
    assert "`router.log` (application/octet-stream, 1,000 bytes)" in bodies[5]
    names = {r["display_name"] for r in records if r["type"] == "user"}
    assert names == {"Jane Doe", "Bob", "René Müller"}  # an encoded-word name, decoded


def test_addresses_are_never_written(converted):
    _records, text = converted
    for address in ("jane@home.example", "bob@isp.example", "rene@example.de", "routers@lists.example"):
        assert address not in text
    assert '"email":null' in text or '"email": null' in text


def test_claimable_keeps_addresses_for_password_reset_only(tmp_path):
    result = convert(write_mbox(tmp_path / "routers.mbox"), tmp_path / "out.jsonl", "--claimable")
    assert result.exit_code == 0, result.output
    records = read_records(tmp_path / "out.jsonl")
    emails = {r["email"] for r in records if r["type"] == "user"}
    assert emails == {"jane@home.example", "bob@isp.example", "rene@example.de"}
    assert not any("@" in r["body"] for r in records if r["type"] in ("thread", "post"))


def test_mbox_import_on_both_backends(runner, client, tmp_path):
    result = convert(write_mbox(tmp_path / "routers.mbox"), tmp_path / "out.jsonl")
    assert result.exit_code == 0
    imported = run(runner, "import", tmp_path / "out.jsonl")
    assert imported.exit_code == 0, imported.output
    page = client.get("/t/1", follow_redirects=True).get_data(as_text=True)
    assert "Imported from Mailing list routers" in page and "Grüße aus Köln" in page
    assert "quoted lines folded" in page and "jane@home.example" not in page


def test_not_an_mbox_is_a_clear_error(tmp_path):
    bogus = tmp_path / "notes.txt"
    bogus.write_text(json.dumps({"hello": "world"}))
    result = convert(bogus, tmp_path / "out.jsonl")
    assert result.exit_code == 1 and "not an mbox file" in result.output


def test_subjects_and_trailing_quotes():
    assert normal_subject("Re: AW: [list] Fwd: Hello  world") == "hello world"
    folded = plain_to_markdown("Yes.\n\nJane wrote:\n> a\n> b\n>\n> c\n")
    assert folded == "Yes.\n\n*[4 quoted lines folded]*"
    inline = plain_to_markdown("> question one\nanswer one\n> question two\nanswer two")
    assert inline == "> question one\nanswer one\n> question two\nanswer two"
