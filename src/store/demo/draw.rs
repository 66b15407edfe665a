//! The seeded random source and what one draw decides: names, titles,
//! fates of copies, loan and due times on open days.

use super::*;

/// The seeded random source and the calendar facts every draw needs.
pub(super) struct Draw {
    pub(super) rng: ChaCha8Rng,
    pub(super) today: NaiveDate,
    pub(super) offset: FixedOffset,
    pub(super) calendar: Calendar,
}

impl Draw {
    pub(super) fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    pub(super) fn pick<'a, T>(&mut self, list: &'a [T]) -> &'a T {
        &list[self.rng.random_range(0..list.len())]
    }

    pub(super) fn days_ago(&self, n: i64) -> NaiveDate {
        self.today - Duration::days(n)
    }

    /// A day between `lo` and `hi` days ago, both included.
    pub(super) fn some_day_ago(&mut self, lo: i64, hi: i64) -> NaiveDate {
        let n = self.rng.random_range(lo..=hi);
        self.days_ago(n)
    }

    /// Loans and returns happen at the desk or kiosk, so on open days only.
    pub(super) fn open_on_or_before(&self, day: NaiveDate) -> NaiveDate {
        (0..7)
            .map(|n| day - Duration::days(n))
            .find(|d| self.calendar.is_open(*d))
            .unwrap_or(day)
    }

    /// A moment during opening hours on `day`, in the kiosk's offset.
    pub(super) fn opening_time(&mut self, day: NaiveDate) -> DateTime<FixedOffset> {
        let total: u32 = HOUR_WEIGHTS.iter().map(|w| w.1).sum();
        let mut x = self.rng.random_range(0..total);
        let mut hour = HOUR_WEIGHTS[0].0;
        for (h, w) in HOUR_WEIGHTS {
            if x < w {
                hour = h;
                break;
            }
            x -= w;
        }
        let time = NaiveTime::from_hms_milli_opt(
            hour,
            self.rng.random_range(0..60),
            self.rng.random_range(0..60),
            self.rng.random_range(0..1000),
        )
        .expect("a valid time of day");
        self.offset
            .from_local_datetime(&day.and_time(time))
            .single()
            .expect("a fixed offset maps every local time once")
    }

    pub(super) fn chinese_name(&mut self) -> String {
        // The commonest surnames really are that common.
        let surnames = if self.chance(0.5) {
            &CN_SURNAMES[..10]
        } else {
            CN_SURNAMES
        };
        let surname = *self.pick(surnames);
        if self.chance(0.45) {
            format!("{surname}{}", self.pick(CN_GIVEN_ONE))
        } else {
            format!(
                "{surname}{}{}",
                self.pick(CN_GIVEN_A),
                self.pick(CN_GIVEN_B)
            )
        }
    }

    pub(super) fn english_name(&mut self) -> String {
        format!("{} {}", self.pick(EN_FIRST), self.pick(EN_LAST))
    }

    pub(super) fn person_name(&mut self) -> String {
        if self.chance(0.7) {
            self.chinese_name()
        } else {
            self.english_name()
        }
    }

    /// A valid ISBN-13 not given to another title of this run; None when
    /// the space is crowded (the title then goes by title and author).
    pub(super) fn isbn(&mut self, used: &mut HashSet<u64>, chinese: bool) -> Option<String> {
        for _ in 0..64 {
            // 978-7 is the Chinese registration group, 978-0/1 English.
            let body: u64 = if chinese {
                700_000_000 + self.rng.random_range(0..100_000_000)
            } else {
                self.rng.random_range(0..200_000_000)
            };
            if used.insert(body) {
                let first12 = format!("978{body:09}");
                let check = ean13_check_digit(&first12).expect("12 digits");
                return Some(format!("{first12}{check}"));
            }
        }
        None
    }

    pub(super) fn chinese_fiction(&mut self) -> String {
        let noun = *self.pick(CN_NOUNS);
        let mut title = match self.rng.random_range(0..6) {
            0 => format!("{noun}的{}", self.pick(CN_TAILS)),
            1 => format!("{}{noun}", self.pick(CN_ADJ)),
            2 => {
                let other = *self.pick(CN_NOUNS);
                if other == noun {
                    format!("{noun}的{}", self.pick(CN_TAILS))
                } else {
                    format!("{noun}与{other}")
                }
            }
            3 => format!("在{noun}的{}", self.pick(CN_WHERE)),
            4 => format!("{noun}{}", self.pick(CN_TAILS)),
            _ => format!("{}{}", self.pick(CN_ADJ), self.pick(CN_TAILS)),
        };
        if self.chance(0.08) {
            title.push_str(self.pick::<&str>(CN_VOLUMES));
        }
        title
    }

    pub(super) fn english_fiction(&mut self) -> String {
        match self.rng.random_range(0..5) {
            0 | 1 => format!("The {} {}", self.pick(EN_ADJ), self.pick(EN_NOUNS)),
            2 => format!("The {} of {}", self.pick(EN_NOUNS), self.pick(EN_PLACES)),
            3 => format!("{}'s {}", self.pick(EN_FIRST), self.pick(EN_NOUNS)),
            _ => format!(
                "The {} and the {}",
                self.pick(EN_NOUNS),
                self.pick(EN_NOUNS)
            ),
        }
    }

    pub(super) fn copies(&mut self, weights: &[u32]) -> u32 {
        let total: u32 = weights.iter().sum();
        let mut x = self.rng.random_range(0..total);
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i as u32 + 1;
            }
            x -= w;
        }
        1
    }

    pub(super) fn title(&mut self, isbns: &mut HashSet<u64>) -> Title {
        let year = self.today.format("%Y").to_string();
        match self.rng.random_range(0..100) {
            // Books: ~80% of copies once their extra copies are counted.
            0..72 => {
                let chinese = self.chance(0.65);
                let (title, location) = if chinese {
                    if self.chance(0.3) {
                        let (subject, shelf) = *self.pick(CN_SUBJECTS);
                        let title = if self.chance(0.5) {
                            format!("{}{subject}", self.pick(CN_NF_PREFIX))
                        } else {
                            format!("{subject}{}", self.pick(CN_NF_SUFFIX))
                        };
                        (title, shelf.to_string())
                    } else {
                        let shelf = if self.chance(0.2) {
                            "1F 少儿 I287"
                        } else {
                            *self.pick(CN_FICTION_SHELVES)
                        };
                        (self.chinese_fiction(), shelf.to_string())
                    }
                } else {
                    match self.rng.random_range(0..10) {
                        0..6 => (self.english_fiction(), "3F 外文 I712".to_string()),
                        6..8 => (
                            format!("A History of {}", self.pick(EN_THINGS)),
                            "3F 外文 K".to_string(),
                        ),
                        8 => (
                            format!("Notes on {}", self.pick(EN_THINGS)),
                            "3F 外文 Z".to_string(),
                        ),
                        _ => (
                            format!("Learning {}", self.pick(EN_SKILLS)),
                            "3F 外文 TP".to_string(),
                        ),
                    }
                };
                let author = if chinese {
                    self.chinese_name()
                } else {
                    self.english_name()
                };
                Title {
                    title,
                    author,
                    isbn: self.isbn(isbns, chinese),
                    item_type: "book",
                    parts: 1,
                    location,
                    copies: self.copies(&[45, 25, 18, 12]),
                }
            }
            72..81 => {
                let title = if self.chance(0.7) {
                    format!(
                        "{} {year}年第{}期",
                        self.pick(CN_MAGAZINES),
                        self.rng.random_range(1..=24)
                    )
                } else {
                    format!(
                        "{} {year}-{:02}",
                        self.pick(EN_MAGAZINES),
                        self.rng.random_range(1..=12)
                    )
                };
                Title {
                    title,
                    author: String::new(),
                    isbn: None,
                    item_type: "magazine",
                    parts: 1,
                    location: "1F 期刊 Z".to_string(),
                    copies: self.copies(&[60, 40]),
                }
            }
            81..89 => {
                let title = if self.chance(0.6) {
                    format!("{}（DVD）", self.chinese_fiction())
                } else {
                    format!("{} (DVD)", self.english_fiction())
                };
                Title {
                    title,
                    author: self.person_name(),
                    isbn: None,
                    item_type: "dvd",
                    parts: 1,
                    location: "1F 音像 J9".to_string(),
                    copies: self.copies(&[70, 30]),
                }
            }
            89..95 => {
                let (title, author) = *self.pick(REFERENCE);
                let volumes = title.contains("百科") || title.contains("Oxford English");
                let title = if volumes {
                    format!("{title} 第{}卷", self.rng.random_range(1..=30))
                } else {
                    title.to_string()
                };
                Title {
                    title,
                    author: author.to_string(),
                    isbn: self.isbn(isbns, !author.is_ascii()),
                    item_type: "reference",
                    parts: 1,
                    location: "1F 工具书 Z3".to_string(),
                    copies: 1,
                }
            }
            _ => {
                // A kit is a book with two discs: three parts on one label.
                let chinese = self.chance(0.5);
                let (title, author) = if chinese {
                    let (subject, _) = *self.pick(CN_SUBJECTS);
                    (format!("{subject}入门（书+2光盘）"), self.chinese_name())
                } else {
                    (
                        format!("Learning {} (book + 2 CDs)", self.pick(EN_SKILLS)),
                        self.english_name(),
                    )
                };
                Title {
                    title,
                    author,
                    isbn: self.isbn(isbns, chinese),
                    item_type: "kit",
                    parts: 3,
                    location: "1F 视听 H".to_string(),
                    copies: 1,
                }
            }
        }
    }

    /// When a current loan went out and is due: 15% already overdue.
    pub(super) fn current_loan(
        &mut self,
        rule: &Rule,
    ) -> (DateTime<FixedOffset>, NaiveDate, u32, bool) {
        let period = loan_days(rule);
        let renewal = i64::from(rule.renewal_days);
        let overdue = self.chance(OVERDUE);
        let renewals = match self.rng.random_range(0..100) {
            0..80 => 0,
            80..95 => 1,
            _ => 2,
        }
        .min(rule.max_renewals);
        let due = if overdue {
            let raw = self.some_day_ago(1, 60);
            // Moving off a closed day must not make it due today or later.
            let moved = self.calendar.next_open(raw);
            if moved < self.today {
                moved
            } else {
                raw
            }
        } else {
            self.calendar
                .next_open(self.today + Duration::days(self.rng.random_range(0..period)))
        };
        let out = due - Duration::days(period + i64::from(renewals) * renewal);
        let out = self.open_on_or_before(out.min(self.days_ago(1)));
        (self.opening_time(out), due, renewals, overdue)
    }
}
