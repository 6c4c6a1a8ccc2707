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
//! Pure functions of the booking, the directory and the time: the route
//! handlers call [`booking_notices`] and store the result with the booking's
//! change in one transaction.

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
    let times = [
        ("Mở phòng tổng duyệt (kiểm tra kỹ thuật)", d.rehearsal_at),
        ("Kiểm tra sẵn sàng", d.ready_check_at),
        ("Bắt đầu chính thức", d.start_at),
        ("Kết thúc", d.end_at),
    ];
    for (label, at) in times {
        body.push_str(&format!("{label}: {}\n", vn_minutes(at)));
    }
    body.push_str("(Giờ Việt Nam, UTC+7)\n\n");
    body.push_str(match event {
        OutboxEvent::Cancelled => "Đề nghị điểm cầu không chuẩn bị cho phiên họp này.\n",
        _ => {
            "Đề nghị cán bộ kỹ thuật của điểm cầu có mặt từ giờ tổng duyệt để kiểm tra âm thanh, hình ảnh và đường truyền.\n"
        }
    });
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
    let names: BTreeMap<String, String> = directory
        .iter()
        .map(|e| (e.id.clone(), e.name.clone()))
        .collect();
    let mut out = Vec::new();
    for endpoint in directory
        .iter()
        .filter(|e| b.details.participants.contains(&e.id))
    {
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
            let (subject, body) = notice_text(event, b, &c.name, &endpoint.name, &names);
            let payload = payload(event, b, endpoint, c, &names, &subject, &body);
            let mut channels = vec![OutboxChannel::Webhook];
            if c.email.contains('@') {
                channels.push(OutboxChannel::Email);
            }
            for channel in channels {
                out.push(NewOutboxMessage {
                    booking_id: b.id,
                    endpoint_id: endpoint.id.clone(),
                    event,
                    channel,
                    recipient_name: c.name.clone(),
                    recipient_email: c.email.clone(),
                    recipient_phone: c.phone.clone(),
                    subject: subject.clone(),
                    body: body.clone(),
                    payload: payload.clone(),
                    created_at: now_ms,
                });
            }
        }
    }
    out
}

/// The structured message a webhook receives (with the message's `id`
/// added by the sender).
fn payload(
    event: OutboxEvent,
    b: &Booking,
    endpoint: &Endpoint,
    c: &Contact,
    names: &BTreeMap<String, String>,
    subject: &str,
    body: &str,
) -> String {
    let d = &b.details;
    json!({
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
    })
    .to_string()
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
