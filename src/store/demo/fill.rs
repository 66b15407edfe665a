//! Writing the drawn library into the database: readers, items with their
//! current loans and holds, and past loans for the statistics.

use super::*;

pub(super) fn add_patrons(tx: &Transaction, job: &Job, d: &mut Draw, t: &mut Tally) -> Result<()> {
    let mut ins = tx.prepare_cached(
        "INSERT INTO patrons (barcode, name, category, expires, pin_hash, email, blocked_reason,
                              fines_owed_cents, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT(barcode) DO NOTHING",
    )?;
    let mut fee = tx.prepare_cached(
        "INSERT INTO fees (patron_id, item_id, kind, amount_cents, created)
         VALUES (?1, NULL, 'imported', ?2, ?3)",
    )?;
    for serial in 1..=job.patrons {
        let barcode = library_barcode(PATRON_DIGIT, serial);
        let name = d.person_name();
        let category = match d.rng.random_range(0..100) {
            0..60 => "adult",
            60..80 => "student",
            80..95 => "child",
            _ => "staff",
        };
        let expired = d.chance(0.02);
        let mut expires = if category == "staff" {
            None // staff cards run with the contract, not a date
        } else if expired {
            Some(d.some_day_ago(1, 400))
        } else {
            Some(d.today + Duration::days(d.rng.random_range(30..=1095)))
        };
        let email = d.chance(0.4).then(|| format!("reader{serial}@example.com"));
        let mut blocked = d.chance(0.02).then(|| *d.pick(BLOCK_REASONS));
        let mut fines: i64 = if d.chance(0.05) {
            d.rng.random_range(5..=300) * 10
        } else {
            0
        };
        let fined_on = d.some_day_ago(1, 180);
        let fined_at = d.opening_time(fined_on);
        let pin = if serial <= PIN_PATRONS {
            // The cards shown in demos must work.
            blocked = None;
            fines = 0;
            expires = expires.map(|_| d.today + Duration::days(730));
            job.pin_hash.as_deref()
        } else {
            None
        };
        let written = ins.execute(params![
            barcode,
            name,
            category,
            expires.map(day_text),
            pin,
            email,
            blocked,
            fines,
            job.stamp
        ])?;
        if written == 0 {
            continue;
        }
        t.patrons += 1;
        t.blocked += u64::from(blocked.is_some());
        if fines > 0 {
            // The balance must equal the fees, as the store keeps it.
            fee.execute(params![tx.last_insert_rowid(), fines, stamp(fined_at)])?;
            t.fees += 1;
        }
    }
    Ok(())
}

