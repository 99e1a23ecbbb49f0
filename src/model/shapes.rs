//! Typed shapes: the Smithy JSON AST of `proton.json` resolved once into an
//! arena where every member points at its target by index and carries the
//! constraints that apply at its position (the target's, overridden by the
//! member's own traits). Validation and output checks walk this arena; the
//! AST types below never leave this file.

use super::pattern::Pattern;
use serde::Deserialize;
use serde_json::{Number, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// Index of a shape in [`Schema::shapes`].
pub(super) type ShapeRef = usize;

/// The resolved service model.
pub(super) struct Schema {
    pub shapes: Vec<Shape>,
    pub operations: BTreeMap<String, Operation>,
    pub service_name: String,
    pub token_members: Vec<(String, String)>,
    pub timestamp_members: Vec<String>,
}

pub(super) struct Shape {
    pub id: String,
    pub kind: Kind,
    pub constraints: Constraints,
    pub is_error: bool,
}

pub(super) enum Kind {
    Blob,
    Boolean,
    String,
    /// byte, short, integer, long, intEnum: whole numbers within `min..=max`.
    Integer {
        min: i64,
        max: i64,
    },
    BigInteger,
    /// float, double: also the strings `NaN`, `Infinity`, `-Infinity`.
    Float,
    BigDecimal,
    Timestamp,
    Document,
    List {
        member: Member,
        sparse: bool,
    },
    Map {
        key: Member,
        value: Member,
        sparse: bool,
    },
    Structure(Vec<Member>),
    Union(Vec<Member>),
}

pub(super) struct Member {
    pub name: String,
    /// The member's shape (Smithy's `target`).
    pub shape: ShapeRef,
    pub required: bool,
    pub idempotency_token: bool,
    pub constraints: Constraints,
}

pub(super) struct Operation {
    pub input: ShapeRef,
    pub output: ShapeRef,
    pub errors: Vec<String>,
}

/// The constraint traits in force at one value position.
#[derive(Clone, Default)]
pub(super) struct Constraints {
    pub length: Option<Bounds<u64>>,
    pub range: Option<Bounds<Number>>,
    pub pattern: Option<Arc<Pattern>>,
    pub enum_values: Option<Arc<[String]>>,
    pub int_enum_values: Option<Arc<[i64]>>,
    pub sensitive: bool,
    pub timestamp_format: TimestampFormat,
}

#[derive(Clone)]
pub(super) struct Bounds<T> {
    pub min: Option<T>,
    pub max: Option<T>,
}

#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub(super) enum TimestampFormat {
    /// What awsJson uses unless a member says otherwise.
    #[default]
    EpochSeconds,
    /// `date-time` or `http-date`: a JSON string.
    Text,
}

#[derive(Deserialize)]
struct AstModel {
    shapes: BTreeMap<String, AstShape>,
}

#[derive(Default, Deserialize)]
struct AstShape {
    #[serde(rename = "type")]
    kind: String,
    member: Option<AstMember>,
    key: Option<AstMember>,
    value: Option<AstMember>,
    #[serde(default)]
    members: BTreeMap<String, AstMember>,
    input: Option<AstTarget>,
    output: Option<AstTarget>,
    #[serde(default)]
    errors: Vec<AstTarget>,
    #[serde(default)]
    traits: BTreeMap<String, Value>,
}

#[derive(Deserialize)]
struct AstMember {
    target: String,
    #[serde(default)]
    traits: BTreeMap<String, Value>,
}

#[derive(Deserialize)]
struct AstTarget {
    target: String,
}

const PRELUDE: &[(&str, &str)] = &[
    ("BigDecimal", "bigDecimal"),
    ("BigInteger", "bigInteger"),
    ("Blob", "blob"),
    ("Boolean", "boolean"),
    ("Byte", "byte"),
    ("Document", "document"),
    ("Double", "double"),
    ("Float", "float"),
    ("Integer", "integer"),
    ("Long", "long"),
    ("PrimitiveBoolean", "boolean"),
    ("PrimitiveByte", "byte"),
    ("PrimitiveDouble", "double"),
    ("PrimitiveFloat", "float"),
    ("PrimitiveInteger", "integer"),
    ("PrimitiveLong", "long"),
    ("PrimitiveShort", "short"),
    ("Short", "short"),
    ("String", "string"),
    ("Timestamp", "timestamp"),
    ("Unit", "structure"),
];

/// The text after `#` in a shape id.
pub(super) fn short_name(id: &str) -> &str {
    id.rsplit_once('#').map_or(id, |(_, name)| name)
}

