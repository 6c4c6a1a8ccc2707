//! Booking notices (R9): the messages a booking's approval, change or
//! cancellation puts in the outbox, one per contact of each participating
//! endpoint and channel, in Vietnamese, with the times in Vietnam's civil
//! time (UTC+7, `dd/mm/yyyy HH:mm`).
//!
//! Every contact gets a `webhook` message (the webhook receiver relays it:
//! SMS gateway, the province's messaging system); a contact with an e-mail
//! address also gets an `email` message. An endpoint without contacts still
//! gets one `webhook` message addressed to the endpoint itself, so no site
//! is left out. Whether delivery is configured does not matter here: the
//! outbox keeps every message until it is delivered.
//!
//! A change of an approved booking ([`change_notices`]) is announced to every
//! endpoint of the booking before *and* after the change: those that stay
//! or were added get the new times (and the old ones, when they moved); those
//! the change removed are told they no longer take part, with the times they
//! had been given, so that no site prepares for a session it is out of.
//!
//! Pure functions of the booking, the directory and the time: the route
//! handlers call [`booking_notices`] or [`change_notices`] and store the
//! result with the booking's change in one transaction.

use std::collections::BTreeMap;

use mcu_store::{Booking, Contact, Endpoint, NewOutboxMessage, OutboxChannel, OutboxEvent};
use serde_json::json;

use crate::routes::logbook::vn_time;

/// Unix ms as Vietnam's civil time to the minute: `dd/mm/yyyy HH:mm`.
pub fn vn_minutes(ms: i64) -> String {
    let mut t = vn_time(ms);
    // `dd/mm/yyyy hh:mm:ss` → drop `:ss`.
    t.truncate(t.len().saturating_sub(3));
    t
}

/// The subject and body of a notice to `recipient` at `endpoint_name`.
/// `names` maps endpoint ids to their directory names (the chair's).
pub fn notice_text(
    event: OutboxEvent,
    b: &Booking,
    recipient: &str,
    endpoint_name: &str,
    names: &BTreeMap<String, String>,
) -> (String, String) {
    let d = &b.details;
    let chair = names.get(&d.chair).unwrap_or(&d.chair);
    let subject = match event {
        OutboxEvent::Approved => format!("Thông báo lịch hội nghị truyền hình: {}", d.title),
        OutboxEvent::Changed => {
            format!("Thông báo thay đổi lịch hội nghị truyền hình: {}", d.title)
        }
        OutboxEvent::Cancelled => format!("Thông báo hủy hội nghị truyền hình: {}", d.title),
    };
    let mut body = format!("Kính gửi: {recipient} ({endpoint_name})\n\n");
    match event {
        OutboxEvent::Approved => body.push_str(&format!(
            "Hội nghị truyền hình trực tuyến \"{}\" đã được duyệt. Điểm cầu {endpoint_name} tham dự.\n\n",
            d.title
        )),
        OutboxEvent::Changed => body.push_str(&format!(
            "Lịch hội nghị truyền hình trực tuyến \"{}\" đã thay đổi. Thời gian mới như sau.\n\n",
            d.title
        )),
        OutboxEvent::Cancelled => body.push_str(&format!(
            "Hội nghị truyền hình trực tuyến \"{}\" đã bị hủy.{}\n\n",
            d.title,
            b.reason
                .as_deref()
                .map(|r| format!(" Lý do: {r}."))
                .unwrap_or_default()
        )),
    }
    body.push_str(&format!("Đơn vị tổ chức: {}\n", d.organising_unit));
    body.push_str(&format!("Điểm cầu chủ trì: {chair}\n"));
    push_times(&mut body, d);
    body.push('\n');
    body.push_str(match event {
        OutboxEvent::Cancelled => "Đề nghị điểm cầu không chuẩn bị cho phiên họp này.\n",
        _ => {
            "Đề nghị cán bộ kỹ thuật của điểm cầu có mặt từ giờ tổng duyệt để kiểm tra âm thanh, hình ảnh và đường truyền.\n"
        }
    });
    (subject, body)
}

