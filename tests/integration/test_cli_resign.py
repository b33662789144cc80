"""`dev_check.py resign`, run as a user runs it: the archive's unsigned sets signed with
MODEL_SIGNING_KEY, after which a keyed load and `history` accept them."""

from __future__ import annotations

import re

import pytest

from src.inference.predictor import LivePredictor
from src.registry.paths import ARTIFACTS, SIGNATURE
from src.registry.signing import SignatureStatus, SigningKey
from src.registry.store import Registry

EXIT_OK, EXIT_BAD_INPUT = 0, 2
KEY_TEXT = "the key the bot verifies with"
KEY = SigningKey.from_text(KEY_TEXT)

pytestmark = pytest.mark.slow


def test_resign_signs_the_archived_set_so_a_keyed_load_accepts_it(cli, copied_set):
    keyed = {"MODEL_SIGNING_KEY": KEY_TEXT}
    live = (copied_set / "current").resolve()
    refused = cli.dev_check("history", "--models-dir", str(copied_set), env=keyed)
    assert f"* {live.name}  NOT RESTORABLE: model set {live} is unsigned" in refused.stdout

    signed = cli.dev_check("resign", "--models-dir", str(copied_set), env=keyed)

    assert signed.returncode == EXIT_OK, signed.stdout + signed.stderr
    assert signed.stdout == f"* {live.name}: signed; with key {KEY.key_id}\n"
    assert signed.stderr == ""
    assert (live / SIGNATURE).is_file()
    listed = cli.dev_check("history", "--models-dir", str(copied_set), env=keyed)
    assert listed.returncode == EXIT_OK, listed.stdout + listed.stderr
    assert re.search(rf"^\* {re.escape(live.name)}  trained ", listed.stdout, re.MULTILINE)
    assert "NOT RESTORABLE" not in listed.stdout
    assert Registry(copied_set, signing_key=KEY).load().signature is SignatureStatus.VERIFIED
    predictor = LivePredictor.load(copied_set, signing_key=KEY_TEXT)
    assert predictor.signature is SignatureStatus.VERIFIED

    again = cli.dev_check("resign", "--models-dir", str(copied_set), env=keyed)

    assert again.returncode == EXIT_OK, again.stdout + again.stderr
    assert again.stdout == f"* {live.name}: already signed with this key; left as it is\n"


def test_resign_without_the_key_exits_2_saying_to_set_it(cli, copied_set):
    no_key = {"MODEL_SIGNING_KEY": ""}  # empty counts as unset, as in the weekly workflow

    refused = cli.dev_check("resign", "--models-dir", str(copied_set), env=no_key)

    assert refused.returncode == EXIT_BAD_INPUT, refused.stdout + refused.stderr
    assert refused.stderr.startswith(
        "error: resign signs archived sets with MODEL_SIGNING_KEY, which is not set; set it"
    )
    assert not list(copied_set.glob(f"archive/*/{SIGNATURE}"))


def test_resign_of_a_set_whose_file_changed_exits_2_naming_it(cli, copied_set):
    live = (copied_set / "current").resolve()
    tampered = live / ARTIFACTS["random_forest"]
    tampered.write_bytes(tampered.read_bytes() + b"\0")

    refused = cli.dev_check(
        "resign", "--models-dir", str(copied_set), env={"MODEL_SIGNING_KEY": KEY_TEXT}
    )

    assert refused.returncode == EXIT_BAD_INPUT, refused.stdout + refused.stderr
    assert refused.stdout.startswith(f"* {live.name}: NOT SIGNED; {tampered} does not match")
    assert refused.stderr == (
        f"error: 1 archived set(s) fail their checks and were not signed: {live.name} (the lines "
        "above say which file); restore their files from git (the weekly workflow commits "
        "models/) and run resign again, or delete them\n"
    )
    assert not (live / SIGNATURE).exists()
