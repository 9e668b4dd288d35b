//! Choice rules: parsed (and checked for well-formedness) once, evaluated against the state's
//! effective input. As in Step Functions, a comparison whose operand has the wrong type is
//! simply false, while a Variable (or `…Path` operand) that does not resolve is States.Runtime;
//! IsPresent is the way to test for a missing field.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::path::Path;
use super::{time, Fault};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    String,
    Numeric,
    Boolean,
    Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Test {
    /// One of the orderings the operator accepts (Equals: [Equal]; LessThanEquals: [Less, Equal]).
    Compare(Family, &'static [Ordering]),
    StringMatches,
    IsNull,
    IsPresent,
    IsNumeric,
    IsString,
    IsBoolean,
    IsTimestamp,
}

const EQ: &[Ordering] = &[Ordering::Equal];
const LT: &[Ordering] = &[Ordering::Less];
const GT: &[Ordering] = &[Ordering::Greater];
const LE: &[Ordering] = &[Ordering::Less, Ordering::Equal];
const GE: &[Ordering] = &[Ordering::Greater, Ordering::Equal];

/// The operator named `name` (without a `Path` suffix).
fn test_named(name: &str) -> Option<Test> {
    let (family, rest) = [
        ("String", Family::String),
        ("Numeric", Family::Numeric),
        ("Boolean", Family::Boolean),
        ("Timestamp", Family::Timestamp),
    ]
    .into_iter()
    .find_map(|(prefix, family)| name.strip_prefix(prefix).map(|rest| (family, rest)))?;
    let orderings = match (family, rest) {
        (Family::String, "Matches") => return Some(Test::StringMatches),
        (Family::Boolean, "Equals") => EQ,
        (Family::Boolean, _) => return None,
        (_, "Equals") => EQ,
        (_, "LessThan") => LT,
        (_, "GreaterThan") => GT,
        (_, "LessThanEquals") => LE,
        (_, "GreaterThanEquals") => GE,
        _ => return None,
    };
    Some(Test::Compare(family, orderings))
}

fn type_test_named(name: &str) -> Option<Test> {
    Some(match name {
        "IsNull" => Test::IsNull,
        "IsPresent" => Test::IsPresent,
        "IsNumeric" => Test::IsNumeric,
        "IsString" => Test::IsString,
        "IsBoolean" => Test::IsBoolean,
        "IsTimestamp" => Test::IsTimestamp,
        _ => return None,
    })
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    Value(Value),
    Path(Path),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Rule {
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
    Compare {
        variable: Path,
        operator: String,
        test: Test,
        operand: Operand,
    },
}

/// A top-level rule with where it leads.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Branch {
    pub rule: Rule,
    pub next: String,
}

pub(crate) fn parse_branch(value: &Value) -> Result<Branch, String> {
    let map = value.as_object().ok_or("a choice rule must be an object")?;
    let next = match map.get("Next") {
        Some(Value::String(next)) => next.clone(),
        Some(_) => return Err("Next must be a string".into()),
        None => return Err("a top-level choice rule needs a Next".into()),
    };
    Ok(Branch {
        rule: parse_rule(map, true)?,
        next,
    })
}

fn parse_rule(map: &Map<String, Value>, top: bool) -> Result<Rule, String> {
    /// What the rule's one operator field turned out to be.
    enum Found {
        Logical(Rule),
        Compare(String, Test, Operand),
    }
    if !top && map.contains_key("Next") {
        return Err("a rule nested in And/Or/Not must not have a Next".into());
    }
    let mut found: Option<Found> = None;
    let mut variable: Option<&Value> = None;
    for (key, value) in map {
        let this = match key.as_str() {
            "Next" | "Comment" => continue,
            "Variable" => {
                variable = Some(value);
                continue;
            }
            "And" | "Or" => {
                let items = value
                    .as_array()
                    .filter(|items| !items.is_empty())
                    .ok_or_else(|| format!("{key} must be a non-empty array of rules"))?;
                let rules = items
                    .iter()
                    .map(|item| {
                        item.as_object()
                            .ok_or_else(|| format!("{key} holds a rule that is not an object"))
                            .and_then(|m| parse_rule(m, false))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Found::Logical(if key == "And" {
                    Rule::And(rules)
                } else {
                    Rule::Or(rules)
                })
            }
            "Not" => {
                let inner = value.as_object().ok_or("Not must hold one rule object")?;
                Found::Logical(Rule::Not(Box::new(parse_rule(inner, false)?)))
            }
            name => {
                let (test, by_path) = match name.strip_suffix("Path") {
                    Some(base) => (test_named(base).filter(|t| *t != Test::StringMatches), true),
                    None => (test_named(name).or_else(|| type_test_named(name)), false),
                };
                let test =
                    test.ok_or_else(|| format!("unknown field or comparison operator '{name}'"))?;
                Found::Compare(name.to_owned(), test, operand(name, test, by_path, value)?)
            }
        };
        if found.replace(this).is_some() {
            return Err(
                "a choice rule must have exactly one comparison operator, And, Or or Not".into(),
            );
        }
    }
    match (found, variable) {
        (None, _) => Err("a choice rule needs a comparison operator, And, Or or Not".into()),
        (Some(Found::Compare(operator, test, operand)), Some(variable)) => {
            let text = variable.as_str().ok_or("Variable must be a string")?;
            Ok(Rule::Compare {
                variable: Path::parse(text)?,
                operator,
                test,
                operand,
            })
        }
        (Some(Found::Compare(operator, ..)), None) => Err(format!("{operator} needs a Variable")),
        (Some(Found::Logical(_)), Some(_)) => Err("And, Or and Not take no Variable".into()),
        (Some(Found::Logical(rule)), None) => Ok(rule),
    }
}

fn operand(name: &str, test: Test, by_path: bool, value: &Value) -> Result<Operand, String> {
    if by_path {
        let text = value
            .as_str()
            .ok_or_else(|| format!("{name} must be a path string"))?;
        return Path::parse(text).map(Operand::Path);
    }
    let ok = match test {
        Test::Compare(Family::String, _) | Test::StringMatches => value.is_string(),
        Test::Compare(Family::Numeric, _) => value.is_number(),
        Test::Compare(Family::Timestamp, _) => value.as_str().and_then(time::parse_nanos).is_some(),
        Test::Compare(Family::Boolean, _) | Test::IsNull | Test::IsPresent => value.is_boolean(),
        Test::IsNumeric | Test::IsString | Test::IsBoolean | Test::IsTimestamp => {
            value.is_boolean()
        }
    };
    if !ok {
        return Err(format!("{name} has a value of the wrong type: {value}"));
    }
    Ok(Operand::Value(value.clone()))
}

impl Rule {
    pub(crate) fn eval(&self, input: &Value, context: &Value) -> Result<bool, Fault> {
        match self {
            Rule::And(rules) => {
                for rule in rules {
                    if !rule.eval(input, context)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Rule::Or(rules) => {
                for rule in rules {
                    if rule.eval(input, context)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Rule::Not(rule) => Ok(!rule.eval(input, context)?),
            Rule::Compare {
                variable,
                operator,
                test,
                operand,
            } => {
                let value = variable.resolve(input, context);
                if *test == Test::IsPresent {
                    return Ok(value.is_some() == (*operand == Operand::Value(Value::Bool(true))));
                }
                let invalid = |path: &Path| {
                    Fault::runtime(format!(
                        "invalid path '{path}': the choice state's condition path references an invalid value ({operator})"
                    ))
                };
                let value = value.ok_or_else(|| invalid(variable))?;
                let operand = match operand {
                    Operand::Value(v) => v,
                    Operand::Path(path) => {
                        path.resolve(input, context).ok_or_else(|| invalid(path))?
                    }
                };
                Ok(compare(*test, value, operand))
            }
        }
    }
}

fn compare(test: Test, value: &Value, operand: &Value) -> bool {
    let expect = operand.as_bool() == Some(true);
    match test {
        Test::IsNull => value.is_null() == expect,
        Test::IsNumeric => value.is_number() == expect,
        Test::IsString => value.is_string() == expect,
        Test::IsBoolean => value.is_boolean() == expect,
        Test::IsTimestamp => value.as_str().and_then(time::parse_nanos).is_some() == expect,
        Test::IsPresent => unreachable!("handled by the caller"),
        Test::StringMatches => match (value.as_str(), operand.as_str()) {
            (Some(text), Some(pattern)) => wildcard_match(pattern, text),
            _ => false,
        },
        Test::Compare(family, accepted) => {
            let ordering = match family {
                Family::String => value.as_str().zip(operand.as_str()).map(|(a, b)| a.cmp(b)),
                Family::Numeric => value
                    .as_f64()
                    .zip(operand.as_f64())
                    .and_then(|(a, b)| a.partial_cmp(&b)),
                Family::Boolean => value
                    .as_bool()
                    .zip(operand.as_bool())
                    .map(|(a, b)| a.cmp(&b)),
                Family::Timestamp => value
                    .as_str()
                    .and_then(time::parse_nanos)
                    .zip(operand.as_str().and_then(time::parse_nanos))
                    .map(|(a, b)| a.cmp(&b)),
            };
            ordering.is_some_and(|o| accepted.contains(&o))
        }
    }
}

/// StringMatches: `*` matches any run of characters; `\*` and `\\` are literal.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    #[derive(PartialEq)]
    enum Token {
        Any,
        Char(char),
    }
    let mut tokens = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        tokens.push(match c {
            '*' => Token::Any,
            '\\' => Token::Char(chars.next().unwrap_or('\\')),
            c => Token::Char(c),
        });
    }
    let text: Vec<char> = text.chars().collect();
    // Classic two-pointer glob match with backtracking to the last star.
    let (mut t, mut p) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match tokens.get(p) {
            Some(Token::Char(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            Some(Token::Any) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    tokens[p..].iter().all(|token| *token == Token::Any)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard_match("log-*.txt", "log-2024.txt"));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("a*b*c", "aXbYbZc"));
        assert!(!wildcard_match("a*b", "aXc"));
        assert!(wildcard_match("a\\*", "a*"));
        assert!(!wildcard_match("a\\*", "ab"));
    }
}
