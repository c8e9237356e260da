//! The province's party tree: Thái Bình's provincial committee, the bloc of provincial
//! agencies, four districts, the grassroots committees under them (hospitals, agencies,
//! communes, companies) and the requested number of cells spread over them.
//!
//! The layout is data, not chance: the same number of cells always gives the same tree, so a
//! seed changes the people and their year, never the organizations.

use chibo_domain::event::OrgLevel;

/// A committee: the province, the bloc, a district or a grassroots committee.
#[derive(Debug, Clone)]
pub struct Committee {
    pub id: String,
    pub name: String,
    pub level: OrgLevel,
    /// Index of the parent committee; `None` for the province.
    pub parent: Option<usize>,
}

/// What kind of unit a cell belongs to; it colours the cell's meetings, tasks and absences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Hospital,
    Agency,
    Village,
    Ward,
    Enterprise,
}

impl Unit {
    /// The `cell_type` recorded when the cell registers.
    pub fn cell_type(self) -> &'static str {
        match self {
            Unit::Hospital => "hospital",
            Unit::Agency => "agency",
            Unit::Village => "commune",
            Unit::Ward => "residential",
            Unit::Enterprise => "enterprise",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Cell {
    pub id: String,
    pub name: String,
    pub unit: Unit,
    /// Index of the committee the cell belongs to.
    pub parent: usize,
}

#[derive(Debug, Clone)]
pub struct Tree {
    /// Top-down: every committee comes after its parent.
    pub committees: Vec<Committee>,
    pub cells: Vec<Cell>,
}

impl Tree {
    pub fn committee(&self, id: &str) -> Option<usize> {
        self.committees.iter().position(|c| c.id == id)
    }

    /// The committees above `cell`, nearest first.
    pub fn ancestors(&self, cell: usize) -> Vec<usize> {
        let mut out = vec![self.cells[cell].parent];
        while let Some(parent) = self.committees[*out.last().unwrap()].parent {
            out.push(parent);
        }
        out
    }
}

pub const PROVINCE: &str = "tinh-thai-binh";
pub const BLOC: &str = "khoi-co-quan-tinh";
pub const QUYNH_PHU: &str = "huyen-quynh-phu";

/// (id, name, level, parent id), top-down.
const COMMITTEES: &[(&str, &str, OrgLevel, &str)] = &[
    (PROVINCE, "Đảng bộ tỉnh Thái Bình", OrgLevel::Province, ""),
    (BLOC, "Đảng bộ Khối các cơ quan tỉnh Thái Bình", OrgLevel::Bloc, PROVINCE),
    (QUYNH_PHU, "Đảng bộ huyện Quỳnh Phụ", OrgLevel::District, PROVINCE),
    ("huyen-hung-ha", "Đảng bộ huyện Hưng Hà", OrgLevel::District, PROVINCE),
    ("huyen-vu-thu", "Đảng bộ huyện Vũ Thư", OrgLevel::District, PROVINCE),
    ("huyen-thai-thuy", "Đảng bộ huyện Thái Thụy", OrgLevel::District, PROVINCE),
    ("bv-nhi-thai-binh", "Đảng bộ Bệnh viện Nhi Thái Bình", OrgLevel::Grassroots, BLOC),
    ("bv-da-khoa-tinh", "Đảng bộ Bệnh viện Đa khoa tỉnh Thái Bình", OrgLevel::Grassroots, BLOC),
    ("so-giao-duc-dao-tao", "Đảng bộ Sở Giáo dục và Đào tạo", OrgLevel::Grassroots, BLOC),
    ("so-tai-chinh", "Đảng bộ Sở Tài chính", OrgLevel::Grassroots, BLOC),
    ("xa-an-thai", "Đảng bộ xã An Thái", OrgLevel::Grassroots, QUYNH_PHU),
    ("xa-quynh-hoi", "Đảng bộ xã Quỳnh Hội", OrgLevel::Grassroots, QUYNH_PHU),
    ("xa-quynh-hong", "Đảng bộ xã Quỳnh Hồng", OrgLevel::Grassroots, QUYNH_PHU),
    ("thi-tran-quynh-coi", "Đảng bộ thị trấn Quỳnh Côi", OrgLevel::Grassroots, QUYNH_PHU),
    ("xa-tan-le", "Đảng bộ xã Tân Lễ", OrgLevel::Grassroots, "huyen-hung-ha"),
    ("xa-canh-tan", "Đảng bộ xã Canh Tân", OrgLevel::Grassroots, "huyen-hung-ha"),
    ("cong-ty-may-hung-ha", "Đảng bộ Công ty Cổ phần May Hưng Hà", OrgLevel::Grassroots, "huyen-hung-ha"),
    ("cong-ty-tan-de", "Đảng bộ Công ty TNHH Tân Đệ", OrgLevel::Grassroots, "huyen-vu-thu"),
    ("xa-song-an", "Đảng bộ xã Song An", OrgLevel::Grassroots, "huyen-vu-thu"),
    ("xa-vu-hoi", "Đảng bộ xã Vũ Hội", OrgLevel::Grassroots, "huyen-vu-thu"),
    ("xa-thuy-hai", "Đảng bộ xã Thụy Hải", OrgLevel::Grassroots, "huyen-thai-thuy"),
    ("xa-thai-thuong", "Đảng bộ xã Thái Thượng", OrgLevel::Grassroots, "huyen-thai-thuy"),
];

/// Where cells are placed: under which committee, what they are called, and how many of the
/// cells each place takes (its weight).
struct Home {
    committee: &'static str,
    unit: Unit,
    /// Prefix of the cells' ids.
    prefix: &'static str,
    /// (id suffix, name) of the first cells.
    named: &'static [(&'static str, &'static str)],
    /// (id suffix, name) of the cells after those, `{}` replaced by a number.
    numbered: (&'static str, &'static str),
    /// The first number used by `numbered`.
    first_number: usize,
    weight: i64,
}

const fn villages(
    committee: &'static str,
    prefix: &'static str,
    named: &'static [(&'static str, &'static str)],
    weight: i64,
) -> Home {
    Home {
        committee,
        unit: Unit::Village,
        prefix,
        named,
        numbered: ("xom-{}", "Chi bộ xóm {}"),
        first_number: 1,
        weight,
    }
}

const fn district_agencies(
    committee: &'static str,
    prefix: &'static str,
    named: &'static [(&'static str, &'static str)],
    weight: i64,
) -> Home {
    Home {
        committee,
        unit: Unit::Agency,
        prefix,
        named,
        numbered: ("truong-thcs-{}", "Chi bộ Trường Trung học cơ sở số {}"),
        first_number: 1,
        weight,
    }
}

const HOMES: &[Home] = &[
    Home {
        committee: "bv-nhi-thai-binh",
        unit: Unit::Hospital,
        prefix: "bv-nhi",
        named: &[
            ("chi-bo-1", "Chi bộ 1 – Khối Hành chính"),
            ("chi-bo-2", "Chi bộ 2 – Khoa Khám bệnh"),
            ("chi-bo-3", "Chi bộ 3 – Khoa Hồi sức tích cực và Chống độc"),
            ("chi-bo-4", "Chi bộ 4 – Khoa Sơ sinh"),
            ("chi-bo-5", "Chi bộ 5 – Khoa Nội tổng hợp"),
            ("chi-bo-6", "Chi bộ 6 – Khoa Ngoại tổng hợp"),
            ("chi-bo-7", "Chi bộ 7 – Khoa Truyền nhiễm"),
            ("chi-bo-8", "Chi bộ 8 – Khối Cận lâm sàng"),
        ],
        numbered: ("chi-bo-{}", "Chi bộ {}"),
        first_number: 9,
        weight: 8,
    },
    villages(
        "xa-an-thai",
        "an-thai",
        &[
            ("a-sao", "Chi bộ thôn A Sào"),
            ("to-de", "Chi bộ thôn Tô Đê"),
            ("dong-truc", "Chi bộ thôn Đồng Trực"),
            ("co-dinh", "Chi bộ thôn Cổ Đình"),
            ("an-phu", "Chi bộ thôn An Phú"),
            ("le-xa", "Chi bộ thôn Lê Xá"),
            ("my-bong", "Chi bộ thôn Mỹ Bổng"),
        ],
        7,
    ),
    district_agencies(
        QUYNH_PHU,
        "quynh-phu",
        &[
            ("toa-an", "Chi bộ Tòa án nhân dân huyện Quỳnh Phụ"),
            ("vien-kiem-sat", "Chi bộ Viện Kiểm sát nhân dân huyện Quỳnh Phụ"),
            ("trung-tam-chinh-tri", "Chi bộ Trung tâm Chính trị huyện Quỳnh Phụ"),
            ("kho-bac", "Chi bộ Kho bạc Nhà nước Quỳnh Phụ"),
            ("thi-hanh-an", "Chi bộ Chi cục Thi hành án dân sự huyện Quỳnh Phụ"),
        ],
        4,
    ),
    Home {
        committee: "cong-ty-tan-de",
        unit: Unit::Enterprise,
        prefix: "tan-de",
        named: &[
            ("nha-may-1", "Chi bộ Nhà máy Tân Đệ 1"),
            ("nha-may-2", "Chi bộ Nhà máy Tân Đệ 2"),
            ("van-phong", "Chi bộ Khối Văn phòng Công ty"),
        ],
        numbered: ("nha-may-{}", "Chi bộ Nhà máy Tân Đệ {}"),
        first_number: 3,
        weight: 4,
    },
    Home {
        committee: "bv-da-khoa-tinh",
        unit: Unit::Hospital,
        prefix: "bvdk",
        named: &[
            ("cap-cuu", "Chi bộ Khoa Cấp cứu"),
            ("noi-tim-mach", "Chi bộ Khoa Nội tim mạch"),
            ("ngoai-chan-thuong", "Chi bộ Khoa Ngoại chấn thương"),
            ("san", "Chi bộ Khoa Sản"),
            ("ung-buou", "Chi bộ Khoa Ung bướu"),
            ("gay-me-hoi-suc", "Chi bộ Khoa Gây mê hồi sức"),
            ("y-hoc-co-truyen", "Chi bộ Khoa Y học cổ truyền"),
            ("than-nhan-tao", "Chi bộ Khoa Thận nhân tạo"),
            ("hanh-chinh", "Chi bộ Khối Hành chính"),
            ("dieu-duong", "Chi bộ Phòng Điều dưỡng"),
        ],
        numbered: ("khoa-{}", "Chi bộ Khoa lâm sàng {}"),
        first_number: 1,
        weight: 10,
    },
    Home {
        committee: "so-giao-duc-dao-tao",
        unit: Unit::Agency,
        prefix: "so-gd",
        named: &[
            ("van-phong", "Chi bộ Văn phòng Sở"),
            ("trung-hoc", "Chi bộ Phòng Giáo dục Trung học"),
            ("mam-non", "Chi bộ Phòng Giáo dục Mầm non và Tiểu học"),
            ("khao-thi", "Chi bộ Phòng Khảo thí và Kiểm định chất lượng"),
            ("to-chuc", "Chi bộ Phòng Tổ chức cán bộ"),
            ("thanh-tra", "Chi bộ Thanh tra Sở"),
        ],
        numbered: ("thpt-{}", "Chi bộ Trường Trung học phổ thông số {}"),
        first_number: 1,
        weight: 6,
    },
    Home {
        committee: "so-tai-chinh",
        unit: Unit::Agency,
        prefix: "so-tc",
        named: &[
            ("van-phong", "Chi bộ Văn phòng Sở"),
            ("ngan-sach", "Chi bộ Phòng Quản lý ngân sách"),
            ("dau-tu", "Chi bộ Phòng Tài chính đầu tư"),
            ("gia-cong-san", "Chi bộ Phòng Quản lý giá và công sản"),
            ("thanh-tra", "Chi bộ Thanh tra Sở"),
        ],
        numbered: ("chi-bo-{}", "Chi bộ {}"),
        first_number: 1,
        weight: 5,
    },
    villages(
        "xa-quynh-hoi",
        "quynh-hoi",
        &[
            ("dong-hoa", "Chi bộ thôn Đồng Hòa"),
            ("quynh-lang", "Chi bộ thôn Quỳnh Lang"),
            ("cau-hiep", "Chi bộ thôn Cầu Hiệp"),
            ("luong-my", "Chi bộ thôn Lương Mỹ"),
            ("phu-lac", "Chi bộ thôn Phú Lạc"),
            ("hiep-hoa", "Chi bộ thôn Hiệp Hòa"),
        ],
        6,
    ),
    villages(
        "xa-quynh-hong",
        "quynh-hong",
        &[
            ("ben-hiep", "Chi bộ thôn Bến Hiệp"),
            ("hoang-xa", "Chi bộ thôn Hoàng Xá"),
            ("dai-nam", "Chi bộ thôn Đại Nẫm"),
            ("lai-on", "Chi bộ thôn Lai Ổn"),
            ("xuan-trach", "Chi bộ thôn Xuân Trạch"),
        ],
        5,
    ),
    Home {
        committee: "thi-tran-quynh-coi",
        unit: Unit::Ward,
        prefix: "quynh-coi",
        named: &[],
        numbered: ("tdp-{}", "Chi bộ Tổ dân phố số {}"),
        first_number: 1,
        weight: 4,
    },
    villages(
        "xa-tan-le",
        "tan-le",
        &[
            ("le-xa", "Chi bộ thôn Lê Xá"),
            ("tan-dan", "Chi bộ thôn Tân Dân"),
            ("hung-dao", "Chi bộ thôn Hưng Đạo"),
            ("cong-hoa", "Chi bộ thôn Cộng Hòa"),
            ("thanh-lang", "Chi bộ thôn Thanh Lãng"),
        ],
        5,
    ),
    villages(
        "xa-canh-tan",
        "canh-tan",
        &[
            ("dong-thanh", "Chi bộ thôn Đông Thành"),
            ("tay-son", "Chi bộ thôn Tây Sơn"),
            ("nam-tien", "Chi bộ thôn Nam Tiến"),
            ("trung-thanh", "Chi bộ thôn Trung Thành"),
        ],
        4,
    ),
    Home {
        committee: "cong-ty-may-hung-ha",
        unit: Unit::Enterprise,
        prefix: "may-hung-ha",
        named: &[("van-phong", "Chi bộ Khối Văn phòng")],
        numbered: ("xuong-{}", "Chi bộ Phân xưởng may {}"),
        first_number: 1,
        weight: 5,
    },
    district_agencies(
        "huyen-hung-ha",
        "hung-ha",
        &[
            ("toa-an", "Chi bộ Tòa án nhân dân huyện Hưng Hà"),
            ("vien-kiem-sat", "Chi bộ Viện Kiểm sát nhân dân huyện Hưng Hà"),
            ("kho-bac", "Chi bộ Kho bạc Nhà nước Hưng Hà"),
        ],
        3,
    ),
    villages(
        "xa-song-an",
        "song-an",
        &[
            ("thai-son", "Chi bộ thôn Thái Sơn"),
            ("dong-an", "Chi bộ thôn Đông An"),
            ("trung-an", "Chi bộ thôn Trung An"),
            ("lac-thien", "Chi bộ thôn Lạc Thiện"),
        ],
        4,
    ),
    villages(
        "xa-vu-hoi",
        "vu-hoi",
        &[
            ("hop-thanh", "Chi bộ thôn Hợp Thành"),
            ("phu-hoi", "Chi bộ thôn Phú Hội"),
            ("quang-trung", "Chi bộ thôn Quang Trung"),
            ("minh-khai", "Chi bộ thôn Minh Khai"),
        ],
        4,
    ),
    villages(
        "xa-thuy-hai",
        "thuy-hai",
        &[
            ("dong-ho", "Chi bộ thôn Đông Hồ"),
            ("tan-boi", "Chi bộ thôn Tân Bồi"),
            ("thai-hoa", "Chi bộ thôn Thái Hòa"),
            ("hai-thanh", "Chi bộ thôn Hải Thành"),
        ],
        5,
    ),
    villages(
        "xa-thai-thuong",
        "thai-thuong",
        &[
            ("thuong-phuc", "Chi bộ thôn Thượng Phúc"),
            ("ha-phuc", "Chi bộ thôn Hạ Phúc"),
            ("an-tan", "Chi bộ thôn An Tân"),
            ("dong-phu", "Chi bộ thôn Đông Phú"),
        ],
        4,
    ),
    district_agencies(
        "huyen-thai-thuy",
        "thai-thuy",
        &[
            ("toa-an", "Chi bộ Tòa án nhân dân huyện Thái Thụy"),
            ("kho-bac", "Chi bộ Kho bạc Nhà nước Thái Thụy"),
            ("trung-tam-chinh-tri", "Chi bộ Trung tâm Chính trị huyện Thái Thụy"),
        ],
        3,
    ),
];

/// The first cells are placed by hand so that even a small province shows the programmes at
/// work: three cells of the Children's Hospital (the bloc's model-cell programme, Chi bộ 3
/// among them), thôn A Sào and a district agency (Quỳnh Phụ's programme), then a factory.
const FIRST_HOMES: &[usize] = &[0, 0, 0, 1, 2, 3];

/// The tree for `cells` cells.
pub fn layout(cells: usize) -> Tree {
    let mut taken = vec![0usize; HOMES.len()];
    let mut order = Vec::with_capacity(cells);
    // Smooth weighted round robin (as in nginx) after the hand-placed cells: every home gets
    // its share, spread evenly through the list.
    let total: i64 = HOMES.iter().map(|h| h.weight).sum();
    let mut current = vec![0i64; HOMES.len()];
    for n in 0..cells {
        let home = match FIRST_HOMES.get(n) {
            Some(&home) => home,
            None => {
                for (c, home) in current.iter_mut().zip(HOMES) {
                    *c += home.weight;
                }
                let best = (0..HOMES.len()).max_by_key(|&i| (current[i], std::cmp::Reverse(i))).unwrap();
                current[best] -= total;
                best
            }
        };
        order.push((home, taken[home]));
        taken[home] += 1;
    }

    // Only committees with cells beneath them, and the province.
    let mut used = vec![false; COMMITTEES.len()];
    used[0] = true;
    let position = |id: &str| COMMITTEES.iter().position(|c| c.0 == id).expect("every home's committee is listed");
    for (home, _) in &order {
        let mut at = position(HOMES[*home].committee);
        loop {
            used[at] = true;
            match COMMITTEES[at].3 {
                "" => break,
                parent => at = position(parent),
            }
        }
    }
    let mut committees: Vec<Committee> = Vec::new();
    for (i, (id, name, level, parent)) in COMMITTEES.iter().enumerate() {
        if used[i] {
            let parent = (!parent.is_empty()).then(|| committees.iter().position(|c| c.id == *parent).unwrap());
            committees.push(Committee { id: (*id).to_owned(), name: (*name).to_owned(), level: *level, parent });
        }
    }

    // Cells grouped by home, in the homes' order, so that a committee's cells sit together.
    let mut placed = order;
    placed.sort();
    let cells = placed
        .into_iter()
        .map(|(home, n)| {
            let home = &HOMES[home];
            let (suffix, name) = match home.named.get(n) {
                Some(&(suffix, name)) => (suffix.to_owned(), name.to_owned()),
                None => {
                    let number = (n - home.named.len() + home.first_number).to_string();
                    (home.numbered.0.replace("{}", &number), home.numbered.1.replace("{}", &number))
                }
            };
            Cell {
                id: format!("{}-{suffix}", home.prefix),
                name,
                unit: home.unit,
                parent: committees.iter().position(|c| c.id == home.committee).unwrap(),
            }
        })
        .collect();
    Tree { committees, cells }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn the_tree_has_the_requested_cells_under_registered_committees() {
        for n in [1, 6, 150, 1000] {
            let tree = layout(n);
            assert_eq!(tree.cells.len(), n);
            let ids: BTreeSet<_> = tree.cells.iter().map(|c| c.id.as_str()).collect();
            assert_eq!(ids.len(), n, "cell ids are unique");
            for cell in &tree.cells {
                assert!(chibo_domain::Id::parse("id", &cell.id).is_ok(), "{}", cell.id);
                let level = tree.committees[cell.parent].level;
                assert!(matches!(level, OrgLevel::Grassroots | OrgLevel::District | OrgLevel::Bloc));
            }
            for (i, c) in tree.committees.iter().enumerate() {
                match c.parent {
                    None => assert_eq!(c.level, OrgLevel::Province),
                    Some(p) => {
                        assert!(p < i && tree.committees[p].level < c.level, "{} sits under a higher level", c.id)
                    }
                }
            }
        }
    }

    #[test]
    fn a_small_province_still_has_chi_bo_3_and_a_sao() {
        let tree = layout(6);
        let ids: Vec<_> = tree.cells.iter().map(|c| c.id.as_str()).collect();
        assert!(ids.contains(&"bv-nhi-chi-bo-3") && ids.contains(&"an-thai-a-sao"), "{ids:?}");
        assert!(tree.committee(BLOC).is_some() && tree.committee(QUYNH_PHU).is_some());
        let big = layout(150);
        let districts = big.committees.iter().filter(|c| c.level == OrgLevel::District).count();
        assert_eq!(districts, 4);
        assert!(big.cells.iter().any(|c| big.committees[c.parent].level == OrgLevel::District));
    }
}
