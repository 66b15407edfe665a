//! The word lists the demo library draws its readers' names, titles,
//! authors and shelves from (Chinese and English).

pub(super) const CN_SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁", "沈",
    "姚", "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金", "石", "廖", "欧阳", "司马",
];
pub(super) const CN_GIVEN_ONE: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "霞", "平", "刚", "婷", "宇", "浩", "鑫", "波", "斌", "颖", "琳", "晨", "欣",
];
pub(super) const CN_GIVEN_A: &[&str] = &[
    "子", "浩", "宇", "梓", "欣", "雨", "思", "佳", "嘉", "俊", "一", "诗", "文", "博", "晓", "天",
    "明", "志", "秀", "建",
];
pub(super) const CN_GIVEN_B: &[&str] = &[
    "轩", "涵", "怡", "琪", "诺", "晨", "萱", "然", "杰", "航", "瑶", "彤", "睿", "辰", "英", "华",
    "宁", "远", "军", "峰",
];
pub(super) const EN_FIRST: &[&str] = &[
    "Emma", "Liam", "Olivia", "Noah", "Ava", "Ethan", "Sophia", "Mason", "Mia", "Lucas", "Amelia",
    "James", "Harper", "Benjamin", "Evelyn", "Henry", "Chloe", "Daniel", "Grace", "Jack", "Lily",
    "Leo", "Zoe", "Oliver", "Hannah", "Samuel", "Ella", "David", "Nora", "Ryan",
];
pub(super) const EN_LAST: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Wilson",
    "Taylor", "Anderson", "Thomas", "Moore", "Martin", "Lee", "Chen", "Wang", "Zhang", "Liu",
    "Walker", "Young", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill",
    "Campbell",
];
pub(super) const BLOCK_REASONS: &[&str] = &[
    "挂失",
    "lost card",
    "损坏图书未赔偿",
    "damaged item not settled",
    "证件待核实",
];

pub(super) const CN_NOUNS: &[&str] = &[
    "城市", "河流", "记忆", "时间", "少年", "星空", "故乡", "山海", "月光", "雨季", "岛屿", "森林",
    "远方", "灯塔", "长夜", "边城", "花园", "海岸", "列车", "书店", "院子", "黄昏", "春天", "草原",
    "银河", "群山", "老街", "渡口", "雪国", "候鸟",
];
pub(super) const CN_TAILS: &[&str] = &[
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
pub(super) const CN_WHERE: &[&str] = &["尽头", "深处", "彼岸", "另一边", "背面"];
pub(super) const CN_ADJ: &[&str] = &[
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
pub(super) const CN_VOLUMES: &[&str] = &["（上）", "（下）", "（第二版）", "（珍藏版）"];
/// Subjects with the shelf (floor, room, CLC class) they live on.
pub(super) const CN_SUBJECTS: &[(&str, &str)] = &[
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
pub(super) const CN_NF_PREFIX: &[&str] =
    &["写给孩子的", "一本书读懂", "极简", "图解", "给青少年讲"];
pub(super) const CN_NF_SUFFIX: &[&str] = &["简史", "入门", "十讲", "通识课", "小百科"];
pub(super) const CN_FICTION_SHELVES: &[&str] = &[
    "2F 文学 I247",
    "2F 文学 I247.5",
    "2F 文学 I247.7",
    "2F 文学 I207",
];

pub(super) const EN_ADJ: &[&str] = &[
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
pub(super) const EN_NOUNS: &[&str] = &[
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
pub(super) const EN_PLACES: &[&str] = &[
    "Shanghai",
    "Kyoto",
    "Venice",
    "Lisbon",
    "the North",
    "Yunnan",
    "the Delta",
];
pub(super) const EN_THINGS: &[&str] = &[
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
pub(super) const EN_SKILLS: &[&str] = &[
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
pub(super) const CN_MAGAZINES: &[&str] = &[
    "读者",
    "三联生活周刊",
    "中国国家地理",
    "新周刊",
    "科幻世界",
    "故事会",
    "环球科学",
];
pub(super) const EN_MAGAZINES: &[&str] = &[
    "National Geographic",
    "The Economist",
    "Time",
    "Scientific American",
    "The New Yorker",
];
pub(super) const REFERENCE: &[(&str, &str)] = &[
    ("现代汉语词典（第7版）", "中国社会科学院语言研究所"),
    ("新华字典（第12版）", "中国社会科学院语言研究所"),
    ("辞海（第七版）", "辞海编辑委员会"),
    ("中国大百科全书", "中国大百科全书出版社"),
    ("牛津高阶英汉双解词典", "Oxford University Press"),
    ("Oxford English Dictionary", "Oxford University Press"),
    ("中国地图集", "中国地图出版社"),
    ("World Atlas", "National Geographic"),
];
