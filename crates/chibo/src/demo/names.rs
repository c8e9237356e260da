//! Vietnamese names for people and the ids made from them.

use rand::{rngs::StdRng, Rng};

/// Family names, weighted roughly by how common they are in the Red River delta.
const FAMILY: &[(&str, u32)] = &[
    ("Nguyễn", 34),
    ("Trần", 11),
    ("Phạm", 8),
    ("Vũ", 7),
    ("Lê", 7),
    ("Đỗ", 5),
    ("Bùi", 5),
    ("Hoàng", 4),
    ("Đặng", 3),
    ("Ngô", 3),
    ("Đào", 2),
    ("Phan", 2),
    ("Đinh", 2),
    ("Lương", 1),
    ("Mai", 1),
    ("Tạ", 1),
    ("Dương", 1),
    ("Cao", 1),
    ("Trịnh", 1),
    ("Hà", 1),
];

const MIDDLE_MALE: &[&str] =
    &["Văn", "Văn", "Văn", "Đức", "Minh", "Quang", "Hữu", "Thanh", "Xuân", "Ngọc", "Công", "Duy", "Mạnh", "Đình"];
const MIDDLE_FEMALE: &[&str] =
    &["Thị", "Thị", "Thị", "Thị", "Thu", "Ngọc", "Thanh", "Hồng", "Minh", "Phương", "Kim", "Bích", "Thúy"];
const GIVEN_MALE: &[&str] = &[
    "Hùng", "Dũng", "Tuấn", "Hải", "Nam", "Long", "Thắng", "Cường", "Hưng", "Sơn", "Bình", "Phong", "Quân", "Trung",
    "Hiếu", "Khánh", "Tùng", "Đạt", "Thành", "Việt", "Hoàng", "Lâm", "Tài", "Toàn", "Hiệp", "Thịnh", "Vinh", "Kiên",
    "Đông", "Huy", "Chiến", "Quyết", "Tiến", "Thuận", "Lợi",
];
const GIVEN_FEMALE: &[&str] = &[
    "Hoa", "Lan", "Hương", "Mai", "Hạnh", "Hằng", "Nga", "Thảo", "Trang", "Linh", "Huyền", "Yến", "Oanh", "Phương",
    "Thủy", "Hà", "Dung", "Loan", "Nhung", "Vân", "Quyên", "Liên", "Hiền", "Tuyết", "Nhàn", "Xuân", "Thơm", "Thúy",
];

/// A random full name: family, middle and given name.
pub fn person(rng: &mut StdRng) -> String {
    let total: u32 = FAMILY.iter().map(|(_, w)| w).sum();
    let mut pick = rng.gen_range(0..total);
    let family = FAMILY
        .iter()
        .find(|(_, w)| {
            if pick < *w {
                true
            } else {
                pick -= w;
                false
            }
        })
        .map_or("Nguyễn", |(name, _)| name);
    let (middle, given) = if rng.gen_bool(0.5) { (MIDDLE_MALE, GIVEN_MALE) } else { (MIDDLE_FEMALE, GIVEN_FEMALE) };
    format!("{family} {} {}", pick_one(rng, middle), pick_one(rng, given))
}

pub fn pick_one<'a, T: ?Sized>(rng: &mut StdRng, list: &[&'a T]) -> &'a T {
    list[rng.gen_range(0..list.len())]
}

/// `text` as an id: lowercase ASCII, Vietnamese letters without their marks, words joined by
/// `-`. "Chi bộ thôn A Sào" → `chi-bo-thon-a-sao`.
pub fn slug(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        match plain(c) {
            Some(c) => out.push(c),
            None if !out.is_empty() && !out.ends_with('-') => out.push('-'),
            None => {}
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// The ASCII letter or digit behind a lowercase Vietnamese letter; `None` for anything else.
fn plain(c: char) -> Option<char> {
    const MARKED: &[(char, &str)] = &[
        ('a', "àáạảãâầấậẩẫăằắặẳẵ"),
        ('e', "èéẹẻẽêềếệểễ"),
        ('i', "ìíịỉĩ"),
        ('o', "òóọỏõôồốộổỗơờớợởỡ"),
        ('u', "ùúụủũưừứựửữ"),
        ('y', "ỳýỵỷỹ"),
        ('d', "đ"),
    ];
    if c.is_ascii_lowercase() || c.is_ascii_digit() {
        return Some(c);
    }
    MARKED.iter().find(|(_, marked)| marked.contains(c)).map(|(base, _)| *base)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn slugs_drop_the_marks() {
        assert_eq!(slug("Chi bộ thôn A Sào"), "chi-bo-thon-a-sao");
        assert_eq!(slug("Đảng bộ Bệnh viện Nhi Thái Bình"), "dang-bo-benh-vien-nhi-thai-binh");
        assert_eq!(slug("Khoa Hồi sức – Chống độc (ICU)"), "khoa-hoi-suc-chong-doc-icu");
        assert_eq!(slug("Nguyễn Thị Thủy"), "nguyen-thi-thuy");
    }

    #[test]
    fn names_have_three_parts_and_slug_cleanly() {
        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..200 {
            let name = person(&mut rng);
            assert_eq!(name.split(' ').count(), 3, "{name}");
            assert!(chibo_domain::Id::parse("id", &slug(&name)).is_ok(), "{name}");
        }
    }
}