/// How a change of an approved booking touches one endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeFor {
    /// It took part before and still does.
    Stays,
    /// The change added it.
    Added,
    /// The change removed it: it no longer takes part.
    Removed,
}

impl ChangeFor {
    /// Its name in a webhook's payload.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stays => "stays",
            Self::Added => "added",
            Self::Removed => "removed",
        }
    }
}

fn push_times(body: &mut String, d: &mcu_store::BookingDetails) {
    let times = [
        ("Mở phòng tổng duyệt (kiểm tra kỹ thuật)", d.rehearsal_at),
        ("Kiểm tra sẵn sàng", d.ready_check_at),
        ("Bắt đầu chính thức", d.start_at),
        ("Kết thúc", d.end_at),
    ];
    for (label, at) in times {
        body.push_str(&format!("{label}: {}\n", vn_minutes(at)));
    }
    body.push_str("(Giờ Việt Nam, UTC+7)\n");
}

/// The subject and body of the `changed` notice to `recipient` at
/// `endpoint_name`, for booking `after` that was `before`. An endpoint that
/// stays or was added gets the new times, and the old start and end when
/// they moved; a removed one is told it no longer takes part, with the times
/// it had been given.
pub fn change_text(
    before: &mcu_store::BookingDetails,
    after: &Booking,
    role: ChangeFor,
    recipient: &str,
    endpoint_name: &str,
    names: &BTreeMap<String, String>,
) -> (String, String) {
    let d = &after.details;
    let chair = names.get(&d.chair).unwrap_or(&d.chair);
    let subject = format!("Thông báo thay đổi lịch hội nghị truyền hình: {}", d.title);
    let mut body = format!("Kính gửi: {recipient} ({endpoint_name})\n\n");
    match role {
        ChangeFor::Removed => {
            body.push_str(&format!(
                "Hội nghị truyền hình trực tuyến \"{}\" đã thay đổi: điểm cầu {endpoint_name} không còn trong danh sách tham dự.\n\n",
                d.title
            ));
            body.push_str(&format!("Đơn vị tổ chức: {}\n", d.organising_unit));
            body.push_str("Thời gian đã thông báo trước đây:\n");
            push_times(&mut body, before);
            body.push_str("\nĐề nghị điểm cầu không chuẩn bị cho phiên họp này.\n");
            return (subject, body);
        }
        ChangeFor::Added => body.push_str(&format!(
            "Lịch hội nghị truyền hình trực tuyến \"{}\" đã thay đổi. Điểm cầu {endpoint_name} được bổ sung vào danh sách tham dự. Thời gian như sau.\n\n",
            d.title
        )),
        ChangeFor::Stays => body.push_str(&format!(
            "Lịch hội nghị truyền hình trực tuyến \"{}\" đã thay đổi. Thời gian mới như sau.\n\n",
            d.title
        )),
    }
    body.push_str(&format!("Đơn vị tổ chức: {}\n", d.organising_unit));
    body.push_str(&format!("Điểm cầu chủ trì: {chair}\n"));
    push_times(&mut body, d);
    if role == ChangeFor::Stays && (before.start_at, before.end_at) != (d.start_at, d.end_at) {
        body.push_str(&format!(
            "Lịch cũ: bắt đầu {}, kết thúc {}.\n",
            vn_minutes(before.start_at),
            vn_minutes(before.end_at)
        ));
    }
    body.push_str(
        "\nĐề nghị cán bộ kỹ thuật của điểm cầu có mặt từ giờ tổng duyệt để kiểm tra âm thanh, hình ảnh và đường truyền.\n",
    );
    (subject, body)
}

/// The notices of `event` for booking `b`: per participating endpoint, per
/// contact, a `webhook` message, and an `email` message when the contact
/// has an address. `directory` is the endpoint directory (for names and
/// contacts); a participant missing from it is skipped.
pub fn booking_notices(
    event: OutboxEvent,
    b: &Booking,
    directory: &[Endpoint],
    now_ms: i64,
) -> Vec<NewOutboxMessage> {
    let names = names(directory);
    let mut out = Vec::new();
    for endpoint in directory
        .iter()
        .filter(|e| b.details.participants.contains(&e.id))
    {
        to_contacts(&mut out, endpoint, |c| {
            let (subject, body) = notice_text(event, b, &c.name, &endpoint.name, &names);
            let payload = payload(event, b, endpoint, c, &names, &subject, &body, None);
            (event, subject, body, payload, b.id, now_ms)
        });
    }
    out
}

