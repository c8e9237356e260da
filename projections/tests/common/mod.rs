//! What the projections' integration tests build their events from.

use chibo_domain::event::{OrgLevel, OrganizationRegistered, OrganizationRegisteredFields};
use chibo_domain::{Event, Id};

/// `s` as an id; the tests only use valid ones.
pub fn id(s: &str) -> Id {
    Id::parse("id", s).unwrap()
}

/// The registration of organization `org_id` under `parent`.
pub fn org(org_id: &str, parent: Option<&str>, level: OrgLevel) -> Event {
    OrganizationRegistered::new(OrganizationRegisteredFields {
        org_id: id(org_id),
        parent_id: parent.map(id),
        level,
        name: format!("Tổ chức {org_id}"),
        cell_type: String::new(),
    })
    .unwrap()
    .into()
}
