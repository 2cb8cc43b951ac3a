"""The mail outbox: queued in the transaction, delivered over real SMTP, retried when it is down."""

from forum.extensions import db
from forum.mail import services
from forum.mail.models import OutgoingMail


def test_queued_mail_is_delivered_over_smtp(app, smtp_server):
    services.queue_mail(
        "ann@example.org", "Hello", "plain text", "<p>html</p>", {"List-Unsubscribe": "<https://x/u>"}
    )
    db.session.commit()
    assert services.send_pending() == (1, 0)
    [message] = smtp_server.messages_to("ann@example.org")
    assert message["Subject"] == "Hello"
    assert message["List-Unsubscribe"] == "<https://x/u>"
    assert smtp_server.text_of(message).strip() == "plain text"
    assert "<p>html</p>" in smtp_server.html_of(message)


def test_mail_survives_a_down_server_and_is_sent_later(app, app_config, smtp_server):
    app.config["MAIL_PORT"] = 1  # nothing listens there
    services.queue_mail("bob@example.org", "Later", "text", "<p>text</p>")
    db.session.commit()
    assert services.send_pending() == (0, 1)
    mail = db.session.scalars(db.select(OutgoingMail)).one()
    assert mail.sent_at is None and mail.attempts == 1 and "Error" in (mail.last_error or "")
    app.config["MAIL_PORT"] = smtp_server.port
    mail.next_attempt_at = mail.created_at  # due again
    db.session.commit()
    assert services.send_pending() == (1, 0)
    assert len(smtp_server.messages_to("bob@example.org")) == 1


def test_without_a_mail_server_mail_is_written_to_the_instance_folder(app, runner, caplog):
    app.config["MAIL_SERVER"] = ""
    services.queue_mail("cy@example.org", "Dev mail", "see the link", "<p>see the link</p>")
    db.session.commit()
    result = runner.invoke(args=["mail", "send-pending"])
    assert "Sent 1, failed 0, pending 0." in result.output
    from pathlib import Path

    files = list((Path(app.instance_path) / "mail").glob("*.eml"))
    assert len(files) == 1 and b"Dev mail" in files[0].read_bytes()


def test_a_malformed_message_does_not_stop_the_outbox(app, smtp_server):
    services.queue_mail("bad@example.org", "Broken\nInjected: header", "text", "<p>text</p>")
    services.queue_mail("good@example.org", "Fine", "text", "<p>text</p>")
    db.session.commit()
    sent, failed = services.send_pending()
    assert (sent, failed) == (1, 1)
    assert len(smtp_server.messages_to("good@example.org")) == 1
    assert smtp_server.messages_to("bad@example.org") == []
