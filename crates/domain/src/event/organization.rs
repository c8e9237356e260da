//! Organizations and members: the party tree, who belongs to which cell, and in what role.

use crate::error::{InvalidField, Result};
use crate::id::{Id, StreamName};
use crate::text::limit;
use crate::time::Date;

use super::{bounded_text, required_text};

named_enum! {
    /// The level of an organization in the party tree.
    pub enum OrgLevel {
        /// Tỉnh ủy: a provincial committee, the root of a tree.
        Province = "province",
        /// Đảng bộ Khối: a bloc committee.
        Bloc = "bloc",
        /// Huyện ủy: a district committee.
        District = "district",
        /// Đảng bộ cơ sở: a grassroots committee (a hospital, a company, a commune).
        Grassroots = "grassroots",
        /// Chi bộ: a cell, the smallest unit.
        Cell = "cell",
    }
}

named_enum! {
    /// How a member joins or leaves a cell.
    pub enum MembershipChange {
        /// Admitted to the party (kết nạp).
        Admitted = "admitted",
        /// Transferred in from another cell.
        TransferredIn = "transferred_in",
        /// Transferred out to another cell.
        TransferredOut = "transferred_out",
        /// Removed from the rolls (xóa tên) or expelled.
        Removed = "removed",
        /// Died.
        Deceased = "deceased",
    }
}

impl MembershipChange {
    /// The ways of joining a cell: what [`MemberJoinedFields::how`] may be.
    pub const JOINING: &'static [Self] = &[Self::Admitted, Self::TransferredIn];
    /// The ways of leaving a cell: what [`MemberLeftFields::how`] may be.
    pub const LEAVING: &'static [Self] = &[Self::TransferredOut, Self::Removed, Self::Deceased];

    /// Whether the change moves the member between cells, and so names the other cell.
    pub fn is_transfer(self) -> bool {
        matches!(self, Self::TransferredIn | Self::TransferredOut)
    }
}

named_enum! {
    /// A member's role in the cell.
    pub enum MemberRole {
        /// Bí thư: the cell secretary.
        Secretary = "secretary",
        /// Phó bí thư: the deputy secretary.
        DeputySecretary = "deputy_secretary",
        /// Chi ủy viên: a member of the cell committee.
        CommitteeMember = "committee_member",
        /// Đảng viên: an ordinary member.
        Member = "member",
    }
}

/// The fields of an [`OrganizationRegistered`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationRegisteredFields {
    /// The new organization.
    pub org_id: Id,
    /// The committee it belongs to; `None` exactly for a province, the root of a tree.
    pub parent_id: Option<Id>,
    /// Where it sits in the tree.
    pub level: OrgLevel,
    /// Its name.
    pub name: String,
    /// For a cell, the kind of unit (`hospital`, `commune`, ...); may be empty. Empty for
    /// every other level.
    pub cell_type: String,
}

checked! {
    /// An organization (a committee or a cell) joins the party tree. Recorded in the
    /// organization's own stream: `cell-{org_id}` for a cell, `org-{org_id}` otherwise.
    pub struct OrganizationRegistered(OrganizationRegisteredFields);
}

impl OrganizationRegisteredFields {
    fn check(&self) -> Result<()> {
        let Self { org_id, parent_id, level, name, cell_type } = self;
        match (level, parent_id) {
            (OrgLevel::Province, Some(_)) => {
                return Err(InvalidField::new(
                    "parent_id",
                    "is set, but a province is the root of its tree and has no parent",
                ));
            }
            (OrgLevel::Province, None) => {}
            (_, None) => {
                return Err(InvalidField::new(
                    "parent_id",
                    format!("is empty; a {level} belongs to a parent committee"),
                ));
            }
            (_, Some(parent)) if parent == org_id => {
                return Err(InvalidField::new("parent_id", "is the organization's own id"));
            }
            (_, Some(_)) => {}
        }
        required_text("name", name, limit::NAME)?;
        if *level != OrgLevel::Cell && !cell_type.is_empty() {
            return Err(InvalidField::new(
                "cell_type",
                format!("is set, but only a cell has a cell type (level is {level})"),
            ));
        }
        bounded_text("cell_type", cell_type, limit::LABEL)
    }
}

impl OrganizationRegistered {
    /// The stream rule of [`super::Event::check_stream`] for this event, which depends on the
    /// payload: the stream must be the organization's own.
    pub(super) fn check_stream(&self, stream: &StreamName) -> Result<()> {
        let is_cell = self.level == OrgLevel::Cell;
        let fits = match stream {
            StreamName::Cell(id) => is_cell && *id == self.org_id,
            StreamName::Org(id) => !is_cell && *id == self.org_id,
            StreamName::Checkpoints | StreamName::Credentials => false,
        };
        if fits {
            return Ok(());
        }
        let prefix = if is_cell { "cell" } else { "org" };
        Err(InvalidField::new(
            "stream",
            format!(
                "OrganizationRegistered of {} \"{}\" belongs in {prefix}-{}, not {stream}",
                self.level, self.org_id, self.org_id
            ),
        ))
    }
}

