import sqlite3

import pytest

from collectors.errors import ItemError, TemporaryItemError
from collectors.sqlite import db_stamps, read_snapshot


def make_wal_db(path):
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA wal_autocheckpoint=0")
    con.execute("CREATE TABLE kv (k TEXT, v TEXT)")
    con.execute("INSERT INTO kv VALUES ('a', '1')")
    con.commit()
    return con


def test_reads_rows_still_in_the_wal_without_writing(tmp_path):
    db = tmp_path / "state.db"
    writer = make_wal_db(db)  # stays open, like the running tool
    writer.execute("INSERT INTO kv VALUES ('b', '2')")
    writer.commit()
    assert (tmp_path / "state.db-wal").stat().st_size > 0
    before = db.read_bytes()
    with read_snapshot(db) as con:
        assert sorted(con.execute("SELECT k FROM kv")) == [("a",), ("b",)]
    assert db.read_bytes() == before
    assert [s.path for s in db_stamps(db)] == [str(db), str(db) + "-wal"]
    writer.close()


def test_damaged_database_is_an_item_error(tmp_path):
    db = tmp_path / "bad.db"
    db.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    with pytest.raises(ItemError):
        with read_snapshot(db) as con:
            con.execute("SELECT * FROM kv").fetchall()


def test_locked_database_is_a_temporary_error(tmp_path):
    db = tmp_path / "locked.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.execute("BEGIN EXCLUSIVE")  # rollback journal, exclusive lock: readers must wait
    import collectors.sqlite as S
    old, S.BUSY_TIMEOUT = S.BUSY_TIMEOUT, 0.1
    try:
        with pytest.raises(TemporaryItemError):
            with read_snapshot(db) as c:
                c.execute("SELECT * FROM t").fetchall()
    finally:
        S.BUSY_TIMEOUT = old
        con.rollback()
        con.close()
