//! Just enough of Bolt 4.4 to read the plan of an `EXPLAIN` from Neo4j: the plan arrives in the
//! metadata of the final SUCCESS, which `neo4rs` keeps to itself (its summary's `plan` is
//! crate-private). Handshake, HELLO, RUN, PULL over one connection; PackStream values decoded
//! into JSON (structures as `{"$struct": tag, "fields": [...]}`), enough for plan maps.
//! Test code: it trusts the server, and fails loudly on anything it does not know.

use anyhow::{Context as _, bail, ensure};
use serde_json::{Map, Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const SUCCESS: u8 = 0x70;
const RECORD: u8 = 0x71;
const FAILURE: u8 = 0x7F;

pub struct Bolt {
    stream: TcpStream,
}

impl Bolt {
    /// Connects to `host:port` and logs in with basic authentication.
    pub async fn connect(host_port: &str, user: &str, password: &str) -> anyhow::Result<Self> {
        let mut stream = TcpStream::connect(host_port)
            .await
            .with_context(|| format!("connect to {host_port}"))?;
        let mut handshake = vec![0x60, 0x60, 0xB0, 0x17, 0, 0, 4, 4];
        handshake.extend_from_slice(&[0; 12]);
        stream.write_all(&handshake).await?;
        let mut version = [0; 4];
        stream.read_exact(&mut version).await?;
        ensure!(
            version == [0, 0, 4, 4],
            "server chose Bolt {version:?}, not 4.4"
        );
        let mut bolt = Self { stream };
        let auth = json!({
            "user_agent": "rookery-tests/1",
            "scheme": "basic",
            "principal": user,
            "credentials": password,
        });
        bolt.send(0x01, &[auth]).await?;
        bolt.success().await.context("HELLO")?;
        Ok(bolt)
    }

    /// Runs `EXPLAIN <query>` with `params` and returns the plan: nested maps with
    /// `operatorType`, `args`, `identifiers` and `children`.
    pub async fn explain(&mut self, query: &str, params: Value) -> anyhow::Result<Value> {
        self.send(
            0x10,
            &[json!(format!("EXPLAIN {query}")), params, json!({})],
        )
        .await?;
        self.success().await.context("RUN")?;
        self.send(0x3F, &[json!({ "n": -1 })]).await?;
        let mut summary = loop {
            let (tag, fields) = self.receive().await?;
            if tag != RECORD {
                break self.outcome(tag, fields).context("PULL")?;
            }
        };
        summary
            .remove("plan")
            .context("the summary of an EXPLAIN has no plan")
    }

    async fn success(&mut self) -> anyhow::Result<Map<String, Value>> {
        let (tag, fields) = self.receive().await?;
        self.outcome(tag, fields)
    }

    #[allow(clippy::unused_self)]
    fn outcome(&self, tag: u8, fields: Vec<Value>) -> anyhow::Result<Map<String, Value>> {
        let metadata = match fields.into_iter().next() {
            Some(Value::Object(map)) => map,
            _ => Map::new(),
        };
        match tag {
            SUCCESS => Ok(metadata),
            FAILURE => bail!("Neo4j: {} {}", metadata["code"], metadata["message"]),
            other => bail!("unexpected Bolt message 0x{other:02X}"),
        }
    }

    /// Sends one message, chunked (one chunk is enough for what the tests send).
    async fn send(&mut self, tag: u8, fields: &[Value]) -> anyhow::Result<()> {
        let mut body = Vec::new();
        let size = u8::try_from(fields.len()).context("too many fields")?;
        body.extend_from_slice(&[0xB0 | size, tag]);
        for field in fields {
            encode(field, &mut body)?;
        }
        let len = u16::try_from(body.len()).context("message over one chunk")?;
        let mut frame = len.to_be_bytes().to_vec();
        frame.extend_from_slice(&body);
        frame.extend_from_slice(&[0, 0]);
        self.stream.write_all(&frame).await?;
        Ok(())
    }

    /// Reads one message: its chunks up to the empty one, then the structure.
    async fn receive(&mut self) -> anyhow::Result<(u8, Vec<Value>)> {
        let mut body = Vec::new();
        loop {
            let len = usize::from(self.stream.read_u16().await?);
            if len == 0 {
                if body.is_empty() {
                    continue; // a NOOP keep-alive
                }
                break;
            }
            let start = body.len();
            body.resize(start + len, 0);
            self.stream.read_exact(&mut body[start..]).await?;
        }
        let mut input = body.as_slice();
        match decode(&mut input)? {
            Value::Object(mut s) if s.contains_key("$struct") => {
                let tag = s["$struct"].as_u64().and_then(|t| u8::try_from(t).ok());
                let Some(Value::Array(fields)) = s.remove("fields") else {
                    bail!("a structure without fields");
                };
                Ok((tag.context("structure tag")?, fields))
            }
            other => bail!("a message that is not a structure: {other}"),
        }
    }
}

fn encode(value: &Value, out: &mut Vec<u8>) -> anyhow::Result<()> {
    match value {
        Value::Null => out.push(0xC0),
        Value::Bool(b) => out.push(if *b { 0xC3 } else { 0xC2 }),
        Value::Number(n) => {
            let n = n.as_i64().context("only integers are sent")?;
            out.push(0xCB);
            out.extend_from_slice(&n.to_be_bytes());
        }
        Value::String(s) => {
            header(0xD2, s.len(), out)?;
            out.extend_from_slice(s.as_bytes());
        }
        Value::Array(items) => {
            header(0xD6, items.len(), out)?;
            for item in items {
                encode(item, out)?;
            }
        }
        Value::Object(map) => {
            header(0xDA, map.len(), out)?;
            for (key, item) in map {
                encode(&Value::String(key.clone()), out)?;
                encode(item, out)?;
            }
        }
    }
    Ok(())
}

/// The 32-bit-size form of a string, list or map marker: valid for every size.
fn header(marker: u8, len: usize, out: &mut Vec<u8>) -> anyhow::Result<()> {
    out.push(marker);
    out.extend_from_slice(&u32::try_from(len)?.to_be_bytes());
    Ok(())
}

fn take<'a>(input: &mut &'a [u8], n: usize) -> anyhow::Result<&'a [u8]> {
    ensure!(input.len() >= n, "truncated PackStream value");
    let (head, rest) = input.split_at(n);
    *input = rest;
    Ok(head)
}

