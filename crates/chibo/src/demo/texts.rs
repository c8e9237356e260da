//! What the minutes say: the Vietnamese wording of reasons, topics, speeches, tasks and
//! findings, by kind of unit.

use super::tree::Unit;

pub fn excuses(unit: Unit) -> &'static [&'static str] {
    match unit {
        Unit::Hospital => {
            &["Trực cấp cứu", "Trực khoa", "Đi học chuyên khoa", "Ốm, có giấy nghỉ ốm", "Nghỉ chế độ thai sản"]
        }
        Unit::Agency => {
            &["Đi công tác", "Đi học lớp bồi dưỡng", "Ốm, có giấy nghỉ ốm", "Việc gia đình, đã báo cáo chi ủy"]
        }
        Unit::Village | Unit::Ward => {
            &["Ốm", "Đi làm ăn xa", "Việc gia đình, đã báo cáo bí thư", "Tuổi cao, sức yếu", "Chăm người nhà nằm viện"]
        }
        Unit::Enterprise => &["Làm ca", "Đi công tác", "Ốm, có giấy nghỉ ốm", "Nghỉ chế độ thai sản"],
    }
}

pub const SPEECHES: &[&str] = &[
    "Đồng tình với dự thảo báo cáo; đề nghị bổ sung giải pháp cụ thể cho nhiệm vụ tháng tới",
    "Phân tích nguyên nhân của hạn chế, đề xuất phân công đảng viên theo dõi từng việc",
    "Đề nghị chi bộ chú trọng kiểm tra việc thực hiện nghị quyết tháng trước",
    "Báo cáo kết quả nhiệm vụ được giao, nêu khó khăn và kiến nghị",
    "Góp ý về phong cách, lề lối làm việc; đề nghị phát huy vai trò nêu gương",
    "Đề xuất nội dung học tập nghị quyết trên ứng dụng Sổ tay đảng viên điện tử",
    "Thống nhất với các chỉ tiêu, đề nghị gắn trách nhiệm người đứng đầu",
    "Liên hệ bản thân, nhận rõ ưu điểm, khuyết điểm trong tháng",
    "Đề nghị biểu dương đảng viên có thành tích tiêu biểu trong tháng",
];

pub fn local_speeches(unit: Unit) -> &'static [&'static str] {
    match unit {
        Unit::Hospital => &[
            "Đề xuất giải pháp nâng cao chất lượng khám, chữa bệnh và giảm thời gian chờ của người bệnh",
            "Nêu kết quả thực hiện quy tắc ứng xử, đổi mới phong cách, thái độ phục vụ",
        ],
        Unit::Agency => &[
            "Đề xuất đẩy mạnh chuyển đổi số, giải quyết hồ sơ đúng hạn",
            "Nêu kết quả cải cách hành chính và kỷ luật, kỷ cương công vụ",
        ],
        Unit::Village | Unit::Ward => &[
            "Báo cáo tình hình an ninh trật tự, vệ sinh môi trường trong khu dân cư",
            "Đề xuất vận động nhân dân tham gia xây dựng nông thôn mới kiểu mẫu",
        ],
        Unit::Enterprise => &[
            "Đề xuất biện pháp bảo đảm an toàn lao động và tiến độ đơn hàng",
            "Nêu kết quả thi đua lao động sản xuất, chăm lo đời sống người lao động",
        ],
    }
}

pub const COMMENDATIONS: &[&str] = &[
    "Hoàn thành xuất sắc nhiệm vụ được giao trong tháng",
    "Tích cực học tập nghị quyết, dẫn đầu chi bộ về điểm học tập trên ứng dụng",
    "Có sáng kiến cải tiến được đơn vị ghi nhận",
    "Gương mẫu, tận tụy, được quần chúng tín nhiệm",
    "Hoàn thành nhiệm vụ trước thời hạn",
];

pub const REMINDER_ABSENCE: &str = "Vắng sinh hoạt chi bộ kỳ trước không có lý do chính đáng";
pub const REMINDER_LATE_TASK: &str = "Chậm hoàn thành nhiệm vụ chi bộ giao";
pub const REMINDER_STUDY: &str = "Chưa tích cực học tập nghị quyết trên ứng dụng Sổ tay đảng viên điện tử";

pub fn tasks(unit: Unit) -> &'static [&'static str] {
    match unit {
        Unit::Hospital => &[
            "Rà soát quy trình tiếp đón người bệnh tại khoa, báo cáo chi ủy",
            "Tổ chức tập huấn cấp cứu nhi cho điều dưỡng mới",
            "Kiểm tra việc thực hiện quy tắc ứng xử của nhân viên y tế",
            "Hoàn thiện hồ sơ bệnh án điện tử của khoa",
            "Phụ trách khảo sát sự hài lòng của người bệnh",
        ],
        Unit::Agency => &[
            "Rà soát thủ tục hành chính thuộc lĩnh vực phụ trách",
            "Hoàn thành báo cáo chuyên đề theo kế hoạch của cơ quan",
            "Theo dõi việc giải quyết hồ sơ trực tuyến, báo cáo kết quả",
            "Chuẩn bị nội dung sinh hoạt chuyên đề quý",
        ],
        Unit::Village | Unit::Ward => &[
            "Vận động các hộ gia đình tham gia vệ sinh môi trường, làm đường hoa",
            "Nắm tình hình an ninh trật tự, báo cáo chi bộ",
            "Thăm hỏi, hỗ trợ gia đình chính sách, hộ khó khăn",
            "Vận động đóng góp quỹ xây dựng nhà văn hóa thôn",
            "Theo dõi, giúp đỡ quần chúng ưu tú phấn đấu vào Đảng",
        ],
        Unit::Enterprise => &[
            "Kiểm tra an toàn lao động tại phân xưởng",
            "Phát động thi đua hoàn thành đơn hàng đúng tiến độ",
            "Nắm tâm tư, nguyện vọng của người lao động",
            "Theo dõi, giúp đỡ quần chúng ưu tú phấn đấu vào Đảng",
        ],
    }
}

