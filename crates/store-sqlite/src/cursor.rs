//! A query stepped and read through SQLite's C API directly, for the offline scans.
//!
//! A scan reads seven columns of every row of the log. Through rusqlite, each column costs
//! four lookups of it in SQLite (the column count, its type, its value, its length) and the
//! checks around them: about a seventh of a whole verification's time (see
//! docs/BENCHMARKS.md). A [`Cursor`] looks a column up once and reads its type, bytes and length
//! from the value it finds. Every value is still type-checked, and refused with rusqlite's own
//! error when it is not of its column's type.
//!
//! The `unsafe` in this crate is here. What makes each use sound:
//! - the statement is prepared on, and never outlives, a connection the cursor borrows;
//! - a value borrowed from a row lives no longer than the borrow of the cursor it came from,
//!   and the only calls that move the statement on ([`Cursor::step`], drop) take the cursor
//!   mutably or whole, so no value is left pointing at a row SQLite has moved past;
//! - a value is read as the type SQLite reports for it, so SQLite never converts it (which
//!   would free the bytes an earlier borrow points at);
//! - a value is read without the connection's mutex only while the cursor borrows the
//!   connection, which is never used on two threads at once;
//! - a pointer SQLite returns for zero bytes may be null and is never read.

use std::{
    ffi::{c_char, c_int, CStr},
    marker::PhantomData,
    ptr::NonNull,
};

use rusqlite::{ffi, types::Type, Connection};

/// A parameter bound to a cursor's query.
#[derive(Debug, Clone, Copy)]
pub enum Param<'a> {
    /// An INTEGER.
    Int(i64),
    /// A TEXT value.
    Text(&'a str),
}

/// A prepared query over a borrowed connection, stepped one row at a time.
pub struct Cursor<'c> {
    stmt: NonNull<ffi::sqlite3_stmt>,
    db: *mut ffi::sqlite3,
    /// How many columns its rows have.
    columns: c_int,
    /// Whether it is on a row: SQLite says nothing of columns read otherwise.
    on_row: bool,
    /// Whether it has passed its last row: SQLite would run the query again.
    done: bool,
    conn: PhantomData<&'c Connection>,
}

