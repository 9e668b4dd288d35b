//! The CloudWatch dashboard (`infra/dashboard.json`) draws only metrics the code emits, each
//! with the one dimension it is emitted with, and draws every one of them, so that a metric added
//! to or renamed in the code without the dashboard (or the other way round) fails here.
//!
//! The file is the body of `AWS::CloudWatch::Dashboard` inside `Fn::Sub`: its `${…}` placeholders
//! are replaced with dummy values first, and only the template's known ones are allowed.
//! Metric rows are CloudWatch's compact form, `[namespace, name, dim, value, …, {options}]`, where
//! `"."` repeats the previous row's element at that position and `"..."` the previous row's
//! elements between what is written before and after it; `[{"expression": …}]` is metric math.
//!
//! (Over 600 lines: the scan of the code's metric emissions and of the dashboard's widgets must be
//! read together to see that they match.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use backfill_aws::emf;
use backfill_core::control::ProgressMetrics;
use serde_json::{json, Map, Value};

/// The placeholders the template's `Fn::Sub` provides, with the dummy values the test uses.
const PLACEHOLDERS: [(&str, &str); 7] = [
    ("AWS::Region", "test-region-1"),
    ("AWS::AccountId", "123456789012"),
    ("MetricsNamespace", "TestBackfillNamespace"),
    ("BackfillId", "test-backfill"),
    ("EcsClusterName", "test-cluster"),
    ("EcsServiceName", "test-service"),
    ("TargetDomainName", "test-domain"),
];

const GRID_COLUMNS: i64 = 24;

fn dummy(placeholder: &str) -> &'static str {
    PLACEHOLDERS
        .iter()
        .find(|(p, _)| *p == placeholder)
        .map(|(_, v)| *v)
        .unwrap()
}

