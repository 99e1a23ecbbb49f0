//! A rest operation's URI template (`/{Bucket}/{Key+}?uploadId`) and how
//! well a request's path and query fit it.

/// One path segment of a template.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// `{Name}`: one non-empty segment.
    Label(String),
    /// `{Name+}`: one or more segments, slashes included.
    Greedy(String),
}

/// A parsed `requestUri`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UriTemplate {
    text: String,
    segments: Vec<Segment>,
    /// Literal query requirements: `uploads` (present) or `x-id=GetObject`.
    query: Vec<(String, Option<String>)>,
}

impl UriTemplate {
    pub fn parse(text: &str) -> Self {
        let (path, query) = text.split_once('?').unwrap_or((text, ""));
        let segments = split_path(path)
            .map(
                |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(name) => match name.strip_suffix('+') {
                        Some(name) => Segment::Greedy(name.to_string()),
                        None => Segment::Label(name.to_string()),
                    },
                    None => Segment::Literal(s.to_string()),
                },
            )
            .collect();
        let query = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (p.to_string(), None),
            })
            .collect();
        Self {
            text: text.to_string(),
            segments,
            query,
        }
    }

    /// The template as the model writes it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// How specifically the template fits a request, higher is better; `None`
    /// when it does not fit. `x-id`, which some SDKs add and others omit,
    /// is not required.
    pub fn score(&self, path: &str, query: &str) -> Option<(usize, usize, usize)> {
        let actual: Vec<&str> = split_path(path).collect();
        let literals = match_segments(&self.segments, &actual)?;
        let mut query_hits = 0;
        for (key, value) in &self.query {
            let found = query.split('&').find_map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (k == key).then_some(v)
            });
            match (found, value) {
                (None, _) if key == "x-id" => {}
                (None, _) => return None,
                (Some(v), Some(want)) if v != want => return None,
                _ => query_hits += 1,
            }
        }
        let greedy = self
            .segments
            .iter()
            .filter(|s| matches!(s, Segment::Greedy(_)))
            .count();
        Some((literals, query_hits, usize::MAX - greedy))
    }
}

/// A path's segments after the leading slash; a trailing slash is ignored.
fn split_path(path: &str) -> impl Iterator<Item = &str> {
    let path = path.strip_prefix('/').unwrap_or(path);
    let path = path.strip_suffix('/').unwrap_or(path);
    path.split('/').filter(move |_| !path.is_empty())
}

/// The number of literal segments matched, or `None`.
fn match_segments(template: &[Segment], actual: &[&str]) -> Option<usize> {
    match template.split_first() {
        None => actual.is_empty().then_some(0),
        Some((Segment::Literal(want), rest)) => {
            let (first, tail) = actual.split_first()?;
            if first != want {
                return None;
            }
            match_segments(rest, tail).map(|n| n + 1)
        }
        Some((Segment::Label(_), rest)) => {
            let (first, tail) = actual.split_first()?;
            if first.is_empty() {
                return None;
            }
            match_segments(rest, tail)
        }
        Some((Segment::Greedy(_), rest)) => {
            // Templates put at most one greedy label, last or nearly: try the
            // longest take first.
            (1..=actual.len())
                .rev()
                .find_map(|take| match_segments(rest, &actual[take..]))
        }
    }
}
