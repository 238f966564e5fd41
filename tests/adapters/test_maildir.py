"""MaildirSender: the embedded outbox, a Maildir any mail client opens (SPEC N9)."""

from __future__ import annotations

import mailbox
import os
import random
import stat
import tempfile
import threading
from email.message import EmailMessage
from email.mime.text import MIMEText
from email.utils import make_msgid
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from upslife.adapters.maildir import MaildirSender
from upslife.errors import DeliveryFailed, InvalidInput

BODY = "Replace the battery of SMT1500C AS1234567890 by 1 March 2026.\nÇa presse.\n"


def notice(message_id: str | None = None, *, body: str = BODY) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "UPS lifecycle <notices@upslife.example>"
    message["To"] = "owner@example.com"
    message["Subject"] = "Battery Replacement Due"
    if message_id is not None:
        message["Message-ID"] = message_id
    message.set_content(body)
    return message


def files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


class TestFiling:
    def test_a_sent_message_lands_in_new_and_parses_back_intact(self, tmp_path: Path) -> None:
        outbox = MaildirSender(tmp_path / "outbox")
        message = notice(make_msgid(domain="upslife.example"))
        outbox.send(message)
        assert len(files(tmp_path / "outbox" / "new")) == 1
        assert files(tmp_path / "outbox" / "tmp") == []
        [stored] = outbox.messages()
        for header in ("From", "To", "Subject", "Message-ID"):
            assert stored[header] == message[header]
        assert stored.get_content() == BODY

    def test_a_standard_maildir_reader_sees_exactly_the_sent_messages(self, tmp_path: Path) -> None:
        outbox = MaildirSender(tmp_path)
        ids = sorted(make_msgid(domain="upslife.example") for _ in range(3))
        for message_id in ids:
            outbox.send(notice(message_id))
        reader = mailbox.Maildir(tmp_path, create=False)
        try:
            assert sorted(str(m["Message-ID"]) for m in reader) == ids
            assert reader.list_folders() == []  # the marker directory is not a folder
        finally:
            reader.close()

    def test_a_body_line_starting_with_from_is_not_mangled(self, tmp_path: Path) -> None:
        outbox = MaildirSender(tmp_path)
        outbox.send(notice("<from@upslife.example>", body="From the UPS: battery low.\n"))
        [stored] = outbox.messages()
        assert stored.get_content() == "From the UPS: battery low.\n"

    def test_a_legacy_email_message_is_filed_too(self, tmp_path: Path) -> None:
        message = MIMEText("plain and simple", "plain", "utf-8")
        message["Message-ID"] = "<legacy@upslife.example>"
        outbox = MaildirSender(tmp_path)
        outbox.send(message)
        [stored] = outbox.messages()
        assert stored.get_content() == "plain and simple"

    def test_the_directory_is_created_with_its_parents_and_kept_private(
        self, tmp_path: Path
    ) -> None:
        root = tmp_path / "var" / "upslife" / "outbox"
        MaildirSender(root).send(notice("<private@upslife.example>"))
        for sub in ("tmp", "new", "cur"):
            assert stat.S_IMODE((root / sub).stat().st_mode) == 0o700
        [filed] = files(root / "new")
        assert stat.S_IMODE(filed.stat().st_mode) == 0o600

    def test_a_message_without_message_id_is_invalid_input_and_nothing_is_filed(
        self, tmp_path: Path
    ) -> None:
        outbox = MaildirSender(tmp_path)
        with pytest.raises(InvalidInput, match="Message-ID"):
            outbox.send(notice())
        with pytest.raises(InvalidInput, match="Message-ID"):
            outbox.send(notice("   "))
        assert list(outbox.messages()) == []

    def test_a_hostile_message_id_cannot_name_a_file_outside_the_maildir(
        self, tmp_path: Path
    ) -> None:
        outbox = MaildirSender(tmp_path / "outbox")
        outbox.send(notice("<../../../escape@upslife.example>"))
        assert [p.name for p in tmp_path.iterdir()] == ["outbox"]
        [filed] = files(tmp_path / "outbox" / "new")
        assert all(c in "0123456789abcdef" for c in filed.name)

    def test_a_filesystem_failure_is_a_transient_delivery_failure_leaving_no_trace(
        self, tmp_path: Path
    ) -> None:
        outbox = MaildirSender(tmp_path)
        (tmp_path / "new").rmdir()
        (tmp_path / "new").write_text("not a directory")
        with pytest.raises(DeliveryFailed) as failure:
            outbox.send(notice("<broken@upslife.example>"))
        assert not failure.value.permanent
        assert isinstance(failure.value.__cause__, OSError)
        assert files(tmp_path / "tmp") == []

    def test_a_path_that_cannot_be_a_maildir_is_refused_at_construction(
        self, tmp_path: Path
    ) -> None:
        (tmp_path / "file").write_text("")
        with pytest.raises(DeliveryFailed, match="cannot create the Maildir"):
            MaildirSender(tmp_path / "file")