/// `Fn::Sub`: each `${Name}` becomes its dummy value, `${!Literal}` stays `${Literal}`; any other
/// placeholder is an error (CloudFormation would reject the template or substitute nonsense).
fn substitute(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        if let Some(literal) = after.strip_prefix('!') {
            out.push_str("${");
            rest = literal;
            continue;
        }
        let end = after
            .find('}')
            .ok_or_else(|| format!("unterminated placeholder at {:?}", &rest[start..]))?;
        let name = &after[..end];
        let value = PLACEHOLDERS
            .iter()
            .find(|(p, _)| *p == name)
            .map(|(_, v)| *v)
            .ok_or_else(|| {
                format!(
                    "placeholder ${{{name}}} is not one the template provides ({})",
                    PLACEHOLDERS.map(|(p, _)| p).join(", ")
                )
            })?;
        out.push_str(value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn dashboard_text() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/dashboard.json");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The dashboard after substitution, as JSON.
fn load(text: &str) -> Result<Value, String> {
    let json = substitute(text)?;
    serde_json::from_str(&json).map_err(|e| format!("not JSON after substitution: {e}"))
}

fn real_dashboard() -> Value {
    load(&dashboard_text()).unwrap_or_else(|e| panic!("infra/dashboard.json: {e}"))
}

/// One metric a widget draws.
#[derive(Debug, Clone)]
struct Drawn {
    widget: String,
    namespace: String,
    name: String,
    dimensions: Vec<(String, String)>,
    stat: String,
}

#[derive(Debug)]
struct Expression {
    widget: String,
    expression: String,
}

#[derive(Debug)]
struct Placed {
    title: String,
    kind: String,
    x: i64,
    y: i64,
    width: i64,
    height: i64,
    region: Option<String>,
    /// The `id`s of the widget's rows (what its expressions may refer to).
    ids: BTreeSet<String>,
}

#[derive(Debug, Default)]
struct Analysis {
    widgets: Vec<Placed>,
    metrics: Vec<Drawn>,
    expressions: Vec<(Expression, BTreeSet<String>)>,
}

/// Resolves `"."` and `"..."` in one metric row against the previous one; returns the row's
/// strings and its options object.
fn expand(
    row: &[Value],
    prev: Option<&[String]>,
) -> Result<(Vec<String>, Map<String, Value>), String> {
    let (items, options) = match row.split_last() {
        Some((Value::Object(o), items)) => (items, o.clone()),
        _ => (row, Map::new()),
    };
    let items: Vec<&str> = items
        .iter()
        .map(|v| {
            v.as_str()
                .ok_or_else(|| format!("row element {v} is not a string"))
        })
        .collect::<Result<_, _>>()?;
    let mut out: Vec<String> = match items.iter().position(|s| *s == "...") {
        Some(at) => {
            let prev = prev.ok_or("\"...\" in the first metric row of a widget")?;
            let (before, after) = (&items[..at], &items[at + 1..]);
            if before.len() + after.len() > prev.len() || after.contains(&"...") {
                return Err(format!(
                    "cannot expand {items:?} against the previous row {prev:?}"
                ));
            }
            let repeated = &prev[before.len()..prev.len() - after.len()];
            before
                .iter()
                .map(|s| s.to_string())
                .chain(repeated.iter().cloned())
                .chain(after.iter().map(|s| s.to_string()))
                .collect()
        }
        None => items.iter().map(|s| s.to_string()).collect(),
    };
    for (i, s) in out.iter_mut().enumerate() {
        if s == "." {
            *s = prev
                .and_then(|p| p.get(i))
                .ok_or_else(|| format!("\".\" at position {i} of {items:?} has nothing above it"))?
                .clone();
        }
    }
    Ok((out, options))
}

fn analyse(dashboard: &Value) -> Result<Analysis, String> {
    let widgets = dashboard["widgets"]
        .as_array()
        .ok_or("the dashboard has no widgets array")?;
    let mut a = Analysis::default();
    for (k, w) in widgets.iter().enumerate() {
        let props = &w["properties"];
        let kind = w["type"].as_str().unwrap_or_default().to_string();
        let title = props["title"]
            .as_str()
            .map_or_else(|| format!("widget {k} ({kind})"), str::to_string);
        let int = |field: &str| {
            w[field]
                .as_i64()
                .ok_or_else(|| format!("{title}: no integer {field}"))
        };
        let mut placed = Placed {
            x: int("x")?,
            y: int("y")?,
            width: int("width")?,
            height: int("height")?,
            region: props["region"].as_str().map(str::to_string),
            ids: BTreeSet::new(),
            kind,
            title: title.clone(),
        };
        let widget_stat = props["stat"].as_str().unwrap_or("Average");
        let rows = match &props["metrics"] {
            Value::Null => &Vec::new(),
            Value::Array(rows) => rows,
            other => return Err(format!("{title}: metrics is {other}, not an array")),
        };
        let mut prev: Option<Vec<String>> = None;
        let mut expressions = Vec::new();
        for row in rows {
            let row = row
                .as_array()
                .ok_or_else(|| format!("{title}: metric row {row} is not an array"))?;
            if let [Value::Object(o)] = row.as_slice() {
                if let Some(e) = o.get("expression").and_then(Value::as_str) {
                    if let Some(id) = o.get("id").and_then(Value::as_str) {
                        placed.ids.insert(id.to_string());
                    }
                    expressions.push(Expression {
                        widget: title.clone(),
                        expression: e.to_string(),
                    });
                    continue;
                }
            }
            let (items, options) =
                expand(row, prev.as_deref()).map_err(|e| format!("{title}: {e}"))?;
            let [namespace, name, dims @ ..] = items.as_slice() else {
                return Err(format!("{title}: row {items:?} has no namespace and name"));
            };
            if dims.len() % 2 != 0 {
                return Err(format!(
                    "{title}: row {items:?} has a dimension without value"
                ));
            }
            if let Some(id) = options.get("id").and_then(Value::as_str) {
                placed.ids.insert(id.to_string());
            }
            a.metrics.push(Drawn {
                widget: title.clone(),
                namespace: namespace.clone(),
                name: name.clone(),
                dimensions: dims
                    .chunks(2)
                    .map(|p| (p[0].clone(), p[1].clone()))
                    .collect(),
                stat: options
                    .get("stat")
                    .and_then(Value::as_str)
                    .unwrap_or(widget_stat)
                    .to_string(),
            });
            prev = Some(items);
        }
        for e in expressions {
            a.expressions.push((e, placed.ids.clone()));
        }
        a.widgets.push(placed);
    }
    Ok(a)
}

fn our_namespace() -> &'static str {
    dummy("MetricsNamespace")
}

/// Every metric the code emits in our namespace: the workers' and the poller's.
fn emitted() -> BTreeSet<&'static str> {
    emf::METRICS
        .iter()
        .copied()
        .chain(ProgressMetrics::names_and_units())
        .map(|(name, _)| name)
        .collect()
}

