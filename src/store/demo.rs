//! A deterministic, realistic demo library: readers, items, current and
//! past loans, holds and imported fines, all drawn from one seed, for trying
//! the kiosk, the benchmark and the crash test.
//!
//! It must never write journal entries (the demo is a starting state, not
//! decisions the kiosk took; statistics of past activity come from returned
//! loans) and never touch a row whose barcode already exists, so running it
//! again is harmless. The first ten readers share the PIN "1234" through ONE
//! argon2 hash computed once and reused (argon2 is slow on purpose, and this
//! is demo data); since the salt is random, `pin_hash` is the only column
//! that differs between two runs with the same seed.

use super::{Result, Store, StoreError};
use crate::domain::barcode::{codabar_check_digit, ean13_check_digit};
use crate::domain::policy::DEFAULT;
use crate::domain::title_key;
use crate::domain::{Calendar, Due, PolicyTable, Rule};
use crate::privacy::hash_pin;
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, SecondsFormat, TimeZone};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rusqlite::{params, CachedStatement, Connection, ErrorCode, Transaction, TransactionBehavior};
use std::collections::{BTreeSet, HashSet};
use std::sync::OnceLock;
use std::time::Instant;

#[derive(Debug, Clone, serde::Serialize)]
pub struct DemoReport {
    /// Readers written by this call (existing barcodes are left alone).
    pub patrons: u64,
    /// Items written by this call.
    pub items: u64,
    /// Current loans written; returned loans (history) only count in
    /// `rows_per_sec`.
    pub loans: u64,
    pub overdue_loans: u64,
    pub holds_waiting: u64,
    pub holds_ready: u64,
    pub blocked_patrons: u64,
    pub seconds: f64,
    /// Every row written (readers, fees, items, loans, holds) per second.
    pub rows_per_sec: f64,
}

const PATRON_DIGIT: char = '2';
const ITEM_DIGIT: char = '3';
const INSTITUTION: &str = "0001";
/// Library barcodes carry an 8-digit serial.
const MAX_SERIAL: u32 = 99_999_999;
const DEMO_PIN: &str = "1234";
const PIN_PATRONS: u32 = 10;
/// Share of lendable copies out on loan, and of those, overdue.
const ON_LOAN: f64 = 0.08;
const OVERDUE: f64 = 0.15;
/// Share of lendable copies waiting on the hold shelf, missing, lost.
const READY: f64 = 0.003;
const MISSING: f64 = 0.002;
const LOST: f64 = 0.001;
/// Share of fully lent-out titles that readers queue for.
const QUEUED: f64 = 0.2;
/// Kept below every sensible policy so demo readers can still borrow.
const MAX_LOANS_EACH: u32 = 8;
const MAX_HOLDS_EACH: u32 = 3;
/// Returned loans per current loan, and how far back they go.
const HISTORY_PER_LOAN: u64 = 2;
const HISTORY_DAYS: i64 = 90;
/// Opening hours 9–20, busiest after school and after work.
const HOUR_WEIGHTS: [(u32, u32); 12] = [
    (9, 5),
    (10, 8),
    (11, 8),
    (12, 6),
    (13, 6),
    (14, 8),
    (15, 9),
    (16, 10),
    (17, 12),
    (18, 11),
    (19, 8),
    (20, 4),
];
/// 256 MiB of page cache while generating: the unique indexes of a million
/// items otherwise spill dirty pages to the WAL long before the commit.
const GENERATE_CACHE_KIB: i64 = 262_144;

const CN_SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁", "沈",
    "姚", "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金", "石", "廖", "欧阳", "司马",
];
const CN_GIVEN_ONE: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "霞", "平", "刚", "婷", "宇", "浩", "鑫", "波", "斌", "颖", "琳", "晨", "欣",
];
const CN_GIVEN_A: &[&str] = &[
    "子", "浩", "宇", "梓", "欣", "雨", "思", "佳", "嘉", "俊", "一", "诗", "文", "博", "晓", "天",
    "明", "志", "秀", "建",
];
const CN_GIVEN_B: &[&str] = &[
    "轩", "涵", "怡", "琪", "诺", "晨", "萱", "然", "杰", "航", "瑶", "彤", "睿", "辰", "英", "华",
    "宁", "远", "军", "峰",
];
const EN_FIRST: &[&str] = &[
    "Emma", "Liam", "Olivia", "Noah", "Ava", "Ethan", "Sophia", "Mason", "Mia", "Lucas", "Amelia",
    "James", "Harper", "Benjamin", "Evelyn", "Henry", "Chloe", "Daniel", "Grace", "Jack", "Lily",
    "Leo", "Zoe", "Oliver", "Hannah", "Samuel", "Ella", "David", "Nora", "Ryan",
];
const EN_LAST: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Wilson",
    "Taylor", "Anderson", "Thomas", "Moore", "Martin", "Lee", "Chen", "Wang", "Zhang", "Liu",
    "Walker", "Young", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill",
    "Campbell",
];
const BLOCK_REASONS: &[&str] = &[
    "挂失",
    "lost card",
    "损坏图书未赔偿",
    "damaged item not settled",
    "证件待核实",
];

