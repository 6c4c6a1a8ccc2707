//! Counterpart conferences of a cascade child (R7, R8): the parent MCU
//! forwards the conferences that name this MCU's link (the daemon carries
//! them over the bookings subscription), and [`follow`] opens a local
//! counterpart for each and moves it through the parent's phases.
//!
//! A counterpart opened here is created by `cascade:<parent>`, has the
//! parent conference's id and title, names its link up, and lists this
//! MCU's own rooms (directory entries whose `owner_mcu` is this MCU) except
//! those taking part in another conference that is not over (R2: rooms of
//! concurrent conferences never overlap); the local operators name the
//! links further down, as for any conference. It follows the parent's phase forward only (the
//! rehearsal opens its media, so the link is up with the parent's
//! rehearsal) and ends when the parent's conference is over or no longer
//! names this MCU. A counterpart an operator made by hand (the same id
//! naming the parent, or naming the parent's conference id on its link) is
//! recognised and left to its operators.

use mcu_store::{Conference, ConferenceLink, ConferenceState};

use crate::ControlState;
use crate::phase::{enter, step, write_logbook};
use crate::routes::logbook::state_vi;

/// Layout of a counterpart's local view until its operators choose one:
/// the parent's picture large, the local rooms beside it.
const COUNTERPART_LAYOUT: &str = "1+7";

/// A conference of the parent MCU that names this MCU's link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invitation {
    /// The parent's conference id.
    pub conference: String,
    /// Its title.
    pub title: String,
    /// Its phase on the parent.
    pub state: ConferenceState,
}

/// The actor of what the parent MCU `parent` does here.
pub fn actor(parent: &str) -> String {
    format!("cascade:{parent}")
}

/// Whether `c` is this MCU's counterpart of the parent's conference `remote`.
fn is_counterpart(c: &Conference, parent: &str, remote: &str) -> bool {
    c.links
        .iter()
        .any(|l| l.mcu == parent && l.remote_conference.as_deref().unwrap_or(&c.id) == remote)
}

/// Brings the counterparts of `parent`'s conferences in line with
/// `invited`, the whole list the parent sent: opens the missing ones, moves
/// those it opened to the parent's phase, ends those whose parent conference
/// is over or gone. Errors are logged; one conference that cannot move does
/// not hold back the others. Returns the ids it created or moved.
pub async fn follow(
    s: &ControlState,
    me: &str,
    parent: &str,
    invited: &[Invitation],
) -> Vec<String> {
    let who = actor(parent);
    let mut changed = Vec::new();
    let local = match s.store.list_conferences().await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "counterparts not checked: store unreadable");
            return changed;
        }
    };
    for inv in invited {
        let c = match local
            .iter()
            .find(|c| !c.state.is_over() && is_counterpart(c, parent, &inv.conference))
        {
            Some(c) => c.clone(),
            None => {
                if local
                    .iter()
                    .any(|c| c.state.is_over() && is_counterpart(c, parent, &inv.conference))
                {
                    continue; // ended here (by an operator): not opened again
                }
                if local.iter().any(|c| c.id == inv.conference) {
                    tracing::warn!(
                        conference = inv.conference,
                        parent,
                        "a local conference has the id of the parent's but is not its counterpart: none opened"
                    );
                    continue;
                }
                match open(s, me, parent, inv, &local).await {
                    Some(c) => {
                        changed.push(c.id.clone());
                        c
                    }
                    None => continue,
                }
            }
        };
        if c.created_by != who {
            continue; // an operator's counterpart: theirs to move
        }
        let target = if inv.state.is_over() {
            ConferenceState::Ended
        } else {
            inv.state
        };
        if move_to(s, parent, &c, target).await {
            changed.push(c.id.clone());
        }
    }
    // Counterparts whose parent conference ended, was deleted or stopped
    // naming this MCU.
    for c in &local {
        let gone = !invited
            .iter()
            .any(|i| is_counterpart(c, parent, &i.conference));
        if c.created_by == who
            && gone
            && !c.state.is_over()
            && move_to(s, parent, c, ConferenceState::Ended).await
        {
            changed.push(c.id.clone());
        }
    }
    changed
}

/// Creates the counterpart of `inv` (audited as the parent's action) with
/// the rooms of MCU `me` that no conference of `local` holds.
async fn open(
    s: &ControlState,
    me: &str,
    parent: &str,
    inv: &Invitation,
    local: &[Conference],
) -> Option<Conference> {
    let layouts = s.live.layouts();
    let layout = if layouts.iter().any(|l| l == COUNTERPART_LAYOUT) {
        COUNTERPART_LAYOUT.to_owned()
    } else {
        layouts.first()?.clone()
    };
    let busy = |e: &str| {
        local
            .iter()
            .any(|c| !c.state.is_over() && c.participants.iter().any(|p| p == e))
    };
    let participants = match s.store.list_endpoints().await {
        Ok(all) => {
            let mut ids: Vec<String> = all
                .into_iter()
                .filter(|e| e.owner_mcu == me && !busy(&e.id))
                .map(|e| e.id)
                .collect();
            ids.sort();
            ids
        }
        Err(e) => {
            tracing::warn!(error = %e, "counterpart not opened: directory unreadable");
            return None;
        }
    };
    let c = Conference {
        id: inv.conference.clone(),
        title: inv.title.clone(),
        chair: None,
        layout,
        state: ConferenceState::Created,
        created_by: actor(parent),
        created_at: s.now_ms(),
        started_at: None,
        ended_at: None,
        participants,
        links: vec![ConferenceLink {
            mcu: parent.to_owned(),
            remote_conference: None,
        }],
    };
    let target = format!("conference/{}", c.id);
    let details = serde_json::json!({ "title": c.title, "layout": c.layout, "participants": c.participants, "links": [parent], "counterpart_of": parent });
    match s.store.create_conference(&c).await {
        Ok(()) => {
            tracing::info!(
                conference = c.id,
                parent,
                "counterpart conference opened for the parent's"
            );
            s.audit(
                (&actor(parent), "cascade"),
                "-",
                "conference.create",
                &target,
                &details,
                "ok",
            )
            .await;
            Some(c)
        }
        Err(e) => {
            tracing::warn!(conference = c.id, parent, error = %e, "counterpart conference not opened");
            None
        }
    }
}

/// Moves the counterpart `c` forward to `to` (nothing when it is there or
/// past it); true when it moved.
async fn move_to(s: &ControlState, parent: &str, c: &Conference, to: ConferenceState) -> bool {
    let Some(to) = step(c.state, to) else {
        return false;
    };
    match enter(s, c, to).await {
        Ok(true) => {
            tracing::info!(conference = c.id, parent, from = %c.state, to = %to, "counterpart follows the parent's phase");
            let text = format!(
                "Chuyển giai đoạn theo MCU cấp trên ({parent}): {} → {}",
                state_vi(c.state),
                state_vi(to)
            );
            write_logbook(s, &c.id, s.now_ms(), &actor(parent), text, to).await;
            true
        }
        Ok(false) => false,
        Err(e) => {
            tracing::warn!(conference = c.id, parent, to = %to, error = %e.message, "counterpart phase change failed");
            false
        }
    }
}
