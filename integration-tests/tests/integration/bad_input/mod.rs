//! Bad input: invalid specs of every crate (`cases`), each refused before any API call (the
//! harness's accounting shows no call from the test's app) with an error naming the field, the
//! value and the rule. `docs/validation.md` is the table of these cases, generated from them:
//! the test fails when it differs (`SKYFORGE_WRITE_DOCS=1` writes it).

mod cases;

use skyforge_core::Error;
use skyforge_integration_tests::{TestStack, calls_between};

struct Row {
    area: &'static str,
    what: &'static str,
    field: String,
    value: String,
    rule: String,
}

/// `s` for a table cell, cut to `max` characters.
fn cell(s: &str, max: usize) -> String {
    let s = s.replace('|', "\\|").replace('\n', " ");
    if s.is_empty() {
        "(empty)".into()
    } else if s.chars().count() > max {
        format!("{}…", s.chars().take(max - 1).collect::<String>())
    } else {
        s
    }
}

fn render(rows: &[Row]) -> String {
    let mut out = String::from(
        "# Validation: what is refused before any API call\n\n\
         Generated from the cases of `integration-tests/tests/integration/bad_input/cases.rs` \
         (`SKYFORGE_WRITE_DOCS=1` with the integration suite writes it; the suite fails when it \
         differs). Each row is one invalid spec, otherwise valid; each was refused while the \
         emulator recorded no call from the test, with this error's field, value and rule.\n\n\
         | area | invalid input | field | value | rule |\n| --- | --- | --- | --- | --- |\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | `{}` | `{}` | {} |\n",
            r.area,
            cell(r.what, 60),
            cell(&r.field, 60),
            cell(&r.value, 32),
            cell(&r.rule, 160)
        ));
    }
    out.push_str(&format!("\n{} cases.\n", rows.len()));
    out
}

#[tokio::test]
async fn every_invalid_spec_is_refused_before_any_call_naming_field_value_and_rule() {
    let t = TestStack::new().await;
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for c in cases::all() {
        let before = t.calls().await;
        let err = match (c.make)(&t.env) {
            Err(e) => e,
            Ok(stack) => match stack.plan(&t.ctx).await {
                Err(e) => e,
                Ok(_) => {
                    problems.push(format!("{}: {}: planned", c.area, c.what));
                    continue;
                }
            },
        };
        let made = calls_between(&before, &t.calls().await);
        if !made.is_empty() {
            problems.push(format!("{}: {}: calls {made:?}", c.area, c.what));
        }
        let Error::Validation { field, value, rule } = &err else {
            problems.push(format!(
                "{}: {}: not a validation error: {err}",
                c.area, c.what
            ));
            continue;
        };
        let text = err.to_string();
        let named = text.contains(field.as_str()) && text.contains(rule.as_str());
        if field.is_empty() || rule.is_empty() || !named {
            problems.push(format!("{}: {}: {text}", c.area, c.what));
        }
        rows.push(Row {
            area: c.area,
            what: c.what,
            field: field.clone(),
            value: value.clone(),
            rule: rule.clone(),
        });
    }
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(rows.len() >= 80, "{} cases", rows.len());
    let doc = render(&rows);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/validation.md");
    if std::env::var("SKYFORGE_WRITE_DOCS").as_deref() == Ok("1") {
        std::fs::write(&path, &doc).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == doc,
        "docs/validation.md differs from the cases: run with SKYFORGE_WRITE_DOCS=1"
    );
}
