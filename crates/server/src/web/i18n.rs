//! The dashboard's words in Vietnamese (the default) and English. Each key is declared once
//! with both texts, so a key without one of them does not compile; the tests check that none
//! is empty. The language comes from `?lang=` (which a cookie then remembers), else from the
//! `lang` cookie, else Vietnamese.

use axum::http::{header, HeaderMap};
use chibo_domain::event::{OrgLevel, Role};

/// A language of the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Tiếng Việt.
    Vi,
    /// English.
    En,
}

/// The cookie that remembers the language.
pub const COOKIE: &str = "lang";

impl Lang {
    /// `vi` or `en`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }

    /// The language a code names.
    pub fn parse(code: &str) -> Option<Lang> {
        match code {
            "vi" => Some(Lang::Vi),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The language of a request: `asked` (a `?lang=` value), else its `lang` cookie, else
    /// Vietnamese.
    pub fn of(headers: &HeaderMap, asked: Option<&str>) -> Lang {
        asked.and_then(Lang::parse).unwrap_or_else(|| {
            headers
                .get_all(header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(|c| super::session::cookie(c, COOKIE).and_then(Lang::parse))
                .unwrap_or(Lang::Vi)
        })
    }

    /// The language the switch offers.
    pub fn other(self) -> Lang {
        match self {
            Lang::Vi => Lang::En,
            Lang::En => Lang::Vi,
        }
    }

    /// The text of `key`.
    pub fn t(self, key: Key) -> &'static str {
        let (vi, en) = key.texts();
        match self {
            Lang::Vi => vi,
            Lang::En => en,
        }
    }

    fn pick(self, vi: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Vi => vi,
            Lang::En => en,
        }
    }

    /// Months, short: T1… / Jan…
    pub fn months_short(self) -> [&'static str; 12] {
        match self {
            Lang::Vi => ["T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "T10", "T11", "T12"],
            Lang::En => ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
        }
    }

    /// Month `m` (1 to 12), long.
    pub fn month_long(self, m: u8) -> &'static str {
        const VI: [&str; 12] = [
            "Tháng 1",
            "Tháng 2",
            "Tháng 3",
            "Tháng 4",
            "Tháng 5",
            "Tháng 6",
            "Tháng 7",
            "Tháng 8",
            "Tháng 9",
            "Tháng 10",
            "Tháng 11",
            "Tháng 12",
        ];
        const EN: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        let i = usize::from(m.clamp(1, 12) - 1);
        self.pick(VI[i], EN[i])
    }

    /// A level of the organization tree.
    pub fn level(self, level: OrgLevel) -> &'static str {
        match level {
            OrgLevel::Province => self.pick("Tỉnh ủy", "provincial committee"),
            OrgLevel::Bloc => self.pick("Đảng bộ Khối", "bloc committee"),
            OrgLevel::District => self.pick("Huyện ủy", "district committee"),
            OrgLevel::Grassroots => self.pick("Đảng bộ cơ sở", "grassroots committee"),
            OrgLevel::Cell => self.pick("Chi bộ", "cell"),
        }
    }