impl Schema {
    /// Resolves a Smithy JSON AST; the error names the shape or trait at fault.
    pub fn parse(text: &str) -> Result<Self, String> {
        let ast: AstModel =
            serde_json::from_str(text).map_err(|e| format!("not a Smithy JSON AST: {e}"))?;

        let prelude: Vec<(String, AstShape)> = PRELUDE
            .iter()
            .map(|(name, kind)| {
                let shape = AstShape {
                    kind: kind.to_string(),
                    ..AstShape::default()
                };
                (format!("smithy.api#{name}"), shape)
            })
            .collect();
        let value_shapes: Vec<(&String, &AstShape)> = prelude
            .iter()
            .map(|(id, shape)| (id, shape))
            .chain(ast.shapes.iter().filter(|(_, s)| is_value_shape(&s.kind)))
            .collect();

        let by_id: HashMap<String, ShapeRef> = value_shapes
            .iter()
            .enumerate()
            .map(|(i, (id, _))| ((*id).clone(), i))
            .collect();
        let own: Vec<Constraints> = value_shapes
            .iter()
            .map(|(id, shape)| shape_constraints(shape).map_err(|e| format!("{id}: {e}")))
            .collect::<Result<_, _>>()?;

        let resolver = Resolver {
            by_id: &by_id,
            own: &own,
        };
        let mut shapes = Vec::with_capacity(value_shapes.len());
        for ((id, shape), constraints) in value_shapes.iter().zip(&own) {
            let kind = resolver.kind(shape).map_err(|e| format!("{id}: {e}"))?;
            shapes.push(Shape {
                id: (*id).clone(),
                kind,
                constraints: constraints.clone(),
                is_error: shape.traits.contains_key("smithy.api#error"),
            });
        }

        let mut schema = Schema {
            shapes,
            operations: operations(&ast, &resolver)?,
            service_name: service_name(&ast)?,
            token_members: Vec::new(),
            timestamp_members: Vec::new(),
        };
        schema.token_members = schema.find_token_members();
        schema.timestamp_members = schema.find_timestamp_members();
        Ok(schema)
    }

    fn find_token_members(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (name, op) in &self.operations {
            if let Kind::Structure(members) = &self.shapes[op.input].kind {
                for m in members.iter().filter(|m| m.idempotency_token) {
                    out.push((name.clone(), m.name.clone()));
                }
            }
        }
        out
    }

    fn find_timestamp_members(&self) -> Vec<String> {
        let mut names = BTreeSet::new();
        for shape in &self.shapes {
            if let Kind::Structure(members) | Kind::Union(members) = &shape.kind {
                for m in members {
                    if matches!(self.shapes[m.shape].kind, Kind::Timestamp) {
                        names.insert(m.name.clone());
                    }
                }
            }
        }
        names.into_iter().collect()
    }
}

fn is_value_shape(kind: &str) -> bool {
    !matches!(kind, "operation" | "service" | "resource")
}

/// The operations by short name, their input and output resolved.
fn operations(
    ast: &AstModel,
    resolver: &Resolver<'_>,
) -> Result<BTreeMap<String, Operation>, String> {
    let mut operations = BTreeMap::new();
    for (id, shape) in ast.shapes.iter().filter(|(_, s)| s.kind == "operation") {
        let io = |t: &Option<AstTarget>| {
            let target = t.as_ref().map_or("smithy.api#Unit", |t| t.target.as_str());
            resolver.target(target).map_err(|e| format!("{id}: {e}"))
        };
        let operation = Operation {
            input: io(&shape.input)?,
            output: io(&shape.output)?,
            errors: shape
                .errors
                .iter()
                .map(|e| short_name(&e.target).to_string())
                .collect(),
        };
        operations.insert(short_name(id).to_string(), operation);
    }
    Ok(operations)
}

/// The short name of the model's one service shape.
fn service_name(ast: &AstModel) -> Result<String, String> {
    let services: Vec<&String> = ast
        .shapes
        .iter()
        .filter(|(_, s)| s.kind == "service")
        .map(|(id, _)| id)
        .collect();
    match services.as_slice() {
        [id] => Ok(short_name(id).to_string()),
        _ => Err(format!(
            "expected one service shape, found {}",
            services.len()
        )),
    }
}

struct Resolver<'a> {
    by_id: &'a HashMap<String, ShapeRef>,
    own: &'a [Constraints],
}

