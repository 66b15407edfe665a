//! Reading the records the feed and the lookups send (readers, items,
//! loans, holds), each mapped from its row by column name.

use super::*;

pub(crate) const PATRON_COLS: &str =
    "barcode, name, category, expires, pin_hash, email, blocked, fines_owed_cents";

pub(crate) fn patron_row(r: &impl Get) -> PatronRecord {
    PatronRecord {
        barcode: r.s("barcode"),
        name: r.s("name"),
        category: r.s("category"),
        expires: r.os("expires"),
        pin_hash: r.os("pin_hash"),
        email: r.os("email"),
        blocked: r.os("blocked").filter(|b| !b.is_empty()),
        fines_owed_cents: r.i("fines_owed_cents"),
        // Kept apart (patron_languages); the feed and `patron` add it.
        language: None,
    }
}

pub(crate) async fn patron<S: Sql>(tx: &mut S, barcode: &str) -> Result<Option<PatronRecord>> {
    Ok(tx
        .query_opt(
            &format!(
                "SELECT {PATRON_COLS},
                   (SELECT pl.language FROM patron_languages pl WHERE pl.barcode = patrons.barcode)
                     AS language
                 FROM patrons WHERE barcode = $1"
            ),
            p![barcode],
        )
        .await?
        .map(|r| PatronRecord {
            language: r.os("language"),
            ..patron_row(&r)
        }))
}

pub(crate) const ITEM_COLS: &str =
    "barcode, rfid_uid, title, author, isbn, item_type, parts, status, location, title_key";

pub(crate) fn item_row(r: &impl Get) -> ItemRecord {
    ItemRecord {
        barcode: r.s("barcode"),
        rfid_uid: r.os("rfid_uid"),
        title: r.s("title"),
        author: r.s("author"),
        isbn: r.os("isbn"),
        item_type: r.s("item_type"),
        parts: r.i("parts").clamp(1, 255) as u8,
        status: r.s("status"),
        location: r.os("location"),
    }
}

/// A loan from a row with its columns (`item, patron, checked_out, due,
/// renewals`).
pub(crate) fn loan_row(r: &impl Get) -> LoanRecord {
    LoanRecord {
        item: r.s("item"),
        patron: r.s("patron"),
        checked_out: r.s("checked_out"),
        due: r.s("due"),
        renewals: r.i("renewals").max(0) as u32,
    }
}

/// An item by barcode or RFID UID, with its title key.
pub(crate) async fn item_with_key<S: Sql>(
    tx: &mut S,
    code: &str,
) -> Result<Option<(ItemRecord, String)>> {
    let mut row = tx
        .query_opt(
            &format!("SELECT {ITEM_COLS} FROM items WHERE barcode = $1"),
            p![code],
        )
        .await?;
    if row.is_none() {
        row = tx
            .query_opt(
                &format!("SELECT {ITEM_COLS} FROM items WHERE rfid_uid = $1"),
                p![code.to_uppercase()],
            )
            .await?;
    }
    Ok(row.map(|r| (item_row(&r), r.s("title_key"))))
}

pub(crate) async fn current_loan<S: Sql>(
    tx: &mut S,
    item: &str,
) -> Result<Option<(i64, LoanRecord)>> {
    Ok(tx
        .query_opt(
            "SELECT id, item, patron, checked_out, due, renewals FROM loans
             WHERE item = $1 AND returned IS NULL",
            p![item],
        )
        .await?
        .map(|r| (r.i("id"), loan_row(&r))))
}

/// An item by barcode or RFID UID with its title key and its current
/// loan (with the borrower's category), in one query.
#[allow(clippy::type_complexity)]
pub(crate) async fn item_with_loan<S: Sql>(
    tx: &mut S,
    code: &str,
) -> Result<
    Option<(
        ItemRecord,
        String,
        Option<(i64, LoanRecord, Option<String>)>,
    )>,
> {
    const SQL: &str =
        "SELECT i.barcode, i.rfid_uid, i.title, i.author, i.isbn, i.item_type, i.parts,
            i.status, i.location, i.title_key,
            l.id AS loan_id, l.item AS loan_item, l.patron AS loan_patron, l.checked_out AS loan_checked_out,
            l.due AS loan_due, l.renewals AS loan_renewals, b.category AS borrower_category
         FROM items i
         LEFT JOIN loans l ON l.item = i.barcode AND l.returned IS NULL
         LEFT JOIN patrons b ON b.barcode = l.patron";
    let mut row = tx
        .query_opt(&format!("{SQL} WHERE i.barcode = $1"), p![code])
        .await?;
    if row.is_none() {
        row = tx
            .query_opt(
                &format!("{SQL} WHERE i.rfid_uid = $1"),
                p![code.to_uppercase()],
            )
            .await?;
    }
    Ok(row.map(|r| {
        let item = item_row(&r);
        let loan = r.oi("loan_id").map(|id| {
            (
                id,
                LoanRecord {
                    item: item.barcode.clone(),
                    ..loan_row(&r.prefixed("loan_"))
                },
                r.os("borrower_category"),
            )
        });
        (item, r.s("title_key"), loan)
    }))
}