fn dims(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn dims_of(m: &Drawn) -> BTreeMap<String, String> {
    m.dimensions.iter().cloned().collect()
}

/// Metrics of our namespace that the code does not emit, or drawn with other dimensions than
/// the one `BackfillId` (which the dashboard variable switches).
fn our_metric_problems(a: &Analysis) -> Vec<String> {
    let emitted = emitted();
    let expected = vec![(emf::DIMENSION.to_string(), dummy("BackfillId").to_string())];
    let mut problems = Vec::new();
    for m in a.metrics.iter().filter(|m| m.namespace == our_namespace()) {
        if !emitted.contains(m.name.as_str()) {
            problems.push(format!(
                "{}: {} is not emitted by the worker (emf::METRICS) nor the poller (ProgressMetrics)",
                m.widget, m.name
            ));
        }
        if m.dimensions != expected {
            problems.push(format!(
                "{}: {} has dimensions {:?}, expected exactly {expected:?}",
                m.widget, m.name, m.dimensions
            ));
        }
    }
    problems
}

/// Metrics the code emits that no widget draws.
fn coverage_problems(a: &Analysis) -> Vec<String> {
    let drawn: BTreeSet<&str> = a
        .metrics
        .iter()
        .filter(|m| m.namespace == our_namespace())
        .map(|m| m.name.as_str())
        .collect();
    emitted()
        .into_iter()
        .filter(|name| !drawn.contains(name))
        .map(|name| format!("{name} is emitted but no widget draws it"))
        .collect()
}

/// Metrics of other namespaces: only the worker service (`AWS/ECS`) and the target domain
/// (`AWS/ES`), each with exactly the dimensions that name them.
fn other_namespace_problems(a: &Analysis) -> Vec<String> {
    let ecs = dims(&[
        ("ClusterName", dummy("EcsClusterName")),
        ("ServiceName", dummy("EcsServiceName")),
    ]);
    let es = dims(&[
        ("DomainName", dummy("TargetDomainName")),
        ("ClientId", dummy("AWS::AccountId")),
    ]);
    let mut problems = Vec::new();
    for m in a.metrics.iter().filter(|m| m.namespace != our_namespace()) {
        let expected = match m.namespace.as_str() {
            "AWS/ECS" => &ecs,
            "AWS/ES" => &es,
            other => {
                problems.push(format!(
                    "{}: {} is in namespace {other}, neither ours ({}), AWS/ECS nor AWS/ES",
                    m.widget,
                    m.name,
                    our_namespace()
                ));
                continue;
            }
        };
        if &dims_of(m) != expected || m.dimensions.len() != expected.len() {
            problems.push(format!(
                "{}: {} {} has dimensions {:?}, expected {expected:?}",
                m.widget, m.namespace, m.name, m.dimensions
            ));
        }
    }
    problems
}

/// Widgets outside the 24-column grid, without size, or on top of each other.
fn grid_problems(a: &Analysis) -> Vec<String> {
    let mut problems = Vec::new();
    for w in &a.widgets {
        if w.x < 0 || w.y < 0 || w.width < 1 || w.height < 1 || w.x + w.width > GRID_COLUMNS {
            problems.push(format!(
                "{}: x {} y {} width {} height {} is not within the {GRID_COLUMNS}-column grid",
                w.title, w.x, w.y, w.width, w.height
            ));
        }
    }
    for (i, p) in a.widgets.iter().enumerate() {
        for q in &a.widgets[i + 1..] {
            let apart = p.x + p.width <= q.x
                || q.x + q.width <= p.x
                || p.y + p.height <= q.y
                || q.y + q.height <= p.y;
            if !apart {
                problems.push(format!("{} and {} overlap", p.title, q.title));
            }
        }
    }
    problems
}

/// Metric-math identifiers (ids start with a lower-case letter, functions are upper case) that
/// are no row of the expression's widget.
fn expression_problems(a: &Analysis) -> Vec<String> {
    let mut problems = Vec::new();
    for (e, ids) in &a.expressions {
        let words = e
            .expression
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with(|c: char| c.is_ascii_lowercase()));
        for word in words {
            if !ids.contains(word) {
                problems.push(format!(
                    "{}: expression {:?} refers to {word}, which is no row of the widget",
                    e.widget, e.expression
                ));
            }
        }
    }
    problems
}

#[test]
fn only_the_templates_placeholders_are_used() {
    let text = dashboard_text();
    substitute(&text).unwrap();
    for (placeholder, _) in PLACEHOLDERS {
        assert!(
            text.contains(&format!("${{{placeholder}}}")),
            "${{{placeholder}}} is never used: is a value hard-coded instead?"
        );
    }
}