const CN_NOUNS: &[&str] = &[
    "城市", "河流", "记忆", "时间", "少年", "星空", "故乡", "山海", "月光", "雨季", "岛屿", "森林",
    "远方", "灯塔", "长夜", "边城", "花园", "海岸", "列车", "书店", "院子", "黄昏", "春天", "草原",
    "银河", "群山", "老街", "渡口", "雪国", "候鸟",
];
const CN_TAILS: &[&str] = &[
    "故事",
    "旅程",
    "秘密",
    "回声",
    "尽头",
    "地图",
    "守望者",
    "孩子",
    "歌",
    "光",
    "影子",
    "来信",
    "声音",
    "四季",
    "往事",
];
/// Where "在…的…" titles end up: somewhere, not something.
const CN_WHERE: &[&str] = &["尽头", "深处", "彼岸", "另一边", "背面"];
const CN_ADJ: &[&str] = &[
    "遥远的",
    "安静的",
    "消失的",
    "迷路的",
    "温柔的",
    "漫长的",
    "最后的",
    "看不见的",
    "燃烧的",
    "沉默的",
    "明亮的",
    "未完成的",
];
const CN_VOLUMES: &[&str] = &["（上）", "（下）", "（第二版）", "（珍藏版）"];
/// Subjects with the shelf (floor, room, CLC class) they live on.
const CN_SUBJECTS: &[(&str, &str)] = &[
    ("天文学", "3F 科技 P1"),
    ("中国史", "2F 社科 K20"),
    ("心理学", "2F 社科 B84"),
    ("经济学", "2F 社科 F0"),
    ("编程", "3F 科技 TP31"),
    ("物理学", "3F 科技 O4"),
    ("唐诗", "2F 文学 I222"),
    ("宋词", "2F 文学 I222"),
    ("世界地理", "2F 社科 K91"),
    ("植物学", "3F 科技 Q94"),
    ("茶", "3F 科技 TS97"),
    ("丝绸之路", "2F 社科 K28"),
    ("数学", "3F 科技 O1"),
    ("哲学", "2F 社科 B0"),
    ("人工智能", "3F 科技 TP18"),
    ("建筑", "2F 艺术 TU"),
    ("围棋", "2F 艺术 G89"),
];
const CN_NF_PREFIX: &[&str] = &["写给孩子的", "一本书读懂", "极简", "图解", "给青少年讲"];
const CN_NF_SUFFIX: &[&str] = &["简史", "入门", "十讲", "通识课", "小百科"];
const CN_FICTION_SHELVES: &[&str] = &[
    "2F 文学 I247",
    "2F 文学 I247.5",
    "2F 文学 I247.7",
    "2F 文学 I207",
];