/// The `changed` notices of booking `after`, which was `before`: per
/// endpoint of either (the removed ones included), per contact, a `webhook`
/// message and an `email` message when the contact has an address. None
/// when nothing changed. `directory` as for [`booking_notices`].
pub fn change_notices(
    before: &Booking,
    after: &Booking,
    directory: &[Endpoint],
    now_ms: i64,
) -> Vec<NewOutboxMessage> {
    if before.details == after.details {
        return Vec::new();
    }
    let names = names(directory);
    let was = |e: &str| before.details.participants.iter().any(|p| p == e);
    let is = |e: &str| after.details.participants.iter().any(|p| p == e);
    let mut out = Vec::new();
    for endpoint in directory.iter().filter(|e| was(&e.id) || is(&e.id)) {
        let role = match (was(&endpoint.id), is(&endpoint.id)) {
            (true, true) => ChangeFor::Stays,
            (false, _) => ChangeFor::Added,
            (true, false) => ChangeFor::Removed,
        };
        let change = json!({
            "endpoint": role.as_str(),
            "previous": {
                "rehearsal_at": before.details.rehearsal_at,
                "ready_check_at": before.details.ready_check_at,
                "start_at": before.details.start_at,
                "end_at": before.details.end_at,
                "participants": before.details.participants,
            },
        });
        to_contacts(&mut out, endpoint, |c| {
            let (subject, body) = change_text(
                &before.details,
                after,
                role,
                &c.name,
                &endpoint.name,
                &names,
            );
            let event = OutboxEvent::Changed;
            let payload = payload(
                event,
                after,
                endpoint,
                c,
                &names,
                &subject,
                &body,
                Some(change.clone()),
            );
            (event, subject, body, payload, after.id, now_ms)
        });
    }
    out
}

fn names(directory: &[Endpoint]) -> BTreeMap<String, String> {
    directory
        .iter()
        .map(|e| (e.id.clone(), e.name.clone()))
        .collect()
}

/// The message of `write` (event, subject, body, payload, booking, time) to
/// each contact of `endpoint` — or to the endpoint itself when it has none —
/// by webhook, and by e-mail to a contact with an address.
fn to_contacts(
    out: &mut Vec<NewOutboxMessage>,
    endpoint: &Endpoint,
    write: impl Fn(&Contact) -> (OutboxEvent, String, String, String, i64, i64),
) {
    let nobody = [Contact {
        name: endpoint.name.clone(),
        ..Default::default()
    }];
    let contacts = if endpoint.contacts.is_empty() {
        &nobody[..]
    } else {
        &endpoint.contacts[..]
    };
    for c in contacts {
        let (event, subject, body, payload, booking_id, created_at) = write(c);
        let mut channels = vec![OutboxChannel::Webhook];
        if c.email.contains('@') {
            channels.push(OutboxChannel::Email);
        }
        for channel in channels {
            out.push(NewOutboxMessage {
                booking_id,
                endpoint_id: endpoint.id.clone(),
                event,
                channel,
                recipient_name: c.name.clone(),
                recipient_email: c.email.clone(),
                recipient_phone: c.phone.clone(),
                subject: subject.clone(),
                body: body.clone(),
                payload: payload.clone(),
                created_at,
            });
        }
    }
}