fn uint(input: &mut &[u8], bytes: usize) -> anyhow::Result<usize> {
    Ok(take(input, bytes)?
        .iter()
        .fold(0, |acc, b| (acc << 8) | usize::from(*b)))
}

fn int(input: &mut &[u8], bytes: usize) -> anyhow::Result<i64> {
    let raw = take(input, bytes)?;
    let mut buf = if raw.first().is_some_and(|b| b & 0x80 != 0) {
        [0xFF; 8]
    } else {
        [0; 8]
    };
    buf[8 - bytes..].copy_from_slice(raw);
    Ok(i64::from_be_bytes(buf))
}

fn decode(input: &mut &[u8]) -> anyhow::Result<Value> {
    let marker = take(input, 1)?[0];
    let (high, low) = (marker & 0xF0, usize::from(marker & 0x0F));
    Ok(match marker {
        0x00..=0x7F => json!(marker),
        0xF0..=0xFF => json!(i64::from(marker as i8)),
        0xC0 => Value::Null,
        0xC2 => json!(false),
        0xC3 => json!(true),
        0xC1 => json!(f64::from_be_bytes(take(input, 8)?.try_into()?)),
        0xC8 => json!(int(input, 1)?),
        0xC9 => json!(int(input, 2)?),
        0xCA => json!(int(input, 4)?),
        0xCB => json!(int(input, 8)?),
        0xD0..=0xD2 => {
            let len = uint(input, 1 << (marker - 0xD0))?;
            string(input, len)?
        }
        0xD4..=0xD6 => {
            let len = uint(input, 1 << (marker - 0xD4))?;
            list(input, len)?
        }
        0xD8..=0xDA => {
            let len = uint(input, 1 << (marker - 0xD8))?;
            map(input, len)?
        }
        _ if high == 0x80 => string(input, low)?,
        _ if high == 0x90 => list(input, low)?,
        _ if high == 0xA0 => map(input, low)?,
        _ if high == 0xB0 => {
            let tag = take(input, 1)?[0];
            json!({ "$struct": tag, "fields": list(input, low)? })
        }
        other => bail!("PackStream marker 0x{other:02X} is not supported here"),
    })
}

fn string(input: &mut &[u8], len: usize) -> anyhow::Result<Value> {
    Ok(Value::String(
        std::str::from_utf8(take(input, len)?)?.to_owned(),
    ))
}

fn list(input: &mut &[u8], len: usize) -> anyhow::Result<Value> {
    (0..len)
        .map(|_| decode(input))
        .collect::<anyhow::Result<_>>()
        .map(Value::Array)
}

fn map(input: &mut &[u8], len: usize) -> anyhow::Result<Value> {
    let mut map = Map::new();
    for _ in 0..len {
        let Value::String(key) = decode(input)? else {
            bail!("a map key that is not a string");
        };
        map.insert(key, decode(input)?);
    }
    Ok(Value::Object(map))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(value: &Value) -> anyhow::Result<Value> {
        let mut bytes = Vec::new();
        encode(value, &mut bytes)?;
        decode(&mut bytes.as_slice())
    }

    #[test]
    fn values_survive_encoding_and_decoding() -> anyhow::Result<()> {
        let value = json!({"a": [1, -1, -17, 200, -40000, 1_i64 << 40, null, true, "x"], "": {}});
        assert_eq!(round_trip(&value)?, value);
        Ok(())
    }

    #[test]
    fn compact_forms_decode() -> anyhow::Result<()> {
        // A tiny list of: tiny string "ab", tiny list [1, -16], tiny map {"k": false}, and
        // structure 0x70 (SUCCESS) holding an empty map.
        let bytes = [
            0x94, 0x82, b'a', b'b', 0x92, 0x01, 0xF0, 0xA1, 0x81, b'k', 0xC2, 0xB1, 0x70, 0xA0,
        ];
        assert_eq!(
            decode(&mut bytes.as_slice())?,
            json!(["ab", [1, -16], {"k": false}, {"$struct": 0x70, "fields": [{}]}])
        );
        Ok(())
    }
}
