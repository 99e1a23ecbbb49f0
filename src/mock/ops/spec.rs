//! What the mock reads from a service spec: whether it has a `pipeline`
//! section and the `instances` (name and environment) to create. A spec is
//! YAML in block style, as the Proton documentation writes it, or JSON; the
//! reader understands only the top-level keys and the first level of each
//! instance, which is all the mock needs, and never fails on other content.

use serde_json::Value;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct ServiceSpec {
    pub pipeline: bool,
    /// (instance name, environment name), in spec order.
    pub instances: Vec<(String, String)>,
}

/// Checks that a spec reads as a YAML (or JSON) mapping; `Err` says where it
/// does not. Conservative: it refuses only what no YAML reader accepts as a
/// mapping (a JSON document that does not parse or is not an object, tabs in
/// indentation, an unclosed quote, a top-level line that is not `key: value`).
pub fn check(spec: &str) -> Result<(), String> {
    let trimmed = spec.trim_start();
    if trimmed.is_empty() {
        return Err("it is empty".into());
    }
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return match serde_json::from_str::<Value>(spec) {
            Ok(Value::Object(_)) => Ok(()),
            Ok(_) => Err("it is JSON but not an object".into()),
            Err(error) => Err(format!("it is not valid JSON ({error})")),
        };
    }
    let mut block: Option<usize> = None;
    let mut seen_key = false;
    for (number, raw) in spec.lines().enumerate() {
        let line_no = number + 1;
        let indent_text = &raw[..raw.len() - raw.trim_start().len()];
        let indent = indent_text.len();
        if let Some(column) = block {
            if raw.trim().is_empty() || indent > column {
                continue;
            }
            block = None;
        }
        let line = strip_comment(raw);
        let text = line.trim();
        if text.is_empty() || text.starts_with("---") || text == "..." {
            continue;
        }
        if indent_text.contains('\t') {
            return Err(format!(
                "line {line_no} is indented with a tab; YAML indents with spaces"
            ));
        }
        if !quotes_closed(text) {
            return Err(format!("line {line_no} has an unclosed quote"));
        }
        // A list may sit at column 0 as the value of the key above it.
        if indent == 0 && text.starts_with('-') {
            if !seen_key {
                return Err(format!(
                    "line {line_no} starts a list at the top level; a spec is a YAML mapping"
                ));
            }
        } else if indent == 0 && !text.contains(':') {
            return Err(format!(
                "line {line_no} ({text}) is not a key: value line; a spec is a YAML mapping"
            ));
        }
        seen_key |= indent == 0 && !text.starts_with('-');
        let value = text.rsplit(':').next().unwrap_or("").trim();
        if matches!(value.chars().next(), Some('|' | '>')) {
            block = Some(indent);
        }
    }
    Ok(())
}

fn quotes_closed(text: &str) -> bool {
    let mut quote: Option<char> = None;
    let mut chars = text.chars().peekable();
    let mut at_token_start = true;
    while let Some(c) = chars.next() {
        match quote {
            Some('"') if c == '\\' => {
                chars.next();
            }
            Some(q) if c == q => {
                if q == '\'' && chars.peek() == Some(&'\'') {
                    chars.next();
                } else {
                    quote = None;
                }
            }
            Some(_) => {}
            // Quotes open a scalar only at its start (`it's` is plain text).
            None if (c == '"' || c == '\'') && at_token_start => quote = Some(c),
            None => {}
        }
        at_token_start = quote.is_none() && matches!(c, ' ' | ':' | '-' | '[' | '{' | ',');
    }
    quote.is_none()
}

/// Reads a spec; `Err` says what is missing from an instance or why the spec
/// does not read as YAML.
pub fn parse(spec: &str) -> Result<ServiceSpec, String> {
    check(spec)?;
    if spec.trim_start().starts_with('{') {
        if let Ok(json) = serde_json::from_str::<Value>(spec) {
            return from_json(&json);
        }
    }
    from_yaml(spec)
}

fn from_json(json: &Value) -> Result<ServiceSpec, String> {
    let mut out = ServiceSpec {
        pipeline: json.get("pipeline").is_some(),
        instances: Vec::new(),
    };
    for (index, instance) in json
        .get("instances")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let field = |key: &str| {
            instance
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        out.instances
            .push(complete(index, field("name"), field("environment"))?);
    }
    Ok(out)
}

fn complete(
    index: usize,
    name: Option<String>,
    environment: Option<String>,
) -> Result<(String, String), String> {
    match (name, environment) {
        (Some(name), Some(environment)) => Ok((name, environment)),
        (None, _) => Err(format!("instance {} of the spec has no name", index + 1)),
        (Some(name), None) => Err(format!("instance {name} of the spec has no environment")),
    }
}