    /// A principal's role.
    pub fn role(self, role: Role) -> &'static str {
        match role {
            Role::Recorder => self.pick("người ghi sổ", "recorder"),
            Role::Committee => self.pick("cấp ủy", "committee"),
            Role::Inspector => self.pick("kiểm tra", "inspector"),
            Role::Member => self.pick("đảng viên", "member"),
            Role::Admin => self.pick("quản trị", "admin"),
        }
    }

    /// A programme status or a decision: registered, selected, certified, revoked, inspected.
    pub fn status(self, status: &str) -> &'static str {
        match status {
            "registered" => self.pick("Đã đăng ký", "Registered"),
            "selected" => self.pick("Được lựa chọn", "Selected"),
            "certified" => self.pick("Được công nhận", "Certified"),
            "revoked" => self.pick("Bị thu hồi công nhận", "Certification revoked"),
            "inspected" => self.pick("Kiểm tra", "Inspected"),
            _ => self.pick("Khác", "Other"),
        }
    }

    /// A meeting's kind.
    pub fn meeting_kind(self, kind: &str) -> &'static str {
        match kind {
            "regular" => self.pick("Định kỳ", "Regular"),
            "thematic" => self.pick("Chuyên đề", "Thematic"),
            "extraordinary" => self.pick("Bất thường", "Extraordinary"),
            _ => self.pick("Khác", "Other"),
        }
    }

    /// A meeting score band id of the default rubric.
    pub fn band(self, band: &str) -> &'static str {
        match band {
            "tot" => self.pick("Tốt", "Good"),
            "kha" => self.pick("Khá", "Fair"),
            "trung-binh" => self.pick("Trung bình", "Average"),
            "kem" => self.pick("Kém", "Poor"),
            _ => self.pick("Chưa chấm", "Not scored"),
        }
    }

    /// An inspection's conclusion.
    pub fn conclusion(self, conclusion: &str) -> &'static str {
        match conclusion {
            "passed" => self.pick("Đạt", "Passed"),
            "needs_improvement" => self.pick("Đạt, cần khắc phục", "Passed, needs improvement"),
            "failed" => self.pick("Không đạt", "Failed"),
            _ => self.pick("Khác", "Other"),
        }
    }

    /// A classification level.
    pub fn level_name(self, level: &str) -> &'static str {
        match level {
            "excellent" => self.pick("Hoàn thành xuất sắc nhiệm vụ", "Excellent"),
            "good" => self.pick("Hoàn thành tốt nhiệm vụ", "Good"),
            "completed" => self.pick("Hoàn thành nhiệm vụ", "Completed"),
            "not_completed" => self.pick("Không hoàn thành nhiệm vụ", "Not completed"),
            _ => self.pick("Chưa xếp loại", "Not classified"),
        }
    }
}

/// The `Set-Cookie` value that remembers `lang` for a year.
pub fn set_cookie(lang: Lang) -> String {
    format!("{COOKIE}={}; Path=/; SameSite=Strict; Max-Age=31536000", lang.code())
}

macro_rules! texts {
    ($($key:ident => $vi:literal, $en:literal;)*) => {
        /// A text of the dashboard.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Key { $(#[allow(missing_docs)] $key),* }

        impl Key {
            /// Every key.
            pub const ALL: &'static [Key] = &[$(Key::$key),*];

            /// (Vietnamese, English).
            fn texts(self) -> (&'static str, &'static str) {
                match self { $(Key::$key => ($vi, $en)),* }
            }
        }
    };
}

