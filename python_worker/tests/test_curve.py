"""CURVE keys and the ZAP allow-list of a served worker (curve.py): files, permissions, bad input, handshakes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import zmq

from lmprobe_worker.curve import (
    PUBLIC_FILE,
    SECRET_FILE,
    CurveSetupError,
    load_or_create_server_keys,
    make_curve_server,
    read_allow_list,
    serve_settings,
    start_authenticator,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_serve_generates_a_private_key_pair_and_later_ones_read_it(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    first = load_or_create_server_keys(folder)
    assert first.created and mode(folder) == 0o700
    assert mode(folder / SECRET_FILE) == 0o600 and mode(folder / PUBLIC_FILE) == 0o600
    assert zmq.curve_public(first.secret) == first.public
    again = load_or_create_server_keys(folder)
    assert not again.created and (again.public, again.secret) == (first.public, first.secret)
    # The files are zmq.auth certificates: czmq/pyzmq tools read them too; the public one holds no secret.
    assert zmq.auth.load_certificate(str(folder / PUBLIC_FILE)) == (first.public, None)
    assert first.secret.decode() not in (folder / PUBLIC_FILE).read_text()


def test_the_secret_never_shows_in_repr(tmp_path: Path) -> None:
    keys = load_or_create_server_keys(tmp_path / "keys")
    assert keys.secret.decode() not in repr(keys) and keys.public.decode() in repr(keys)


def test_a_key_folder_others_can_enter_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    with pytest.raises(CurveSetupError, match=r"chmod 700"):
        load_or_create_server_keys(folder)
    assert not (folder / SECRET_FILE).exists()


def test_a_secret_file_with_loose_permissions_is_refused(tmp_path: Path) -> None:
    keys = load_or_create_server_keys(tmp_path / "keys")
    os.chmod(keys.folder / SECRET_FILE, 0o644)
    with pytest.raises(CurveSetupError, match=r"chmod 600") as err:
        load_or_create_server_keys(keys.folder)
    assert keys.secret.decode() not in str(err.value)


@pytest.mark.parametrize(
    "content",
    ["", "not a certificate at all\x00", 'curve\n    public-key = "short"\n    secret-key = "short"\n'],
)
def test_a_damaged_secret_file_is_refused_and_kept(tmp_path: Path, content: str) -> None:
    folder = tmp_path / "keys"
    folder.mkdir(mode=0o700)
    secret = folder / SECRET_FILE
    secret.write_text(content)
    os.chmod(secret, 0o600)
    with pytest.raises(CurveSetupError, match=r"delete it to generate a new"):
        load_or_create_server_keys(folder)
    assert secret.read_text() == content  # never overwritten: clients may hold its public key


def test_a_secret_file_whose_halves_do_not_match_is_refused(tmp_path: Path) -> None:
    keys = load_or_create_server_keys(tmp_path / "keys")
    other_public, _ = zmq.curve_keypair()
    secret = keys.folder / SECRET_FILE
    secret.write_text(secret.read_text().replace(keys.public.decode(), other_public.decode()))
    with pytest.raises(CurveSetupError, match=r"does not match"):
        load_or_create_server_keys(keys.folder)


def test_a_symlinked_secret_file_is_refused(tmp_path: Path) -> None:
    real = load_or_create_server_keys(tmp_path / "real")
    folder = tmp_path / "keys"
    folder.mkdir(mode=0o700)
    (folder / SECRET_FILE).symlink_to(real.folder / SECRET_FILE)
    with pytest.raises(CurveSetupError, match=r"not a regular file"):
        load_or_create_server_keys(folder)


def test_allow_list_reads_keys_comments_and_names_a_bad_line(tmp_path: Path) -> None:
    a, _ = zmq.curve_keypair()
    b, _ = zmq.curve_keypair()
    good = tmp_path / "allow"
    good.write_text(f"# laptop\n{a.decode()}\n\n  {b.decode()}  # gpu box\n")
    assert read_allow_list(good) == {a, b}
    bad = tmp_path / "bad"
    bad.write_text(f"{a.decode()}\nnot-a-key\n")
    with pytest.raises(CurveSetupError, match=r"line 2: expected a client public key"):
        read_allow_list(bad)
    empty = tmp_path / "empty"
    empty.write_text("# nobody yet\n")
    with pytest.raises(CurveSetupError, match=r"lists no client key"):
        read_allow_list(empty)
    with pytest.raises(CurveSetupError, match=r"cannot read the allow-list"):
        read_allow_list(tmp_path / "missing")


def test_serve_settings_come_from_arguments_only(tmp_path: Path) -> None:
    assert serve_settings([]) is None
    assert serve_settings(["--daemon"]) is None  # another mode's arguments are not ours
    settings = serve_settings(["--serve", "tcp://127.0.0.1:0", "--keys", str(tmp_path / "k")])
    assert settings is not None and settings.endpoint == "tcp://127.0.0.1:0" and settings.curve.allowed is None
    with pytest.raises(CurveSetupError, match=r"bad worker arguments"):
        serve_settings(["--serve", "tcp://127.0.0.1:0"])  # no --keys


def _echo_through(server_keys, client_pair: tuple[bytes, bytes], allowed) -> bytes | None:
    """One real CURVE handshake and echo through a ROUTER guarded by the ZAP authenticator."""
    ctx = zmq.Context()
    auth = start_authenticator(ctx, allowed)
    try:
        router = ctx.socket(zmq.ROUTER)
        router.linger = 0
        make_curve_server(router, server_keys)
        port = router.bind_to_random_port("tcp://127.0.0.1")
        dealer = ctx.socket(zmq.DEALER)
        dealer.linger = 0
        dealer.curve_serverkey = server_keys.public
        dealer.curve_publickey, dealer.curve_secretkey = client_pair
        dealer.connect(f"tcp://127.0.0.1:{port}")
        dealer.send(b"ping")
        if not router.poll(3000):
            return None
        identity, payload = router.recv_multipart()
        router.send_multipart([identity, payload])
        return dealer.recv() if dealer.poll(3000) else None
    finally:
        auth.stop()
        ctx.destroy(linger=0)


def test_zap_lets_in_listed_clients_and_refuses_others(tmp_path: Path) -> None:
    keys = load_or_create_server_keys(tmp_path / "keys")
    listed, stranger = zmq.curve_keypair(), zmq.curve_keypair()
    assert _echo_through(keys, listed, frozenset({listed[0]})) == b"ping"
    assert _echo_through(keys, stranger, frozenset({listed[0]})) is None
    assert _echo_through(keys, stranger, None) == b"ping"  # no list: any client with the server key