impl<'c> Cursor<'c> {
    /// Prepares `sql` on `conn` and binds `params` to `?1`, `?2`, …
    pub fn new(conn: &'c Connection, sql: &str, params: &[Param<'_>]) -> rusqlite::Result<Self> {
        // SAFETY: the handle is used only while `conn` is borrowed (the cursor holds the
        // borrow), and only through SQLite's API.
        let db = unsafe { conn.handle() };
        let len = c_int::try_from(sql.len()).map_err(|_| rusqlite::Error::InvalidQuery)?;
        let mut stmt = std::ptr::null_mut();
        // SAFETY: `sql` is valid for `len` bytes (SQLite does not need a terminating NUL when
        // given the length), `stmt` is a valid place for the result.
        let rc =
            unsafe { ffi::sqlite3_prepare_v2(db, sql.as_ptr().cast::<c_char>(), len, &mut stmt, std::ptr::null_mut()) };
        if rc != ffi::SQLITE_OK {
            return Err(failure(db, rc));
        }
        // SQLite gives no statement for text with no SQL in it.
        let stmt = NonNull::new(stmt).ok_or(rusqlite::Error::InvalidQuery)?;
        // SAFETY: `stmt` is the live statement just prepared.
        let columns = unsafe { ffi::sqlite3_column_count(stmt.as_ptr()) };
        let cursor = Self { stmt, db, columns, on_row: false, done: false, conn: PhantomData };
        for (index, param) in params.iter().enumerate() {
            cursor.bind(index, *param)?;
        }
        Ok(cursor)
    }

    fn bind(&self, index: usize, param: Param<'_>) -> rusqlite::Result<()> {
        let at = c_int::try_from(index + 1).map_err(|_| rusqlite::Error::InvalidParameterCount(index + 1, 0))?;
        let stmt = self.stmt.as_ptr();
        // SAFETY: `stmt` is a live statement; SQLite copies the text (SQLITE_TRANSIENT) before
        // the call returns.
        let rc = unsafe {
            match param {
                Param::Int(value) => ffi::sqlite3_bind_int64(stmt, at, value),
                Param::Text(text) => {
                    let len = c_int::try_from(text.len()).map_err(|_| rusqlite::Error::InvalidQuery)?;
                    ffi::sqlite3_bind_text(stmt, at, text.as_ptr().cast::<c_char>(), len, ffi::SQLITE_TRANSIENT())
                }
            }
        };
        match rc {
            ffi::SQLITE_OK => Ok(()),
            rc => Err(failure(self.db, rc)),
        }
    }

    /// Moves to the next row: true when there is one, false at the end (and from then on).
    pub fn step(&mut self) -> rusqlite::Result<bool> {
        if self.done {
            return Ok(false);
        }
        // SAFETY: `stmt` is a live statement; no value of the row before is borrowed (this
        // takes the cursor mutably).
        let rc = unsafe { ffi::sqlite3_step(self.stmt.as_ptr()) };
        self.on_row = rc == ffi::SQLITE_ROW;
        self.done = rc == ffi::SQLITE_DONE;
        match rc {
            ffi::SQLITE_ROW => Ok(true),
            ffi::SQLITE_DONE => Ok(false),
            rc => Err(failure(self.db, rc)),
        }
    }

    /// The INTEGER in `column` of the current row.
    pub fn int(&self, column: usize) -> rusqlite::Result<i64> {
        let value = self.value(column, Type::Integer)?;
        // SAFETY: `value` is the current row's (`value`), an INTEGER.
        Ok(unsafe { ffi::sqlite3_value_int64(value) })
    }

    /// The BLOB in `column` of the current row, borrowed from it.
    pub fn blob(&self, column: usize) -> rusqlite::Result<&[u8]> {
        let value = self.value(column, Type::Blob)?;
        // SAFETY: as in `int`; the value is read as the BLOB it is, so SQLite does not convert
        // it, and the bytes stay valid until the statement moves on, which needs `&mut self`.
        Ok(unsafe { borrowed(ffi::sqlite3_value_blob(value).cast(), ffi::sqlite3_value_bytes(value)) })
    }

    /// The TEXT in `column` of the current row, borrowed from it; refused if it is not UTF-8.
    pub fn text(&self, column: usize) -> rusqlite::Result<&str> {
        let value = self.value(column, Type::Text)?;
        // SAFETY: as in `blob`. `sqlite3_value_text` gives the text as stored in a UTF-8
        // database (chibo's), and converts it in place in a UTF-16 one, before its length is
        // read; either way only this column's value changes, which nothing borrows yet.
        let bytes = unsafe { borrowed(ffi::sqlite3_value_text(value), ffi::sqlite3_value_bytes(value)) };
        std::str::from_utf8(bytes)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(column, Type::Text, Box::new(e)))
    }

    /// The value in `column` of the current row, if the cursor is on a row and its value there
    /// is of type `want`; rusqlite's errors otherwise.
    ///
    /// SQLite calls this an unprotected value: it is read without taking the connection's
    /// mutex, which is sound here because the connection is never used on two threads at once
    /// (a `Connection` is not `Sync`, and the cursor borrows it). One call finds the value; its
    /// type, bytes and length are then read from it directly, rather than by a lookup of the
    /// column each.
    fn value(&self, column: usize, want: Type) -> rusqlite::Result<*mut ffi::sqlite3_value> {
        let stmt = self.stmt.as_ptr();
        let at = c_int::try_from(column)
            .ok()
            .filter(|&at| self.on_row && at < self.columns)
            .ok_or_else(|| rusqlite::Error::InvalidColumnIndex(column))?;
        // SAFETY: the statement is on a row and `at` is one of its columns.
        let value = unsafe { ffi::sqlite3_column_value(stmt, at) };
        // SAFETY: `value` is the current row's.
        let found = match unsafe { ffi::sqlite3_value_type(value) } {
            ffi::SQLITE_INTEGER => Type::Integer,
            ffi::SQLITE_FLOAT => Type::Real,
            ffi::SQLITE_TEXT => Type::Text,
            ffi::SQLITE_BLOB => Type::Blob,
            _ => Type::Null,
        };
        if found == want {
            return Ok(value);
        }
        // SAFETY: as above; SQLite's name of a column is NUL-terminated UTF-8, or null when
        // it runs out of memory.
        let name = unsafe { ffi::sqlite3_column_name(stmt, at) };
        let name =
            if name.is_null() { String::new() } else { unsafe { CStr::from_ptr(name) }.to_string_lossy().into_owned() };
        Err(rusqlite::Error::InvalidColumnType(column, name, found))
    }
}