/// Readers who may borrow, in id order, with what they already have.
pub(super) fn load_readers(tx: &Transaction, today: NaiveDate) -> Result<Vec<Reader>> {
    let mut st = tx.prepare(
        "SELECT p.id, p.category,
                (SELECT count(*) FROM loans l WHERE l.patron_id = p.id AND l.returned IS NULL),
                (SELECT count(*) FROM holds h WHERE h.patron_id = p.id AND h.status IN ('waiting','ready'))
         FROM patrons p
         WHERE (p.blocked_reason IS NULL OR p.blocked_reason = '')
           AND (p.expires IS NULL OR p.expires >= ?1)
         ORDER BY p.id",
    )?;
    let readers = st
        .query_map([day_text(today)], |r| {
            Ok(Reader {
                id: r.get(0)?,
                category: r.get(1)?,
                loans: r.get(2)?,
                holds: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(readers)
}

/// Inserts a copy; a clash on the RFID tag (left by an earlier run with
/// another seed) costs the copy its tag, not its place in the catalogue.
pub(super) fn insert_item(
    st: &mut CachedStatement,
    barcode: &str,
    rfid: Option<&str>,
    title: &Title,
    status: &str,
    stamp: &str,
) -> Result<bool> {
    let run = |st: &mut CachedStatement, rfid: Option<&str>| {
        st.execute(params![
            barcode,
            rfid,
            title.title,
            title.author,
            title.isbn,
            title.item_type,
            title.parts,
            status,
            title.location,
            stamp
        ])
    };
    match run(st, rfid) {
        Ok(n) => Ok(n == 1),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == ErrorCode::ConstraintViolation && rfid.is_some() =>
        {
            Ok(run(st, None)? == 1)
        }
        Err(e) => Err(e.into()),
    }
}

pub(super) fn add_items(
    tx: &Transaction,
    job: &Job,
    d: &mut Draw,
    readers: &mut [Reader],
    borrowers: &[usize],
    everyone: &[usize],
    t: &mut Tally,
) -> Result<Vec<Copy>> {
    let mut ins_item = tx.prepare_cached(
        "INSERT INTO items (barcode, rfid_uid, title, author, isbn, item_type, parts, status,
                            location, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT(barcode) DO NOTHING",
    )?;
    let mut ins_loan = tx.prepare_cached(
        "INSERT INTO loans (item_id, patron_id, checked_out, due, renewals) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut ins_hold = tx.prepare_cached(
        "INSERT INTO holds (patron_id, item_id, title_key, placed, status, ready_item_id,
                            pickup_code, pickup_by)
         VALUES (?1, NULL, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    // Pickup codes must be unique on the shelf, including earlier runs'.
    let mut codes: HashSet<u32> = {
        let mut st = tx.prepare("SELECT pickup_code FROM holds WHERE status = 'ready'")?;
        let codes = st
            .query_map([], |r| r.get::<_, Option<String>>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        codes
            .into_iter()
            .flatten()
            .filter_map(|c| c.parse().ok())
            .collect()
    };
    let mut isbns = HashSet::new();
    // Tags come on rolls with increasing UIDs (E0 = ISO 15693, 04 = NXP,
    // 01 = ICODE SLIX); increasing also keeps the unique index append-only.
    let mut uid: u64 = d.rng.random_range(1u64 << 36..1u64 << 39);
    let mut copies = Vec::with_capacity(job.items as usize);
    let mut serial = 0u32;
    while serial < job.items {
        let title = d.title(&mut isbns);
        let count = title.copies.min(job.items - serial);
        let lendable = title.item_type != "reference";
        // Readers of this title's copies, and when they took them.
        let mut out: Vec<(usize, DateTime<FixedOffset>)> = Vec::new();
        let mut all_out = lendable;
        for _ in 0..count {
            serial += 1;
            let barcode = library_barcode(ITEM_DIGIT, serial);
            let rfid = d.chance(0.6).then(|| {
                uid += d.rng.random_range(1..=4096);
                format!("E00401{uid:010X}")
            });
            let x: f64 = d.rng.random();
            let fate = if !lendable {
                Fate::NotForLoan
            } else if x < ON_LOAN {
                let policies = &job.policies;
                let ty = title.item_type;
                match pick_reader(d, borrowers, readers, |_, r| {
                    may_borrow(r, policies.rule(&r.category, ty))
                }) {
                    Some(reader) => {
                        let rule = policies.rule(&readers[reader].category, ty);
                        let (out, due, renewals, overdue) = d.current_loan(rule);
                        Fate::OnLoan {
                            reader,
                            out,
                            due,
                            renewals,
                            overdue,
                        }
                    }
                    None => Fate::Shelf,
                }
            } else if x < ON_LOAN + READY && codes.len() < 900_000 {
                let policies = &job.policies;
                let ty = title.item_type;
                let lent_to: Vec<usize> = out.iter().map(|o| o.0).collect();
                match pick_reader(d, everyone, readers, |i, r| {
                    r.holds < MAX_HOLDS_EACH
                        && policies.rule(&r.category, ty).loanable
                        && !lent_to.contains(&i)
                }) {
                    Some(reader) => {
                        let day = d.some_day_ago(3, 20);
                        let placed = d.opening_time(day);
                        let pickup_by = d.today
                            + Duration::days(d.rng.random_range(1..=i64::from(job.pickup_days)));
                        let code = loop {
                            let c = d.rng.random_range(0..1_000_000);
                            if codes.insert(c) {
                                break c;
                            }
                        };
                        Fate::Ready {
                            reader,
                            placed,
                            pickup_by,
                            code,
                        }
                    }
                    None => Fate::Shelf,
                }
            } else if x < ON_LOAN + READY + MISSING {
                Fate::Missing
            } else if x < ON_LOAN + READY + MISSING + LOST {
                Fate::Lost
            } else {
                Fate::Shelf
            };
            if !insert_item(
                &mut ins_item,
                &barcode,
                rfid.as_deref(),
                &title,
                fate.status(),
                &job.stamp,
            )? {
                // Someone's existing copy: attach nothing to it.
                all_out = false;
                continue;
            }
            t.items += 1;
            let id = tx.last_insert_rowid();
            let mut busy_since = 0;
            match fate {
                Fate::NotForLoan => continue,
                Fate::OnLoan {
                    reader,
                    out: taken,
                    due,
                    renewals,
                    overdue,
                } => {
                    ins_loan.execute(params![
                        id,
                        readers[reader].id,
                        stamp(taken),
                        Due::Day(due).to_string(),
                        renewals
                    ])?;
                    readers[reader].loans += 1;
                    t.loans += 1;
                    t.overdue += u64::from(overdue);
                    out.push((reader, taken));
                    busy_since = (d.today - taken.date_naive()).num_days();
                }
                Fate::Ready {
                    reader,
                    placed,
                    pickup_by,
                    code,
                } => {
                    let key = title_key(title.isbn.as_deref(), &title.title, &title.author);
                    ins_hold.execute(params![
                        readers[reader].id,
                        key,
                        stamp(placed),
                        "ready",
                        id,
                        format!("{code:06}"),
                        day_text(pickup_by)
                    ])?;
                    readers[reader].holds += 1;
                    t.ready += 1;
                    all_out = false;
                    busy_since = 1; // it came back yesterday at the latest
                }
                Fate::Shelf | Fate::Missing | Fate::Lost => all_out = false,
            }
            copies.push(Copy {
                id,
                item_type: title.item_type,
                busy_since,
            });
        }
        // Readers queue for a title only when no copy is on the shelf.
        if all_out && !out.is_empty() && d.chance(QUEUED) {
            let key = title_key(title.isbn.as_deref(), &title.title, &title.author);
            let latest = out.iter().map(|o| o.1).max().unwrap_or(job.now);
            let span = (job.now - latest).num_seconds().max(1);
            let wanted = d.copies(&[60, 30, 10]);
            let mut queued: Vec<usize> = out.iter().map(|o| o.0).collect();
            for _ in 0..wanted {
                let policies = &job.policies;
                let ty = title.item_type;
                let Some(reader) = pick_reader(d, everyone, readers, |i, r| {
                    r.holds < MAX_HOLDS_EACH
                        && policies.rule(&r.category, ty).loanable
                        && !queued.contains(&i)
                }) else {
                    break;
                };
                let placed = latest + Duration::seconds(d.rng.random_range(0..span));
                ins_hold.execute(params![
                    readers[reader].id,
                    key,
                    stamp(placed),
                    "waiting",
                    None::<i64>,
                    None::<String>,
                    None::<String>
                ])?;
                readers[reader].holds += 1;
                queued.push(reader);
                t.waiting += 1;
            }
        }
    }
    Ok(copies)
}

/// Returned loans over the last 90 days: two per current loan written,
/// never overlapping on a copy, out and back during opening hours.
pub(super) fn add_history(
    tx: &Transaction,
    job: &Job,
    d: &mut Draw,
    readers: &[Reader],
    mut copies: Vec<Copy>,
    t: &mut Tally,
) -> Result<()> {
    if copies.is_empty() || readers.is_empty() {
        return Ok(());
    }
    let mut ins = tx.prepare_cached(
        "INSERT INTO loans (item_id, patron_id, checked_out, due, renewals, returned)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for _ in 0..t.loans * HISTORY_PER_LOAN {
        for _attempt in 0..4 {
            let k = d.rng.random_range(0..copies.len());
            let reader = &readers[d.rng.random_range(0..readers.len())];
            let rule = job.policies.rule(&reader.category, copies[k].item_type);
            if !rule.loanable {
                continue;
            }
            let period = loan_days(rule);
            // Most come back in time, some weeks late.
            let kept = if d.chance(0.8) {
                d.rng.random_range(1..=period)
            } else {
                d.rng.random_range(period + 1..=period * 3)
            };
            let first = copies[k].busy_since + 1;
            let last = HISTORY_DAYS - kept;
            if first > last {
                continue;
            }
            let back = d.some_day_ago(first, last);
            let back = d.open_on_or_before(back);
            let taken = d.open_on_or_before(back - Duration::days(kept));
            if taken < d.days_ago(HISTORY_DAYS) {
                continue;
            }
            let renewals = u32::from(kept > period && rule.max_renewals > 0 && d.chance(0.3));
            let due = d.calendar.next_open(
                taken + Duration::days(period + i64::from(renewals) * i64::from(rule.renewal_days)),
            );
            let taken_at = d.opening_time(taken);
            let back_at = d.opening_time(back);
            ins.execute(params![
                copies[k].id,
                reader.id,
                stamp(taken_at),
                Due::Day(due).to_string(),
                renewals,
                stamp(back_at)
            ])?;
            copies[k].busy_since = (d.today - taken).num_days();
            t.history += 1;
            break;
        }
    }
    Ok(())
}