pub const TASK_OUTCOMES: &[&str] =
    &["Đã hoàn thành, báo cáo chi ủy", "Hoàn thành đạt yêu cầu", "Hoàn thành, có báo cáo kết quả"];

/// The quarter's thematic meeting topic (sinh hoạt chuyên đề), quarter 1 to 4.
pub fn theme(unit: Unit, quarter: u32) -> &'static str {
    match quarter {
        1 => "Học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh về nêu gương của cán bộ, đảng viên",
        2 => "Nâng cao chất lượng sinh hoạt chi bộ, xây dựng chi bộ kiểu mẫu",
        3 => {
            "Phát huy vai trò tiên phong, gương mẫu của đảng viên; kiểm điểm việc thực hiện cam kết tu dưỡng, rèn luyện"
        }
        _ => match unit {
            Unit::Hospital => {
                "Nâng cao y đức, đổi mới phong cách, thái độ phục vụ hướng tới sự hài lòng của người bệnh"
            }
            Unit::Agency => "Cải cách hành chính và chuyển đổi số gắn với siết chặt kỷ luật, kỷ cương công vụ",
            Unit::Village | Unit::Ward => {
                "Xây dựng nông thôn mới kiểu mẫu, khu dân cư văn hóa gắn với bảo đảm an ninh trật tự"
            }
            Unit::Enterprise => "Nâng cao năng suất lao động, bảo đảm việc làm và đời sống người lao động",
        },
    }
}

/// Documents members study in the "Sổ tay đảng viên điện tử" app.
pub const STUDY: &[&str] = &[
    "Nghị quyết Đại hội đại biểu toàn quốc lần thứ XIII của Đảng",
    "Nghị quyết số 21-NQ/TW về tăng cường củng cố, xây dựng tổ chức cơ sở đảng và nâng cao chất lượng đội ngũ đảng viên",
    "Quy định số 144-QĐ/TW về chuẩn mực đạo đức cách mạng của cán bộ, đảng viên",
    "Chỉ thị số 05-CT/TW về đẩy mạnh học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh",
    "Điều lệ Đảng Cộng sản Việt Nam",
    "Quy định số 37-QĐ/TW về những điều đảng viên không được làm",
    "Nghị quyết Đại hội Đảng bộ tỉnh Thái Bình",
    "Hướng dẫn về nâng cao chất lượng sinh hoạt chi bộ",
    "Tài liệu sinh hoạt chuyên đề của chi bộ",
    "Bản tin sinh hoạt chi bộ hằng tháng",
];

pub const CANDIDATE_COURSE: &str = "Lớp bồi dưỡng nhận thức về Đảng";

pub const TRANSFER_REASONS: &[&str] =
    &["Chuyển công tác", "Chuyển nơi cư trú", "Điều động theo quyết định của cấp trên"];
pub const REMOVAL_REASON: &str =
    "Bỏ sinh hoạt đảng ba tháng trong năm không có lý do chính đáng (Điều lệ Đảng, Điều 8); đã được nhắc nhở";
pub const DECEASED_REASON: &str = "Từ trần";

pub fn findings(met: bool, hard_failed: bool) -> &'static str {
    if hard_failed {
        "Chi bộ duy trì sinh hoạt đều, nhưng chưa có sản phẩm cụ thể theo nội dung đăng ký; chưa đạt tiêu chí cứng"
    } else if met {
        "Hồ sơ, sổ sách đầy đủ; sinh hoạt chi bộ nền nếp, có chất lượng; các nội dung đăng ký được thực hiện và có kết quả cụ thể"
    } else {
        "Sinh hoạt chi bộ cơ bản nền nếp; một số tiêu chí còn hạn chế, cần tiếp tục khắc phục"
    }
}

/// The position of a guest from committee `level`'s (a Vietnamese title).
pub fn guest_position(level: chibo_domain::event::OrgLevel) -> &'static str {
    use chibo_domain::event::OrgLevel;
    match level {
        OrgLevel::Grassroots => "Đảng ủy viên, phụ trách chi bộ",
        OrgLevel::District => "Huyện ủy viên, phụ trách địa bàn",
        OrgLevel::Bloc => "Ủy viên Ban Thường vụ Đảng ủy Khối",
        OrgLevel::Province | OrgLevel::Cell => "Cán bộ Ban Tổ chức Tỉnh ủy",
    }
}