impl Drop for Cursor<'_> {
    fn drop(&mut self) {
        // SAFETY: the statement is live and finalized once, here; nothing borrowed from it
        // outlives the cursor.
        unsafe { ffi::sqlite3_finalize(self.stmt.as_ptr()) };
    }
}

/// The `len` bytes at `bytes`, as SQLite gave them for a value of the current row.
///
/// # Safety
/// Unless `len` is 0 or less, `bytes` points at `len` bytes that stay valid and unchanged for
/// the lifetime the caller gives the slice.
unsafe fn borrowed<'a>(bytes: *const u8, len: c_int) -> &'a [u8] {
    match usize::try_from(len) {
        // SQLite's pointer for zero bytes may be null, and a slice's may not.
        Ok(len) if len > 0 && !bytes.is_null() => unsafe { std::slice::from_raw_parts(bytes, len) },
        _ => &[],
    }
}

/// rusqlite's error for the failure `rc` on `db`, with SQLite's message.
fn failure(db: *mut ffi::sqlite3, rc: c_int) -> rusqlite::Error {
    // SAFETY: `db` is a live connection; SQLite's message is NUL-terminated and valid until the
    // next call on it, and is copied before then.
    let message = unsafe {
        let text = ffi::sqlite3_errmsg(db);
        (!text.is_null()).then(|| CStr::from_ptr(text).to_string_lossy().into_owned())
    };
    rusqlite::Error::SqliteFailure(ffi::Error::new(rc), message)
}

#[cfg(test)]
mod tests {
    use rusqlite::Error;

    use super::*;