/// The rules `how` and `transfer_cell_id` share in [`MemberJoined`] and [`MemberLeft`].
fn check_change(
    how: MembershipChange,
    allowed: &[MembershipChange],
    verb: &str,
    transfer_cell_id: Option<&Id>,
) -> Result<()> {
    if !allowed.contains(&how) {
        return Err(InvalidField::new(
            "how",
            format!("{how} is not a way to {verb} a cell; {}", MembershipChange::expected_one_of(allowed)),
        ));
    }
    match (how.is_transfer(), transfer_cell_id) {
        (true, None) => {
            Err(InvalidField::new("transfer_cell_id", format!("is empty; a member {how} names the other cell")))
        }
        (false, Some(_)) => Err(InvalidField::new(
            "transfer_cell_id",
            format!("is set, but only a transfer names another cell (how is {how})"),
        )),
        _ => Ok(()),
    }
}

/// The fields of a [`MemberJoined`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberJoinedFields {
    /// The member.
    pub member_id: Id,
    /// The member's full name.
    pub name: String,
    /// The day the member joined.
    pub date: Date,
    /// [`MembershipChange::Admitted`] or [`MembershipChange::TransferredIn`].
    pub how: MembershipChange,
    /// For a transfer, the cell the member came from; otherwise `None`.
    pub transfer_cell_id: Option<Id>,
}

checked! {
    /// A member joins the cell. Recorded in the cell's stream.
    pub struct MemberJoined(MemberJoinedFields);
}

impl MemberJoinedFields {
    fn check(&self) -> Result<()> {
        let Self { member_id: _, name, date: _, how, transfer_cell_id } = self;
        required_text("name", name, limit::NAME)?;
        check_change(*how, MembershipChange::JOINING, "join", transfer_cell_id.as_ref())
    }
}

/// The fields of a [`MemberLeft`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberLeftFields {
    /// The member.
    pub member_id: Id,
    /// The day the member left.
    pub date: Date,
    /// [`MembershipChange::TransferredOut`], [`MembershipChange::Removed`] or
    /// [`MembershipChange::Deceased`].
    pub how: MembershipChange,
    /// For a transfer, the cell the member goes to; otherwise `None`.
    pub transfer_cell_id: Option<Id>,
    /// Why, if there is more to say; may be empty.
    pub reason: String,
}

checked! {
    /// A member leaves the cell. Recorded in the cell's stream.
    pub struct MemberLeft(MemberLeftFields);
}

impl MemberLeftFields {
    fn check(&self) -> Result<()> {
        let Self { member_id: _, date: _, how, transfer_cell_id, reason } = self;
        check_change(*how, MembershipChange::LEAVING, "leave", transfer_cell_id.as_ref())?;
        bounded_text("reason", reason, limit::PARAGRAPH)
    }
}

/// The fields of a [`MemberRoleAssigned`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRoleAssignedFields {
    /// The member.
    pub member_id: Id,
    /// The role the member holds from `date` on.
    pub role: MemberRole,
    /// The day the role starts.
    pub date: Date,
}

checked! {
    /// A member takes a role in the cell. Recorded in the cell's stream.
    pub struct MemberRoleAssigned(MemberRoleAssignedFields);
}

