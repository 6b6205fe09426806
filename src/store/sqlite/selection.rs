//! Who a selection takes: the queries of [`Page`] run on SQLite.

use super::SqliteStore;
use crate::domain::Selection;
use crate::store::selection::Page;
use crate::store::{Recipient, Result};
use sqlx::sqlite::SqliteRow;

impl SqliteStore {
    /// Completes a page of contacts read with [`push_selection`](crate::store::selection::push_selection)
    /// as `selection` gives them, or read by id (`None`).
    pub(super) async fn complete_page(
        &self,
        rows: Vec<SqliteRow>,
        selection: Option<&Selection>,
    ) -> Result<Vec<Recipient>> {
        let Some(page) = Page::of(&rows, selection)? else {
            return Ok(Vec::new());
        };
        let appointments = page.appointments().build().fetch_all(&self.pool).await?;
        let affected = match page.affected_patients() {
            Some(mut query) => query.build().fetch_all(&self.pool).await?,
            None => Vec::new(),
        };
        let languages = match page.patient_languages() {
            Some(mut query) => query.build().fetch_all(&self.pool).await?,
            None => Vec::new(),
        };
        let optouts = page.optouts().build().fetch_all(&self.pool).await?;
        page.recipients(&appointments, &affected, &languages, &optouts)
    }
}
