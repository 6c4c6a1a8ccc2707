//! The endpoint directory as CSV (R14, and the sample deployments in
//! `config/examples/`): one endpoint a row —
//! `id,name,unit,level,chair_capable,owner_mcu` and optionally one technical
//! contact `contact_name,contact_title,contact_phone,contact_email`. UTF-8
//! (a BOM is skipped), RFC 4180 quoting, CRLF or LF line ends. An import
//! checks every row first and changes nothing unless all are valid; then it
//! adds new endpoints and replaces existing ones.

use mcu_store::{Contact, Endpoint, Level, Store, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::model::{ContactBody, EndpointBody};

/// The columns, in order; the contact columns may be left out.
pub const COLUMNS: [&str; 10] = [
    "id",
    "name",
    "unit",
    "level",
    "chair_capable",
    "owner_mcu",
    "contact_name",
    "contact_title",
    "contact_phone",
    "contact_email",
];

/// A row that cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RowError {
    /// Line in the file (1 is the header).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct ImportReport {
    /// Endpoints added.
    pub created: usize,
    /// Endpoints replaced.
    pub updated: usize,
}

/// Splits CSV text into records of fields (RFC 4180), with each record's line.
fn records(text: &str) -> Result<Vec<(usize, Vec<String>)>, RowError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    let (mut record, mut field) = (Vec::new(), String::new());
    let (mut line, mut start_line) = (1, 1);
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                out.push((start_line, std::mem::take(&mut record)));
                line += 1;
                start_line = line;
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err(RowError {
            line: start_line,
            message: "a quoted field is not closed".into(),
        });
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        out.push((start_line, record));
    }
    out.retain(|(_, r)| !(r.len() == 1 && r[0].trim().is_empty()));
    Ok(out)
}

/// Parses a directory CSV into endpoints, or every row's problem.
pub fn parse(text: &str) -> Result<Vec<EndpointBody>, Vec<RowError>> {
    let rows = records(text).map_err(|e| vec![e])?;
    let Some(((_, header), rows)) = rows.split_first() else {
        return Err(vec![RowError {
            line: 1,
            message: "the file is empty".into(),
        }]);
    };
    let header: Vec<&str> = header.iter().map(|h| h.trim()).collect();
    if header.len() < 6 || header[..] != COLUMNS[..header.len()] {
        return Err(vec![RowError {
            line: 1,
            message: format!(
                "the header must be {} (the contact columns may be left out)",
                COLUMNS.join(",")
            ),
        }]);
    }
    let mut errors = Vec::new();
    let mut endpoints: Vec<EndpointBody> = Vec::new();
    for (line, r) in rows {
        let err = |message: String| RowError {
            line: *line,
            message,
        };
        if r.len() != header.len() {
            errors.push(err(format!(
                "{} fields, the header has {}",
                r.len(),
                header.len()
            )));
            continue;
        }
        let field = |i: usize| r.get(i).map(|s| s.trim().to_owned()).unwrap_or_default();
        let level = match field(3).parse::<Level>() {
            Ok(l) => l,
            Err(_) => {
                errors.push(err(format!(
                    "level {:?} is not central, province, district or commune",
                    field(3)
                )));
                continue;
            }
        };
        let chair_capable = match field(4).to_lowercase().as_str() {
            "true" | "yes" | "1" | "có" => true,
            "false" | "no" | "0" | "không" | "" => false,
            other => {
                errors.push(err(format!("chair_capable {other:?} is not true or false")));
                continue;
            }
        };
        let contact = Contact {
            name: field(6),
            title: field(7),
            unit: field(2),
            phone: field(8),
            email: field(9),
        };
        let e = EndpointBody {
            id: field(0),
            name: field(1),
            unit: field(2),
            level: level.into(),
            chair_capable,
            owner_mcu: field(5),
            contacts: if contact.name.is_empty() {
                vec![]
            } else {
                vec![ContactBody::from(contact)]
            },
        };
        if let Err(problem) = crate::routes::endpoints::check_endpoint(&e) {
            errors.push(err(problem.message));
            continue;
        }
        if endpoints.iter().any(|o| o.id == e.id) {
            errors.push(err(format!("endpoint {} appears twice", e.id)));
            continue;
        }
        endpoints.push(e);
    }
    if errors.is_empty() {
        Ok(endpoints)
    } else {
        Err(errors)
    }
}

/// Imports a directory CSV: all rows or none.
pub async fn import(
    store: &Store,
    text: &str,
    now_ms: i64,
) -> Result<Result<ImportReport, Vec<RowError>>, StoreError> {
    let endpoints = match parse(text) {
        Ok(e) => e,
        Err(errors) => return Ok(Err(errors)),
    };
    let mut report = ImportReport::default();
    for e in endpoints {
        let endpoint: Endpoint = e.into();
        if store.endpoint(&endpoint.id).await?.is_some() {
            store.update_endpoint(&endpoint, now_ms).await?;
            report.updated += 1;
        } else {
            store.create_endpoint(&endpoint, now_ms).await?;
            report.created += 1;
        }
    }
    Ok(Ok(report))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "id,name,unit,level,chair_capable,owner_mcu";

    #[test]
    fn quoting_crlf_and_bom_are_understood() {
        let text = format!(
            "\u{feff}{HEADER}\r\nsld,\"Sở Lao động, Thương binh và Xã hội\",\"Sở \"\"LĐTBXH\"\"\",province,false,tq\r\n"
        );
        let e = parse(&text).unwrap();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].name, "Sở Lao động, Thương binh và Xã hội");
        assert_eq!(e[0].unit, "Sở \"LĐTBXH\"");
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line() {
        let text = format!(
            "{HEADER}\na,A,,district,false,tq\nb,B,,village,false,tq\na,A2,,district,false,tq\nc,,,district,false,tq\nd,D,,district,maybe,tq\ne,E\n"
        );
        let errors = parse(&text).unwrap_err();
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [3, 4, 5, 6, 7], "{errors:?}");
        assert!(errors[0].message.contains("village"));
        assert!(errors[1].message.contains("twice"));
    }

    #[test]
    fn a_wrong_header_or_an_open_quote_is_refused() {
        assert_eq!(parse("name,id\n").unwrap_err()[0].line, 1);
        assert!(
            parse(&format!("{HEADER}\n\"a,b\n")).unwrap_err()[0]
                .message
                .contains("quoted")
        );
        assert!(parse("").is_err());
    }

    #[test]
    fn the_tuyen_quang_sample_parses() {
        let text = include_str!("../../../config/examples/tuyen-quang.csv");
        let e = parse(text).unwrap();
        assert_eq!(e.len(), 27);
        assert_eq!(
            e.iter()
                .filter(|e| e.chair_capable)
                .map(|e| e.name.as_str())
                .collect::<Vec<_>>(),
            ["Văn phòng UBND tỉnh"]
        );
        assert!(e.iter().any(|e| e.name == "UBND huyện Sơn Dương"));
    }
}