impl MemberRoleAssignedFields {
    fn check(&self) -> Result<()> {
        // Every field's type already holds only valid values.
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::event::tests::{date, err, id, pair};

    fn cell() -> OrganizationRegisteredFields {
        OrganizationRegisteredFields {
            org_id: id("tan-hoa"),
            parent_id: Some(id("thaibinh")),
            level: OrgLevel::Cell,
            name: "Chi bộ ấp Tân Hoà".into(),
            cell_type: "commune".into(),
        }
    }

    pub(crate) fn organization_registered() -> OrganizationRegistered {
        OrganizationRegistered::new(cell()).unwrap()
    }

    fn joined() -> MemberJoinedFields {
        MemberJoinedFields {
            member_id: id("nguyen-van-a"),
            name: "Nguyễn Văn A".into(),
            date: date("2024-03-01"),
            how: MembershipChange::Admitted,
            transfer_cell_id: None,
        }
    }

    pub(crate) fn member_joined() -> MemberJoined {
        MemberJoined::new(joined()).unwrap()
    }

    fn left() -> MemberLeftFields {
        MemberLeftFields {
            member_id: id("nguyen-van-a"),
            date: date("2025-06-30"),
            how: MembershipChange::TransferredOut,
            transfer_cell_id: Some(id("dong-hai")),
            reason: "chuyển công tác".into(),
        }
    }

    pub(crate) fn member_left() -> MemberLeft {
        MemberLeft::new(left()).unwrap()
    }

    pub(crate) fn member_role_assigned() -> MemberRoleAssigned {
        MemberRoleAssigned::new(MemberRoleAssignedFields {
            member_id: id("nguyen-van-a"),
            role: MemberRole::Secretary,
            date: date("2024-04-01"),
        })
        .unwrap()
    }

    #[test]
    fn organizations_sit_in_the_tree() {
        assert_eq!(organization_registered().name, "Chi bộ ấp Tân Hoà");
        let province = OrganizationRegisteredFields {
            org_id: id("thaibinh"),
            parent_id: None,
            level: OrgLevel::Province,
            name: "Tỉnh ủy Thái Bình".into(),
            cell_type: String::new(),
        };
        assert!(OrganizationRegistered::new(province.clone()).is_ok());

        let with_parent = OrganizationRegisteredFields { parent_id: Some(id("vn")), ..province };
        assert_eq!(
            err(OrganizationRegistered::new(with_parent)),
            pair("parent_id", "is set, but a province is the root of its tree and has no parent")
        );
        let orphan = OrganizationRegisteredFields { parent_id: None, ..cell() };
        assert_eq!(
            err(OrganizationRegistered::new(orphan)),
            pair("parent_id", "is empty; a cell belongs to a parent committee")
        );
        let own_parent = OrganizationRegisteredFields { parent_id: Some(id("tan-hoa")), ..cell() };
        assert_eq!(err(OrganizationRegistered::new(own_parent)), pair("parent_id", "is the organization's own id"));
        let unnamed = OrganizationRegisteredFields { name: " ".into(), ..cell() };
        assert_eq!(err(OrganizationRegistered::new(unnamed)), pair("name", "is empty"));
        let typed_district = OrganizationRegisteredFields { level: OrgLevel::District, ..cell() };
        assert_eq!(
            err(OrganizationRegistered::new(typed_district)),
            pair("cell_type", "is set, but only a cell has a cell type (level is district)")
        );
        let long_type = OrganizationRegisteredFields { cell_type: "x".repeat(129), ..cell() };
        assert_eq!(err(OrganizationRegistered::new(long_type)).0, "cell_type");
        let untyped_cell = OrganizationRegisteredFields { cell_type: String::new(), ..cell() };
        assert!(OrganizationRegistered::new(untyped_cell).is_ok());
    }

    #[test]
    fn members_join_by_admission_or_transfer() {
        assert_eq!(member_joined().how, MembershipChange::Admitted);
        let transfer = MemberJoinedFields {
            how: MembershipChange::TransferredIn,
            transfer_cell_id: Some(id("dong-hai")),
            ..joined()
        };
        assert!(MemberJoined::new(transfer.clone()).is_ok());

        let leaving = MemberJoinedFields { how: MembershipChange::Deceased, ..joined() };
        assert_eq!(
            err(MemberJoined::new(leaving)),
            pair("how", "deceased is not a way to join a cell; expected admitted or transferred_in")
        );
        let nowhere = MemberJoinedFields { transfer_cell_id: None, ..transfer };
        assert_eq!(
            err(MemberJoined::new(nowhere)),
            pair("transfer_cell_id", "is empty; a member transferred_in names the other cell")
        );
        let admitted_from = MemberJoinedFields { transfer_cell_id: Some(id("x")), ..joined() };
        assert_eq!(
            err(MemberJoined::new(admitted_from)),
            pair("transfer_cell_id", "is set, but only a transfer names another cell (how is admitted)")
        );
        let unnamed = MemberJoinedFields { name: String::new(), ..joined() };
        assert_eq!(err(MemberJoined::new(unnamed)), pair("name", "is empty"));
    }

    #[test]
    fn members_leave_by_transfer_removal_or_death() {
        assert_eq!(member_left().how, MembershipChange::TransferredOut);
        let removed = MemberLeftFields { how: MembershipChange::Removed, transfer_cell_id: None, ..left() };
        assert!(MemberLeft::new(removed.clone()).is_ok());

        let joining = MemberLeftFields { how: MembershipChange::Admitted, ..removed.clone() };
        assert_eq!(
            err(MemberLeft::new(joining)),
            pair("how", "admitted is not a way to leave a cell; expected transferred_out, removed or deceased")
        );
        let nowhere = MemberLeftFields { transfer_cell_id: None, ..left() };
        assert_eq!(err(MemberLeft::new(nowhere)).0, "transfer_cell_id");
        let removed_to = MemberLeftFields { transfer_cell_id: Some(id("x")), ..removed.clone() };
        assert_eq!(err(MemberLeft::new(removed_to)).0, "transfer_cell_id");
        let rambling = MemberLeftFields { reason: "x".repeat(4097), ..removed };
        assert_eq!(err(MemberLeft::new(rambling)), pair("reason", "is 4097 bytes long; the limit is 4096 bytes"));
    }

    #[test]
    fn roles_are_plain_data() {
        assert_eq!(member_role_assigned().role, MemberRole::Secretary);
        assert_eq!(MemberRole::DeputySecretary.to_string(), "deputy_secretary");
    }
}