impl Resolver<'_> {
    fn target(&self, id: &str) -> Result<ShapeRef, String> {
        self.by_id
            .get(id)
            .copied()
            .ok_or_else(|| format!("unknown target shape {id}"))
    }

    fn member(&self, name: &str, ast: Option<&AstMember>) -> Result<Member, String> {
        let ast = ast.ok_or_else(|| format!("missing `{name}`"))?;
        let shape = self.target(&ast.target)?;
        let has = |t: &str| ast.traits.contains_key(t);
        Ok(Member {
            name: name.to_string(),
            shape,
            required: has("smithy.api#required") && !has("smithy.api#default"),
            idempotency_token: has("smithy.api#idempotencyToken"),
            constraints: constraints(&self.own[shape], &ast.traits)
                .map_err(|e| format!("member {name}: {e}"))?,
        })
    }

    fn members(&self, ast: &BTreeMap<String, AstMember>) -> Result<Vec<Member>, String> {
        ast.iter()
            .map(|(name, m)| self.member(name, Some(m)))
            .collect()
    }

    fn kind(&self, shape: &AstShape) -> Result<Kind, String> {
        let sparse = shape.traits.contains_key("smithy.api#sparse");
        Ok(match shape.kind.as_str() {
            "blob" => Kind::Blob,
            "boolean" => Kind::Boolean,
            "string" | "enum" => Kind::String,
            "byte" => Kind::Integer {
                min: i8::MIN.into(),
                max: i8::MAX.into(),
            },
            "short" => Kind::Integer {
                min: i16::MIN.into(),
                max: i16::MAX.into(),
            },
            "integer" | "intEnum" => Kind::Integer {
                min: i32::MIN.into(),
                max: i32::MAX.into(),
            },
            "long" => Kind::Integer {
                min: i64::MIN,
                max: i64::MAX,
            },
            "bigInteger" => Kind::BigInteger,
            "float" | "double" => Kind::Float,
            "bigDecimal" => Kind::BigDecimal,
            "timestamp" => Kind::Timestamp,
            "document" => Kind::Document,
            "list" | "set" => Kind::List {
                member: self.member("member", shape.member.as_ref())?,
                sparse,
            },
            "map" => Kind::Map {
                key: self.member("key", shape.key.as_ref())?,
                value: self.member("value", shape.value.as_ref())?,
                sparse,
            },
            "structure" => Kind::Structure(self.members(&shape.members)?),
            "union" => Kind::Union(self.members(&shape.members)?),
            other => return Err(format!("unknown shape type `{other}`")),
        })
    }
}

/// A shape's own constraints; Smithy 2.0 enum shapes list their values as
/// members rather than in a trait.
fn shape_constraints(shape: &AstShape) -> Result<Constraints, String> {
    let mut c = constraints(&Constraints::default(), &shape.traits)?;
    let value = |name: &String, m: &AstMember| {
        m.traits
            .get("smithy.api#enumValue")
            .cloned()
            .unwrap_or_else(|| Value::String(name.clone()))
    };
    match shape.kind.as_str() {
        "enum" => {
            let values = shape
                .members
                .iter()
                .map(|(name, m)| value(name, m).as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or("enum member with a non-string enumValue")?;
            c.enum_values = Some(values.into());
        }
        "intEnum" => {
            let values = shape
                .members
                .iter()
                .map(|(name, m)| value(name, m).as_i64())
                .collect::<Option<Vec<_>>>()
                .ok_or("intEnum member without an integer enumValue")?;
            c.int_enum_values = Some(values.into());
        }
        _ => {}
    }
    Ok(c)
}

/// `base` with the constraint traits found in `traits` laid over it.
fn constraints(
    base: &Constraints,
    traits: &BTreeMap<String, Value>,
) -> Result<Constraints, String> {
    let mut c = base.clone();
    if let Some(v) = traits.get("smithy.api#length") {
        let bound = |k: &str| match v.get(k) {
            None => Ok(None),
            Some(n) => n
                .as_u64()
                .map(Some)
                .ok_or_else(|| format!("length {k} {n} is not a count")),
        };
        c.length = Some(Bounds {
            min: bound("min")?,
            max: bound("max")?,
        });
    }
    if let Some(v) = traits.get("smithy.api#range") {
        let bound = |k: &str| match v.get(k) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(Some(n.clone())),
            Some(other) => Err(format!("range {k} {other} is not a number")),
        };
        c.range = Some(Bounds {
            min: bound("min")?,
            max: bound("max")?,
        });
    }
    if let Some(v) = traits.get("smithy.api#pattern") {
        let source = v
            .as_str()
            .ok_or_else(|| format!("pattern {v} is not a string"))?;
        c.pattern = Some(Arc::new(Pattern::new(source)));
    }
    if let Some(v) = traits.get("smithy.api#enum") {
        let values = v
            .as_array()
            .ok_or("enum trait is not a list")?
            .iter()
            .map(|e| e.get("value").and_then(Value::as_str).map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or("enum trait entry without a string value")?;
        c.enum_values = Some(values.into());
    }
    if traits.contains_key("smithy.api#sensitive") {
        c.sensitive = true;
    }
    if let Some(v) = traits.get("smithy.api#timestampFormat") {
        c.timestamp_format = match v.as_str() {
            Some("epoch-seconds") => TimestampFormat::EpochSeconds,
            Some("date-time" | "http-date") => TimestampFormat::Text,
            _ => return Err(format!("unknown timestampFormat {v}")),
        };
    }
    Ok(c)
}