    /// Rows of every type a column may hold, in a table that does not check them.
    fn connection() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (n, name, data);
             INSERT INTO t VALUES (1, 'cell-a', x'0102'), (2, 'ấp', x''), (3, CAST(x'ff61' AS TEXT), NULL),
                                  (4, 5, 'text'), (5, 'cell-b', zeroblob(3));",
        )
        .unwrap();
        conn
    }

    #[test]
    fn rows_are_read_as_stored_with_the_bound_parameters() {
        let conn = connection();
        let params = [Param::Int(1), Param::Text("cell-a"), Param::Text("ấp"), Param::Int(5)];
        let sql = "SELECT n, name, data FROM t WHERE n >= ?1 AND (name IN (?2, ?3) OR n = ?4) ORDER BY n";
        let mut rows = Cursor::new(&conn, sql, &params).unwrap();
        let mut read = Vec::new();
        while rows.step().unwrap() {
            read.push((rows.int(0).unwrap(), rows.text(1).unwrap().to_owned(), rows.blob(2).unwrap().to_vec()));
        }
        let expected = [(1, "cell-a", &[1u8, 2][..]), (2, "ấp", &[]), (5, "cell-b", &[0, 0, 0])];
        let expected: Vec<_> = expected.iter().map(|&(n, name, data)| (n, name.to_owned(), data.to_vec())).collect();
        assert_eq!(read, expected);
        assert!(!rows.step().unwrap(), "a statement at its end stays there");
    }

    fn row(conn: &Connection, n: i64) -> Cursor<'_> {
        let mut rows = Cursor::new(conn, "SELECT n, name, data FROM t WHERE n = ?1", &[Param::Int(n)]).unwrap();
        assert!(rows.step().unwrap());
        rows
    }

    #[test]
    fn a_value_of_another_type_is_refused_naming_its_column() {
        let conn = connection();
        let refused = |result: rusqlite::Result<_>| match result {
            Err(Error::InvalidColumnType(column, name, found)) => (column, name, found),
            other => panic!("expected a refusal of the type, got {other:?}"),
        };
        let null = row(&conn, 3);
        assert_eq!(refused(null.blob(2).map(|_| ())), (2, "data".to_owned(), Type::Null));
        let mixed = row(&conn, 4);
        assert_eq!(refused(mixed.text(1).map(|_| ())), (1, "name".to_owned(), Type::Integer));
        assert_eq!(refused(mixed.blob(2).map(|_| ())), (2, "data".to_owned(), Type::Text));
        assert_eq!(refused(mixed.int(2).map(|_| ())), (2, "data".to_owned(), Type::Text));
        // The refusals read nothing: the row's values are still there as they are.
        assert_eq!((mixed.int(1).unwrap(), mixed.text(2).unwrap()), (5, "text"));
    }

    #[test]
    fn text_that_is_not_utf8_is_refused() {
        let conn = connection();
        let rows = row(&conn, 3);
        match rows.text(1) {
            Err(Error::FromSqlConversionFailure(1, Type::Text, _)) => {}
            other => panic!("expected a refusal of the bytes, got {other:?}"),
        }
    }

    #[test]
    fn columns_are_read_only_on_a_row_and_within_it() {
        let conn = connection();
        let mut rows = Cursor::new(&conn, "SELECT n FROM t WHERE n = 1", &[]).unwrap();
        assert!(matches!(rows.int(0), Err(Error::InvalidColumnIndex(0))), "before the first step");
        assert!(rows.step().unwrap());
        assert_eq!(rows.int(0).unwrap(), 1);
        assert!(matches!(rows.int(1), Err(Error::InvalidColumnIndex(1))));
        assert!(matches!(rows.blob(usize::MAX), Err(Error::InvalidColumnIndex(usize::MAX))));
        assert!(!rows.step().unwrap());
        assert!(matches!(rows.int(0), Err(Error::InvalidColumnIndex(0))), "past the last row");
    }

    #[test]
    fn failures_are_sqlites_errors_with_its_message() {
        let conn = connection();
        let message = |result: rusqlite::Result<_>| match result {
            Err(Error::SqliteFailure(_, Some(message))) => message,
            other => panic!("expected SQLite's failure, got {other:?}"),
        };
        assert!(message(Cursor::new(&conn, "SELEC n FROM t", &[]).map(|_| ())).contains("syntax error"));
        assert!(message(Cursor::new(&conn, "SELECT n FROM nowhere", &[]).map(|_| ())).contains("no such table"));
        let too_many = Cursor::new(&conn, "SELECT ?1", &[Param::Int(1), Param::Int(2)]);
        assert!(message(too_many.map(|_| ())).contains("column index out of range"));
        assert!(matches!(Cursor::new(&conn, "  -- nothing", &[]), Err(Error::InvalidQuery)));
        // A failure while stepping: the sum overflows on the second row.
        let mut rows = Cursor::new(
            &conn,
            "SELECT sum(v) OVER (ORDER BY v) FROM (SELECT 9223372036854775807 AS v UNION ALL SELECT 1)",
            &[],
        )
        .unwrap();
        assert!(rows.step().unwrap());
        assert!(message(rows.step().map(|_| ())).contains("integer overflow"));
    }
}
