"""The database server fixtures themselves: each answers on loopback, in its own directory."""

from __future__ import annotations

import socket

from _dbservers import Server, need_module


def _listens_on_loopback(server: Server) -> None:
    with socket.create_connection((server.host, server.port), timeout=10):
        pass
    assert server.host == "127.0.0.1"


def test_postgres_answers(postgres_server: Server) -> None:
    _listens_on_loopback(postgres_server)
    psycopg = need_module("psycopg", "psycopg[binary]")
    with psycopg.connect(postgres_server.url) as conn:
        assert conn.execute("SELECT 1 + 1").fetchone() == (2,)


def test_redis_answers(redis_server: Server) -> None:
    _listens_on_loopback(redis_server)
    redis = need_module("redis")
    assert redis.Redis.from_url(redis_server.url).ping()


def test_mariadb_answers(mariadb_server: Server) -> None:
    _listens_on_loopback(mariadb_server)
    pymysql = need_module("pymysql", "PyMySQL")
    conn = pymysql.connect(host=mariadb_server.host, port=mariadb_server.port, user="root")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 + 1")
            assert cur.fetchone() == (2,)
    finally:
        conn.close()
