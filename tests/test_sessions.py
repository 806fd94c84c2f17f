"""The session secret: issued and signed by the server, refused when forged, never taken from a link."""

from __future__ import annotations

import stat
import threading

from dlcore.runs import SECRET
from dlcore.sessions import KEY_FILE, issue, user_secret, verified


def test_an_issued_value_verifies_to_its_secret(tmp_path):
    secret, cookie = issue(tmp_path)
    assert SECRET.match(secret) and cookie.startswith(secret + ".")
    assert verified(cookie, tmp_path) == secret
    assert issue(tmp_path)[0] != secret, "every session gets its own secret"


def test_forged_foreign_and_malformed_values_are_refused(tmp_path):
    secret, cookie = issue(tmp_path)
    signature = cookie.split(".")[1]
    other = tmp_path / "other"
    forged = [f"{secret}.{'0' * 64}", f"{'a' * 32}.{signature}", secret, "", None, cookie + "x", cookie + ".x",
              "x" * 10_000, f"{secret.upper()}.{signature}"]
    assert [verified(value, tmp_path) for value in forged] == [None] * len(forged)
    assert verified(cookie, other) is None, "another server (another key) did not issue it"


def test_the_key_is_private_and_one_per_runs_folder_even_when_made_concurrently(tmp_path):
    cookies = []
    threads = [threading.Thread(target=lambda: cookies.append(issue(tmp_path))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(verified(cookie, tmp_path) == secret for secret, cookie in cookies)
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [KEY_FILE], "no temporary key left behind"


def test_a_signed_in_user_has_one_secret_everywhere_and_users_differ(tmp_path):
    alice = user_secret("alice", tmp_path)
    assert SECRET.match(alice) and alice == user_secret("alice", tmp_path)
    assert alice != user_secret("bob", tmp_path)
    assert alice != user_secret("alice", tmp_path / "elsewhere"), "not derivable from the subject alone"
