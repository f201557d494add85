"""The engine's connections: pg8000's "TLS if offered" without a new SSL context for each.

pg8000 builds an SSL context (the whole trust store loaded, about 10 to 15 ms) for every
connection it opens, whether or not the server speaks TLS; make_engine keeps one per engine
and, once the server has refused TLS, stops asking.
"""

from __future__ import annotations

import ssl
from typing import Any

import pg8000
import pytest
import sqlalchemy

from emailsched.adapters.db import engine as engine_module
from emailsched.adapters.db.engine import make_engine

pytestmark = pytest.mark.integration


def test_fresh_connections_to_a_plain_server_build_at_most_one_ssl_context(
        services, monkeypatch):
    built: list[ssl.SSLContext] = []
    real = ssl.create_default_context

    def counting(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        built.append(real(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(ssl, "create_default_context", counting)
    engine = make_engine(services.database_url, pool_size=1, max_overflow=0)
    try:
        for _ in range(5):
            with engine.connect() as connection:
                assert connection.execute(sqlalchemy.text("SELECT 1")).scalar_one() == 1
            engine.dispose()  # the next checkout opens a new connection
    finally:
        engine.dispose()
    assert len(built) <= 1


class _Dialect:
    """Stands in for SQLAlchemy's pg8000 dialect: records what each connect was given."""

    def __init__(self, offers_tls: bool):
        self.offers_tls, self.contexts = offers_tls, []

    def connect(self, *_args: Any, ssl_context: Any = None, **_params: Any) -> str:
        self.contexts.append(ssl_context)
        if ssl_context is not False and not self.offers_tls:
            raise pg8000.InterfaceError("Server refuses SSL")
        return "connection"


def test_a_server_that_offers_tls_gets_it_with_one_shared_unverified_context():
    dialect, prefer = _Dialect(offers_tls=True), engine_module._PreferTls()
    for _ in range(3):
        assert prefer.connect(dialect, None, [], {"host": "db"}) == "connection"
    first = dialect.contexts[0]
    assert isinstance(first, ssl.SSLContext) and first.verify_mode == ssl.CERT_NONE
    assert all(context is first for context in dialect.contexts)


def test_a_server_that_refuses_tls_is_asked_once_then_connected_plain():
    dialect, prefer = _Dialect(offers_tls=False), engine_module._PreferTls()
    for _ in range(3):
        assert prefer.connect(dialect, None, [], {"host": "db"}) == "connection"
    assert isinstance(dialect.contexts[0], ssl.SSLContext)
    assert dialect.contexts[1:] == [False, False, False]


def test_other_connection_errors_are_not_taken_for_a_refusal():
    class Down(_Dialect):
        def connect(self, *_args: Any, **_params: Any) -> str:
            raise pg8000.InterfaceError("Can't create a connection to host db")

    prefer = engine_module._PreferTls()
    with pytest.raises(pg8000.InterfaceError, match="Can't create"):
        prefer.connect(Down(offers_tls=True), None, [], {"host": "db"})
    assert prefer._plain is False


def test_an_ssl_context_given_in_the_url_is_left_to_pg8000():
    assert engine_module._PreferTls().connect(_Dialect(True), None, [],
                                              {"ssl_context": True}) is None