class TestIdempotency:
    def test_the_same_message_id_twice_is_filed_once(self, tmp_path: Path) -> None:
        # SPEC N9: a sweep run twice sends each notice once.
        outbox = MaildirSender(tmp_path)
        outbox.send(notice("<n9@upslife.example>"))
        outbox.send(notice("<n9@upslife.example>", body="a second rendering\n"))
        [stored] = outbox.messages()
        assert stored.get_content() == BODY

    def test_two_senders_on_one_directory_file_a_message_id_once(self, tmp_path: Path) -> None:
        # SPEC N9: a sweep that crashed and is re-run by a new process sends nothing twice.
        MaildirSender(tmp_path).send(notice("<n9@upslife.example>"))
        MaildirSender(tmp_path).send(notice("<n9@upslife.example>"))
        assert len(list(MaildirSender(tmp_path).messages())) == 1

    def test_a_message_read_and_moved_to_cur_by_a_mail_client_is_not_filed_again(
        self, tmp_path: Path
    ) -> None:
        # SPEC N9: what a person has read does not come back as new.
        outbox = MaildirSender(tmp_path)
        outbox.send(notice("<read@upslife.example>"))
        [filed] = files(tmp_path / "new")
        filed.rename(tmp_path / "cur" / f"{filed.name}:2,S")
        outbox.send(notice("<read@upslife.example>"))
        assert files(tmp_path / "new") == []
        assert len(list(outbox.messages())) == 1

    def test_a_message_deleted_by_its_reader_is_not_filed_again(self, tmp_path: Path) -> None:
        # SPEC N9: the Message-ID is remembered after the message is gone.
        outbox = MaildirSender(tmp_path)
        outbox.send(notice("<deleted@upslife.example>"))
        [filed] = files(tmp_path / "new")
        filed.unlink()
        outbox.send(notice("<deleted@upslife.example>"))
        assert list(outbox.messages()) == []

    def test_a_crash_between_filing_and_remembering_still_files_once(self, tmp_path: Path) -> None:
        # SPEC N9: the message is written before its marker, so a crash can lose neither.
        outbox = MaildirSender(tmp_path)
        outbox.send(notice("<crash@upslife.example>"))
        [marker] = files(tmp_path / "upslife-ids")
        marker.unlink()  # as if the process died before writing it
        outbox.send(notice("<crash@upslife.example>"))
        assert len(files(tmp_path / "new")) == 1
        assert [p.name for p in files(tmp_path / "upslife-ids")] == [marker.name]

    def test_concurrent_sends_from_threads_file_each_message_id_once_and_intact(
        self, tmp_path: Path
    ) -> None:
        # SPEC N9: workers racing on the same notices never duplicate or corrupt one.
        ids = [f"<race-{i}@upslife.example>" for i in range(25)]
        barrier = threading.Barrier(8)
        errors: list[BaseException] = []

        def worker(seed: int) -> None:
            outbox = MaildirSender(tmp_path)  # one instance per worker, one directory
            order = random.Random(seed).sample(ids, len(ids))
            barrier.wait()
            try:
                for message_id in order:
                    outbox.send(notice(message_id, body=f"{message_id}\n" * 200))
            except BaseException as e:  # re-raised in the main thread below
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        stored = list(MaildirSender(tmp_path).messages())
        assert sorted(str(m["Message-ID"]) for m in stored) == sorted(ids)
        for message in stored:
            assert message.get_content() == f"{message['Message-ID']}\n" * 200
        assert files(tmp_path / "tmp") == []

    @given(st.lists(st.integers(min_value=0, max_value=5), max_size=10))
    def test_any_sequence_of_sends_files_each_distinct_message_id_exactly_once(
        self, picks: list[int]
    ) -> None:
        # SPEC N9, as a property: stored = distinct Message-IDs sent, in any order.
        with tempfile.TemporaryDirectory() as folder:
            outbox = MaildirSender(folder)
            for pick in picks:
                outbox.send(notice(f"<p{pick}@upslife.example>"))
            stored = sorted(str(m["Message-ID"]) for m in outbox.messages())
            assert stored == sorted({f"<p{pick}@upslife.example>" for pick in picks})
            assert len(os.listdir(Path(folder) / "new")) == len(set(picks))
