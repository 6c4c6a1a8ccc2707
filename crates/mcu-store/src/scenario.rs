//! Scenario steps (R1): which agenda item of a booked conference is current,
//! and since when. Rows are only inserted; the history gives the time used
//! on each item.

use sqlx::Row;

use crate::{Store, StoreError, foreign_key_violation};

/// One step through a conference's agenda.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioStep {
    /// When (Unix ms).
    pub at_ms: i64,
    /// The agenda item made current (0-based position).
    pub position: i64,
    /// Who stepped.
    pub actor: String,
}

impl Store {
    /// Records a step to agenda item `position`.
    pub async fn add_scenario_step(
        &self,
        conference_id: &str,
        step: &ScenarioStep,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO scenario_steps (conference_id, at_ms, position, actor) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(conference_id)
        .bind(step.at_ms)
        .bind(step.position)
        .bind(&step.actor)
        .execute(&self.pool)
        .await
        .map_err(|e| {
            if foreign_key_violation(&e) {
                StoreError::NotFound(format!("conference {conference_id}"))
            } else {
                e.into()
            }
        })?;
        Ok(())
    }

    /// A conference's steps, oldest first.
    pub async fn scenario_steps(
        &self,
        conference_id: &str,
    ) -> Result<Vec<ScenarioStep>, StoreError> {
        let rows = sqlx::query(
            "SELECT at_ms, position, actor FROM scenario_steps \
             WHERE conference_id = $1 ORDER BY id",
        )
        .bind(conference_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ScenarioStep {
                    at_ms: r.try_get("at_ms")?,
                    position: r.try_get("position")?,
                    actor: r.try_get("actor")?,
                })
            })
            .collect()
    }
}