fn from_yaml(spec: &str) -> Result<ServiceSpec, String> {
    let mut out = ServiceSpec::default();
    let mut in_instances = false;
    // Column of the keys of the current instance, and what was read so far.
    let mut item: Option<(usize, Option<String>, Option<String>)> = None;
    let mut finished = Vec::new();
    for raw in spec.lines() {
        let line = strip_comment(raw);
        if line.trim().is_empty() || line.trim_start().starts_with("---") {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let text = line.trim_start();
        if indent == 0 && !text.starts_with('-') {
            finished.extend(item.take());
            let key = text.split(':').next().unwrap_or("").trim();
            in_instances = key == "instances";
            out.pipeline |= key == "pipeline";
            continue;
        }
        if !in_instances {
            continue;
        }
        let (column, text) = match text.strip_prefix('-') {
            Some(rest) => {
                finished.extend(item.take());
                let column = indent + 1 + (rest.len() - rest.trim_start().len());
                item = Some((column, None, None));
                (column, rest.trim_start())
            }
            None => (indent, text),
        };
        if let Some((item_column, name, environment)) = item.as_mut() {
            if column != *item_column {
                continue;
            }
            if let Some((key, value)) = text.split_once(':') {
                match key.trim() {
                    "name" => *name = Some(unquote(value)),
                    "environment" => *environment = Some(unquote(value)),
                    _ => {}
                }
            }
        }
    }
    finished.extend(item);
    for (index, (_, name, environment)) in finished.into_iter().enumerate() {
        out.instances.push(complete(index, name, environment)?);
    }
    Ok(out)
}

fn strip_comment(line: &str) -> &str {
    if line.trim_start().starts_with('#') {
        return "";
    }
    match line.find(" #") {
        Some(at) if !line[..at].contains(['"', '\'']) => &line[..at],
        _ => line,
    }
}

fn unquote(value: &str) -> String {
    let value = value.trim();
    let quoted = value.len() >= 2
        && ((value.starts_with('"') && value.ends_with('"'))
            || (value.starts_with('\'') && value.ends_with('\'')));
    if quoted {
        value[1..value.len() - 1].to_string()
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_user_guide_spec() {
        let spec = "proton: ServiceSpec\npipeline:\n  my_sample_pipeline_required_input: \"hello\"\ninstances:\n  - name: \"acme-network-dev\"\n    environment: \"ENV_NAME\"\n    spec:\n      name: nested-not-an-instance\n      my_input: \"hi\"\n  - name: second # a comment\n    environment: 'other-env'\n";
        let parsed = parse(spec).unwrap();
        assert!(parsed.pipeline);
        assert_eq!(
            parsed.instances,
            vec![
                ("acme-network-dev".to_string(), "ENV_NAME".to_string()),
                ("second".to_string(), "other-env".to_string())
            ]
        );
    }

    #[test]
    fn reads_unindented_lists_and_json() {
        let spec = "proton: ServiceSpec\ninstances:\n- name: one\n  environment: env\n";
        assert_eq!(
            parse(spec).unwrap().instances,
            vec![("one".into(), "env".into())]
        );
        assert!(!parse(spec).unwrap().pipeline);
        let json = r#"{"pipeline": {}, "instances": [{"name": "a", "environment": "e"}]}"#;
        assert_eq!(
            parse(json).unwrap(),
            ServiceSpec {
                pipeline: true,
                instances: vec![("a".into(), "e".into())]
            }
        );
    }

    #[test]
    fn an_instance_without_environment_is_an_error_not_a_panic() {
        assert!(parse("instances:\n  - name: x\n").is_err());
        assert!(parse("instances:\n  -\n").is_err());
        assert_eq!(parse("::::\n  - : \n").map(|s| s.pipeline), Ok(false));
    }

    #[test]
    fn unreadable_specs_say_where() {
        for (spec, problem) in [
            ("", "empty"),
            ("{\"a\": ", "not valid JSON"),
            ("[1]", "not an object"),
            ("proton: ServiceSpec\n\tinstances: x\n", "line 2"),
            ("proton: \"ServiceSpec\n", "unclosed quote"),
            ("just some words\n", "not a key: value"),
            ("- a: b\n", "top level"),
        ] {
            let error = check(spec).unwrap_err();
            assert!(error.contains(problem), "{spec:?}: {error}");
        }
        let block = "proton: ServiceSpec\npipeline:\n  script: |\n    echo it's \"fine\n    no key here\ninstances: []\n";
        assert_eq!(check(block), Ok(()));
        assert_eq!(check("description: it's a 'quoted' word: \"x\"\n"), Ok(()));
    }
}