const EN_ADJ: &[&str] = &[
    "Silent",
    "Hidden",
    "Last",
    "Golden",
    "Broken",
    "Quiet",
    "Lost",
    "Distant",
    "Little",
    "Secret",
    "Wild",
    "Endless",
    "Paper",
    "Winter",
    "Summer",
    "Midnight",
    "Forgotten",
];
const EN_NOUNS: &[&str] = &[
    "River",
    "Garden",
    "Kingdom",
    "Lighthouse",
    "Orchard",
    "Harbor",
    "Library",
    "Mountain",
    "Station",
    "Island",
    "Forest",
    "Letter",
    "Map",
    "Clockmaker",
    "Tide",
    "Road",
    "Bridge",
    "House",
    "Compass",
];
const EN_PLACES: &[&str] = &[
    "Shanghai",
    "Kyoto",
    "Venice",
    "Lisbon",
    "the North",
    "Yunnan",
    "the Delta",
];
const EN_THINGS: &[&str] = &[
    "Tea",
    "Salt",
    "Paper",
    "Silk",
    "Maps",
    "Time",
    "Rice",
    "Bridges",
    "Numbers",
    "the Ocean",
    "Clocks",
    "Spices",
    "Printing",
    "the Bicycle",
    "Gardens",
];
const EN_SKILLS: &[&str] = &[
    "Python",
    "Rust",
    "Watercolour",
    "Chess",
    "Statistics",
    "Photography",
    "Mandarin",
    "Gardening",
    "Baking",
    "Astronomy",
];
const CN_MAGAZINES: &[&str] = &[
    "读者",
    "三联生活周刊",
    "中国国家地理",
    "新周刊",
    "科幻世界",
    "故事会",
    "环球科学",
];
const EN_MAGAZINES: &[&str] = &[
    "National Geographic",
    "The Economist",
    "Time",
    "Scientific American",
    "The New Yorker",
];
const REFERENCE: &[(&str, &str)] = &[
    ("现代汉语词典（第7版）", "中国社会科学院语言研究所"),
    ("新华字典（第12版）", "中国社会科学院语言研究所"),
    ("辞海（第七版）", "辞海编辑委员会"),
    ("中国大百科全书", "中国大百科全书出版社"),
    ("牛津高阶英汉双解词典", "Oxford University Press"),
    ("Oxford English Dictionary", "Oxford University Press"),
    ("中国地图集", "中国地图出版社"),
    ("World Atlas", "National Geographic"),
];

/// What one draw of the generator decided about a title.
struct Title {
    title: String,
    author: String,
    isbn: Option<String>,
    item_type: &'static str,
    parts: u8,
    location: String,
    copies: u32,
}

/// What became of one copy.
enum Fate {
    Shelf,
    NotForLoan,
    Missing,
    Lost,
    OnLoan {
        reader: usize,
        out: DateTime<FixedOffset>,
        due: NaiveDate,
        renewals: u32,
        overdue: bool,
    },
    Ready {
        reader: usize,
        placed: DateTime<FixedOffset>,
        pickup_by: NaiveDate,
        code: u32,
    },
}

impl Fate {
    fn status(&self) -> &'static str {
        match self {
            Fate::Shelf => "available",
            Fate::NotForLoan => "not_for_loan",
            Fate::Missing => "missing",
            Fate::Lost => "lost",
            Fate::OnLoan { .. } => "on_loan",
            Fate::Ready { .. } => "on_hold_shelf",
        }
    }
}

/// A reader who may borrow (not blocked, card valid).
struct Reader {
    id: i64,
    category: String,
    loans: u32,
    holds: u32,
}

/// A lendable copy written by this run, for the loan history.
struct Copy {
    id: i64,
    item_type: &'static str,
    /// Days ago of its earliest loan so far: history must end before it.
    busy_since: i64,
}

#[derive(Default)]
struct Tally {
    patrons: u64,
    fees: u64,
    items: u64,
    loans: u64,
    overdue: u64,
    history: u64,
    waiting: u64,
    ready: u64,
    blocked: u64,
}

/// Fixed inputs of one run.
struct Job {
    patrons: u32,
    items: u32,
    now: DateTime<FixedOffset>,
    stamp: String,
    pin_hash: Option<String>,
    policies: PolicyTable,
    pickup_days: u32,
}

/// The seeded random source and the calendar facts every draw needs.
struct Draw {
    rng: ChaCha8Rng,
    today: NaiveDate,
    offset: FixedOffset,
    calendar: Calendar,
}

fn stamp(t: DateTime<FixedOffset>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, false)
}

fn day_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// `type digit + institution + 8-digit serial + check digit`.
fn library_barcode(type_digit: char, serial: u32) -> String {
    let body = format!("{type_digit}{INSTITUTION}{serial:08}");
    let check = codabar_check_digit(&body).expect("the body is 13 digits");
    format!("{body}{check}")
}

/// Day loans only: an hour-loan rule still gets at least one day here.
fn loan_days(rule: &Rule) -> i64 {
    i64::from(rule.loan_days.max(1))
}

fn may_borrow(reader: &Reader, rule: &Rule) -> bool {
    rule.loanable && reader.loans < rule.max_loans.min(MAX_LOANS_EACH)
}

