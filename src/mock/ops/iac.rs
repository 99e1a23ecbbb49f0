//! What the mock reads from a component's infrastructure as code: the names
//! in a CloudFormation template's `Resources` and `Outputs` sections (YAML
//! in block style, or JSON), or a Terraform file's `resource` and `output`
//! blocks, and the template language its manifest names. A file it cannot
//! read simply yields no names; it never fails.

use serde_json::Value;

/// The IaC engine a manifest names (`template_language: terraform`), as the
/// model spells it; CloudFormation unless it says Terraform.
pub fn engine(manifest: &str) -> &'static str {
    let terraform = manifest.lines().any(|line| {
        line.split_once(':').is_some_and(|(key, value)| {
            key.trim().trim_start_matches('-').trim() == "template_language"
                && value
                    .trim()
                    .trim_matches(['"', '\''])
                    .eq_ignore_ascii_case("terraform")
        })
    });
    if terraform {
        "TERRAFORM"
    } else {
        "CLOUDFORMATION"
    }
}

/// The logical names of the resources a template defines.
pub fn resources(template: &str) -> Vec<String> {
    names(template, "Resources", "resource")
}

/// The names of the outputs a template declares.
pub fn outputs(template: &str) -> Vec<String> {
    names(template, "Outputs", "output")
}

fn names(template: &str, section: &str, block: &str) -> Vec<String> {
    if template.trim_start().starts_with('{') {
        if let Ok(json) = serde_json::from_str::<Value>(template) {
            return json
                .get(section)
                .and_then(Value::as_object)
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
        }
    }
    let terraform = terraform_blocks(template, block);
    if !terraform.is_empty() {
        return terraform;
    }
    yaml_section_keys(template, section)
}

/// `resource "aws_s3_bucket" "logs" {` -> `aws_s3_bucket.logs`; `output "url" {` -> `url`.
fn terraform_blocks(template: &str, block: &str) -> Vec<String> {
    template
        .lines()
        .filter_map(|line| {
            let rest = line.trim_start().strip_prefix(block)?;
            if !rest.starts_with([' ', '\t', '"']) {
                return None;
            }
            let labels: Vec<&str> = rest
                .split('"')
                .skip(1)
                .step_by(2)
                .filter(|label| !label.is_empty())
                .collect();
            (!labels.is_empty()).then(|| labels.join("."))
        })
        .collect()
}

fn yaml_section_keys(template: &str, section: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    let mut column: Option<usize> = None;
    for line in template.lines() {
        let text = line.trim_start();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let indent = line.len() - text.len();
        if indent == 0 {
            inside = text.split(':').next().map(str::trim) == Some(section);
            column = None;
            continue;
        }
        if !inside {
            continue;
        }
        let column = *column.get_or_insert(indent);
        if indent == column {
            if let Some((key, _)) = text.split_once(':') {
                let key = key.trim().trim_matches(['"', '\'']);
                if !key.is_empty() {
                    out.push(key.to_string());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cloudformation_yaml_and_json() {
        let yaml = "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  # a queue\n  MyQueue:\n    Type: AWS::SQS::Queue\n    Properties:\n      Name: q\n  Bucket:\n    Type: AWS::S3::Bucket\nOutputs:\n  QueueUrl:\n    Value: !Ref MyQueue\n";
        assert_eq!(resources(yaml), vec!["MyQueue", "Bucket"]);
        assert_eq!(outputs(yaml), vec!["QueueUrl"]);
        let json = r#"{"Resources": {"T": {"Type": "AWS::SNS::Topic"}}, "Outputs": {"Arn": {}}}"#;
        assert_eq!(resources(json), vec!["T"]);
        assert_eq!(outputs(json), vec!["Arn"]);
    }

    #[test]
    fn reads_terraform_and_the_manifest_language() {
        let tf = "resource \"aws_s3_bucket\" \"logs\" {\n  bucket = \"x\"\n}\noutput \"bucket\" {\n  value = aws_s3_bucket.logs.id\n}\n";
        assert_eq!(resources(tf), vec!["aws_s3_bucket.logs"]);
        assert_eq!(outputs(tf), vec!["bucket"]);
        let manifest = "infrastructure:\n  templates:\n    - file: main.tf\n      rendering_engine: hcl\n      template_language: terraform\n";
        assert_eq!(engine(manifest), "TERRAFORM");
        assert_eq!(
            engine("template_language: cloudformation"),
            "CLOUDFORMATION"
        );
        assert!(resources(":::\n  - x").is_empty());
    }
}