texts! {
    Tagline => "Sổ ghi chép chi bộ — bảng kiểm tra", "Party cell records — inspection dashboard";
    LanguageName => "Tiếng Việt", "English";
    Tree => "Cây tổ chức", "Organization tree";
    SignIn => "Đăng nhập", "Sign in";
    SignInTitle => "Đăng nhập bảng kiểm tra", "Sign in to the inspection dashboard";
    SignInLead => "Nhập mã truy cập (token) do quản trị viên cấp, như khi gọi API gRPC.", "Enter the access token your administrator issued, the same one the gRPC API takes.";
    SignInHint => "Mã chỉ dùng để đăng nhập và không được lưu; phiên đăng nhập hết hạn sau 30 phút không hoạt động.", "The token is used to sign in and is not kept; the session ends after 30 minutes without activity.";
    SignOut => "Đăng xuất", "Sign out";
    Token => "Mã truy cập", "Access token";
    TokenMissing => "token: chưa nhập mã truy cập.", "token: no token was entered.";
    TokenUnknown => "token: mã không đúng hoặc đã bị thu hồi.", "token: the token is unknown or revoked.";
    Forbidden => "Không có quyền xem trang này", "You may not see this page";
    NotFound => "Không tìm thấy", "Not found";
    BadRequest => "Yêu cầu không hợp lệ", "Bad request";
    ServerError => "Máy chủ không trả lời được", "The server could not answer";
    BackToTree => "Về cây tổ chức", "Back to the organization tree";
    FiguresCover => "Số liệu tính trên", "Figures cover";
    EventsOfTheLog => "sự kiện đầu tiên của sổ", "events of the log";
    Year => "Năm", "Year";
    Search => "Tìm tổ chức", "Find an organization";
    Find => "Tìm", "Find";
    Results => "Kết quả", "Results";
    MyStanding => "Kết quả của tôi", "My standing";
    Cells => "Chi bộ", "Cells";
    Cell => "Chi bộ", "Cell";
    Members => "Đảng viên", "Members";
    Member => "Đảng viên", "Member";
    CellsEveryMeeting => "Chi bộ họp đủ các kỳ", "Cells holding every meeting";
    Attendance => "Tỷ lệ dự họp", "Attendance";
    PointsCompliance => "Đạt điểm học tập tối thiểu", "Meeting the points minimum";
    ProgrammeStatus => "Tình hình thực hiện mô hình", "Programme status";
    NoneRecorded => "Chưa có ghi nhận nào.", "Nothing recorded.";
    CellLeaderboard => "Xếp hạng chi bộ (điểm chỉ tiêu mới nhất)", "Cells by latest indicator score";
    MemberLeaderboard => "Xếp hạng đảng viên (điểm học tập trong năm)", "Members by study points this year";
    LatestScore => "Điểm mới nhất", "Latest score";
    PointsYear => "Điểm trong năm", "Points this year";
    PointsCumulative => "Điểm tích lũy", "Points to date";
    Below => "Tổ chức trực thuộc", "Organizations below";
    Evaluation => "Đánh giá, xếp loại", "Evaluation";
    RegularMeetings => "Sinh hoạt định kỳ", "Regular meetings";
    ThematicMeetings => "Sinh hoạt chuyên đề", "Thematic meetings";
    EveryMeetingHeld => "Họp đủ các kỳ", "Every meeting held";
    Yes => "Có", "Yes";
    No => "Không", "No";
    SpeakersPerMeeting => "Người phát biểu mỗi kỳ", "Speakers per meeting";
    MeetingRules => "Quy định sinh hoạt áp dụng", "Meeting rules applied";
    Calendar => "Lịch sinh hoạt trong năm", "The year's meetings";
    NoMeeting => "Không có buổi sinh hoạt", "No meeting";
    Speakers => "Số người phát biểu", "Members who spoke";
    SpeakersShort => "phát biểu", "spoke";
    ScoreBand => "Điểm và xếp loại buổi sinh hoạt", "Meeting score and band";
    IndicatorTrend => "Điểm chỉ tiêu theo tháng", "Indicator score by month";
    NoScores => "Chưa có điểm chỉ tiêu trong năm.", "No indicator score this year.";
    Threshold => "Ngưỡng công nhận", "Certification threshold";
    Programme => "Mô hình", "Programme";
    Status => "Trạng thái", "Status";
    MembersPoints => "Điểm học tập của đảng viên theo tháng", "Members' study points by month";
    MonthlyMinimum => "Tối thiểu mỗi tháng", "Monthly minimum";
    TimesSpoke => "Số lần phát biểu", "Times spoken";
    Decisions => "Lựa chọn, kiểm tra, công nhận", "Selections, inspections, certifications";
    Decision => "quyết định", "decision";
    Score => "Điểm", "Score";
    AuditTrail => "Nhật ký kiểm tra", "Audit trail";
    MonthsUnderMinimum => "Số tháng dưới mức tối thiểu", "Months under the minimum";
    MeetingsAttended => "Số buổi dự họp", "Meetings attended";
    Excused => "Vắng có lý do", "Absent with a reason";
    Unexcused => "Vắng không lý do", "Absent without a reason";
    Commendations => "Được biểu dương", "Commendations";
    Reminders => "Bị nhắc nhở", "Reminders";
    Criticisms => "Bị phê bình", "Criticisms";
    TasksDone => "Nhiệm vụ hoàn thành", "Tasks done";
    PointsByMonth => "Điểm học tập theo tháng", "Study points by month";
    Checkpoint => "Điểm kiểm chứng (checkpoint) đã ký", "Signed checkpoint";
    Origin => "Nguồn", "Origin";
    TreeSize => "Số sự kiện trong cây", "Tree size";
    Root => "Gốc cây Merkle", "Merkle root";
    VerifierKey => "Khóa kiểm chứng", "Verifier key";
    Events => "Sự kiện", "Events";
    EventsWord => "sự kiện", "events";
    Position => "Vị trí", "Position";
    Occurred => "Thời điểm", "Occurred";
    RecordedBy => "Người ghi, lúc", "Recorded by, at";
    EventType => "Loại", "Type";
    Content => "Nội dung", "Content";
    Hash => "Mã băm", "Hash";
    Proof => "Chứng minh", "Proof";
    Corrects => "sửa sự kiện", "corrects event";
    CorrectedBelow => "[đã được sửa, xem dòng dưới]", "[corrected, see below]";
    Verified => "Đã kiểm chứng", "Verified";
    Pending => "Chưa kiểm chứng hết", "Not yet fully verified";
    Failed => "KIỂM CHỨNG THẤT BẠI", "VERIFICATION FAILED";
    ProvenEvents => "chuỗi băm nguyên vẹn, đã chứng minh thuộc checkpoint:", "hash chains intact, proven in the checkpoint:";
    RuleSet => "Bộ quy tắc", "Rule set";
    Show => "Xem", "Show";
    Organization => "Tổ chức", "Organization";
    LogSize => "Số sự kiện của sổ", "Log size";
    Digest => "Mã băm báo cáo", "Report digest";
    Summary => "Tổng hợp", "Summary";
    Classification => "Xếp loại", "Classification";
    MembersEvaluated => "Số đảng viên được đánh giá", "Members evaluated";
    FullReportHint => "Báo cáo đầy đủ (từng đảng viên) lấy bằng `chibo evaluate`; mã băm trên áp dụng cho báo cáo đó.", "The full report (every member) comes from `chibo evaluate`; the digest above is that report's.";
    PrintHint => "In trang này (Ctrl+P) để có bản A4.", "Print this page (Ctrl+P) for an A4 copy.";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_has_vietnamese_and_english() {
        for key in Key::ALL {
            let (vi, en) = key.texts();
            assert!(!vi.trim().is_empty(), "{key:?} has no Vietnamese");
            assert!(!en.trim().is_empty(), "{key:?} has no English");
        }
        // The words that differ by language do; a Vietnamese text left in English would show.
        let same: Vec<_> = Key::ALL.iter().filter(|k| k.texts().0 == k.texts().1).collect();
        assert!(same.is_empty(), "{same:?}");
    }

    #[test]
    fn every_label_family_is_translated() {
        for lang in [Lang::Vi, Lang::En] {
            assert_eq!(lang.months_short().len(), 12);
            for m in 1..=12 {
                assert!(!lang.month_long(m).is_empty());
            }
        }
        assert_ne!(Lang::Vi.level(OrgLevel::Cell), Lang::En.level(OrgLevel::Cell));
        assert_ne!(Lang::Vi.role(Role::Inspector), Lang::En.role(Role::Inspector));
        for s in ["registered", "selected", "certified", "revoked", "inspected"] {
            assert_ne!(Lang::Vi.status(s), Lang::Vi.status("unknown"), "{s}");
        }
    }

    #[test]
    fn vietnamese_is_the_default_and_query_beats_cookie() {
        let mut headers = HeaderMap::new();
        assert_eq!(Lang::of(&headers, None), Lang::Vi);
        headers.insert(header::COOKIE, "lang=en".parse().unwrap());
        assert_eq!(Lang::of(&headers, None), Lang::En);
        assert_eq!(Lang::of(&headers, Some("vi")), Lang::Vi);
        assert_eq!(Lang::of(&headers, Some("fr")), Lang::En, "an unknown language falls back to the cookie");
        assert_eq!(set_cookie(Lang::En), "lang=en; Path=/; SameSite=Strict; Max-Age=31536000");
    }
}