#[test]
fn every_metric_in_our_namespace_is_emitted_by_the_code_with_only_the_backfill_id_dimension() {
    let a = analyse(&real_dashboard()).unwrap();
    assert!(
        a.metrics.iter().any(|m| m.namespace == our_namespace()),
        "no metric in ${{MetricsNamespace}}"
    );
    assert_eq!(our_metric_problems(&a), Vec::<String>::new());
}

#[test]
fn every_metric_the_code_emits_is_drawn() {
    let a = analyse(&real_dashboard()).unwrap();
    assert_eq!(coverage_problems(&a), Vec::<String>::new());
}

#[test]
fn other_metrics_are_the_worker_service_and_the_target_domain() {
    let a = analyse(&real_dashboard()).unwrap();
    let namespaces: BTreeSet<&str> = a.metrics.iter().map(|m| m.namespace.as_str()).collect();
    assert_eq!(
        namespaces,
        BTreeSet::from([our_namespace(), "AWS/ECS", "AWS/ES"])
    );
    assert_eq!(other_namespace_problems(&a), Vec::<String>::new());
}

#[test]
fn widgets_fit_the_24_column_grid_without_overlapping() {
    let a = analyse(&real_dashboard()).unwrap();
    assert_eq!(grid_problems(&a), Vec::<String>::new());
}

#[test]
fn a_text_widget_on_top_explains_the_dashboard() {
    let a = analyse(&real_dashboard()).unwrap();
    let top = a.widgets.iter().min_by_key(|w| (w.y, w.x)).unwrap();
    assert_eq!((top.kind.as_str(), top.x, top.y), ("text", 0, 0));
    assert_eq!(top.width, GRID_COLUMNS);
}

#[test]
fn every_metric_widget_shows_the_stacks_region() {
    let a = analyse(&real_dashboard()).unwrap();
    for w in a.widgets.iter().filter(|w| w.kind == "metric") {
        assert_eq!(
            w.region.as_deref(),
            Some(dummy("AWS::Region")),
            "{}",
            w.title
        );
    }
}

#[test]
fn expressions_refer_only_to_rows_of_their_widget() {
    let a = analyse(&real_dashboard()).unwrap();
    assert!(!a.expressions.is_empty(), "no rate by metric math");
    assert_eq!(expression_problems(&a), Vec::<String>::new());
}

#[test]
fn the_pollers_levels_are_never_summed() {
    let a = analyse(&real_dashboard()).unwrap();
    let levels: BTreeSet<&str> = ProgressMetrics::names_and_units()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    for m in a
        .metrics
        .iter()
        .filter(|m| levels.contains(m.name.as_str()))
    {
        assert!(
            ["Maximum", "Minimum", "Average"].contains(&m.stat.as_str()),
            "{}: {} is a level, drawn with {}",
            m.widget,
            m.name,
            m.stat
        );
    }
}

#[test]
fn the_backfill_variable_switches_the_backfill_id_and_defaults_to_the_stacks() {
    let d = real_dashboard();
    let vars = d["variables"].as_array().expect("a variables array");
    let v = vars
        .iter()
        .find(|v| v["property"] == emf::DIMENSION)
        .expect("a variable for the BackfillId property");
    assert_eq!(v["type"], "property");
    assert_eq!(v["defaultValue"], dummy("BackfillId"));
    assert_eq!(v["populateFrom"], emf::DIMENSION);
    let search = v["search"].as_str().unwrap_or_default();
    assert!(
        search.contains(&format!("{{{},{}}}", our_namespace(), emf::DIMENSION)),
        "the variable's search {search:?} is not over our namespace"
    );
}

// The checks catch what they are for.

fn first_widget_with_metrics(d: &mut Value) -> &mut Vec<Value> {
    d["widgets"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find_map(|w| w["properties"]["metrics"].as_array_mut())
        .unwrap()
}

#[test]
fn a_made_up_metric_name_is_caught() {
    let mut d = real_dashboard();
    first_widget_with_metrics(&mut d).push(json!([
        our_namespace(),
        "DocumentsTeleported",
        "BackfillId",
        dummy("BackfillId")
    ]));
    let problems = our_metric_problems(&analyse(&d).unwrap());
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("DocumentsTeleported"), "{problems:?}");
}

#[test]
fn a_metric_with_another_dimension_is_caught() {
    let mut d = real_dashboard();
    first_widget_with_metrics(&mut d).push(json!([
        our_namespace(),
        "DocumentsIndexed",
        "BackfillId",
        dummy("BackfillId"),
        "WorkerId",
        "w-1"
    ]));
    let problems = our_metric_problems(&analyse(&d).unwrap());
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("WorkerId"), "{problems:?}");
}