/// The structured message a webhook receives (with the message's `id`
/// added by the sender); a `changed` one also says how the change touches
/// the endpoint and what the booking was (`change`).
#[allow(clippy::too_many_arguments)]
fn payload(
    event: OutboxEvent,
    b: &Booking,
    endpoint: &Endpoint,
    c: &Contact,
    names: &BTreeMap<String, String>,
    subject: &str,
    body: &str,
    change: Option<serde_json::Value>,
) -> String {
    let d = &b.details;
    let mut p = json!({
        "event": event.as_str(),
        "booking": {
            "id": b.id,
            "title": d.title,
            "organising_unit": d.organising_unit,
            "chair": { "id": d.chair, "name": names.get(&d.chair).unwrap_or(&d.chair) },
            "kind": d.kind.as_str(),
            "status": b.status.as_str(),
            "rehearsal_at": d.rehearsal_at,
            "ready_check_at": d.ready_check_at,
            "start_at": d.start_at,
            "end_at": d.end_at,
            "reason": b.reason,
            "conference_id": b.conference_id,
        },
        "endpoint": { "id": endpoint.id, "name": endpoint.name },
        "recipient": {
            "name": c.name, "title": c.title, "unit": c.unit, "phone": c.phone, "email": c.email,
        },
        "subject": subject,
        "text": body,
    });
    if let Some(change) = change {
        p["change"] = change;
    }
    p.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcu_store::{BookingDetails, BookingKind, BookingStatus, Level};

    const H: i64 = 3_600_000;
    /// 2026-09-21 19:33:20 UTC = 22/09/2026 02:33:20 in Vietnam.
    const START: i64 = 1_790_019_200_000;

    fn endpoint(id: &str, name: &str, contacts: Vec<Contact>) -> Endpoint {
        Endpoint {
            id: id.into(),
            name: name.into(),
            unit: name.into(),
            level: Level::District,
            chair_capable: false,
            owner_mcu: "tuyen-quang".into(),
            contacts,
        }
    }

    fn contact(name: &str, email: &str) -> Contact {
        Contact {
            name: name.into(),
            title: "Chuyên viên CNTT".into(),
            unit: "Văn phòng".into(),
            phone: "0207 3822 111".into(),
            email: email.into(),
        }
    }

    fn booking() -> Booking {
        Booking {
            id: 7,
            details: BookingDetails {
                title: "Hội nghị phòng chống lụt bão".into(),
                organising_unit: "Văn phòng UBND tỉnh Tuyên Quang".into(),
                chair: "ubnd-tinh".into(),
                participants: vec!["son-duong".into(), "ubnd-tinh".into(), "yen-son".into()],
                // Official start at 16:00 in Vietnam (09:00 UTC) on 20/11/2026.
                start_at: 1_795_165_200_000,
                end_at: 1_795_165_200_000 + 2 * H,
                rehearsal_at: 1_795_165_200_000 - 2 * H,
                ready_check_at: 1_795_165_200_000 - H / 2,
                kind: BookingKind::Scheduled,
                scenario: vec![],
                recording: false,
            },
            status: BookingStatus::Approved,
            requested_by: "dieuhanh".into(),
            requested_at: START,
            updated_at: START,
            decided_by: Some("dieuhanh".into()),
            decided_at: Some(START),
            reason: None,
            conference_id: Some("booking-7".into()),
        }
    }

    #[test]
    fn times_are_vietnam_civil_time_to_the_minute() {
        assert_eq!(vn_minutes(0), "01/01/1970 07:00");
        assert_eq!(vn_minutes(START), "22/09/2026 02:33");
        // 17:00 UTC is past midnight in Vietnam: the date rolls over.
        assert_eq!(vn_minutes(1_795_194_000_000), "21/11/2026 00:00");
        assert_eq!(vn_minutes(1_795_165_200_000), "20/11/2026 16:00");
    }

    #[test]
    fn an_approval_notice_names_the_unit_the_chair_and_every_time() {
        let names =
            BTreeMap::from([("ubnd-tinh".to_string(), "UBND tỉnh Tuyên Quang".to_string())]);
        let (subject, body) = notice_text(
            OutboxEvent::Approved,
            &booking(),
            "Trần Thị Hương",
            "UBND huyện Sơn Dương",
            &names,
        );
        assert_eq!(
            subject,
            "Thông báo lịch hội nghị truyền hình: Hội nghị phòng chống lụt bão"
        );
        for want in [
            "Kính gửi: Trần Thị Hương (UBND huyện Sơn Dương)",
            "\"Hội nghị phòng chống lụt bão\" đã được duyệt",
            "Đơn vị tổ chức: Văn phòng UBND tỉnh Tuyên Quang\n",
            "Điểm cầu chủ trì: UBND tỉnh Tuyên Quang\n",
            "Mở phòng tổng duyệt (kiểm tra kỹ thuật): 20/11/2026 14:00\n",
            "Kiểm tra sẵn sàng: 20/11/2026 15:30\n",
            "Bắt đầu chính thức: 20/11/2026 16:00\n",
            "Kết thúc: 20/11/2026 18:00\n",
            "(Giờ Việt Nam, UTC+7)",
        ] {
            assert!(body.contains(want), "{want:?} missing from:\n{body}");
        }
    }

    #[test]
    fn a_cancellation_gives_the_reason_and_a_change_says_so() {
        let mut b = booking();
        b.status = BookingStatus::Cancelled;
        b.reason = Some("Hoãn do bão số 3".into());
        let names = BTreeMap::new();
        let (subject, body) = notice_text(OutboxEvent::Cancelled, &b, "A", "B", &names);
        assert!(subject.starts_with("Thông báo hủy hội nghị truyền hình"));
        assert!(
            body.contains("đã bị hủy. Lý do: Hoãn do bão số 3."),
            "{body}"
        );
        assert!(
            body.contains("Điểm cầu chủ trì: ubnd-tinh"),
            "id when unnamed"
        );
        let (subject, body) = notice_text(OutboxEvent::Changed, &booking(), "A", "B", &names);
        assert!(subject.starts_with("Thông báo thay đổi lịch"));
        assert!(body.contains("đã thay đổi"), "{body}");
    }

    #[test]
    fn a_change_tells_who_stays_who_joins_and_who_is_out() {
        let before = booking();
        let mut after = booking();
        // Two hours later; yen-son out, ham-yen in.
        for t in [
            &mut after.details.rehearsal_at,
            &mut after.details.ready_check_at,
            &mut after.details.start_at,
            &mut after.details.end_at,
        ] {
            *t += 2 * H;
        }
        after.details.participants = vec!["ham-yen".into(), "son-duong".into(), "ubnd-tinh".into()];
        let directory = vec![
            endpoint("ubnd-tinh", "UBND tỉnh Tuyên Quang", vec![]),
            endpoint(
                "son-duong",
                "UBND huyện Sơn Dương",
                vec![contact("Trần Thị Hương", "huong@sonduong.gov.vn")],
            ),
            endpoint(
                "yen-son",
                "UBND huyện Yên Sơn",
                vec![contact("Lê Văn An", "")],
            ),
            endpoint("ham-yen", "UBND huyện Hàm Yên", vec![]),
            endpoint("chiem-hoa", "UBND huyện Chiêm Hóa", vec![]),
        ];
        let all = change_notices(&before, &after, &directory, START);
        let got: Vec<_> = all
            .iter()
            .map(|m| (m.endpoint_id.as_str(), m.channel))
            .collect();
        use OutboxChannel::{Email, Webhook};
        assert_eq!(
            got,
            [
                ("ubnd-tinh", Webhook),
                ("son-duong", Webhook),
                ("son-duong", Email),
                ("yen-son", Webhook),
                ("ham-yen", Webhook),
            ],
            "chiem-hoa is in neither"
        );
        assert!(
            all.iter()
                .all(|m| m.event == OutboxEvent::Changed && m.booking_id == 7)
        );
        let of = |e: &str| all.iter().find(|m| m.endpoint_id == e).unwrap();
        let stays = &of("son-duong").body;
        for want in [
            "\"Hội nghị phòng chống lụt bão\" đã thay đổi. Thời gian mới như sau.",
            "Mở phòng tổng duyệt (kiểm tra kỹ thuật): 20/11/2026 16:00\n",
            "Bắt đầu chính thức: 20/11/2026 18:00\n",
            "Kết thúc: 20/11/2026 20:00\n",
            "Lịch cũ: bắt đầu 20/11/2026 16:00, kết thúc 20/11/2026 18:00.",
        ] {
            assert!(stays.contains(want), "{want:?} missing from:\n{stays}");
        }
        let added = &of("ham-yen").body;
        assert!(
            added.contains("Điểm cầu UBND huyện Hàm Yên được bổ sung"),
            "{added}"
        );
        assert!(
            added.contains("Bắt đầu chính thức: 20/11/2026 18:00\n"),
            "{added}"
        );
        let out = &of("yen-son").body;
        for want in [
            "Kính gửi: Lê Văn An (UBND huyện Yên Sơn)",
            "điểm cầu UBND huyện Yên Sơn không còn trong danh sách tham dự",
            "Thời gian đã thông báo trước đây:\n",
            "Bắt đầu chính thức: 20/11/2026 16:00\n",
            "Đề nghị điểm cầu không chuẩn bị cho phiên họp này.",
        ] {
            assert!(out.contains(want), "{want:?} missing from:\n{out}");
        }
        for new_time in ["17:30", "20:00"] {
            assert!(
                !out.contains(new_time),
                "a removed site is not given the new times:\n{out}"
            );
        }
        let p: serde_json::Value = serde_json::from_str(&of("yen-son").payload).unwrap();
        assert_eq!(p["event"], "changed");
        assert_eq!(p["change"]["endpoint"], "removed");
        assert_eq!(p["change"]["previous"]["start_at"], before.details.start_at);
        assert_eq!(p["booking"]["start_at"], after.details.start_at);
        let p: serde_json::Value = serde_json::from_str(&of("ham-yen").payload).unwrap();
        assert_eq!(p["change"]["endpoint"], "added");
        // Nothing changed, nothing announced.
        assert!(change_notices(&before, &before, &directory, START).is_empty());
    }

    #[test]
    fn one_message_per_contact_and_channel_and_none_left_out() {
        let directory = vec![
            endpoint(
                "ubnd-tinh",
                "UBND tỉnh Tuyên Quang",
                vec![contact("Lê Văn An", "")],
            ),
            endpoint(
                "son-duong",
                "UBND huyện Sơn Dương",
                vec![
                    contact("Trần Thị Hương", "huong@sonduong.gov.vn"),
                    contact("Phạm Văn Bình", "binh@sonduong.gov.vn"),
                ],
            ),
            endpoint("yen-son", "UBND huyện Yên Sơn", vec![]),
            endpoint(
                "ham-yen",
                "UBND huyện Hàm Yên",
                vec![contact("X", "x@y.vn")],
            ),
        ];
        let all = booking_notices(OutboxEvent::Approved, &booking(), &directory, START);
        let got: Vec<_> = all
            .iter()
            .map(|m| (m.endpoint_id.as_str(), m.recipient_name.as_str(), m.channel))
            .collect();
        use OutboxChannel::{Email, Webhook};
        assert_eq!(
            got,
            [
                ("ubnd-tinh", "Lê Văn An", Webhook),
                ("son-duong", "Trần Thị Hương", Webhook),
                ("son-duong", "Trần Thị Hương", Email),
                ("son-duong", "Phạm Văn Bình", Webhook),
                ("son-duong", "Phạm Văn Bình", Email),
                // No contact: the endpoint itself, by webhook.
                ("yen-son", "UBND huyện Yên Sơn", Webhook),
            ],
            "ham-yen does not take part"
        );
        let m = &all[2];
        assert_eq!(
            (
                m.booking_id,
                m.event,
                m.created_at,
                m.recipient_email.as_str()
            ),
            (7, OutboxEvent::Approved, START, "huong@sonduong.gov.vn")
        );
        let p: serde_json::Value = serde_json::from_str(&m.payload).unwrap();
        assert_eq!(p["event"], "approved");
        assert_eq!(p["booking"]["start_at"], 1_795_165_200_000_i64);
        assert_eq!(p["booking"]["chair"]["name"], "UBND tỉnh Tuyên Quang");
        assert_eq!(p["endpoint"]["name"], "UBND huyện Sơn Dương");
        assert_eq!(p["recipient"]["email"], "huong@sonduong.gov.vn");
        assert_eq!(p["text"], m.body);
    }
}