/// One argon2 hash for the process: every demo card with a PIN shares it.
fn demo_pin_hash() -> String {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_pin(DEMO_PIN)).clone()
}

impl Draw {
    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    fn pick<'a, T>(&mut self, list: &'a [T]) -> &'a T {
        &list[self.rng.random_range(0..list.len())]
    }

    fn days_ago(&self, n: i64) -> NaiveDate {
        self.today - Duration::days(n)
    }

    /// A day between `lo` and `hi` days ago, both included.
    fn some_day_ago(&mut self, lo: i64, hi: i64) -> NaiveDate {
        let n = self.rng.random_range(lo..=hi);
        self.days_ago(n)
    }

    /// Loans and returns happen at the desk or kiosk, so on open days only.
    fn open_on_or_before(&self, day: NaiveDate) -> NaiveDate {
        (0..7)
            .map(|n| day - Duration::days(n))
            .find(|d| self.calendar.is_open(*d))
            .unwrap_or(day)
    }

    /// A moment during opening hours on `day`, in the kiosk's offset.
    fn opening_time(&mut self, day: NaiveDate) -> DateTime<FixedOffset> {
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

    fn chinese_name(&mut self) -> String {
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

    fn english_name(&mut self) -> String {
        format!("{} {}", self.pick(EN_FIRST), self.pick(EN_LAST))
    }

    fn person_name(&mut self) -> String {
        if self.chance(0.7) {
            self.chinese_name()
        } else {
            self.english_name()
        }
    }

    /// A valid ISBN-13 not given to another title of this run; None when
    /// the space is crowded (the title then goes by title and author).
    fn isbn(&mut self, used: &mut HashSet<u64>, chinese: bool) -> Option<String> {
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

    fn chinese_fiction(&mut self) -> String {
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

    fn english_fiction(&mut self) -> String {
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

    fn copies(&mut self, weights: &[u32]) -> u32 {
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

    fn title(&mut self, isbns: &mut HashSet<u64>) -> Title {
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
    fn current_loan(&mut self, rule: &Rule) -> (DateTime<FixedOffset>, NaiveDate, u32, bool) {
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

/// Up to a dozen tries for a reader of `pool` that `fits`; None when the
/// pool is (nearly) exhausted, and the copy simply stays on the shelf.
fn pick_reader(
    d: &mut Draw,
    pool: &[usize],
    readers: &[Reader],
    fits: impl Fn(usize, &Reader) -> bool,
) -> Option<usize> {
    if pool.is_empty() {
        return None;
    }
    (0..12).find_map(|_| {
        let i = pool[d.rng.random_range(0..pool.len())];
        fits(i, &readers[i]).then_some(i)
    })
}

/// Fills the database; same seed + same counts + same `now` date give the
/// same rows (barcodes, names, titles, loans, holds; only `pin_hash` differs,
/// its salt being random). Readers and items whose barcode already exists
/// are left alone, and nothing is attached to them, so a re-run is harmless.
/// The first ten readers get the PIN "1234" (one hash, reused) and are kept
/// in good standing so demos can always log in with them.
pub fn generate(
    store: &mut Store,
    patrons: u32,
    items: u32,
    seed: u64,
    now: DateTime<FixedOffset>,
) -> Result<DemoReport> {
    if patrons > MAX_SERIAL || items > MAX_SERIAL {
        return Err(StoreError::Input(format!(
            "a demo library has at most {MAX_SERIAL} readers and {MAX_SERIAL} items (8-digit serial numbers)"
        )));
    }
    let started = Instant::now();
    let job = Job {
        patrons,
        items,
        now,
        stamp: stamp(now),
        pin_hash: (patrons > 0).then(demo_pin_hash),
        policies: store.policies().clone(),
        pickup_days: store.settings().hold_pickup_days.max(1),
    };
    let mut draw = Draw {
        rng: ChaCha8Rng::seed_from_u64(seed),
        today: now.date_naive(),
        offset: *now.offset(),
        calendar: store.settings().calendar.clone(),
    };
    let old_cache: i64 = store
        .conn
        .query_row("PRAGMA cache_size", [], |r| r.get(0))?;
    store
        .conn
        .pragma_update(None, "cache_size", -GENERATE_CACHE_KIB)?;
    let filled = fill(&mut store.conn, &job, &mut draw);
    // Give the memory back even when generation failed.
    let restored = store.conn.pragma_update(None, "cache_size", old_cache);
    let t = filled?;
    restored?;
    let seconds = started.elapsed().as_secs_f64();
    let rows = t.patrons + t.fees + t.items + t.loans + t.history + t.waiting + t.ready;
    Ok(DemoReport {
        patrons: t.patrons,
        items: t.items,
        loans: t.loans,
        overdue_loans: t.overdue,
        holds_waiting: t.waiting,
        holds_ready: t.ready,
        blocked_patrons: t.blocked,
        seconds,
        rows_per_sec: if seconds > 0.0 {
            rows as f64 / seconds
        } else {
            0.0
        },
    })
}

/// Everything in one transaction: a half-built demo library is never seen.
fn fill(conn: &mut Connection, job: &Job, d: &mut Draw) -> Result<Tally> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut t = Tally::default();
    add_patrons(&tx, job, d, &mut t)?;
    let mut readers = load_readers(&tx, d.today)?;
    // About half the readers borrow at all: realistic, and it leaves plenty
    // of readers without loans for load tests.
    let everyone: Vec<usize> = (0..readers.len()).collect();
    let mut borrowers: Vec<usize> = everyone.iter().copied().filter(|_| d.chance(0.5)).collect();
    if borrowers.is_empty() {
        borrowers = everyone.clone();
    }
    let copies = add_items(&tx, job, d, &mut readers, &borrowers, &everyone, &mut t)?;
    add_history(&tx, job, d, &readers, copies, &mut t)?;
    tx.commit()?;
    Ok(t)
}

fn add_patrons(tx: &Transaction, job: &Job, d: &mut Draw, t: &mut Tally) -> Result<()> {
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
fn load_readers(tx: &Transaction, today: NaiveDate) -> Result<Vec<Reader>> {
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
fn insert_item(
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

fn add_items(
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
fn add_history(
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

/// Up to `n` reader barcodes in good standing (not blocked, card valid, no
/// fines, no loans, and allowed to borrow every item type returned) and up
/// to `n` available single-part items of a loanable type on no open hold,
/// in id order: any reader of the first list can borrow any item of the
/// second (for load tests and the crash test).
pub fn loanable_pairs(store: &Store, n: usize) -> Result<(Vec<String>, Vec<String>)> {
    if n == 0 {
        return Ok((Vec::new(), Vec::new()));
    }
    let conn = &store.conn;
    let policies = store.policies();
    // Open holds are few: compare title keys in Rust with the one key rule
    // rather than re-deriving it in SQL.
    let (held_titles, held_items) = {
        let mut st = conn.prepare(
            "SELECT title_key, item_id, ready_item_id FROM holds WHERE status IN ('waiting','ready')",
        )?;
        let mut titles = HashSet::new();
        let mut ids = HashSet::new();
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            titles.insert(r.get::<_, String>(0)?);
            ids.extend(r.get::<_, Option<i64>>(1)?);
            ids.extend(r.get::<_, Option<i64>>(2)?);
        }
        (titles, ids)
    };
    let mut items = Vec::new();
    let mut types = BTreeSet::new();
    {
        let mut st = conn.prepare(
            "SELECT i.id, i.barcode, i.title, i.author, i.isbn, i.item_type FROM items i
             WHERE i.status = 'available' AND i.parts = 1
               AND NOT EXISTS (SELECT 1 FROM loans l WHERE l.item_id = i.id AND l.returned IS NULL)
             ORDER BY i.id",
        )?;
        let mut rows = st.query([])?;
        while items.len() < n {
            let Some(r) = rows.next()? else { break };
            let id: i64 = r.get(0)?;
            let item_type: String = r.get(5)?;
            if held_items.contains(&id) || !policies.rule(DEFAULT, &item_type).loanable {
                continue;
            }
            let isbn: Option<String> = r.get(4)?;
            let key = title_key(
                isbn.as_deref(),
                &r.get::<_, String>(2)?,
                &r.get::<_, String>(3)?,
            );
            if held_titles.contains(&key) {
                continue;
            }
            items.push(r.get::<_, String>(1)?);
            types.insert(item_type);
        }
    }
    // A card valid both today and on the day the rows were written: tests
    // and demos may run with a `now` other than the clock's.
    let written: Option<String> = conn.query_row(
        "SELECT max(substr(updated_at, 1, 10)) FROM patrons",
        [],
        |r| r.get(0),
    )?;
    let today = chrono::Local::now().date_naive();
    let cutoff = written
        .and_then(|w| NaiveDate::parse_from_str(&w, "%Y-%m-%d").ok())
        .map_or(today, |w| w.max(today));
    let mut patrons = Vec::new();
    let mut st = conn.prepare(
        "SELECT p.barcode, p.category FROM patrons p
         WHERE (p.blocked_reason IS NULL OR p.blocked_reason = '')
           AND p.fines_owed_cents = 0
           AND (p.expires IS NULL OR p.expires >= ?1)
           AND NOT EXISTS (SELECT 1 FROM loans l WHERE l.patron_id = p.id AND l.returned IS NULL)
         ORDER BY p.id",
    )?;
    let mut rows = st.query([day_text(cutoff)])?;
    while patrons.len() < n {
        let Some(r) = rows.next()? else { break };
        let category: String = r.get(1)?;
        let fits = types.iter().all(|ty| {
            let rule = policies.rule(&category, ty);
            rule.loanable && rule.max_loans > 0
        });
        if fits {
            patrons.push(r.get::<_, String>(0)?);
        }
    }
    Ok((patrons, items))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::barcode::{is_valid_codabar14, is_valid_ean13};
    use rusqlite::types::Value;

    fn now() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2026-11-22T10:00:00+08:00").unwrap()
    }

    fn demo(seed: u64, patrons: u32, items: u32) -> (Store, DemoReport) {
        let mut store = Store::open_in_memory("t").unwrap();
        let report = generate(&mut store, patrons, items, seed, now()).unwrap();
        (store, report)
    }

    fn dump(store: &Store, sql: &str) -> Vec<Vec<Value>> {
        let mut st = store.conn().prepare(sql).unwrap();
        let n = st.column_count();
        st.query_map([], |r| (0..n).map(|i| r.get::<_, Value>(i)).collect())
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    fn one(store: &Store, sql: &str) -> i64 {
        store.conn().query_row(sql, [], |r| r.get(0)).unwrap()
    }

    const TABLES: [&str; 5] = [
        "SELECT id, barcode, name, category, expires, pin_hash IS NOT NULL, email, blocked_reason,
                fines_owed_cents, updated_at FROM patrons ORDER BY id",
        "SELECT * FROM items ORDER BY id",
        "SELECT * FROM loans ORDER BY id",
        "SELECT * FROM holds ORDER BY id",
        "SELECT * FROM fees ORDER BY id",
    ];

    #[test]
    fn the_same_seed_gives_the_same_library() {
        let (a, ra) = demo(7, 300, 3000);
        let (b, rb) = demo(7, 300, 3000);
        for sql in TABLES {
            let rows = dump(&a, sql);
            assert!(!rows.is_empty(), "{sql}");
            assert_eq!(rows, dump(&b, sql), "{sql}");
        }
        assert_eq!((ra.patrons, ra.items, ra.loans), (300, 3000, rb.loans));
        assert_eq!(one(&a, "SELECT count(*) FROM journal"), 0);
        let (c, _) = demo(8, 300, 3000);
        assert_ne!(dump(&a, TABLES[0]), dump(&c, TABLES[0]));
    }

    #[test]
    fn a_second_run_leaves_existing_rows_alone() {
        let (mut store, _) = demo(7, 100, 800);
        let before: Vec<_> = TABLES.iter().map(|sql| dump(&store, sql)).collect();
        let again = generate(&mut store, 100, 800, 7, now()).unwrap();
        assert_eq!((again.patrons, again.items, again.loans), (0, 0, 0));
        let after: Vec<_> = TABLES.iter().map(|sql| dump(&store, sql)).collect();
        assert_eq!(before, after);
        // Growing the library adds only the new serials.
        let more = generate(&mut store, 120, 900, 9, now()).unwrap();
        assert_eq!((more.patrons, more.items), (20, 100));
        assert_eq!(one(&store, "SELECT count(*) FROM items"), 900);
    }

    #[test]
    fn barcodes_are_valid_and_unique() {
        let (store, _) = demo(1, 300, 3000);
        let patrons = dump(&store, "SELECT barcode FROM patrons ORDER BY id");
        let items = dump(&store, "SELECT barcode FROM items ORDER BY id");
        let text = |v: &Value| match v {
            Value::Text(s) => s.clone(),
            other => panic!("{other:?}"),
        };
        // Hand-computed: 2 0001 00000001 → doubled odd positions 4+2+2 = 8.
        assert_eq!(text(&patrons[0][0]), "20001000000012");
        assert_eq!(text(&items[0][0]), "30001000000010");
        for (rows, prefix) in [(&patrons, "20001"), (&items, "30001")] {
            let codes: HashSet<String> = rows.iter().map(|r| text(&r[0])).collect();
            assert_eq!(codes.len(), rows.len());
            for c in &codes {
                assert!(c.starts_with(prefix) && is_valid_codabar14(c), "{c}");
            }
        }
        let uids = dump(
            &store,
            "SELECT rfid_uid FROM items WHERE rfid_uid IS NOT NULL",
        );
        let share = uids.len() as f64 / items.len() as f64;
        assert!((0.55..0.65).contains(&share), "{share}");
        let uids: HashSet<String> = uids.iter().map(|r| text(&r[0])).collect();
        for u in &uids {
            assert!(u.len() == 16 && u.starts_with("E004"), "{u}");
            assert!(
                u.chars()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()),
                "{u}"
            );
        }
        for r in dump(&store, "SELECT isbn FROM items WHERE isbn IS NOT NULL") {
            let isbn = text(&r[0]);
            assert!(isbn.starts_with("978") && is_valid_ean13(&isbn), "{isbn}");
        }
        assert!(
            one(
                &store,
                "SELECT count(*) FROM items WHERE isbn IS NULL AND item_type = 'magazine'"
            ) > 0
        );
        // Copies share their title's ISBN, one to four of them.
        let most = one(&store, "SELECT max(n) FROM (SELECT count(*) n FROM items WHERE isbn IS NOT NULL GROUP BY isbn)");
        assert!((2..=4).contains(&most), "{most}");
        let books = one(
            &store,
            "SELECT count(*) FROM items WHERE item_type = 'book'",
        );
        assert!((2200..2600).contains(&books), "{books}");
        assert_eq!(one(&store, "SELECT count(*) FROM items WHERE item_type = 'reference' AND status <> 'not_for_loan'"), 0);
        assert_eq!(
            one(
                &store,
                "SELECT count(*) FROM items WHERE item_type = 'kit' AND parts <> 3"
            ),
            0
        );
        assert!(
            one(
                &store,
                "SELECT count(*) FROM patrons WHERE name GLOB '*[a-z]*'"
            ) > 0
        );
        assert!(
            one(
                &store,
                "SELECT count(*) FROM patrons WHERE name NOT GLOB '*[a-z]*'"
            ) > 0
        );
    }

    #[test]
    fn loans_and_holds_are_consistent() {
        let (store, r) = demo(3, 300, 3000);
        assert!(
            r.loans > 100 && r.overdue_loans > 0 && r.holds_waiting > 0,
            "{r:?}"
        );
        assert_eq!(
            one(&store, "SELECT count(*) FROM loans WHERE returned IS NULL"),
            r.loans as i64
        );
        assert_eq!(
            one(
                &store,
                "SELECT count(*) FROM items WHERE status = 'on_loan'"
            ),
            r.loans as i64
        );
        let most = one(&store, "SELECT COALESCE(max(n), 0) FROM (SELECT count(*) n FROM loans WHERE returned IS NULL GROUP BY patron_id)");
        assert!(most <= 8, "{most}");
        let doubled = one(&store, "SELECT count(*) FROM (SELECT item_id FROM loans WHERE returned IS NULL GROUP BY item_id HAVING count(*) > 1)");
        assert_eq!(doubled, 0);
        let overdue = one(
            &store,
            "SELECT count(*) FROM loans WHERE returned IS NULL AND due < '2026-11-22'",
        );
        assert_eq!(overdue, r.overdue_loans as i64);
        assert_eq!(
            one(
                &store,
                "SELECT count(*) FROM loans WHERE checked_out >= '2026-11-22T10'"
            ),
            0
        );
        // No loan to a blocked or expired reader.
        assert_eq!(
            one(&store, "SELECT count(*) FROM loans l JOIN patrons p ON p.id = l.patron_id
                         WHERE l.returned IS NULL AND (p.blocked_reason IS NOT NULL OR p.expires < '2026-11-22')"),
            0
        );
        // History: about twice the current loans, within 90 days, returned
        // after they went out, during opening hours.
        let history = one(
            &store,
            "SELECT count(*) FROM loans WHERE returned IS NOT NULL",
        );
        assert!(history > r.loans as i64 * 3 / 2, "{history}");
        assert_eq!(one(&store, "SELECT count(*) FROM loans WHERE returned IS NOT NULL AND (returned <= checked_out OR checked_out < '2026-08-24')"), 0);
        assert_eq!(one(&store, "SELECT count(*) FROM loans WHERE CAST(substr(checked_out, 12, 2) AS INTEGER) NOT BETWEEN 9 AND 20"), 0);
        // Ready holds sit on the shelf with unique codes and a future date.
        let ready = one(
            &store,
            "SELECT count(*) FROM holds h JOIN items i ON i.id = h.ready_item_id
                                 WHERE h.status = 'ready' AND i.status = 'on_hold_shelf'
                                   AND length(h.pickup_code) = 6 AND h.pickup_by > '2026-11-22'",
        );
        assert_eq!(ready, r.holds_ready as i64);
        assert_eq!(
            one(
                &store,
                "SELECT count(DISTINCT pickup_code) FROM holds WHERE status = 'ready'"
            ),
            ready
        );
        assert_eq!(
            one(
                &store,
                "SELECT count(*) FROM items WHERE status = 'on_hold_shelf'"
            ),
            ready
        );
        // Fines owed match their imported fee rows.
        assert_eq!(
            one(&store, "SELECT count(*) FROM patrons p WHERE fines_owed_cents <>
                         (SELECT COALESCE(sum(amount_cents), 0) FROM fees f WHERE f.patron_id = p.id)"),
            0
        );
        assert!(one(&store, "SELECT count(*) FROM fees WHERE kind = 'imported'") > 0);
        assert!(r.blocked_patrons > 0);
        assert_eq!(
            one(
                &store,
                "SELECT count(*) FROM patrons WHERE pin_hash IS NOT NULL"
            ),
            10
        );
    }

    #[test]
    fn loanable_pairs_can_borrow() {
        let (mut store, _) = demo(5, 300, 3000);
        let (patrons, items) = loanable_pairs(&store, 20).unwrap();
        assert_eq!((patrons.len(), items.len()), (20, 20));
        for (p, i) in patrons.iter().zip(&items) {
            let o = store.checkout(p, i, None, now()).unwrap();
            assert!(o.result.is_ok(), "{p} {i}: {:?}", o.result);
        }
    }

    #[test]
    fn loanable_pairs_respect_the_policy() {
        let mut store = Store::open_in_memory("t").unwrap();
        let rows = vec![
            (
                "default".to_string(),
                "default".to_string(),
                Rule::default(),
            ),
            (
                "child".to_string(),
                "default".to_string(),
                Rule {
                    loanable: false,
                    ..Rule::default()
                },
            ),
            (
                "default".to_string(),
                "dvd".to_string(),
                Rule {
                    loanable: false,
                    ..Rule::default()
                },
            ),
        ];
        store
            .configure(rows, crate::domain::Settings::default(), &[])
            .unwrap();
        generate(&mut store, 200, 1500, 11, now()).unwrap();
        let (patrons, items) = loanable_pairs(&store, 40).unwrap();
        assert_eq!((patrons.len(), items.len()), (40, 40));
        for (p, i) in patrons.iter().zip(&items) {
            let o = store.checkout(p, i, None, now()).unwrap();
            assert!(o.result.is_ok(), "{p} {i}: {:?}", o.result);
        }
        assert_eq!(
            one(&store, "SELECT count(*) FROM loans l JOIN items i ON i.id = l.item_id JOIN patrons p ON p.id = l.patron_id
                         WHERE l.returned IS NULL AND (i.item_type = 'dvd' OR p.category = 'child')"),
            0
        );
    }

    #[test]
    fn empty_and_tiny_libraries_work() {
        let (store, r) = demo(1, 0, 50);
        assert_eq!((r.patrons, r.items, r.loans), (0, 50, 0));
        assert_eq!(loanable_pairs(&store, 5).unwrap().0.len(), 0);
        let (_, r) = demo(1, 3, 0);
        assert_eq!((r.patrons, r.items), (3, 0));
    }
}