#[test]
fn a_metric_drawn_nowhere_is_caught() {
    let mut d = real_dashboard();
    for w in d["widgets"].as_array_mut().unwrap() {
        if let Some(rows) = w["properties"]["metrics"].as_array_mut() {
            rows.retain(|r| !r.as_array().unwrap().contains(&json!("StaleLeases")));
        }
    }
    let problems = coverage_problems(&analyse(&d).unwrap());
    assert_eq!(
        problems,
        vec!["StaleLeases is emitted but no widget draws it"]
    );
}

#[test]
fn a_hard_coded_or_foreign_namespace_is_caught() {
    let mut d = real_dashboard();
    first_widget_with_metrics(&mut d).push(json!([
        "Backfill",
        "DocumentsIndexed",
        "BackfillId",
        "x"
    ]));
    first_widget_with_metrics(&mut d).push(json!([
        "AWS/ECS",
        "CPUUtilization",
        "ClusterName",
        "some-other-cluster",
        "ServiceName",
        dummy("EcsServiceName")
    ]));
    let problems = other_namespace_problems(&analyse(&d).unwrap());
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("namespace Backfill"), "{problems:?}");
    assert!(problems[1].contains("some-other-cluster"), "{problems:?}");
}

#[test]
fn an_unknown_placeholder_is_caught_and_an_escaped_one_kept() {
    let err = substitute(r#"{"a": "${AWS::Region}/${Stage}"}"#).unwrap_err();
    assert!(err.contains("${Stage}"), "{err}");
    assert_eq!(
        substitute(r#""${!Literal} ${BackfillId}""#).unwrap(),
        format!(r#""${{Literal}} {}""#, dummy("BackfillId"))
    );
    let text = dashboard_text().replacen("${EcsServiceName}", "${EcsService}", 1);
    assert!(load(&text).unwrap_err().contains("${EcsService}"));
}

#[test]
fn a_widget_off_the_grid_or_on_another_is_caught() {
    let mut d = real_dashboard();
    let widgets = d["widgets"].as_array_mut().unwrap();
    let mut wide = widgets[1].clone();
    wide["properties"]["title"] = json!("too wide");
    wide["x"] = json!(20);
    wide["y"] = json!(1000);
    wide["width"] = json!(8);
    widgets.push(wide);
    let problems = grid_problems(&analyse(&d).unwrap());
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("too wide:"), "{problems:?}");

    let mut d = real_dashboard();
    let widgets = d["widgets"].as_array_mut().unwrap();
    let copy = widgets[1].clone();
    widgets.push(copy);
    assert_eq!(grid_problems(&analyse(&d).unwrap()).len(), 1);
}

#[test]
fn an_expression_over_a_missing_row_is_caught() {
    let mut d = real_dashboard();
    first_widget_with_metrics(&mut d)
        .push(json!([{"expression": "missing / PERIOD(missing)", "id": "rate"}]));
    let problems = expression_problems(&analyse(&d).unwrap());
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("refers to missing"), "{problems:?}");
}

#[test]
fn shorthand_rows_repeat_the_previous_row() {
    let rows = json!([
        ["NS", "A", "D1", "v1", "D2", "v2", {"stat": "Sum"}],
        [".", "B", ".", ".", ".", "."],
        ["...", "v3", {"stat": "p99"}],
        ["...", {"stat": "Maximum"}],
        ["NS2", "...", "v4"]
    ]);
    let d = json!({"widgets": [{"type": "metric", "x": 0, "y": 0, "width": 6, "height": 6,
        "properties": {"metrics": rows, "stat": "Average"}}]});
    let a = analyse(&d).unwrap();
    let got: Vec<String> = a
        .metrics
        .iter()
        .map(|m| {
            let dims: Vec<String> = m
                .dimensions
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            format!("{} {} {} {}", m.namespace, m.name, dims.join(","), m.stat)
        })
        .collect();
    assert_eq!(
        got,
        [
            "NS A D1=v1,D2=v2 Sum",
            "NS B D1=v1,D2=v2 Average",
            "NS B D1=v1,D2=v3 p99",
            "NS B D1=v1,D2=v3 Maximum",
            "NS2 B D1=v1,D2=v4 Average",
        ]
    );
    let bad = json!({"widgets": [{"type": "metric", "x": 0, "y": 0, "width": 6, "height": 6,
        "properties": {"metrics": [[".", "A"]]}}]});
    assert!(analyse(&bad).unwrap_err().contains("nothing above it"));
}
