//! Finding a contact by what a person types, whatever the database.

use crate::domain::{Identity, IdentityKind};
use crate::store::{Result, StoreError};

/// The contact that `key` names among the `owners` of the identities it matched: this
/// hospital's patient number first; any other identity only when it names one contact,
/// refused as [`StoreError::Ambiguous`] when it names several. None when it matched none.
pub(super) fn owner_of_key(key: &str, mut owners: Vec<(Identity, i64)>) -> Result<Option<i64>> {
    if let Some((_, id)) = owners
        .iter()
        .find(|(identity, _)| identity.kind == IdentityKind::Patient)
    {
        return Ok(Some(*id));
    }
    let mut ids: Vec<i64> = owners.iter().map(|(_, id)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    match ids.as_slice() {
        [] => Ok(None),
        [id] => Ok(Some(*id)),
        _ => {
            owners.sort();
            let which = owners
                .iter()
                .map(|(identity, _)| identity.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            Err(StoreError::Ambiguous(format!(
                "{key:?} is the id of {} contacts ({which}): say which, as written here",
                ids.len()
            )))
        }
    }
}