pub(crate) const HOLD_COLS: &str =
    "id, patron, item, title_key, status, placed, ready_item, pickup_code, pickup_by";

pub(crate) fn hold_row(r: &impl Get) -> HoldRecord {
    HoldRecord {
        id: r.i("id"),
        patron: r.s("patron"),
        item: r.os("item"),
        title_key: r.s("title_key"),
        status: r.s("status"),
        placed: r.s("placed"),
        ready_item: r.os("ready_item"),
        pickup_code: r.os("pickup_code"),
        pickup_by: r.os("pickup_by"),
    }
}

pub(crate) async fn hold<S: Sql>(tx: &mut S, id: i64) -> Result<Option<HoldRecord>> {
    Ok(tx
        .query_opt(
            &format!("SELECT {HOLD_COLS} FROM holds WHERE id = $1"),
            p![id],
        )
        .await?
        .map(|r| hold_row(&r)))
}

/// Current loans, of one reader or all (CLI `loans`).
pub(crate) async fn loans<S: Sql>(tx: &mut S, patron: Option<&str>) -> Result<Vec<LoanRecord>> {
    let rows = tx
        .query(
            "SELECT item, patron, checked_out, due, renewals FROM loans
             WHERE returned IS NULL AND (CAST($1 AS TEXT) IS NULL OR patron = $1) ORDER BY due, item",
            p![patron],
        )
        .await?;
    Ok(rows.iter().map(loan_row).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cols: &[(&str, Val)]) -> Row {
        Row::new(
            cols.iter().map(|(c, _)| c.to_string()).collect(),
            cols.iter().map(|(_, v)| v.clone()).collect(),
        )
    }

    #[test]
    fn a_reader_row_maps_by_name_and_an_empty_block_is_none() {
        let r = row(&[
            ("fines_owed_cents", Val::from(250)),
            ("email", Val::from("ada@example.org")),
            ("barcode", Val::from("P1")),
            ("name", Val::from("Ada")),
            ("category", Val::from("adult")),
            ("expires", Val::from("2030-01-01")),
            ("pin_hash", Val::from(None::<String>)),
            ("blocked", Val::from("")),
        ]);
        let p = patron_row(&r);
        assert_eq!(
            (p.barcode.as_str(), p.name.as_str(), p.category.as_str()),
            ("P1", "Ada", "adult")
        );
        assert_eq!(p.expires.as_deref(), Some("2030-01-01"));
        assert_eq!(p.email.as_deref(), Some("ada@example.org"));
        assert_eq!((p.pin_hash, p.blocked, p.language), (None, None, None));
        assert_eq!(p.fines_owed_cents, 250);
    }

    #[test]
    fn an_item_row_keeps_parts_in_range() {
        let item = |parts: i64| {
            item_row(&row(&[
                ("barcode", Val::from("I1")),
                ("rfid_uid", Val::from(None::<String>)),
                ("title", Val::from("Alpha")),
                ("author", Val::from("A. Author")),
                ("isbn", Val::from("9780000000001")),
                ("item_type", Val::from("book")),
                ("parts", Val::from(parts)),
                ("status", Val::from("available")),
                ("location", Val::from("East")),
                ("title_key", Val::from("isbn:9780000000001")),
            ]))
        };
        let i = item(3);
        assert_eq!((i.barcode.as_str(), i.title.as_str()), ("I1", "Alpha"));
        assert_eq!((i.parts, i.status.as_str()), (3, "available"));
        assert_eq!(i.location.as_deref(), Some("East"));
        assert_eq!(item(0).parts, 1, "a set has at least one part");
        assert_eq!(item(999).parts, 255);
    }

    #[test]
    fn a_loan_and_a_hold_map_from_prefixed_joins() {
        let r = row(&[
            ("loan_id", Val::from(12)),
            ("loan_item", Val::from("I1")),
            ("loan_patron", Val::from("P1")),
            ("loan_checked_out", Val::from("2026-03-01T10:00:00+08:00")),
            ("loan_due", Val::from("2026-03-15")),
            ("loan_renewals", Val::from(-1)),
        ]);
        let l = loan_row(&r.prefixed("loan_"));
        assert_eq!((l.item.as_str(), l.patron.as_str()), ("I1", "P1"));
        assert_eq!(l.due, "2026-03-15");
        assert_eq!(l.renewals, 0, "never negative");
        let h = hold_row(&row(&[
            ("id", Val::from(4)),
            ("patron", Val::from("P2")),
            ("item", Val::from(None::<String>)),
            ("title_key", Val::from("title:alpha|a. author")),
            ("status", Val::from("ready")),
            ("placed", Val::from("2026-03-01T10:00:00Z")),
            ("ready_item", Val::from("I1")),
            ("pickup_code", Val::from("042137")),
            ("pickup_by", Val::from("2026-03-08")),
        ]));
        assert_eq!((h.id, h.item, h.status.as_str()), (4, None, "ready"));
        assert_eq!(h.pickup_code.as_deref(), Some("042137"));
    }
}
